-- The month tallies follow finding_tallies by adding what changed, and a
-- change that moves no count writes no tally (issue 9 item 5). Forward-only.
--
-- Until now every statement that wrote finding_tallies then summed the
-- month tallies of its inspections and months anew
-- (refresh_month_tallies, migration 010) and wrote the sums over the rows.
-- Two things were wrong with that:
--
-- 1. Changes were lost. Two transactions changing findings of one
--    inspection and month but of different kinds (or severities, content
--    areas) write different finding_tallies rows, so neither waits there.
--    Each summed the month from its own snapshot, which could not see the
--    other's uncommitted row; the second then waited for the first's month
--    row, and once the first committed wrote its sum over it: the first
--    change was gone from the month (TestMonthTalliesOfOneInspectionAtOnce).
-- 2. It was slow: the sum reads every finding_tallies row of the month and
--    unnests their days to close, in every write of a finding, also in the
--    writes that change no count (a diagnosis, a classification, a
--    referral): about 7 ms of each finding change's 8 ms transaction in the
--    lifecycle benchmark.
--
-- Now
--
-- - statement triggers on finding_tallies add what a statement changed
--   (the rows it wrote, less the rows they replaced) to the month rows,
--   with INSERT … ON CONFLICT DO UPDATE SET x = x + change: a writer
--   waiting for the month row adds its change to the row as committed;
-- - refresh_month_tallies has nothing left to do: the writers of
--   migrations 010 and 019 still call it, and it returns;
-- - findings_tally_update returns at once when a statement changed no
--   finding's contribution (its key, whether it is closed or withdrawn,
--   overdue, its missed deadlines, reopenings, days to close): the
--   application writes one finding a statement, and most of its changes
--   move no count;
-- - the month tallies are summed anew once here, from finding_tallies,
--   mending any change the old way lost.
--
-- The views *_recomputed stay the definition; the tests compare the kept
-- tallies with them.

