-- Statistics without the inspection, and without a row that writers of
-- different inspections share (issue 13 item 1). Forward-only.
--
-- Migration 010's tallies keep one row per inspection (and month, kind,
-- severity, content area), and finding_closure_days one per that key and
-- number of days to close: about 0.7 rows a finding, which a question
-- about the whole province by kind, severity or content area summed. This
-- migration
--
-- 1. keeps the days to close as two arrays on finding_tallies
--    (closure_days[i] days, closure_findings[i] closed findings; by days,
--    no zero counts), as finding_month_tallies does, and drops
--    finding_closure_days: a question about units and kinds reads one row
--    per inspection, month, kind, severity and content area, whatever the
--    days;
-- 2. adds finding_round_tallies, the same counts and arrays per round,
--    month found, kind, severity and content area, without the
--    inspection: a few thousand rows at a million findings, for the
--    questions that name no unit, inspection or reach and are not grouped
--    by unit.
--
-- No writer updates finding_round_tallies. A row per round would be
-- shared by every write of the round across the province: all of them
-- would wait for each other's commit (the midnight herd's escalations
-- among them), and statements locking several of those rows could
-- deadlock. Instead, triggers on finding_tallies only append what a
-- statement changed, per round key, to finding_round_tally_deltas
-- (insert-only, no key that writers could contend on), and:
--
-- - a read sums finding_round_tallies and the deltas still pending, in
--   one snapshot, so that its answer is exact, never stale;
-- - fold_finding_round_tally_deltas, the compactor, deletes the deltas it
--   sees (DELETE … RETURNING) and adds them to finding_round_tallies in
--   one statement, under a transaction-level advisory lock (one compactor
--   at a time; another one returns at once): a reader sees a delta either
--   pending or folded, never both or neither. The worker runs it every
--   30 seconds (XUNCHA_STATISTICS_COMPACT_EVERY) and a read runs it first
--   when more deltas are pending than it would like to read
--   (ledger.Store.Statistics).
--
-- The views *_recomputed stay the definition: finding_tallies_recomputed
-- (now with the days to close) and finding_round_tallies_recomputed
-- compute their rows from the findings, escalations and interviews from
-- scratch; the tests check that finding_tallies, and finding_round_tallies
-- plus the pending deltas, equal them.

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

-- 1. The days to close on finding_tallies.
ALTER TABLE finding_tallies
  ADD COLUMN closure_days     integer[] NOT NULL DEFAULT '{}',
  ADD COLUMN closure_findings integer[] NOT NULL DEFAULT '{}';

UPDATE finding_tallies t SET closure_days = d.days, closure_findings = d.findings
FROM (SELECT inspection_id, found_month, kind, severity, content_area,
             array_agg(days ORDER BY days) AS days, array_agg(findings ORDER BY days) AS findings
      FROM finding_closure_days WHERE findings <> 0
      GROUP BY inspection_id, found_month, kind, severity, content_area) d
WHERE (t.inspection_id, t.found_month, t.kind, t.severity, t.content_area)
    = (d.inspection_id, d.found_month, d.kind, d.severity, d.content_area);

