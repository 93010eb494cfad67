-- The ledger: a projection of every lifecycle, written only by activities and
-- keyed by business IDs, plus the append-only event log and the calendar
-- versions. Forward-only: a later change is a new numbered file.

-- refuse_change guards append-only tables: history is never updated or deleted.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE inspections (
  id            text PRIMARY KEY,
  workflow_id   text NOT NULL UNIQUE,
  request_id    text NOT NULL,
  unit_code     text NOT NULL,
  unit_name     text NOT NULL,
  kind          text NOT NULL,
  round         text NOT NULL DEFAULT '',
  planned_start date NOT NULL,
  planned_end   date NOT NULL,
  stage         text NOT NULL,
  created_by    jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  CHECK (planned_end >= planned_start)
);

-- Keyset pagination reads (created_at, id).
CREATE INDEX inspections_created ON inspections (created_at, id);
CREATE INDEX inspections_unit ON inspections (unit_code);

CREATE TABLE events (
  id            bigserial PRIMARY KEY,
  subject_type  text NOT NULL,
  subject_id    text NOT NULL,
  -- event_key makes a retried write a no-op (the Temporal update ID, or an
  -- activity's own key).
  event_key     text NOT NULL,
  action        text NOT NULL,
  stage_before  text NOT NULL DEFAULT '',
  stage_after   text NOT NULL DEFAULT '',
  actor         jsonb NOT NULL,
  note          text NOT NULL DEFAULT '',
  evidence      jsonb NOT NULL DEFAULT '[]',
  data          jsonb NOT NULL DEFAULT '{}',
  occurred_at   timestamptz NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (subject_type, subject_id, event_key)
);

CREATE INDEX events_subject ON events (subject_type, subject_id, id);

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE TABLE calendar_versions (
  id          bigserial PRIMARY KEY,
  year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
  request_id  text NOT NULL UNIQUE,
  doc_number  text NOT NULL,
  doc_date    date,
  notice      jsonb NOT NULL,
  note        text NOT NULL DEFAULT '',
  loaded_by   jsonb NOT NULL,
  loaded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX calendar_versions_year ON calendar_versions (year, id);

CREATE TRIGGER calendar_versions_append_only BEFORE UPDATE OR DELETE ON calendar_versions
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER calendar_versions_no_truncate BEFORE TRUNCATE ON calendar_versions
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
