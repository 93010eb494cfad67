-- name: UnitNames :many
-- UnitNames gives each unit code its name on its latest inspection.
SELECT DISTINCT ON (unit_code) unit_code, unit_name FROM inspections
WHERE unit_code = ANY(@codes::text[])
ORDER BY unit_code, created_at DESC, id DESC;

-- name: InspectionRounds :many
-- InspectionRounds reads the rounds of inspections.
SELECT id, round FROM inspections WHERE id = ANY(@ids::text[]);

-- name: FoldRoundTallyDeltas :one
-- FoldRoundTallyDeltas folds up to batch pending changes of the statistics
-- per round into their rollup and says how many; -1 when another compactor
-- holds the lock.
SELECT coalesce(fold_finding_round_tally_deltas(@batch::integer), -1)::integer AS folded;

-- name: FoldFindingContributions :one
-- FoldFindingContributions folds up to batch pending rows of the
-- statistics' contributions into the tallies and says how many; -1 when,
-- not asked to wait, another transaction holds the lock.
SELECT coalesce(fold_finding_contributions(@batch::integer, @wait::boolean), -1)::integer AS folded;

-- name: PendingRoundTallyDeltas :one
-- PendingRoundTallyDeltas is the span of the pending changes' IDs: at
-- least how many wait.
SELECT coalesce(max(id) - min(id) + 1, 0)::bigint AS pending FROM finding_round_tally_deltas;

