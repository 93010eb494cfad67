-- name: InsertInterview :execrows
-- InsertInterview writes a new interview's row, or nothing when a row
-- holds its ID or its workflow ID (no conflict target, so that two writes
-- of one interview at once cannot break the workflow ID's unique index).
INSERT INTO interviews (id, workflow_id, request_id, subject, unit_code, reason, source, stage, proposed_by,
                        approved_by, held_on, attendees, minutes, requirements, follow_up_working_days,
                        follow_up_deadline, due_at, deadline_seq, follow_up_report, follow_up_evidence_ids,
                        follow_up_reported_at, overdue, missed_deadlines, cancel_reason, created_at, updated_at,
                        version, reason_zh, cancel_reason_zh)
VALUES (@id, @workflow_id, @request_id, @subject, @unit_code, @reason, @source, @stage, @proposed_by,
        @approved_by, @held_on, @attendees, @minutes, @requirements, @follow_up_working_days,
        @follow_up_deadline, @due_at, @deadline_seq, @follow_up_report, @follow_up_evidence_ids,
        @follow_up_reported_at, @overdue, @missed_deadlines, @cancel_reason, @created_at, @updated_at,
        @version, @reason_zh, @cancel_reason_zh)
ON CONFLICT DO NOTHING;

-- name: UpdateInterview :execrows
-- UpdateInterview writes the mutable columns; what an interview was proposed
-- with (subject, unit, reason, source, proposer) never changes.
UPDATE interviews SET stage = @stage, approved_by = @approved_by, held_on = @held_on, attendees = @attendees,
       minutes = @minutes, requirements = @requirements, follow_up_working_days = @follow_up_working_days,
       follow_up_deadline = @follow_up_deadline, due_at = @due_at, deadline_seq = @deadline_seq,
       follow_up_report = @follow_up_report, follow_up_evidence_ids = @follow_up_evidence_ids,
       follow_up_reported_at = @follow_up_reported_at, overdue = @overdue, missed_deadlines = @missed_deadlines,
       cancel_reason = @cancel_reason, cancel_reason_zh = @cancel_reason_zh, updated_at = @updated_at,
       version = @version
WHERE id = @id AND version < @version;

-- name: InterviewExists :one
SELECT EXISTS (SELECT 1 FROM interviews WHERE id = @id);

-- name: GetInterview :one
SELECT * FROM interviews WHERE id = @id;

-- name: ListInterviews :many
-- ListInterviews reads a page in (created_at, id) order: an empty filter
-- field matches all; after_at and after_id are the previous page's last
-- row, NULL on the first page.
SELECT * FROM interviews
WHERE (@subject::text = '' OR subject = @subject)
  AND (@unit_code::text = '' OR unit_code = @unit_code)
  AND (@stage::text = '' OR stage = @stage)
  AND (NOT @by_unit::boolean OR unit_code = ANY(@units::text[]))
  AND (NOT @by_team::boolean OR EXISTS (
        SELECT 1 FROM inspections i
        WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text))
          AND (interviews.subject = 'inspection/' || i.id
               OR interviews.subject IN (SELECT 'finding/' || f.id FROM findings f WHERE f.inspection_id = i.id))))
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (created_at, id) > (sqlc.narg(after_at), @after_id::text))
ORDER BY created_at, id
LIMIT @row_limit::bigint;

-- name: InterviewWorkflowsInStage :many
SELECT workflow_id FROM interviews WHERE stage = @stage ORDER BY workflow_id;

-- name: InterviewsOf :many
-- InterviewsOf lists the IDs of a subject's interviews from a source in a
-- stage.
SELECT id FROM interviews WHERE subject = @subject AND source = @source AND stage = @stage ORDER BY id;

-- name: InterviewInReach :one
-- InterviewInReach says whether an interview exists and is in a caller's
-- scope: with by_unit, of one of units; with by_team, about an inspection
-- (or one of its findings) whose team lists team_subject (ListInterviews
-- filters by the same conditions).
SELECT EXISTS (
  SELECT 1 FROM interviews iv WHERE iv.id = @id
    AND (NOT @by_unit::boolean OR iv.unit_code = ANY(@units::text[]))
    AND (NOT @by_team::boolean OR EXISTS (
        SELECT 1 FROM inspections i
        WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text))
          AND (iv.subject = 'inspection/' || i.id
               OR iv.subject IN (SELECT 'finding/' || f.id FROM findings f WHERE f.inspection_id = i.id)))));

-- name: LockInterviewsOf :exec
-- LockInterviewsOf serialises, per subject, the proposals that must find
-- no other open interview of it (OpenInterviewOf); held until the
-- transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('interviews-of/' || @subject::text, 0));

-- name: OpenInterviewOf :many
-- OpenInterviewOf is a subject's oldest interview waiting (PROPOSED or
-- APPROVED), if any (none or one row).
SELECT id, stage FROM interviews
WHERE subject = @subject AND stage IN ('PROPOSED', 'APPROVED')
ORDER BY created_at, id
LIMIT 1;
