-- name: InsertEscalation :exec
-- InsertEscalation records a step; a NULL fired_at means now.
INSERT INTO escalations (id, subject, deadline_seq, step, unit_code, due_at, fired_at, message, message_zh)
VALUES (@id, @subject, @deadline_seq, @step, @unit_code, @due_at,
        COALESCE(sqlc.narg(fired_at)::timestamptz, now()), @message, @message_zh)
ON CONFLICT DO NOTHING;

-- name: EscalationOfStep :one
SELECT * FROM escalations WHERE subject = @subject AND deadline_seq = @deadline_seq AND step = @step;

-- name: ListEscalations :many
-- ListEscalations reads a page in (fired_at, id) order, newest first: an
-- empty filter field matches all; before_at and before_id are the previous
-- page's last row, NULL on the first page. A unit reaches the escalations
-- of its inspections, findings and interviews; an invitation's names the
-- unit that seconds the expert, and the pool is not a unit's to read; a
-- clue referral's receipt ladder is the receiving body's, not the unit's
-- (api/referrals.go · referralView).
SELECT * FROM escalations
WHERE (@subject::text = '' OR subject = @subject)
  AND (@unit_code::text = '' OR unit_code = @unit_code)
  AND (NOT @by_unit::boolean OR (unit_code = ANY(@units::text[]) AND subject NOT LIKE 'invitation/%'
       AND step NOT IN ('REFERRAL_REMINDER', 'REFERRAL_UNACKNOWLEDGED')))
  AND (NOT @by_team::boolean OR subject IN (
         SELECT 'inspection/' || i.id FROM inspections i
         WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text))
         UNION ALL
         SELECT 'finding/' || f.id FROM findings f JOIN inspections i ON i.id = f.inspection_id
         WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text))))
  AND (sqlc.narg(before_at)::timestamptz IS NULL OR (fired_at, id) < (sqlc.narg(before_at), @before_id::text))
ORDER BY fired_at DESC, id DESC
LIMIT @row_limit::bigint;

-- name: EscalationsOf :many
SELECT * FROM escalations WHERE subject = @subject ORDER BY fired_at, id;

-- name: InsertEscalationPolicy :one
INSERT INTO escalation_policies (request_id, steps, updated_by, extensions, signoff_rules, invitation_answer_working_days)
VALUES (@request_id, @steps, @updated_by, @extensions, @signoff_rules, @invitation_answer_working_days)
ON CONFLICT (request_id) DO NOTHING
RETURNING id;

-- name: LockEscalationPolicy :exec
-- LockEscalationPolicy serialises the policy's changes, those that name
-- the version they expect and those that do not, until the transaction
-- ends.
SELECT pg_advisory_xact_lock(hashtext('xuncha.escalation_policy'));

-- name: CurrentEscalationPolicy :one
SELECT * FROM escalation_policies ORDER BY id DESC LIMIT 1;

-- name: EscalationPolicyOfRequest :one
SELECT * FROM escalation_policies WHERE request_id = @request_id;

-- name: GetEscalationPolicy :one
SELECT * FROM escalation_policies WHERE id = @id;
