-- Statistics without the inspection (issue 13 item 1). Forward-only.
--
-- Migration 010's tallies keep one row per inspection (and month, kind,
-- severity, content area, and for the days to close, number of days): a
-- question about the whole province that asks for a kind, a severity or a
-- content area summed all of finding_closure_days, about 0.7 rows a
-- finding. The two tables below keep the same counts without the
-- inspection, for the questions that name no unit, inspection or reach
-- and are not grouped by unit:
--
-- - finding_round_tallies: per round and month found, for the questions
--   that do not ask for a kind, a severity or a content area either;
-- - finding_round_kind_tallies: per round, month found, kind, severity and
--   content area.
--
-- Both hold the counts of finding_tallies and, as finding_month_tallies
-- does, the days to close as two arrays (closure_days[i] days,
-- closure_findings[i] findings; by days, no zero counts), from which the
-- median and the 90th percentile stay exact. Their size follows the
-- rounds and months, not the findings: a few thousand rows at a million
-- findings.
--
-- Triggers on finding_tallies and finding_closure_days carry every change
-- of those rows into both tables, in the same statement's transaction:
-- whichever write changed a tally (a finding, an escalation step, an
-- interview), its difference is added here. The views *_recomputed are
-- the definition, summed from migration 010's tables (which the tests
-- check against the findings); this migration fills the tables from them
-- and the tests check that the triggers leave the tables equal to them.

