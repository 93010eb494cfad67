-- The tamper-evident audit chain (issue 11 items 3 and 4). Forward-only.
--
-- Every event is chained: per subject (an inspection, a finding, an
-- interview, a tip, a calendar year, the escalation ladder, a webhook) the
-- events carry seq 1, 2, 3, …, the hash of the previous event and their own
-- hash over their canonical content (ledger/audit_hash.go documents the
-- encoding, version v1). The hash is computed in Go as the row is inserted,
-- in the same transaction, under the chain's head row
-- (audit_chain_heads), locked FOR UPDATE, so that writers of different
-- subjects never wait for each other. Reads of sensitive content and
-- refused calls go to access_log, chained the same way per day and caller.
-- Once a day an anchor (audit_anchors, itself a chain) records a hash over
-- every chain head and the heads that moved since the previous anchor
-- (audit_anchor_entries), so that removing a chain's tail, head row
-- included, is found up to the last anchor. `xuncha audit verify`
-- recomputes everything.
--
-- Rows written before this migration (and by an older binary during a
-- rolling upgrade) have no hash yet: `xuncha migrate`, every server and
-- worker start and every anchor seal them, in id order per subject
-- (ledger.Store.SealAuditChains). Sealing is the one change an event row
-- may take, once.

ALTER TABLE events
  ADD COLUMN seq       bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN hash      bytea,
  ADD COLUMN hash_alg  text CHECK (hash_alg IN ('sha256', 'sm3')),
  ADD CONSTRAINT events_sealed_whole CHECK (
    (seq IS NULL) = (hash IS NULL) AND (hash IS NULL) = (prev_hash IS NULL)
    AND (hash IS NULL) = (hash_alg IS NULL) AND (seq IS NULL OR seq > 0));

-- One row per position of a subject's chain; verification reads it in order.
CREATE UNIQUE INDEX events_chain ON events (subject_type, subject_id, seq);
-- What is still to seal (an upgrade, an older binary).
CREATE INDEX events_unsealed ON events (id) WHERE hash IS NULL;

-- events_seal_once replaces refuse_change on events: a row is never deleted
-- and its content never changes; its chain columns are written once, from
-- NULL, by sealing.
CREATE FUNCTION events_seal_once() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
     AND (NEW.id, NEW.subject_type, NEW.subject_id, NEW.event_key, NEW.action, NEW.stage_before,
          NEW.stage_after, NEW.actor, NEW.note, NEW.evidence, NEW.data, NEW.occurred_at, NEW.recorded_at)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.subject_type, OLD.subject_id, OLD.event_key, OLD.action, OLD.stage_before,
          OLD.stage_after, OLD.actor, OLD.note, OLD.evidence, OLD.data, OLD.occurred_at, OLD.recorded_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION events_seal_once();

-- The head of every chain: its last seq and hash (seq 0 and an empty hash
-- before the first row). Writers lock the row FOR UPDATE while they append.
-- subject_type "access" holds the access log's chains, subject_id
-- "<day>/<caller>".
CREATE TABLE audit_chain_heads (
  subject_type text NOT NULL,
  subject_id   text NOT NULL,
  seq          bigint NOT NULL CHECK (seq >= 0),
  hash         bytea NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subject_type, subject_id)
);

-- The access log: reads of sensitive content (tip content, evidence
-- content, Temporal payloads decoded by the codec server) and refused calls
-- (401, 403). One chain per day (Asia/Shanghai) and caller, so that callers
-- never wait for each other's lock. Kept at least 180 days (Cybersecurity
-- Law art. 21): rows are never updated, and deleted only as whole days older
-- than that, which the trigger enforces whatever the configured retention.
CREATE TABLE access_log (
  id        bigserial PRIMARY KEY,
  day       date NOT NULL,
  -- chain names the caller: its subject (or client), or anonymous-<n> for
  -- a caller without a verified token.
  chain     text NOT NULL,
  seq       bigint NOT NULL CHECK (seq > 0),
  at        timestamptz NOT NULL,
  actor     jsonb NOT NULL,
  action    text NOT NULL,
  resource  text NOT NULL,
  outcome   text NOT NULL,
  reason    text NOT NULL DEFAULT '',
  remote    text NOT NULL DEFAULT '',
  details   jsonb NOT NULL DEFAULT '{}',
  prev_hash bytea NOT NULL,
  hash      bytea NOT NULL,
  hash_alg  text NOT NULL CHECK (hash_alg IN ('sha256', 'sm3')),
  UNIQUE (day, chain, seq)
);

CREATE INDEX access_log_at ON access_log (at);

CREATE FUNCTION access_log_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.day < (now() AT TIME ZONE 'Asia/Shanghai')::date - 180 THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% on % is refused: access records are kept unchanged for at least 180 days', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_keep();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Anchors: once a day (and by `xuncha audit anchor`), a hash over every chain
-- head (heads_hash), the heads that moved since the previous anchor
-- (audit_anchor_entries, entries_hash) and the access days pruned, chained
-- by seq and prev_hash.
CREATE TABLE audit_anchors (
  id                   bigserial PRIMARY KEY,
  seq                  bigint NOT NULL UNIQUE CHECK (seq > 0),
  taken_at             timestamptz NOT NULL,
  taken_by             text NOT NULL,
  heads_count          bigint NOT NULL,
  heads_hash           bytea NOT NULL,
  entries_count        bigint NOT NULL,
  entries_hash         bytea NOT NULL,
  -- access_pruned_before: access days before it were deleted by this anchor
  -- or an earlier one (retention); NULL while nothing was pruned.
  access_pruned_before date,
  access_pruned_rows   bigint NOT NULL DEFAULT 0,
  prev_hash            bytea NOT NULL,
  hash                 bytea NOT NULL,
  hash_alg             text NOT NULL CHECK (hash_alg IN ('sha256', 'sm3'))
);

CREATE TABLE audit_anchor_entries (
  anchor_id    bigint NOT NULL REFERENCES audit_anchors (id),
  subject_type text NOT NULL,
  subject_id   text NOT NULL,
  seq          bigint NOT NULL,
  hash         bytea NOT NULL,
  PRIMARY KEY (anchor_id, subject_type, subject_id)
);

CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_anchor_entries_append_only BEFORE UPDATE OR DELETE ON audit_anchor_entries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_anchor_entries_no_truncate BEFORE TRUNCATE ON audit_anchor_entries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Where the newest anchor left each chain: how the next anchor finds the
-- heads that moved. Written only by the anchor, in its transaction; a
-- convenience, never trusted by verification, which rebuilds it from
-- audit_anchor_entries.
CREATE TABLE audit_anchored_heads (
  subject_type text NOT NULL,
  subject_id   text NOT NULL,
  seq          bigint NOT NULL,
  PRIMARY KEY (subject_type, subject_id)
);
