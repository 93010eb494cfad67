-- Oversight: interviews (约谈) of units' responsible leaders, publications
-- (曝光) and tips (举报) from the public. Forward-only.

-- The projection of each InterviewWorkflow.
CREATE TABLE interviews (
  id                     text PRIMARY KEY,
  workflow_id            text NOT NULL UNIQUE,
  request_id             text NOT NULL,
  -- subject is "finding/<id>" or "inspection/<id>".
  subject                text NOT NULL,
  unit_code              text NOT NULL,
  reason                 text NOT NULL,
  source                 text NOT NULL CHECK (source IN ('LADDER', 'TEAM', 'OFFICE')),
  stage                  text NOT NULL,
  proposed_by            jsonb NOT NULL,
  approved_by            jsonb,
  held_on                date,
  attendees              text[] NOT NULL DEFAULT '{}',
  minutes                text NOT NULL DEFAULT '',
  requirements           text NOT NULL DEFAULT '',
  follow_up_working_days integer NOT NULL DEFAULT 0,
  -- follow_up_deadline is calendar.Deadline as JSON; due_at is derived from
  -- it for sorting and the calendar re-dating.
  follow_up_deadline     jsonb,
  due_at                 timestamptz,
  deadline_seq           integer NOT NULL DEFAULT 0,
  follow_up_report       text NOT NULL DEFAULT '',
  follow_up_evidence_ids text[] NOT NULL DEFAULT '{}',
  follow_up_reported_at  timestamptz,
  overdue                boolean NOT NULL DEFAULT false,
  missed_deadlines       integer NOT NULL DEFAULT 0,
  cancel_reason          text NOT NULL DEFAULT '',
  created_at             timestamptz NOT NULL,
  updated_at             timestamptz NOT NULL,
  -- version counts the changes applied; a write with a version not above
  -- the row's is a retry and changes nothing.
  version                integer NOT NULL
);

-- Keyset pagination reads (created_at, id), alone or after one filter.
CREATE INDEX interviews_created ON interviews (created_at, id);
CREATE INDEX interviews_subject ON interviews (subject, created_at, id);
CREATE INDEX interviews_unit ON interviews (unit_code, created_at, id);
CREATE INDEX interviews_stage ON interviews (stage);

CREATE TRIGGER interviews_no_delete BEFORE DELETE ON interviews
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER interviews_no_truncate BEFORE TRUNCATE ON interviews
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- Publications through the media; a record of what was published is never
-- changed.
CREATE TABLE exposures (
  id           text PRIMARY KEY,
  request_id   text NOT NULL UNIQUE,
  kind         text NOT NULL CHECK (kind IN ('ENTRY_ANNOUNCEMENT', 'MAJOR_HAZARD', 'SYSTEMIC_RISK',
                                             'RECTIFICATION_RESULT', 'LOOK_BACK_RESULT')),
  -- subject is "finding/<id>" or "inspection/<id>".
  subject      text NOT NULL,
  outlet       text NOT NULL,
  link         text NOT NULL DEFAULT '',
  published_on date NOT NULL,
  title        text NOT NULL,
  recorded_by  jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX exposures_subject ON exposures (subject, created_at, id);
CREATE INDEX exposures_created ON exposures (created_at, id);

CREATE TRIGGER exposures_append_only BEFORE UPDATE OR DELETE ON exposures
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER exposures_no_truncate BEFORE TRUNCATE ON exposures
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Tips from the public. The reporter's identity is only ever stored sealed
-- (AES-256-GCM, additional data = id) in reporter_ciphertext; it never
-- appears in another column, in events or in Temporal.
CREATE TABLE tips (
  id                  text PRIMARY KEY,
  request_id          text NOT NULL UNIQUE,
  inspection_id       text NOT NULL REFERENCES inspections (id),
  channel             text NOT NULL CHECK (channel IN ('LETTER', 'PHONE', 'EMAIL', 'HOTLINE', 'VISIT')),
  received_on         date NOT NULL,
  content             text NOT NULL,
  reporter_ciphertext bytea,
  stage               text NOT NULL CHECK (stage IN ('RECEIVED', 'FINDING', 'DISMISSED')),
  finding_id          text REFERENCES findings (id),
  dismiss_reason      text NOT NULL DEFAULT '',
  received_by         jsonb NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((stage = 'FINDING') = (finding_id IS NOT NULL)),
  CHECK ((stage = 'DISMISSED') = (dismiss_reason <> ''))
);

CREATE INDEX tips_inspection ON tips (inspection_id, created_at, id);

CREATE TRIGGER tips_no_delete BEFORE DELETE ON tips
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER tips_no_truncate BEFORE TRUNCATE ON tips
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- What was received is never rewritten: only the triage columns change.
CREATE FUNCTION refuse_tip_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id
     OR NEW.request_id IS DISTINCT FROM OLD.request_id
     OR NEW.inspection_id IS DISTINCT FROM OLD.inspection_id
     OR NEW.channel IS DISTINCT FROM OLD.channel
     OR NEW.received_on IS DISTINCT FROM OLD.received_on
     OR NEW.content IS DISTINCT FROM OLD.content
     OR NEW.reporter_ciphertext IS DISTINCT FROM OLD.reporter_ciphertext
     OR NEW.received_by IS DISTINCT FROM OLD.received_by
     OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'UPDATE of what tip % received is refused: only its triage changes', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER tips_received_unchanged BEFORE UPDATE ON tips
  FOR EACH ROW EXECUTE FUNCTION refuse_tip_rewrite();
