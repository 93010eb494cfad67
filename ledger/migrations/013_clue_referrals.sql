-- Referral of clues by cadre-management authority (移交, issue 14 item 2).
-- Forward-only.
--
-- referral_routes is the office's routing table: administrative level of the
-- unit × kind of clue × cadre rank → the receiving body and the working days
-- it has to acknowledge receipt (回执). Each change is a new row (history is
-- never rewritten); the newest row of a key is in force, and a row with no
-- receiver removes the route.
--
-- findings.clue_referrals holds a finding's referrals, each with its receipt
-- and outcomes (立案 / 处理结果); a receiving body reaches the findings that
-- name it as a receiver.

CREATE TABLE referral_routes (
  id               bigserial PRIMARY KEY,
  request_id       text NOT NULL UNIQUE,
  unit_level       text NOT NULL CHECK (unit_level IN ('PROVINCE', 'CITY', 'COUNTY')),
  clue_kind        text NOT NULL CHECK (clue_kind IN ('DISCIPLINE', 'DUTY_CRIME', 'DERELICTION', 'SECTOR_VIOLATION')),
  cadre_rank       text NOT NULL CHECK (cadre_rank IN ('DEPARTMENT', 'DIVISION', 'SECTION', 'OTHER')),
  -- receiver is '' (and ack_working_days 0) in a row that removes the route.
  receiver         text NOT NULL DEFAULT '',
  ack_working_days integer NOT NULL DEFAULT 0 CHECK (ack_working_days BETWEEN 0 AND 30),
  note             text NOT NULL DEFAULT '',
  updated_by       jsonb NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((receiver = '') = (ack_working_days = 0))
);

CREATE INDEX referral_routes_key ON referral_routes (unit_level, clue_kind, cadre_rank, id DESC);

CREATE TRIGGER referral_routes_append_only BEFORE UPDATE OR DELETE ON referral_routes
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER referral_routes_no_truncate BEFORE TRUNCATE ON referral_routes
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

ALTER TABLE findings ADD COLUMN clue_referrals jsonb;

-- A receiver's reach: findings whose referrals name it.
CREATE INDEX findings_clue_referrals ON findings USING gin (clue_referrals jsonb_path_ops);