-- add_month_tally_changes adds to finding_month_tallies what a statement
-- changed in finding_tallies: the rows it wrote (added) less the rows they
-- replaced (removed), per inspection and month, in key order. Months whose
-- counts do not change are not written.
CREATE FUNCTION add_month_tally_changes(added finding_tallies[], removed finding_tallies[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  WITH t AS (
    SELECT 1 AS sign, * FROM unnest(added) UNION ALL SELECT -1 AS sign, * FROM unnest(removed)
  ), counts AS (
    SELECT t.inspection_id, t.found_month, max(t.unit_code) AS unit_code, max(t.round) AS round,
      sum(t.sign * t.findings)::integer AS findings, sum(t.sign * t.closed)::integer AS closed,
      sum(t.sign * t.withdrawn)::integer AS withdrawn, sum(t.sign * t.overdue)::integer AS overdue,
      sum(t.sign * t.on_time)::integer AS on_time, sum(t.sign * t.reopened)::integer AS reopened,
      sum(t.sign * t.reminders)::integer AS reminders,
      sum(t.sign * t.overdue_escalations)::integer AS overdue_escalations,
      sum(t.sign * t.interview_escalations)::integer AS interview_escalations,
      sum(t.sign * t.interviews_proposed)::integer AS interviews_proposed,
      sum(t.sign * t.interviews_held)::integer AS interviews_held
    FROM t GROUP BY t.inspection_id, t.found_month
  ), days AS (
    SELECT inspection_id, found_month, array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
    FROM (SELECT t.inspection_id, t.found_month, u.days, sum(t.sign * u.n)::integer AS n
          FROM t CROSS JOIN LATERAL unnest(t.closure_days, t.closure_findings) u(days, n)
          GROUP BY 1, 2, 3 HAVING sum(t.sign * u.n) <> 0) d
    GROUP BY inspection_id, found_month
  )
  INSERT INTO finding_month_tallies AS m (inspection_id, found_month, unit_code, round,
    findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held,
    closure_days, closure_findings)
  SELECT n.inspection_id, n.found_month, n.unit_code, n.round,
    n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened,
    n.reminders, n.overdue_escalations, n.interview_escalations, n.interviews_proposed, n.interviews_held,
    coalesce(d.days, '{}'), coalesce(d.findings, '{}')
  FROM counts n LEFT JOIN days d USING (inspection_id, found_month)
  WHERE d.days IS NOT NULL
     OR (n.findings, n.closed, n.withdrawn, n.overdue, n.on_time, n.reopened, n.reminders, n.overdue_escalations,
         n.interview_escalations, n.interviews_proposed, n.interviews_held) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
  ORDER BY n.inspection_id, n.found_month
  ON CONFLICT (inspection_id, found_month) DO UPDATE SET
    unit_code = EXCLUDED.unit_code, round = EXCLUDED.round,
    findings = m.findings + EXCLUDED.findings, closed = m.closed + EXCLUDED.closed,
    withdrawn = m.withdrawn + EXCLUDED.withdrawn, overdue = m.overdue + EXCLUDED.overdue,
    on_time = m.on_time + EXCLUDED.on_time, reopened = m.reopened + EXCLUDED.reopened,
    reminders = m.reminders + EXCLUDED.reminders,
    overdue_escalations = m.overdue_escalations + EXCLUDED.overdue_escalations,
    interview_escalations = m.interview_escalations + EXCLUDED.interview_escalations,
    interviews_proposed = m.interviews_proposed + EXCLUDED.interviews_proposed,
    interviews_held = m.interviews_held + EXCLUDED.interviews_held,
    (closure_days, closure_findings) = (SELECT * FROM merge_closure_days(m.closure_days, m.closure_findings,
                                                                        EXCLUDED.closure_days, EXCLUDED.closure_findings));
END;
$$;

CREATE FUNCTION finding_tallies_month_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_month_tally_changes(ARRAY(SELECT n::finding_tallies FROM new_tallies n), '{}');
  RETURN NULL;
END;
$$;

CREATE FUNCTION finding_tallies_month_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_month_tally_changes(ARRAY(SELECT n::finding_tallies FROM new_tallies n),
                                  ARRAY(SELECT o::finding_tallies FROM old_tallies o));
  RETURN NULL;
END;
$$;

CREATE TRIGGER finding_tallies_month_insert AFTER INSERT ON finding_tallies
  REFERENCING NEW TABLE AS new_tallies
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_month_insert();
CREATE TRIGGER finding_tallies_month_update AFTER UPDATE ON finding_tallies
  REFERENCING OLD TABLE AS old_tallies NEW TABLE AS new_tallies
  FOR EACH STATEMENT EXECUTE FUNCTION finding_tallies_month_update();

-- The month tallies follow finding_tallies' own triggers now.
CREATE OR REPLACE FUNCTION refresh_month_tallies(inspection_ids text[], found_months date[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RETURN;
END;
$$;

-- findings_tally_update (migration 010) again: the same contributions,
-- after a check that some finding's changed. A finding missing from either
-- side (an ID changed) counts as changed.
CREATE OR REPLACE FUNCTION findings_tally_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT FROM new_findings n FULL JOIN old_findings o ON o.id = n.id
    WHERE (o.inspection_id, finding_month(o.created_at), o.kind, o.severity, o.content_area,
           o.stage IN ('CLOSED', 'WITHDRAWN'), o.stage = 'CLOSED', o.overdue, o.missed_deadlines, o.reopen_count,
           finding_days_to_close(o.stage, o.referral, o.updated_at))
          IS DISTINCT FROM
          (n.inspection_id, finding_month(n.created_at), n.kind, n.severity, n.content_area,
           n.stage IN ('CLOSED', 'WITHDRAWN'), n.stage = 'CLOSED', n.overdue, n.missed_deadlines, n.reopen_count,
           finding_days_to_close(n.stage, n.referral, n.updated_at))) THEN
    RETURN NULL;
  END IF;
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

-- Once: the month tallies summed anew, mending what the old way lost.
INSERT INTO finding_month_tallies AS m
SELECT * FROM finding_month_tallies_recomputed
ON CONFLICT (inspection_id, found_month) DO UPDATE SET
  unit_code = EXCLUDED.unit_code, round = EXCLUDED.round,
  findings = EXCLUDED.findings, closed = EXCLUDED.closed, withdrawn = EXCLUDED.withdrawn,
  overdue = EXCLUDED.overdue, on_time = EXCLUDED.on_time, reopened = EXCLUDED.reopened,
  reminders = EXCLUDED.reminders, overdue_escalations = EXCLUDED.overdue_escalations,
  interview_escalations = EXCLUDED.interview_escalations, interviews_proposed = EXCLUDED.interviews_proposed,
  interviews_held = EXCLUDED.interviews_held, closure_days = EXCLUDED.closure_days,
  closure_findings = EXCLUDED.closure_findings;