-- The definition, with the days to close (migration 010's columns first,
-- as CREATE OR REPLACE VIEW wants them).
CREATE OR REPLACE VIEW finding_tallies_recomputed AS
WITH escalated AS (
  SELECT substr(subject, 9) AS finding_id,
         count(*) FILTER (WHERE step = 'REMINDER') AS reminders,
         count(*) FILTER (WHERE step = 'OVERDUE') AS overdue_escalations,
         count(*) FILTER (WHERE step = 'INTERVIEW_PROPOSED') AS interview_escalations
  FROM escalations WHERE subject LIKE 'finding/%' GROUP BY 1
), interviewed AS (
  SELECT substr(subject, 9) AS finding_id, count(*) AS proposed, count(held_on) AS held
  FROM interviews WHERE subject LIKE 'finding/%' GROUP BY 1
), closure AS (
  SELECT inspection_id, found_month, kind, severity, content_area,
         array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
  FROM (SELECT f.inspection_id, finding_month(f.created_at) AS found_month, f.kind, f.severity, f.content_area,
               finding_days_to_close(f.stage, f.referral, f.updated_at) AS days, count(*)::integer AS n
        FROM findings f
        WHERE finding_days_to_close(f.stage, f.referral, f.updated_at) IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6) c
  GROUP BY inspection_id, found_month, kind, severity, content_area
)
SELECT t.*, coalesce(c.days, '{}') AS closure_days, coalesce(c.findings, '{}') AS closure_findings
FROM (
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
  GROUP BY 1, 2, 3, 4, 5, 6, 7) t
LEFT JOIN closure c USING (inspection_id, found_month, kind, severity, content_area);

-- The month tallies' definition, summed from finding_tallies' arrays.
CREATE OR REPLACE VIEW finding_month_tallies_recomputed AS
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
  FROM (SELECT u.days, sum(u.n)::integer AS n
        FROM finding_tallies x CROSS JOIN LATERAL unnest(x.closure_days, x.closure_findings) u(days, n)
        WHERE x.inspection_id = t.inspection_id AND x.found_month = t.found_month
        GROUP BY u.days HAVING sum(u.n) <> 0) c) d;

