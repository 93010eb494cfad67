-- name: InspectionExists :one
SELECT EXISTS (SELECT 1 FROM inspections WHERE id = @id);

-- name: InspectionKind :one
SELECT kind, stage FROM inspections WHERE id = @id;

-- name: InspectionCreated :one
-- InspectionCreated says whether the request created the inspection already
-- (a retry).
SELECT EXISTS (SELECT 1 FROM inspections WHERE id = @id AND request_id = @request_id);

-- name: InsertInspection :execrows
-- InsertInspection writes a new inspection's row, or nothing when a row
-- holds its ID or its workflow ID (no conflict target, so that two writes
-- of one inspection at once cannot break the workflow ID's unique index).
INSERT INTO inspections (id, workflow_id, request_id, unit_code, unit_name, kind, round,
                         planned_start, planned_end, created_by, created_at,
                         stage, content_areas, team, team_approved, follows_inspection_id,
                         report_deadline, rectification_deadline, due_at, deadline_seq,
                         overdue, missed_deadlines, summary, cancel_reason, records, updated_at, version)
VALUES (@id, @workflow_id, @request_id, @unit_code, @unit_name, @kind, @round,
        @planned_start, @planned_end, @created_by, @created_at,
        @stage, @content_areas, @team, @team_approved, @follows_inspection_id,
        @report_deadline, @rectification_deadline, @due_at, @deadline_seq,
        @overdue, @missed_deadlines, @summary, @cancel_reason, @records, @updated_at, @version)
ON CONFLICT DO NOTHING;

-- name: LockNonRepetition :exec
-- LockNonRepetition serialises, per unit and year, the creation of
-- COMPREHENSIVE inspections and the recording of the State Council's, so
-- that of two such requests at once exactly one passes the other's check.
-- The lock is held until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('non-repetition/' || @unit_code::text || '/' || (@year::int)::text, 0));

-- name: StateCouncilInspected :one
SELECT EXISTS (SELECT 1 FROM state_council_inspections WHERE unit_code = @unit_code AND year = @year);

-- name: UpdateInspection :execrows
UPDATE inspections SET stage = @stage, content_areas = @content_areas, team = @team,
       team_approved = @team_approved, follows_inspection_id = @follows_inspection_id,
       report_deadline = @report_deadline, rectification_deadline = @rectification_deadline,
       due_at = @due_at, deadline_seq = @deadline_seq, overdue = @overdue,
       missed_deadlines = @missed_deadlines, summary = @summary, cancel_reason = @cancel_reason,
       records = @records, updated_at = @updated_at, version = @version
WHERE id = @id AND version < @version;

-- name: GetInspection :one
SELECT * FROM inspections WHERE id = @id;

-- name: ListInspections :many
-- ListInspections reads a page in (created_at, id) order: an empty filter
-- field (year 0) matches all; after_at and after_id are the previous page's
-- last row, NULL on the first page.
SELECT * FROM inspections
WHERE (@unit_code::text = '' OR unit_code = @unit_code)
  AND (@kind::text = '' OR kind = @kind)
  AND (@stage::text = '' OR stage = @stage)
  AND (@year::integer = 0 OR extract(year FROM planned_start) = @year)
  AND (@round::text = '' OR round = @round)
  AND (NOT @by_unit::boolean OR unit_code = ANY(@units::text[]))
  AND (NOT @by_team::boolean OR team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text)))
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (created_at, id) > (sqlc.narg(after_at), @after_id::text))
ORDER BY created_at, id
LIMIT @row_limit::bigint;

-- name: InspectionUnit :one
SELECT unit_code FROM inspections WHERE id = @id;

-- name: InspectionFindings :many
-- InspectionFindings is what FindingCounts tallies.
SELECT kind, severity, content_area, stage, missed_deadlines, coalesce(ledger_number, '')::text AS ledger_number
FROM findings WHERE inspection_id = @inspection_id ORDER BY ledger_number;

-- name: FindingsInStage :many
SELECT id FROM findings WHERE inspection_id = @inspection_id AND stage = @stage ORDER BY created_at, id;

-- name: PlannedComprehensiveInspection :one
-- PlannedComprehensiveInspection finds a COMPREHENSIVE inspection of the
-- unit planned for the year and not yet on site, unless the request was
-- recorded already.
SELECT i.id FROM inspections i
WHERE i.unit_code = @unit_code AND i.kind = 'COMPREHENSIVE' AND extract(year FROM i.planned_start) = @year::integer
  AND i.stage IN ('PLANNED', 'NOTIFIED')
  AND NOT EXISTS (SELECT 1 FROM state_council_inspections sc WHERE sc.request_id = @request_id)
ORDER BY i.id LIMIT 1;

-- name: InsertStateCouncilInspection :exec
INSERT INTO state_council_inspections (unit_code, year, request_id, note, recorded_by)
VALUES (@unit_code, @year, @request_id, @note, @recorded_by) ON CONFLICT DO NOTHING;

-- name: StateCouncilInspections :many
-- StateCouncilInspections lists records; year 0 and unit '' match all.
SELECT * FROM state_council_inspections
WHERE (@year::integer = 0 OR year = @year) AND (@unit_code::text = '' OR unit_code = @unit_code)
ORDER BY year, unit_code;

-- name: InspectionInReach :one
-- InspectionInReach says whether an inspection exists and is in a caller's
-- scope: with by_unit, of one of units; with by_team, its team lists
-- team_subject (ListInspections filters by the same conditions).
SELECT EXISTS (
  SELECT 1 FROM inspections WHERE id = @id
    AND (NOT @by_unit::boolean OR unit_code = ANY(@units::text[]))
    AND (NOT @by_team::boolean OR team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text))));

-- name: TeamPosition :one
-- TeamPosition is the position (LEADER, DEPUTY, MEMBER, EXPERT, OBSERVER)
-- that the team of an inspection gives the person signed in as subject:
-- the inspection's own (subject_type 'inspection') or a finding's
-- ('finding'); empty when the team does not list them.
SELECT coalesce((
  SELECT m->>'role' FROM inspections i CROSS JOIN LATERAL jsonb_array_elements(i.team) m
  WHERE i.id = CASE @subject_type::text
                 WHEN 'inspection' THEN @id::text
                 WHEN 'finding' THEN (SELECT f.inspection_id FROM findings f WHERE f.id = @id::text)
               END
    AND m->>'subject' = @subject::text
  ORDER BY m->>'role' = 'LEADER' DESC
  LIMIT 1), '')::text AS position;
