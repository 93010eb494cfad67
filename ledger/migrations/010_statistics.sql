-- Statistics of the findings (issue 13 item 1). Forward-only.
--
-- A statistics request sums tallies, never a million findings:
--
-- - finding_tallies: one row per inspection, month found (Asia/Shanghai),
--   kind, severity and content area, with the additive counts of its
--   findings (how many, closed, withdrawn, overdue now, closed on time,
--   reopenings) and of the escalation steps and interviews about them;
-- - finding_closure_days: for the same key, how many closed findings took
--   how many days from their referral to their closure, from which the
--   median and the 90th percentile are exact;
-- - finding_month_tallies: both summed per inspection and month, the days
--   as two arrays (days, findings), for the questions that do not ask for
--   a kind, a severity or a content area: one row per inspection and
--   month, however many findings it has.
--
-- The unit and the round of the inspection are copied into each row for
-- the filters (a round never changes once planned).
--
-- Triggers keep the tables in step with findings, escalations and
-- interviews, in the transaction of each write. The views *_recomputed are
-- the definition: finding_tallies_recomputed and
-- finding_closure_days_recomputed compute their rows from scratch, and
-- finding_month_tallies_recomputed sums those two tables. This migration
-- fills the tables from them, and the tests check that the triggers leave
-- the tables equal to them.
--
-- Definitions: a finding counts in the month it was found (created_at);
-- "overdue" is its overdue mark now (a running deadline missed); "on time"
-- is CLOSED without a missed deadline (missed_deadlines = 0); days to close
-- run from the day the unit received the referral
-- (referral.feedback_received_on, when the rectification deadline starts)
-- to the day it was closed out (the CLOSED write's updated_at; CLOSED is
-- final). Interviews and escalation steps count when their subject is a
-- finding ("finding/<id>"); a held interview is one with held_on set.

