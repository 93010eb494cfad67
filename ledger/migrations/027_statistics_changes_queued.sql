-- The statistics' counts are no longer written by the statement that
-- changes a finding, records an escalation or proposes or holds an
-- interview (issue 9 item 5). Forward-only.
--
-- Until now each such statement summed its contributions into
-- finding_tallies, whose own triggers carried them on to the month tallies
-- (migration 021) and the round tallies' pending changes (migration 019),
-- inside the write: about a millisecond of PostgreSQL's time in a
-- finding's record and in its close-out, and findings of one inspection,
-- whose tally rows are the same, waited for each other's transactions
-- there. Now the statement only appends its contributions to
-- finding_contributions_pending, a row that no other writer touches, and
-- fold_finding_contributions sums what is pending into finding_tallies
-- (and so into the month and round tallies) as before: the statistics
-- compactor folds it every so often, and every statistics question first
-- folds whatever is pending (ledger.Store.Statistics), so an answer still
-- counts every change committed before it was asked.
--
-- The sums are the same: finding_tallies holds, once folded, what it held
-- before. The escalations' and interviews' counts, which were added to the
-- finding's existing tally row, are contributions like the others now:
-- summed by key, they need no row to be there first.

CREATE TABLE finding_contributions_pending (
  id            bigserial PRIMARY KEY,
  contributions finding_contribution[] NOT NULL
) WITH (
  -- A queue, as finding_round_tally_deltas.
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000
);

-- apply_finding_contributions is what add_finding_contributions did
-- (migration 019, unchanged: the function renamed): sum contributions per
-- key into finding_tallies, the days to close into its arrays; the month
-- and round tallies follow. In a DO block because sqlc, which reads the
-- migrations for the schema, does not parse ALTER FUNCTION … RENAME.
DO $$
BEGIN
  ALTER FUNCTION add_finding_contributions(finding_contribution[]) RENAME TO apply_finding_contributions;
END;
$$;

-- add_finding_contributions, which the findings' triggers call, queues the
-- contributions instead.
CREATE OR REPLACE FUNCTION add_finding_contributions(contributions finding_contribution[]) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO finding_contributions_pending (contributions)
  SELECT contributions WHERE cardinality(contributions) > 0;
$$;

-- escalations_tally (migration 010): the escalation steps of findings a
-- statement recorded, queued as contributions to the findings' keys.
CREATE OR REPLACE FUNCTION escalations_tally() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_finding_contributions(ARRAY(
    SELECT ROW(f.inspection_id, finding_month(f.created_at), f.kind, f.severity, f.content_area, 0, 0, 0, 0, 0, 0,
      count(*) FILTER (WHERE e.step = 'REMINDER')::integer,
      count(*) FILTER (WHERE e.step = 'OVERDUE')::integer,
      count(*) FILTER (WHERE e.step = 'INTERVIEW_PROPOSED')::integer,
      0, 0, NULL)::finding_contribution
    FROM new_escalations e
    JOIN findings f ON e.subject LIKE 'finding/%' AND f.id = substr(e.subject, 9)
    GROUP BY f.inspection_id, finding_month(f.created_at), f.kind, f.severity, f.content_area
    HAVING count(*) FILTER (WHERE e.step IN ('REMINDER', 'OVERDUE', 'INTERVIEW_PROPOSED')) > 0));
  RETURN NULL;
END;
$$;

-- add_interview_counts (migration 010): interviews proposed and held,
-- queued as contributions to the keys of the findings they are about;
-- subjects that are not findings count nowhere.
CREATE OR REPLACE FUNCTION add_interview_counts(subjects text[], proposed integer[], held integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM add_finding_contributions(ARRAY(
    SELECT ROW(f.inspection_id, finding_month(f.created_at), f.kind, f.severity, f.content_area, 0, 0, 0, 0, 0, 0,
      0, 0, 0, sum(c.proposed)::integer, sum(c.held)::integer, NULL)::finding_contribution
    FROM unnest(subjects, proposed, held) c(subject, proposed, held)
    JOIN findings f ON c.subject LIKE 'finding/%' AND f.id = substr(c.subject, 9)
    GROUP BY f.inspection_id, finding_month(f.created_at), f.kind, f.severity, f.content_area
    HAVING sum(c.proposed) <> 0 OR sum(c.held) <> 0));
END;
$$;

-- fold_finding_contributions folds up to batch of the pending rows (the
-- oldest first) into finding_tallies and deletes them, and returns how
-- many it folded; or, when wait is false, NULL at once if another
-- transaction holds the folding's advisory lock. With wait, it waits for
-- that transaction, and then sees what it left. The lock is held until the
-- transaction ends.
CREATE FUNCTION fold_finding_contributions(batch integer, wait boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  folded integer;
  queued finding_contribution[];
BEGIN
  IF wait THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('xuncha/finding-contributions', 0));
  ELSIF NOT pg_try_advisory_xact_lock(hashtextextended('xuncha/finding-contributions', 0)) THEN
    RETURN NULL;
  END IF;
  WITH gone AS (
    DELETE FROM finding_contributions_pending
    WHERE id IN (SELECT id FROM finding_contributions_pending ORDER BY id LIMIT batch)
    RETURNING id, contributions
  )
  SELECT count(DISTINCT g.id)::integer, coalesce(array_agg(c ORDER BY g.id), '{}')
  INTO folded, queued
  FROM gone g CROSS JOIN LATERAL unnest(g.contributions) c;
  IF folded > 0 THEN
    PERFORM apply_finding_contributions(queued);
  END IF;
  RETURN folded;
END;
$$;