CREATE TABLE finding_round_tallies (
  round                 text NOT NULL,
  found_month           date NOT NULL,
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
  closure_days          integer[] NOT NULL DEFAULT '{}',
  closure_findings      integer[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (round, found_month)
);

CREATE TABLE finding_round_kind_tallies (
  round                 text NOT NULL,
  found_month           date NOT NULL,
  kind                  text NOT NULL,
  severity              text NOT NULL,
  content_area          integer NOT NULL,
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
  closure_days          integer[] NOT NULL DEFAULT '{}',
  closure_findings      integer[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (round, found_month, kind, severity, content_area)
);

-- The definition of both tables, summed from migration 010's.
CREATE VIEW finding_round_kind_tallies_recomputed AS
SELECT t.round, t.found_month, t.kind, t.severity, t.content_area,
       t.findings, t.closed, t.withdrawn, t.overdue, t.on_time, t.reopened, t.reminders, t.overdue_escalations,
       t.interview_escalations, t.interviews_proposed, t.interviews_held,
       coalesce(d.days, '{}') AS closure_days, coalesce(d.findings, '{}') AS closure_findings
FROM (
  SELECT round, found_month, kind, severity, content_area,
         sum(findings)::integer AS findings, sum(closed)::integer AS closed,
         sum(withdrawn)::integer AS withdrawn, sum(overdue)::integer AS overdue, sum(on_time)::integer AS on_time,
         sum(reopened)::integer AS reopened, sum(reminders)::integer AS reminders,
         sum(overdue_escalations)::integer AS overdue_escalations,
         sum(interview_escalations)::integer AS interview_escalations,
         sum(interviews_proposed)::integer AS interviews_proposed, sum(interviews_held)::integer AS interviews_held
  FROM finding_tallies GROUP BY round, found_month, kind, severity, content_area) t
LEFT JOIN (
  SELECT round, found_month, kind, severity, content_area,
         array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
  FROM (SELECT round, found_month, kind, severity, content_area, days, sum(findings)::integer AS n
        FROM finding_closure_days GROUP BY round, found_month, kind, severity, content_area, days
        HAVING sum(findings) <> 0) c
  GROUP BY round, found_month, kind, severity, content_area) d
USING (round, found_month, kind, severity, content_area);

CREATE VIEW finding_round_tallies_recomputed AS
SELECT t.round, t.found_month,
       t.findings, t.closed, t.withdrawn, t.overdue, t.on_time, t.reopened, t.reminders, t.overdue_escalations,
       t.interview_escalations, t.interviews_proposed, t.interviews_held,
       coalesce(d.days, '{}') AS closure_days, coalesce(d.findings, '{}') AS closure_findings
FROM (
  SELECT round, found_month,
         sum(findings)::integer AS findings, sum(closed)::integer AS closed,
         sum(withdrawn)::integer AS withdrawn, sum(overdue)::integer AS overdue, sum(on_time)::integer AS on_time,
         sum(reopened)::integer AS reopened, sum(reminders)::integer AS reminders,
         sum(overdue_escalations)::integer AS overdue_escalations,
         sum(interview_escalations)::integer AS interview_escalations,
         sum(interviews_proposed)::integer AS interviews_proposed, sum(interviews_held)::integer AS interviews_held
  FROM finding_tallies GROUP BY round, found_month) t
LEFT JOIN (
  SELECT round, found_month, array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
  FROM (SELECT round, found_month, days, sum(findings)::integer AS n
        FROM finding_closure_days GROUP BY round, found_month, days HAVING sum(findings) <> 0) c
  GROUP BY round, found_month) d
USING (round, found_month);

INSERT INTO finding_round_tallies SELECT * FROM finding_round_tallies_recomputed;
INSERT INTO finding_round_kind_tallies SELECT * FROM finding_round_kind_tallies_recomputed;

-- merge_closure_days adds a change of the days to close (change_days[i]
-- days, change_findings[i] findings more, or fewer when negative) to a
-- histogram in the same form, and returns it by days, without zero counts.
CREATE FUNCTION merge_closure_days(days integer[], findings integer[], change_days integer[], change_findings integer[],
  OUT closure_days integer[], OUT closure_findings integer[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(m.days ORDER BY m.days), '{}'), coalesce(array_agg(m.n ORDER BY m.days), '{}')
  FROM (SELECT u.days, sum(u.n)::integer AS n
        FROM (SELECT * FROM unnest(days, findings) UNION ALL SELECT * FROM unnest(change_days, change_findings)) u(days, n)
        GROUP BY u.days HAVING sum(u.n) <> 0) m
$$;

-- add_round_counts adds what a statement changed in finding_tallies (the
-- rows it wrote, less the rows they replaced) to both tables. Keys whose
-- counts do not change are not written.
CREATE FUNCTION add_round_counts(added finding_tallies[], removed finding_tallies[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH c AS (
    SELECT t.round, t.found_month, t.kind, t.severity, t.content_area,
      sum(t.sign * t.findings)::integer AS findings, sum(t.sign * t.closed)::integer AS closed,
      sum(t.sign * t.withdrawn)::integer AS withdrawn, sum(t.sign * t.overdue)::integer AS overdue,
      sum(t.sign * t.on_time)::integer AS on_time, sum(t.sign * t.reopened)::integer AS reopened,
      sum(t.sign * t.reminders)::integer AS reminders,
      sum(t.sign * t.overdue_escalations)::integer AS overdue_escalations,
      sum(t.sign * t.interview_escalations)::integer AS interview_escalations,
      sum(t.sign * t.interviews_proposed)::integer AS interviews_proposed,
      sum(t.sign * t.interviews_held)::integer AS interviews_held
    FROM (SELECT 1 AS sign, * FROM unnest(added) UNION ALL SELECT -1 AS sign, * FROM unnest(removed)) t
    GROUP BY t.round, t.found_month, t.kind, t.severity, t.content_area
  ), changed AS (
    SELECT * FROM c WHERE (findings, closed, withdrawn, overdue, on_time, reopened, reminders, overdue_escalations,
      interview_escalations, interviews_proposed, interviews_held) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
  ), by_kind AS (
    INSERT INTO finding_round_kind_tallies AS t (round, found_month, kind, severity, content_area,
      findings, closed, withdrawn, overdue, on_time, reopened,
      reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held)
    SELECT * FROM changed ORDER BY round, found_month, kind, severity, content_area
    ON CONFLICT (round, found_month, kind, severity, content_area) DO UPDATE SET
      findings = t.findings + EXCLUDED.findings, closed = t.closed + EXCLUDED.closed,
      withdrawn = t.withdrawn + EXCLUDED.withdrawn, overdue = t.overdue + EXCLUDED.overdue,
      on_time = t.on_time + EXCLUDED.on_time, reopened = t.reopened + EXCLUDED.reopened,
      reminders = t.reminders + EXCLUDED.reminders,
      overdue_escalations = t.overdue_escalations + EXCLUDED.overdue_escalations,
      interview_escalations = t.interview_escalations + EXCLUDED.interview_escalations,
      interviews_proposed = t.interviews_proposed + EXCLUDED.interviews_proposed,
      interviews_held = t.interviews_held + EXCLUDED.interviews_held
  )
  INSERT INTO finding_round_tallies AS t (round, found_month,
    findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held)
  SELECT round, found_month, sum(findings), sum(closed), sum(withdrawn), sum(overdue), sum(on_time), sum(reopened),
    sum(reminders), sum(overdue_escalations), sum(interview_escalations), sum(interviews_proposed), sum(interviews_held)
  FROM changed GROUP BY round, found_month ORDER BY round, found_month
  ON CONFLICT (round, found_month) DO UPDATE SET
    findings = t.findings + EXCLUDED.findings, closed = t.closed + EXCLUDED.closed,
    withdrawn = t.withdrawn + EXCLUDED.withdrawn, overdue = t.overdue + EXCLUDED.overdue,
    on_time = t.on_time + EXCLUDED.on_time, reopened = t.reopened + EXCLUDED.reopened,
    reminders = t.reminders + EXCLUDED.reminders,
    overdue_escalations = t.overdue_escalations + EXCLUDED.overdue_escalations,
    interview_escalations = t.interview_escalations + EXCLUDED.interview_escalations,
    interviews_proposed = t.interviews_proposed + EXCLUDED.interviews_proposed,
    interviews_held = t.interviews_held + EXCLUDED.interviews_held;
END;
$$;

-- add_round_closure_days adds what a statement changed in
-- finding_closure_days to both tables' days to close.
CREATE FUNCTION add_round_closure_days(added finding_closure_days[], removed finding_closure_days[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH c AS (
    SELECT d.round, d.found_month, d.kind, d.severity, d.content_area, d.days, sum(d.sign * d.findings)::integer AS n
    FROM (SELECT 1 AS sign, * FROM unnest(added) UNION ALL SELECT -1 AS sign, * FROM unnest(removed)) d
    GROUP BY d.round, d.found_month, d.kind, d.severity, d.content_area, d.days
    HAVING sum(d.sign * d.findings) <> 0
  ), by_kind AS (
    INSERT INTO finding_round_kind_tallies AS t (round, found_month, kind, severity, content_area,
      closure_days, closure_findings)
    SELECT round, found_month, kind, severity, content_area, array_agg(days ORDER BY days), array_agg(n ORDER BY days)
    FROM c GROUP BY round, found_month, kind, severity, content_area ORDER BY round, found_month, kind, severity, content_area
    ON CONFLICT (round, found_month, kind, severity, content_area) DO UPDATE SET
      (closure_days, closure_findings) = (SELECT * FROM merge_closure_days(t.closure_days, t.closure_findings,
                                                                          EXCLUDED.closure_days, EXCLUDED.closure_findings))
  )
  INSERT INTO finding_round_tallies AS t (round, found_month, closure_days, closure_findings)
  SELECT round, found_month, array_agg(days ORDER BY days), array_agg(n ORDER BY days)
  FROM (SELECT round, found_month, days, sum(n)::integer AS n FROM c GROUP BY round, found_month, days
        HAVING sum(n) <> 0) r
  GROUP BY round, found_month ORDER BY round, found_month
  ON CONFLICT (round, found_month) DO UPDATE SET
    (closure_days, closure_findings) = (SELECT * FROM merge_closure_days(t.closure_days, t.closure_findings,
                                                                        EXCLUDED.closure_days, EXCLUDED.closure_findings));
END;
$$;

-- The rows are written in key order, so that two statements that write
-- several of the same rows lock them in the same order.
--
-- The triggers: statement-level, as migration 010's, so that a statement
-- writing many tallies adds their changes once per key. finding_tallies
-- and finding_closure_days are written with INSERT … ON CONFLICT DO UPDATE
-- (the rows inserted reach the INSERT trigger, the rows updated the UPDATE
-- trigger) and UPDATE; never deleted (the application may not).
CREATE FUNCTION finding_tallies_round_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_round_counts(ARRAY(SELECT n::finding_tallies FROM new_tallies n), '{}');
  RETURN NULL;
END;
$$;

CREATE FUNCTION finding_tallies_round_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_round_counts(ARRAY(SELECT n::finding_tallies FROM new_tallies n), ARRAY(SELECT o::finding_tallies FROM old_tallies o));
  RETURN NULL;
END;
$$;

CREATE TRIGGER finding_tallies_round_insert AFTER INSERT ON finding_tallies
  REFERENCING NEW TABLE AS new_tallies
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_round_insert();
CREATE TRIGGER finding_tallies_round_update AFTER UPDATE ON finding_tallies
  REFERENCING OLD TABLE AS old_tallies NEW TABLE AS new_tallies
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_round_update();

CREATE FUNCTION finding_closure_days_round_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_round_closure_days(ARRAY(SELECT n::finding_closure_days FROM new_days n), '{}');
  RETURN NULL;
END;
$$;

CREATE FUNCTION finding_closure_days_round_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_round_closure_days(ARRAY(SELECT n::finding_closure_days FROM new_days n), ARRAY(SELECT o::finding_closure_days FROM old_days o));
  RETURN NULL;
END;
$$;

CREATE TRIGGER finding_closure_days_round_insert AFTER INSERT ON finding_closure_days
  REFERENCING NEW TABLE AS new_days
  FOR EACH STATEMENT EXECUTE FUNCTION finding_closure_days_round_insert();
CREATE TRIGGER finding_closure_days_round_update AFTER UPDATE ON finding_closure_days
  REFERENCING OLD TABLE AS old_days NEW TABLE AS new_days
  FOR EACH STATEMENT EXECUTE FUNCTION finding_closure_days_round_update();