-- finding_month is the first day of the month a time falls in, in Asia/Shanghai.
CREATE FUNCTION finding_month(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date;

-- finding_days_to_close is the number of days from a CLOSED finding's
-- referral to its closure; NULL for a finding not closed or never referred.
CREATE FUNCTION finding_days_to_close(stage text, referral jsonb, updated_at timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN stage = 'CLOSED' AND referral ->> 'feedback_received_on' ~ '^\d{4}-\d{2}-\d{2}$'
  THEN (updated_at AT TIME ZONE 'Asia/Shanghai')::date - make_date(
    substr(referral ->> 'feedback_received_on', 1, 4)::integer,
    substr(referral ->> 'feedback_received_on', 6, 2)::integer,
    substr(referral ->> 'feedback_received_on', 9, 2)::integer) END;

CREATE TABLE finding_tallies (
  inspection_id         text NOT NULL,
  found_month           date NOT NULL,
  kind                  text NOT NULL,
  severity              text NOT NULL,
  content_area          integer NOT NULL,
  -- The inspection's unit and round. "C" ordering: a unit and its
  -- sub-units (430100 and 4301xx) are one range of codes.
  unit_code             text COLLATE "C" NOT NULL,
  round                 text NOT NULL,
  findings              integer NOT NULL DEFAULT 0,
  closed                integer NOT NULL DEFAULT 0,
  withdrawn             integer NOT NULL DEFAULT 0,
  overdue               integer NOT NULL DEFAULT 0,
  on_time               integer NOT NULL DEFAULT 0,
  reopened              integer NOT NULL DEFAULT 0,
  reminders             integer NOT NULL DEFAULT 0,
  overdue_escalations   integer NOT NULL DEFAULT 0,
  interview_escalations integer NOT NULL DEFAULT 0,
  interviews_proposed   integer NOT NULL DEFAULT 0,
  interviews_held       integer NOT NULL DEFAULT 0,
  PRIMARY KEY (inspection_id, found_month, kind, severity, content_area)
);

CREATE INDEX finding_tallies_unit ON finding_tallies (unit_code, found_month);
CREATE INDEX finding_tallies_month ON finding_tallies (found_month);
CREATE INDEX finding_tallies_round ON finding_tallies (round, found_month);
CREATE INDEX finding_tallies_kind ON finding_tallies (kind, severity, found_month);
CREATE INDEX finding_tallies_area ON finding_tallies (content_area, found_month);

CREATE TABLE finding_closure_days (
  inspection_id text NOT NULL,
  found_month   date NOT NULL,
  kind          text NOT NULL,
  severity      text NOT NULL,
  content_area  integer NOT NULL,
  days          integer NOT NULL,
  unit_code     text COLLATE "C" NOT NULL,
  round         text NOT NULL,
  findings      integer NOT NULL DEFAULT 0,
  PRIMARY KEY (inspection_id, found_month, kind, severity, content_area, days)
);

CREATE INDEX finding_closure_days_unit ON finding_closure_days (unit_code, found_month);
CREATE INDEX finding_closure_days_month ON finding_closure_days (found_month);
CREATE INDEX finding_closure_days_round ON finding_closure_days (round, found_month);
CREATE INDEX finding_closure_days_kind ON finding_closure_days (kind, severity, found_month);
CREATE INDEX finding_closure_days_area ON finding_closure_days (content_area, found_month);

CREATE TABLE finding_month_tallies (
  inspection_id         text NOT NULL,
  found_month           date NOT NULL,
  unit_code             text COLLATE "C" NOT NULL,
  round                 text NOT NULL,
  findings              integer NOT NULL DEFAULT 0,
  closed                integer NOT NULL DEFAULT 0,
  withdrawn             integer NOT NULL DEFAULT 0,
  overdue               integer NOT NULL DEFAULT 0,
  on_time               integer NOT NULL DEFAULT 0,
  reopened              integer NOT NULL DEFAULT 0,
  reminders             integer NOT NULL DEFAULT 0,
  overdue_escalations   integer NOT NULL DEFAULT 0,
  interview_escalations integer NOT NULL DEFAULT 0,
  interviews_proposed   integer NOT NULL DEFAULT 0,
  interviews_held       integer NOT NULL DEFAULT 0,
  -- closure_findings[i] closed findings took closure_days[i] days; by days.
  closure_days          integer[] NOT NULL DEFAULT '{}',
  closure_findings      integer[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (inspection_id, found_month)
);

CREATE INDEX finding_month_tallies_unit ON finding_month_tallies (unit_code, found_month);
CREATE INDEX finding_month_tallies_month ON finding_month_tallies (found_month);
CREATE INDEX finding_month_tallies_round ON finding_month_tallies (round, found_month);

-- The definition of both tables, computed from scratch.
CREATE VIEW finding_tallies_recomputed AS
WITH escalated AS (
  SELECT substr(subject, 9) AS finding_id,
         count(*) FILTER (WHERE step = 'REMINDER') AS reminders,
         count(*) FILTER (WHERE step = 'OVERDUE') AS overdue_escalations,
         count(*) FILTER (WHERE step = 'INTERVIEW_PROPOSED') AS interview_escalations
  FROM escalations WHERE subject LIKE 'finding/%' GROUP BY 1
), interviewed AS (
  SELECT substr(subject, 9) AS finding_id, count(*) AS proposed, count(held_on) AS held
  FROM interviews WHERE subject LIKE 'finding/%' GROUP BY 1
)
SELECT f.inspection_id, finding_month(f.created_at) AS found_month, f.kind, f.severity, f.content_area,
       i.unit_code COLLATE "C" AS unit_code, i.round,
       count(*)::integer AS findings,
       count(*) FILTER (WHERE f.stage = 'CLOSED')::integer AS closed,
       count(*) FILTER (WHERE f.stage = 'WITHDRAWN')::integer AS withdrawn,
       count(*) FILTER (WHERE f.overdue)::integer AS overdue,
       count(*) FILTER (WHERE f.stage = 'CLOSED' AND f.missed_deadlines = 0)::integer AS on_time,
       coalesce(sum(f.reopen_count), 0)::integer AS reopened,
       coalesce(sum(e.reminders), 0)::integer AS reminders,
       coalesce(sum(e.overdue_escalations), 0)::integer AS overdue_escalations,
       coalesce(sum(e.interview_escalations), 0)::integer AS interview_escalations,
       coalesce(sum(v.proposed), 0)::integer AS interviews_proposed,
       coalesce(sum(v.held), 0)::integer AS interviews_held
FROM findings f
JOIN inspections i ON i.id = f.inspection_id
LEFT JOIN escalated e ON e.finding_id = f.id
LEFT JOIN interviewed v ON v.finding_id = f.id
GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE VIEW finding_closure_days_recomputed AS
SELECT f.inspection_id, finding_month(f.created_at) AS found_month, f.kind, f.severity, f.content_area,
       finding_days_to_close(f.stage, f.referral, f.updated_at) AS days,
       i.unit_code COLLATE "C" AS unit_code, i.round, count(*)::integer AS findings
FROM findings f
JOIN inspections i ON i.id = f.inspection_id
WHERE finding_days_to_close(f.stage, f.referral, f.updated_at) IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;

CREATE VIEW finding_month_tallies_recomputed AS
SELECT t.inspection_id, t.found_month, i.unit_code COLLATE "C" AS unit_code, i.round,
       t.findings, t.closed, t.withdrawn, t.overdue, t.on_time, t.reopened, t.reminders, t.overdue_escalations,
       t.interview_escalations, t.interviews_proposed, t.interviews_held,
       coalesce(d.days, '{}') AS closure_days, coalesce(d.findings, '{}') AS closure_findings
FROM (
  SELECT inspection_id, found_month, sum(findings)::integer AS findings, sum(closed)::integer AS closed,
         sum(withdrawn)::integer AS withdrawn, sum(overdue)::integer AS overdue, sum(on_time)::integer AS on_time,
         sum(reopened)::integer AS reopened, sum(reminders)::integer AS reminders,
         sum(overdue_escalations)::integer AS overdue_escalations,
         sum(interview_escalations)::integer AS interview_escalations,
         sum(interviews_proposed)::integer AS interviews_proposed, sum(interviews_held)::integer AS interviews_held
  FROM finding_tallies GROUP BY inspection_id, found_month) t
JOIN inspections i ON i.id = t.inspection_id
CROSS JOIN LATERAL (
  SELECT array_agg(c.days ORDER BY c.days) AS days, array_agg(c.n ORDER BY c.days) AS findings
  FROM (SELECT days, sum(findings)::integer AS n FROM finding_closure_days
        WHERE inspection_id = t.inspection_id AND found_month = t.found_month
        GROUP BY days HAVING sum(findings) <> 0) c) d;

INSERT INTO finding_tallies SELECT * FROM finding_tallies_recomputed;
INSERT INTO finding_closure_days SELECT * FROM finding_closure_days_recomputed;
INSERT INTO finding_month_tallies SELECT * FROM finding_month_tallies_recomputed;

-- refresh_month_tallies sums anew the month tallies of the inspections
-- and months given (every pair of them) from the tallies.
CREATE FUNCTION refresh_month_tallies(inspection_ids text[], found_months date[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO finding_month_tallies AS m
  SELECT * FROM finding_month_tallies_recomputed v
  WHERE v.inspection_id = ANY(inspection_ids) AND v.found_month = ANY(found_months)
  ON CONFLICT (inspection_id, found_month) DO UPDATE SET
    findings = EXCLUDED.findings, closed = EXCLUDED.closed, withdrawn = EXCLUDED.withdrawn,
    overdue = EXCLUDED.overdue, on_time = EXCLUDED.on_time, reopened = EXCLUDED.reopened,
    reminders = EXCLUDED.reminders, overdue_escalations = EXCLUDED.overdue_escalations,
    interview_escalations = EXCLUDED.interview_escalations, interviews_proposed = EXCLUDED.interviews_proposed,
    interviews_held = EXCLUDED.interviews_held, closure_days = EXCLUDED.closure_days,
    closure_findings = EXCLUDED.closure_findings;
END;
$$;

-- The triggers below are statement-level: a statement that writes many
-- findings (a bulk load, a later migration) sums their changes per key and
-- writes each key's rows once. Their statements are static, so that each
-- session plans them once.

-- finding_contribution is what one finding adds to its key's rows (sign
-- +1), or takes away (sign -1) when a write replaces it.
CREATE TYPE finding_contribution AS (
  inspection_id         text,
  found_month           date,
  kind                  text,
  severity              text,
  content_area          integer,
  sign                  integer,
  closed                integer,
  withdrawn             integer,
  overdue               integer,
  on_time               integer,
  reopened              integer,
  reminders             integer,
  overdue_escalations   integer,
  interview_escalations integer,
  interviews_proposed   integer,
  interviews_held       integer,
  days                  integer
);

-- add_finding_contributions sums contributions per key into both tables.
-- Keys whose counts do not change (an update of a description or a
-- deadline) are not written.
CREATE FUNCTION add_finding_contributions(contributions finding_contribution[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO finding_tallies AS t (inspection_id, found_month, kind, severity, content_area, unit_code, round,
    findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held)
  SELECT c.inspection_id, c.found_month, c.kind, c.severity, c.content_area, i.unit_code, i.round,
    sum(c.sign), sum(c.closed), sum(c.withdrawn), sum(c.overdue), sum(c.on_time), sum(c.reopened),
    sum(c.reminders), sum(c.overdue_escalations), sum(c.interview_escalations),
    sum(c.interviews_proposed), sum(c.interviews_held)
  FROM unnest(contributions) c
  JOIN inspections i ON i.id = c.inspection_id
  GROUP BY c.inspection_id, c.found_month, c.kind, c.severity, c.content_area, i.unit_code, i.round
  HAVING sum(c.sign) <> 0 OR sum(c.closed) <> 0 OR sum(c.withdrawn) <> 0 OR sum(c.overdue) <> 0
    OR sum(c.on_time) <> 0 OR sum(c.reopened) <> 0 OR sum(c.reminders) <> 0 OR sum(c.overdue_escalations) <> 0
    OR sum(c.interview_escalations) <> 0 OR sum(c.interviews_proposed) <> 0 OR sum(c.interviews_held) <> 0
  ON CONFLICT (inspection_id, found_month, kind, severity, content_area) DO UPDATE SET
    findings = t.findings + EXCLUDED.findings, closed = t.closed + EXCLUDED.closed,
    withdrawn = t.withdrawn + EXCLUDED.withdrawn, overdue = t.overdue + EXCLUDED.overdue,
    on_time = t.on_time + EXCLUDED.on_time, reopened = t.reopened + EXCLUDED.reopened,
    reminders = t.reminders + EXCLUDED.reminders,
    overdue_escalations = t.overdue_escalations + EXCLUDED.overdue_escalations,
    interview_escalations = t.interview_escalations + EXCLUDED.interview_escalations,
    interviews_proposed = t.interviews_proposed + EXCLUDED.interviews_proposed,
    interviews_held = t.interviews_held + EXCLUDED.interviews_held;

  INSERT INTO finding_closure_days AS d (inspection_id, found_month, kind, severity, content_area, days,
    unit_code, round, findings)
  SELECT c.inspection_id, c.found_month, c.kind, c.severity, c.content_area, c.days, i.unit_code, i.round,
    sum(c.sign)
  FROM unnest(contributions) c
  JOIN inspections i ON i.id = c.inspection_id
  WHERE c.days IS NOT NULL
  GROUP BY c.inspection_id, c.found_month, c.kind, c.severity, c.content_area, c.days, i.unit_code, i.round
  HAVING sum(c.sign) <> 0
  ON CONFLICT (inspection_id, found_month, kind, severity, content_area, days) DO UPDATE SET
    findings = d.findings + EXCLUDED.findings;

  PERFORM refresh_month_tallies(ARRAY(SELECT DISTINCT c.inspection_id FROM unnest(contributions) c),
                                ARRAY(SELECT DISTINCT c.found_month FROM unnest(contributions) c));
END;
$$;

-- findings_tally_insert and findings_tally_update add what the findings a
-- statement wrote contribute and, for an update, take away what the rows
-- they replace contributed, with the escalation steps and interviews about
-- them: these move with a finding whose key changes, and cancel out
-- otherwise. The two differ only in the rows they read.
CREATE FUNCTION findings_tally_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_finding_contributions(ARRAY(
    SELECT ROW(f.inspection_id, finding_month(f.created_at), f.kind, f.severity, f.content_area, 1,
      (f.stage = 'CLOSED')::integer, (f.stage = 'WITHDRAWN')::integer, f.overdue::integer,
      (f.stage = 'CLOSED' AND f.missed_deadlines = 0)::integer, f.reopen_count,
      e.reminders, e.overdue_escalations, e.interview_escalations, v.proposed, v.held,
      finding_days_to_close(f.stage, f.referral, f.updated_at))::finding_contribution
    FROM new_findings f
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE step = 'REMINDER')::integer AS reminders,
             count(*) FILTER (WHERE step = 'OVERDUE')::integer AS overdue_escalations,
             count(*) FILTER (WHERE step = 'INTERVIEW_PROPOSED')::integer AS interview_escalations
      FROM escalations WHERE subject = 'finding/' || f.id) e
    CROSS JOIN LATERAL (
      SELECT count(*)::integer AS proposed, count(held_on)::integer AS held
      FROM interviews WHERE subject = 'finding/' || f.id) v));
  RETURN NULL;
END;
$$;

CREATE FUNCTION findings_tally_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_finding_contributions(ARRAY(
    SELECT ROW(f.inspection_id, finding_month(f.created_at), f.kind, f.severity, f.content_area, f.sign,
      f.sign * (f.stage = 'CLOSED')::integer, f.sign * (f.stage = 'WITHDRAWN')::integer, f.sign * f.overdue::integer,
      f.sign * (f.stage = 'CLOSED' AND f.missed_deadlines = 0)::integer, f.sign * f.reopen_count,
      f.sign * e.reminders, f.sign * e.overdue_escalations, f.sign * e.interview_escalations,
      f.sign * v.proposed, f.sign * v.held,
      finding_days_to_close(f.stage, f.referral, f.updated_at))::finding_contribution
    FROM (SELECT -1 AS sign, * FROM old_findings UNION ALL SELECT 1 AS sign, * FROM new_findings) f
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE step = 'REMINDER')::integer AS reminders,
             count(*) FILTER (WHERE step = 'OVERDUE')::integer AS overdue_escalations,
             count(*) FILTER (WHERE step = 'INTERVIEW_PROPOSED')::integer AS interview_escalations
      FROM escalations WHERE subject = 'finding/' || f.id) e
    CROSS JOIN LATERAL (
      SELECT count(*)::integer AS proposed, count(held_on)::integer AS held
      FROM interviews WHERE subject = 'finding/' || f.id) v));
  RETURN NULL;
END;
$$;

CREATE TRIGGER findings_tally_insert AFTER INSERT ON findings
  REFERENCING NEW TABLE AS new_findings
  FOR EACH STATEMENT EXECUTE FUNCTION findings_tally_insert();
CREATE TRIGGER findings_tally_update AFTER UPDATE ON findings
  REFERENCING OLD TABLE AS old_findings NEW TABLE AS new_findings
  FOR EACH STATEMENT EXECUTE FUNCTION findings_tally_update();

-- escalations_tally counts the escalation steps of findings a statement
-- recorded.
CREATE FUNCTION escalations_tally() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE finding_tallies t SET
    reminders = t.reminders + d.reminders,
    overdue_escalations = t.overdue_escalations + d.overdue_escalations,
    interview_escalations = t.interview_escalations + d.interview_escalations
  FROM (
    SELECT f.inspection_id, finding_month(f.created_at) AS found_month, f.kind, f.severity, f.content_area,
           count(*) FILTER (WHERE e.step = 'REMINDER')::integer AS reminders,
           count(*) FILTER (WHERE e.step = 'OVERDUE')::integer AS overdue_escalations,
           count(*) FILTER (WHERE e.step = 'INTERVIEW_PROPOSED')::integer AS interview_escalations
    FROM new_escalations e
    JOIN findings f ON e.subject LIKE 'finding/%' AND f.id = substr(e.subject, 9)
    GROUP BY 1, 2, 3, 4, 5) d
  WHERE (t.inspection_id, t.found_month, t.kind, t.severity, t.content_area)
      = (d.inspection_id, d.found_month, d.kind, d.severity, d.content_area);
  PERFORM refresh_month_tallies(
    ARRAY(SELECT f.inspection_id FROM new_escalations e JOIN findings f ON e.subject LIKE 'finding/%' AND f.id = substr(e.subject, 9)),
    ARRAY(SELECT finding_month(f.created_at) FROM new_escalations e JOIN findings f ON e.subject LIKE 'finding/%' AND f.id = substr(e.subject, 9)));
  RETURN NULL;
END;
$$;

CREATE TRIGGER escalations_tally AFTER INSERT ON escalations
  REFERENCING NEW TABLE AS new_escalations
  FOR EACH STATEMENT EXECUTE FUNCTION escalations_tally();

-- add_interview_counts adds interviews proposed and held to the keys of
-- the findings they are about; subjects that are not findings count
-- nowhere.
CREATE FUNCTION add_interview_counts(subjects text[], proposed integer[], held integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
UPDATE finding_tallies t SET
  interviews_proposed = t.interviews_proposed + d.proposed,
  interviews_held = t.interviews_held + d.held
FROM (
  SELECT f.inspection_id, finding_month(f.created_at) AS found_month, f.kind, f.severity, f.content_area,
         sum(c.proposed)::integer AS proposed, sum(c.held)::integer AS held
  FROM unnest(subjects, proposed, held) c(subject, proposed, held)
  JOIN findings f ON c.subject LIKE 'finding/%' AND f.id = substr(c.subject, 9)
  GROUP BY 1, 2, 3, 4, 5
  HAVING sum(c.proposed) <> 0 OR sum(c.held) <> 0) d
WHERE (t.inspection_id, t.found_month, t.kind, t.severity, t.content_area)
    = (d.inspection_id, d.found_month, d.kind, d.severity, d.content_area);
PERFORM refresh_month_tallies(
  ARRAY(SELECT f.inspection_id FROM unnest(subjects) c(subject) JOIN findings f ON c.subject LIKE 'finding/%' AND f.id = substr(c.subject, 9)),
  ARRAY(SELECT finding_month(f.created_at) FROM unnest(subjects) c(subject) JOIN findings f ON c.subject LIKE 'finding/%' AND f.id = substr(c.subject, 9)));
END;
$$;

-- interviews_tally_insert counts the interviews a statement proposed (and
-- held, for one written held).
CREATE FUNCTION interviews_tally_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_interview_counts(
    ARRAY(SELECT n.subject FROM new_interviews n ORDER BY n.id),
    ARRAY(SELECT 1 FROM new_interviews n ORDER BY n.id),
    ARRAY(SELECT (n.held_on IS NOT NULL)::integer FROM new_interviews n ORDER BY n.id));
  RETURN NULL;
END;
$$;

-- interviews_tally_update counts the interviews a statement held (or, were
-- a day held ever cleared, un-held).
CREATE FUNCTION interviews_tally_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_interview_counts(
    ARRAY(SELECT n.subject FROM new_interviews n JOIN old_interviews o ON o.id = n.id ORDER BY n.id),
    ARRAY(SELECT 0 FROM new_interviews n JOIN old_interviews o ON o.id = n.id ORDER BY n.id),
    ARRAY(SELECT (n.held_on IS NOT NULL)::integer - (o.held_on IS NOT NULL)::integer
          FROM new_interviews n JOIN old_interviews o ON o.id = n.id ORDER BY n.id));
  RETURN NULL;
END;
$$;

CREATE TRIGGER interviews_tally_insert AFTER INSERT ON interviews
  REFERENCING NEW TABLE AS new_interviews
  FOR EACH STATEMENT EXECUTE FUNCTION interviews_tally_insert();
CREATE TRIGGER interviews_tally_update AFTER UPDATE ON interviews
  REFERENCING OLD TABLE AS old_interviews NEW TABLE AS new_interviews
  FOR EACH STATEMENT EXECUTE FUNCTION interviews_tally_update();