-- add_finding_contributions (migration 010) sums contributions per key
-- into finding_tallies, the days to close into its arrays; the month
-- tallies follow. Keys whose counts do not change (an update of a
-- description or a deadline) are not written; the rows are written in key
-- order, so that two statements writing several of the same rows lock
-- them alike.
CREATE OR REPLACE FUNCTION add_finding_contributions(contributions finding_contribution[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH c AS (
    SELECT * FROM unnest(contributions)
  ), counts AS (
    SELECT c.inspection_id, c.found_month, c.kind, c.severity, c.content_area, i.unit_code, i.round,
      sum(c.sign)::integer AS findings, sum(c.closed)::integer AS closed, sum(c.withdrawn)::integer AS withdrawn,
      sum(c.overdue)::integer AS overdue, sum(c.on_time)::integer AS on_time, sum(c.reopened)::integer AS reopened,
      sum(c.reminders)::integer AS reminders, sum(c.overdue_escalations)::integer AS overdue_escalations,
      sum(c.interview_escalations)::integer AS interview_escalations,
      sum(c.interviews_proposed)::integer AS interviews_proposed, sum(c.interviews_held)::integer AS interviews_held
    FROM c JOIN inspections i ON i.id = c.inspection_id
    GROUP BY c.inspection_id, c.found_month, c.kind, c.severity, c.content_area, i.unit_code, i.round
  ), days AS (
    SELECT inspection_id, found_month, kind, severity, content_area,
           array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
    FROM (SELECT inspection_id, found_month, kind, severity, content_area, days, sum(sign)::integer AS n
          FROM c WHERE days IS NOT NULL
          GROUP BY inspection_id, found_month, kind, severity, content_area, days
          HAVING sum(sign) <> 0) d
    GROUP BY inspection_id, found_month, kind, severity, content_area
  )
  INSERT INTO finding_tallies AS t (inspection_id, found_month, kind, severity, content_area, unit_code, round,
    findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held,
    closure_days, closure_findings)
  SELECT n.inspection_id, n.found_month, n.kind, n.severity, n.content_area, n.unit_code, n.round,
    n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened,
    n.reminders, n.overdue_escalations, n.interview_escalations, n.interviews_proposed, n.interviews_held,
    coalesce(d.days, '{}'), coalesce(d.findings, '{}')
  FROM counts n LEFT JOIN days d USING (inspection_id, found_month, kind, severity, content_area)
  WHERE d.days IS NOT NULL
     OR (n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened, n.reminders, n.overdue_escalations,
         n.interview_escalations, n.interviews_proposed, n.interviews_held) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
  ORDER BY n.inspection_id, n.found_month, n.kind, n.severity, n.content_area
  ON CONFLICT (inspection_id, found_month, kind, severity, content_area) DO UPDATE SET
    findings = t.findings + EXCLUDED.findings, closed = t.closed + EXCLUDED.closed,
    withdrawn = t.withdrawn + EXCLUDED.withdrawn, overdue = t.overdue + EXCLUDED.overdue,
    on_time = t.on_time + EXCLUDED.on_time, reopened = t.reopened + EXCLUDED.reopened,
    reminders = t.reminders + EXCLUDED.reminders,
    overdue_escalations = t.overdue_escalations + EXCLUDED.overdue_escalations,
    interview_escalations = t.interview_escalations + EXCLUDED.interview_escalations,
    interviews_proposed = t.interviews_proposed + EXCLUDED.interviews_proposed,
    interviews_held = t.interviews_held + EXCLUDED.interviews_held,
    (closure_days, closure_findings) = (SELECT * FROM merge_closure_days(t.closure_days, t.closure_findings,
                                                                        EXCLUDED.closure_days, EXCLUDED.closure_findings));

  PERFORM refresh_month_tallies(ARRAY(SELECT DISTINCT c.inspection_id FROM unnest(contributions) c),
                                ARRAY(SELECT DISTINCT c.found_month FROM unnest(contributions) c));
END;
$$;

DROP VIEW finding_closure_days_recomputed;
DROP TABLE finding_closure_days;

-- 2. The tallies per round.
CREATE TABLE finding_round_tallies (
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

-- What statements changed in finding_tallies, per round key, not yet
-- folded into finding_round_tallies: the counts' differences, and the
-- days to close's as arrays (negative counts for findings that left a
-- key). Rows are only ever inserted by writers and deleted by the
-- compactor; readers scan them all (a bounded few thousand).
CREATE TABLE finding_round_tally_deltas (
  id                    bigserial PRIMARY KEY,
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
  closure_findings      integer[] NOT NULL DEFAULT '{}'
) WITH (
  -- A queue: rows come and go every few seconds. Vacuum it by the number
  -- of rows deleted, not by a fraction of a table that is nearly empty.
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000
);

-- The definition of finding_round_tallies, from scratch.
CREATE VIEW finding_round_tallies_recomputed AS
WITH f AS (SELECT * FROM finding_tallies_recomputed)
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
  FROM f GROUP BY round, found_month, kind, severity, content_area) t
LEFT JOIN (
  SELECT round, found_month, kind, severity, content_area,
         array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
  FROM (SELECT f.round, f.found_month, f.kind, f.severity, f.content_area, u.days, sum(u.n)::integer AS n
        FROM f CROSS JOIN LATERAL unnest(f.closure_days, f.closure_findings) u(days, n)
        GROUP BY 1, 2, 3, 4, 5, 6) c
  GROUP BY round, found_month, kind, severity, content_area) d
USING (round, found_month, kind, severity, content_area);

-- The same sum of finding_tallies as kept (equal to the definition, which
-- the tests check), to fill the table.
INSERT INTO finding_round_tallies
SELECT t.round, t.found_month, t.kind, t.severity, t.content_area,
       t.findings, t.closed, t.withdrawn, t.overdue, t.on_time, t.reopened, t.reminders, t.overdue_escalations,
       t.interview_escalations, t.interviews_proposed, t.interviews_held,
       coalesce(d.days, '{}'), coalesce(d.findings, '{}')
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
  FROM (SELECT f.round, f.found_month, f.kind, f.severity, f.content_area, u.days, sum(u.n)::integer AS n
        FROM finding_tallies f CROSS JOIN LATERAL unnest(f.closure_days, f.closure_findings) u(days, n)
        GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(u.n) <> 0) c
  GROUP BY round, found_month, kind, severity, content_area) d
