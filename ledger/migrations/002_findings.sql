-- Findings and what follows them: the finding projection with its ledger
-- numbers, the escalations taken and the office's escalation ladder, evidence
-- metadata, and webhook subscriptions with their delivery log. Forward-only.

-- refuse_delete guards tables whose rows change but are never removed
-- (charter: nothing is ever deleted; webhooks are soft-deleted).
CREATE FUNCTION refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is refused: rows are never deleted', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE findings (
  id                    text PRIMARY KEY,
  workflow_id           text NOT NULL UNIQUE,
  inspection_id         text NOT NULL REFERENCES inspections (id),
  request_id            text NOT NULL,
  -- Assigned in the transaction that records the finding: 2026-430100-0007.
  ledger_number         text UNIQUE,
  unit_code             text NOT NULL,
  unit_name             text NOT NULL,
  title                 text NOT NULL,
  description           text NOT NULL DEFAULT '',
  kind                  text NOT NULL,
  severity              text NOT NULL DEFAULT '',
  important             boolean NOT NULL DEFAULT false,
  content_area          integer NOT NULL,
  evidence_ids          text[] NOT NULL DEFAULT '{}',
  rectification_opinion text NOT NULL DEFAULT '',
  stage                 text NOT NULL,
  diagnosis             jsonb,
  dispositions          text[] NOT NULL DEFAULT '{}',
  referral              jsonb,
  rectification         jsonb,
  -- deadline is calendar.Deadline as JSON; due_date and due_at are derived
  -- from it for filters and sorting.
  deadline              jsonb,
  due_date              date,
  due_at                timestamptz,
  deadline_seq          integer NOT NULL DEFAULT 0,
  overdue               boolean NOT NULL DEFAULT false,
  missed_deadlines      integer NOT NULL DEFAULT 0,
  reopen_count          integer NOT NULL DEFAULT 0,
  withdraw_reason       text NOT NULL DEFAULT '',
  found_by              jsonb NOT NULL,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  -- version counts the changes applied; an update with a version not above
  -- the row's is a retry and changes nothing.
  version               integer NOT NULL
);

-- Keyset pagination reads (created_at, id), alone or after one filter.
CREATE INDEX findings_created ON findings (created_at, id);
CREATE INDEX findings_inspection ON findings (inspection_id, created_at, id);
CREATE INDEX findings_unit ON findings (unit_code, created_at, id);
CREATE INDEX findings_stage ON findings (stage, created_at, id);
CREATE INDEX findings_kind ON findings (kind, created_at, id);
CREATE INDEX findings_severity ON findings (severity, created_at, id);
CREATE INDEX findings_overdue ON findings (overdue, created_at, id);
CREATE INDEX findings_due ON findings (due_at) WHERE due_at IS NOT NULL;

CREATE TRIGGER findings_no_delete BEFORE DELETE ON findings
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER findings_no_truncate BEFORE TRUNCATE ON findings
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- The last ledger number given per year (Asia/Shanghai) and unit.
CREATE TABLE ledger_sequences (
  year      integer NOT NULL,
  unit_code text NOT NULL,
  last      integer NOT NULL CHECK (last > 0),
  PRIMARY KEY (year, unit_code)
);

CREATE TABLE escalations (
  id           text PRIMARY KEY,
  -- subject is "finding/<id>" or "inspection/<id>".
  subject      text NOT NULL,
  deadline_seq integer NOT NULL,
  step         text NOT NULL,
  unit_code    text NOT NULL,
  due_at       timestamptz NOT NULL,
  fired_at     timestamptz NOT NULL,
  message      text NOT NULL DEFAULT '',
  UNIQUE (subject, deadline_seq, step)
);

CREATE INDEX escalations_fired ON escalations (fired_at DESC, id DESC);
CREATE INDEX escalations_unit ON escalations (unit_code, fired_at DESC, id DESC);

CREATE TRIGGER escalations_append_only BEFORE UPDATE OR DELETE ON escalations
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER escalations_no_truncate BEFORE TRUNCATE ON escalations
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The office's escalation ladders; the newest row is in force, none means
-- the built-in default.
CREATE TABLE escalation_policies (
  id         bigserial PRIMARY KEY,
  request_id text NOT NULL UNIQUE,
  steps      jsonb NOT NULL,
  updated_by jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER escalation_policies_append_only BEFORE UPDATE OR DELETE ON escalation_policies
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER escalation_policies_no_truncate BEFORE TRUNCATE ON escalation_policies
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE TABLE evidence (
  id           text PRIMARY KEY,
  kind         text NOT NULL,
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size         bigint NOT NULL CHECK (size >= 0),
  location     text NOT NULL,
  file_name    text NOT NULL DEFAULT '',
  content_type text NOT NULL DEFAULT '',
  captured_at  timestamptz NOT NULL,
  captured_by  text NOT NULL DEFAULT '',
  uploaded_by  jsonb NOT NULL,
  uploaded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX evidence_sha256 ON evidence (sha256);

CREATE TRIGGER evidence_append_only BEFORE UPDATE OR DELETE ON evidence
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE TABLE webhooks (
  id          text PRIMARY KEY,
  request_id  text NOT NULL UNIQUE,
  url         text NOT NULL,
  -- Empty means every event type.
  event_types text[] NOT NULL DEFAULT '{}',
  secret      text NOT NULL,
  created_by  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Soft delete: a deleted webhook receives nothing but stays on record.
  deleted_at  timestamptz
);

CREATE INDEX webhooks_active ON webhooks (created_at, id) WHERE deleted_at IS NULL;

CREATE TRIGGER webhooks_no_delete BEFORE DELETE ON webhooks
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER webhooks_no_truncate BEFORE TRUNCATE ON webhooks
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- Every attempt to deliver an event to a webhook.
CREATE TABLE webhook_deliveries (
  id          bigserial PRIMARY KEY,
  -- delivery_id is stable across the attempts of one delivery.
  delivery_id text NOT NULL,
  webhook_id  text NOT NULL REFERENCES webhooks (id),
  event_type  text NOT NULL,
  attempt     integer NOT NULL,
  status_code integer NOT NULL DEFAULT 0,
  error       text NOT NULL DEFAULT '',
  payload     jsonb NOT NULL,
  attempt_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_delivery ON webhook_deliveries (delivery_id, id);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

CREATE TRIGGER webhook_deliveries_append_only BEFORE UPDATE OR DELETE ON webhook_deliveries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER webhook_deliveries_no_truncate BEFORE TRUNCATE ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
