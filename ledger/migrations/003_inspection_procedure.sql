-- The inspection procedure (charter 三(三)1–6): the rest of the inspection
-- projection, the State Council inspections behind the non-repetition rule,
-- and inspections' running deadlines. Forward-only.

ALTER TABLE inspections
  ADD COLUMN content_areas          integer[] NOT NULL DEFAULT '{}',
  ADD COLUMN team                   jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN team_approved          boolean NOT NULL DEFAULT false,
  ADD COLUMN follows_inspection_id  text REFERENCES inspections (id),
  ADD COLUMN report_deadline        jsonb,
  ADD COLUMN rectification_deadline jsonb,
  -- due_at is the running deadline's end, for filters and re-dating.
  ADD COLUMN due_at                 timestamptz,
  ADD COLUMN deadline_seq           integer NOT NULL DEFAULT 0,
  ADD COLUMN overdue                boolean NOT NULL DEFAULT false,
  ADD COLUMN missed_deadlines       integer NOT NULL DEFAULT 0,
  ADD COLUMN summary                jsonb,
  ADD COLUMN cancel_reason          text NOT NULL DEFAULT '',
  ADD COLUMN records                jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN version                integer NOT NULL DEFAULT 1;

CREATE INDEX inspections_stage ON inspections (stage, created_at, id);
CREATE INDEX inspections_kind ON inspections (kind, created_at, id);
CREATE INDEX inspections_year ON inspections ((extract(year FROM planned_start)), created_at, id);

CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
  FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER inspections_no_truncate BEFORE TRUNCATE ON inspections
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

-- Inspections of local governments by the State Council Safety Committee: a
-- provincial COMPREHENSIVE inspection of the same unit in the same year is
-- refused (charter 四(二)1).
CREATE TABLE state_council_inspections (
  unit_code   text NOT NULL,
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  request_id  text NOT NULL UNIQUE,
  note        text NOT NULL DEFAULT '',
  recorded_by jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (unit_code, year)
);

CREATE TRIGGER state_council_inspections_append_only BEFORE UPDATE OR DELETE ON state_council_inspections
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
