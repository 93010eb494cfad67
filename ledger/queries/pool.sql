-- The inspection expert pool (issue 15): its people, the line-ups drawn
-- from them and the invitations they answer.

-- name: ExpertIDOfSubject :one
SELECT id FROM experts WHERE subject = @subject;

-- name: LockExpertKey :exec
-- LockExpertKey makes the adds of one expert ID, or of one sign-in
-- subject, take turns (transaction-scoped advisory lock): two at once both
-- passed the subject's check, and the second's insert broke its unique
-- index instead of finding the first's row.
SELECT pg_advisory_xact_lock(hashtext('xuncha.expert'), hashtext(@key::text));

-- name: InsertExpert :execrows
INSERT INTO experts (id, subject, name, organisation, unit_code, rank, kind, content_areas, sectors,
                     home_region, affiliations, unavailable, left_on, leave_reason, created_by, created_at,
                     updated_at, version)
VALUES (@id, @subject, @name, @organisation, @unit_code, @rank, @kind, @content_areas, @sectors,
        @home_region, @affiliations, @unavailable, @left_on, @leave_reason, @created_by, @created_at,
        @updated_at, @version)
ON CONFLICT (id) DO NOTHING;

-- name: UpdateExpert :exec
-- UpdateExpert writes what a change may edit; the ID, who added the
-- person and when never change.
UPDATE experts SET subject = @subject, name = @name, organisation = @organisation, unit_code = @unit_code,
       rank = @rank, kind = @kind, content_areas = @content_areas, sectors = @sectors, home_region = @home_region,
       affiliations = @affiliations, unavailable = @unavailable, left_on = @left_on, leave_reason = @leave_reason,
       updated_at = @updated_at, version = @version
WHERE id = @id;

-- name: GetExpert :one
SELECT * FROM experts WHERE id = @id;

-- name: LockExpert :one
SELECT * FROM experts WHERE id = @id FOR UPDATE;

-- name: ExpertBySubject :one
SELECT * FROM experts WHERE subject = @subject;

-- name: ListExperts :many
-- ListExperts reads a page in ID order after after_id; those who left only
-- when include_left.
SELECT * FROM experts
WHERE id > @after_id AND (@include_left::boolean OR left_on IS NULL)
ORDER BY id LIMIT @row_limit::bigint;

-- name: AllExperts :many
SELECT * FROM experts ORDER BY id;

-- name: EventKeyRecorded :one
-- EventKeyRecorded says whether a subject's log holds the event key.
SELECT EXISTS (
  SELECT 1 FROM events WHERE subject_type = @subject_type AND subject_id = @subject_id AND event_key = @event_key);

-- name: LockPoolDraws :exec
-- LockPoolDraws serialises the writes that book people (a line-up's draw,
-- a swap, a replacement, an invitation's answer), so that the
-- double-booking check sees every booking.
SELECT pg_advisory_xact_lock(hashtext('xuncha.pool.draws'));

-- name: Bookings :many
-- Bookings are the people booked on days overlapping from_day..to_day: the
-- active members of the line-ups in play (except except_lineup) and the
-- teams of the inspections not ended, as the expert's ID, what books them
-- ("lineup/<id>", "inspection/<id>") and its first and last day. A line-up
-- an inspection took (USED) books its people until the inspection's row
-- does: between the two, and for as long as a create waits for its retry,
-- nothing else did.
SELECT (m->>'expert_id')::text AS expert_id, ('lineup/' || l.id)::text AS what,
       l.planned_start AS from_day, l.planned_end AS to_day
FROM lineups l, jsonb_array_elements(l.members) m
WHERE (l.state IN ('PROPOSED', 'INVITING', 'COMPLETE', 'APPROVED')
       OR l.state = 'USED' AND NOT EXISTS (SELECT 1 FROM inspections i WHERE i.id = l.inspection_id))
  AND l.id <> @except_lineup::text
  AND l.planned_start <= @to_day::date AND l.planned_end >= @from_day::date
  AND m->>'state' IN ('PROPOSED', 'INVITED', 'ACCEPTED')
UNION ALL
SELECT e.id, 'inspection/' || i.id, i.planned_start, i.planned_end
FROM inspections i, jsonb_array_elements(i.team) t, experts e
WHERE i.stage NOT IN ('CLOSED', 'CANCELLED')
  AND i.planned_start <= @to_day::date AND i.planned_end >= @from_day::date
  AND (t->>'expert_id' = e.id OR (coalesce(t->>'subject', '') <> '' AND t->>'subject' = e.subject))
ORDER BY 1, 2;

-- name: LineupExists :one
SELECT EXISTS (SELECT 1 FROM lineups WHERE id = @id);

-- name: InsertLineup :exec
INSERT INTO lineups (id, request_id, unit_code, unit_name, planned_start, planned_end, content_areas, seed,
                     conflict_years, team_size, state, members, exclusions, draws, created_by, created_at,
                     updated_at, version)
VALUES (@id, @request_id, @unit_code, @unit_name, @planned_start, @planned_end, @content_areas, @seed,
        @conflict_years, @team_size, @state, @members, @exclusions, @draws, @created_by, @created_at,
        @created_at, @version);

-- name: UpdateLineup :exec
-- UpdateLineup writes what a line-up's changes move; what it was drawn for
-- never changes.
UPDATE lineups SET state = @state, members = @members, exclusions = @exclusions, draws = @draws,
       inspection_id = @inspection_id, updated_at = @updated_at, version = @version
WHERE id = @id;

-- name: GetLineup :one
SELECT * FROM lineups WHERE id = @id;

-- name: LockLineup :one
SELECT * FROM lineups WHERE id = @id FOR UPDATE;

-- name: GetInvitation :one
SELECT doc FROM invitations WHERE id = @id;

-- name: InvitationVersion :one
SELECT version FROM invitations WHERE id = @id;

-- name: ListInvitations :many
-- ListInvitations reads a page in (created_at, id) order: an empty
-- line-up, expert or stage matches all; after_at and after_id are the
-- previous page's last row, NULL on the first page.
SELECT doc, created_at, id FROM invitations
WHERE (@lineup_id::text = '' OR lineup_id = @lineup_id) AND (@expert_id::text = '' OR expert_id = @expert_id)
  AND (@stage::text = '' OR stage = @stage)
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (created_at, id) > (sqlc.narg(after_at), @after_id::text))
ORDER BY created_at, id LIMIT @row_limit::bigint;