USING (round, found_month, kind, severity, content_area);

-- add_round_tally_deltas appends what a statement changed in
-- finding_tallies (the rows it wrote, less the rows they replaced) to the
-- deltas, one row per round key that changed. It only inserts: writers of
-- the same round never wait for each other here.
CREATE FUNCTION add_round_tally_deltas(added finding_tallies[], removed finding_tallies[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH t AS (
    SELECT 1 AS sign, * FROM unnest(added) UNION ALL SELECT -1 AS sign, * FROM unnest(removed)
  ), counts AS (
    SELECT t.round, t.found_month, t.kind, t.severity, t.content_area,
      sum(t.sign * t.findings)::integer AS findings, sum(t.sign * t.closed)::integer AS closed,
      sum(t.sign * t.withdrawn)::integer AS withdrawn, sum(t.sign * t.overdue)::integer AS overdue,
      sum(t.sign * t.on_time)::integer AS on_time, sum(t.sign * t.reopened)::integer AS reopened,
      sum(t.sign * t.reminders)::integer AS reminders,
      sum(t.sign * t.overdue_escalations)::integer AS overdue_escalations,
      sum(t.sign * t.interview_escalations)::integer AS interview_escalations,
      sum(t.sign * t.interviews_proposed)::integer AS interviews_proposed,
      sum(t.sign * t.interviews_held)::integer AS interviews_held
    FROM t GROUP BY t.round, t.found_month, t.kind, t.severity, t.content_area
  ), days AS (
    SELECT round, found_month, kind, severity, content_area,
           array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
    FROM (SELECT t.round, t.found_month, t.kind, t.severity, t.content_area, u.days, sum(t.sign * u.n)::integer AS n
          FROM t CROSS JOIN LATERAL unnest(t.closure_days, t.closure_findings) u(days, n)
          GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(t.sign * u.n) <> 0) d
    GROUP BY round, found_month, kind, severity, content_area
  )
  INSERT INTO finding_round_tally_deltas (round, found_month, kind, severity, content_area,
    findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held,
    closure_days, closure_findings)
  SELECT n.round, n.found_month, n.kind, n.severity, n.content_area,
    n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened,
    n.reminders, n.overdue_escalations, n.interview_escalations, n.interviews_proposed, n.interviews_held,
    coalesce(d.days, '{}'), coalesce(d.findings, '{}')
  FROM counts n LEFT JOIN days d USING (round, found_month, kind, severity, content_area)
  WHERE d.days IS NOT NULL
     OR (n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened, n.reminders, n.overdue_escalations,
         n.interview_escalations, n.interviews_proposed, n.interviews_held) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
END;
$$;

-- The triggers: statement-level, as migration 010's. finding_tallies is
-- written with INSERT … ON CONFLICT DO UPDATE (the rows inserted reach the
-- INSERT trigger, the rows updated the UPDATE trigger) and UPDATE; never
-- deleted (the application may not).
CREATE FUNCTION finding_tallies_round_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_round_tally_deltas(ARRAY(SELECT n::finding_tallies FROM new_tallies n), '{}');
  RETURN NULL;
END;
$$;

CREATE FUNCTION finding_tallies_round_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_round_tally_deltas(ARRAY(SELECT n::finding_tallies FROM new_tallies n),
                                 ARRAY(SELECT o::finding_tallies FROM old_tallies o));
  RETURN NULL;
END;
$$;

CREATE TRIGGER finding_tallies_round_insert AFTER INSERT ON finding_tallies
  REFERENCING NEW TABLE AS new_tallies
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_round_insert();
CREATE TRIGGER finding_tallies_round_update AFTER UPDATE ON finding_tallies
  REFERENCING OLD TABLE AS old_tallies NEW TABLE AS new_tallies
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_round_update();

-- fold_finding_round_tally_deltas, the compactor, folds up to batch of the
-- deltas its snapshot sees (the oldest first) into finding_round_tallies
-- and deletes them, in one statement, and returns how many it folded; or
-- NULL at once when another transaction holds the compactor's advisory
-- lock (it is folding). The lock is held until the transaction ends. Rows
-- are written in key order; keys whose counts do not change are not
-- written.
CREATE FUNCTION fold_finding_round_tally_deltas(batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended('xuncha/finding-round-tallies', 0)) THEN
    RETURN NULL;
  END IF;
  WITH gone AS (
    DELETE FROM finding_round_tally_deltas
    WHERE id IN (SELECT id FROM finding_round_tally_deltas ORDER BY id LIMIT batch)
    RETURNING *
  ), counts AS (
    SELECT round, found_month, kind, severity, content_area,
      sum(findings)::integer AS findings, sum(closed)::integer AS closed, sum(withdrawn)::integer AS withdrawn,
      sum(overdue)::integer AS overdue, sum(on_time)::integer AS on_time, sum(reopened)::integer AS reopened,
      sum(reminders)::integer AS reminders, sum(overdue_escalations)::integer AS overdue_escalations,
      sum(interview_escalations)::integer AS interview_escalations,
      sum(interviews_proposed)::integer AS interviews_proposed, sum(interviews_held)::integer AS interviews_held
    FROM gone GROUP BY round, found_month, kind, severity, content_area
  ), days AS (
    SELECT round, found_month, kind, severity, content_area,
           array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
    FROM (SELECT g.round, g.found_month, g.kind, g.severity, g.content_area, u.days, sum(u.n)::integer AS n
          FROM gone g CROSS JOIN LATERAL unnest(g.closure_days, g.closure_findings) u(days, n)
          GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(u.n) <> 0) d
    GROUP BY round, found_month, kind, severity, content_area
  ), folded_into AS (
    INSERT INTO finding_round_tallies AS t (round, found_month, kind, severity, content_area,
      findings, closed, withdrawn, overdue, on_time, reopened,
      reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held,
      closure_days, closure_findings)
    SELECT n.round, n.found_month, n.kind, n.severity, n.content_area,
      n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened,
      n.reminders, n.overdue_escalations, n.interview_escalations, n.interviews_proposed, n.interviews_held,
      coalesce(d.days, '{}'), coalesce(d.findings, '{}')
    FROM counts n LEFT JOIN days d USING (round, found_month, kind, severity, content_area)
    WHERE d.days IS NOT NULL
       OR (n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened, n.reminders, n.overdue_escalations,
           n.interview_escalations, n.interviews_proposed, n.interviews_held) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ORDER BY n.round, n.found_month, n.kind, n.severity, n.content_area
    ON CONFLICT (round, found_month, kind, severity, content_area) DO UPDATE SET
      findings = t.findings + EXCLUDED.findings, closed = t.closed + EXCLUDED.closed,
      withdrawn = t.withdrawn + EXCLUDED.withdrawn, overdue = t.overdue + EXCLUDED.overdue,
      on_time = t.on_time + EXCLUDED.on_time, reopened = t.reopened + EXCLUDED.reopened,
      reminders = t.reminders + EXCLUDED.reminders,
      overdue_escalations = t.overdue_escalations + EXCLUDED.overdue_escalations,
      interview_escalations = t.interview_escalations + EXCLUDED.interview_escalations,
      interviews_proposed = t.interviews_proposed + EXCLUDED.interviews_proposed,
      interviews_held = t.interviews_held + EXCLUDED.interviews_held,
      (closure_days, closure_findings) = (SELECT * FROM merge_closure_days(t.closure_days, t.closure_findings,
                                                                          EXCLUDED.closure_days, EXCLUDED.closure_findings))
  )
  SELECT count(*) INTO folded FROM gone;
  RETURN folded;
END;
$$;