-- name: InvitationInReach :one
-- InvitationInReach says whether the invitation exists and, for a caller
-- limited to its own (subject not empty), is that person's.
SELECT EXISTS (SELECT 1 FROM invitations WHERE id = @id AND (@subject::text = '' OR subject = @subject));

-- name: WriteInvitation :exec
-- WriteInvitation inserts an invitation, or writes its new stage when its
-- version is above the stored one.
INSERT INTO invitations (id, workflow_id, lineup_id, expert_id, subject, unit_code, team_role, stage, due_at,
                         doc, created_at, updated_at, version)
VALUES (@id, @workflow_id, @lineup_id, @expert_id, @subject, @unit_code, @team_role, @stage, @due_at,
        @doc, @created_at, @updated_at, @version)
ON CONFLICT (id) DO UPDATE SET stage = EXCLUDED.stage, due_at = EXCLUDED.due_at, doc = EXCLUDED.doc,
  updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
WHERE invitations.version < EXCLUDED.version;

-- name: PoolTallies :many
-- PoolTallies counts, per person of the pool, a year's draws (by the
-- line-ups' planned start), swaps in, invitations and their answers. A
-- member withdrawn unanswered when their line-up was cancelled counts as
-- neither drawn nor invited, nor as lapsed if their invitation lapsed
-- before its withdrawal reached it.
WITH m AS (
  SELECT m->>'expert_id' AS expert_id, (m->>'draw')::int AS draw
  FROM lineups l, jsonb_array_elements(l.members) m
  WHERE extract(year FROM l.planned_start) = @year::integer AND m->>'state' IS DISTINCT FROM 'WITHDRAWN'
), i AS (
  SELECT v.expert_id, v.stage, v.doc->>'judgement' AS judgement
  FROM invitations v JOIN lineups l ON l.id = v.lineup_id
  WHERE extract(year FROM l.planned_start) = @year::integer AND v.stage <> 'WITHDRAWN'
    AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(l.members) w
                    WHERE w->>'invitation_id' = v.id AND w->>'state' = 'WITHDRAWN')
)
SELECT e.id, e.name, e.unit_code,
  (SELECT count(*) FROM m WHERE m.expert_id = e.id AND m.draw > 0)::integer AS drawn,
  (SELECT count(*) FROM m WHERE m.expert_id = e.id AND m.draw = 0)::integer AS swapped_in,
  (SELECT count(*) FROM i WHERE i.expert_id = e.id)::integer AS invited,
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.stage = 'ACCEPTED')::integer AS accepted,
  (SELECT count(*) FROM i WHERE i.expert_id = e.id
     AND i.stage IN ('DECLINED', 'DECLINE_JUSTIFIED', 'DECLINE_UNJUSTIFIED'))::integer AS declined,
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.judgement = 'UNJUSTIFIED')::integer AS unjustified,
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.stage = 'EXPIRED')::integer AS expired
FROM experts e
ORDER BY e.id;
