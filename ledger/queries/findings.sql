-- name: FindingExists :one
SELECT EXISTS (SELECT 1 FROM findings WHERE id = @id);

-- name: FindingClass :one
SELECT kind, severity, stage FROM findings WHERE id = @id;

-- name: FindingsByLedgerNumber :many
SELECT ledger_number::text AS ledger_number, id, inspection_id, request_id FROM findings
WHERE ledger_number = ANY(@numbers::text[]);

-- name: FindingOfRequest :one
-- FindingOfRequest is the finding of an inspection recorded under request_id
-- (a tip's triage: ledger.TipFindingPrefix), read by the inspection's index.
SELECT id FROM findings WHERE inspection_id = @inspection_id AND request_id = @request_id;

-- name: FindingRecorded :one
-- FindingRecorded says whether the request recorded the finding already (a retry).
SELECT EXISTS (SELECT 1 FROM findings WHERE id = @id AND request_id = @request_id);

-- name: InspectionStageForShare :one
-- InspectionStageForShare reads an inspection's stage and share-locks its
-- row until the transaction ends (the recording window, the tips'); and
-- the day its notice was published, if it was.
SELECT stage, workflow_id, coalesce(records->>'notified_on', '')::text AS notified_on FROM inspections WHERE id = @id FOR SHARE;

-- name: FindingStageForShare :one
-- FindingStageForShare reads a finding's stage and share-locks its row
-- until the transaction ends (an interview proposed about it).
SELECT stage FROM findings WHERE id = @id FOR SHARE;

-- name: InsertFinding :exec
-- InsertFinding writes a new finding's row, or nothing when a row holds its
-- ID or its workflow ID. The conflict has no target on purpose: with
-- ON CONFLICT (id), two writes of one finding at once (a retried activity)
-- could break the workflow ID's unique index instead, the second waiting
-- for the first's insert to commit. NumberFinding then finds no row when
-- the workflow ID is another finding's.
INSERT INTO findings (id, workflow_id, inspection_id, request_id, unit_code, unit_name, title, description,
                      kind, severity, important, content_area, evidence_ids, rectification_opinion, stage,
                      diagnosis, dispositions, referral, rectification, deadline, due_date, due_at,
                      deadline_seq, overdue, missed_deadlines, reopen_count, withdraw_reason, found_by,
                      created_at, updated_at, version, extensions, original_due, signoffs, clue_referrals)
VALUES (@id, @workflow_id, @inspection_id, @request_id, @unit_code, @unit_name, @title, @description,
        @kind, @severity, @important, @content_area, @evidence_ids, @rectification_opinion, @stage,
        @diagnosis, @dispositions, @referral, @rectification, @deadline, @due_date, @due_at,
        @deadline_seq, @overdue, @missed_deadlines, @reopen_count, @withdraw_reason, @found_by,
        @created_at, @updated_at, @version, @extensions, @original_due, @signoffs, @clue_referrals)
ON CONFLICT DO NOTHING;

-- name: NumberFinding :one
-- NumberFinding locks a recorded finding's row, so that concurrent retries
-- assign one number, and, when the row has none yet, takes the next number
-- of year and its unit: the row's number, or its unit and the sequence (0
-- when none was taken) to give it one from. year is the year of the row's
-- creation in the calendar's zone, which the caller computes from the
-- creation it wrote: a row without a number is the one it just inserted.
WITH f AS (
  SELECT ledger_number, unit_code FROM findings WHERE id = @id FOR UPDATE
), taken AS (
  INSERT INTO ledger_sequences (year, unit_code, last)
  SELECT @year::integer, unit_code, 1 FROM f WHERE ledger_number IS NULL
  ON CONFLICT (year, unit_code) DO UPDATE SET last = ledger_sequences.last + 1
  RETURNING last
)
SELECT f.ledger_number, f.unit_code, coalesce((SELECT last FROM taken), 0)::integer AS seq FROM f;

-- name: SetLedgerNumber :exec
UPDATE findings SET ledger_number = @ledger_number::text WHERE id = @id;

-- name: UpdateFinding :execrows
-- UpdateFinding writes the mutable columns; what a finding was recorded with
-- (inspection, unit, request, creator, creation time, ledger number) never
-- changes.
UPDATE findings SET
  title = @title, description = @description, kind = @kind, severity = @severity, important = @important,
  content_area = @content_area, evidence_ids = @evidence_ids, rectification_opinion = @rectification_opinion,
  stage = @stage, diagnosis = @diagnosis, dispositions = @dispositions, referral = @referral,
  rectification = @rectification, deadline = @deadline, due_date = @due_date, due_at = @due_at,
  deadline_seq = @deadline_seq, overdue = @overdue, missed_deadlines = @missed_deadlines,
  reopen_count = @reopen_count, withdraw_reason = @withdraw_reason, updated_at = @updated_at,
  version = @version, extensions = @extensions, original_due = @original_due, signoffs = @signoffs, clue_referrals = @clue_referrals
WHERE id = @id AND version < @version;

-- name: GetFinding :one
SELECT * FROM findings WHERE id = @id;

-- name: OpenDeadlineWorkflows :many
-- OpenDeadlineWorkflows lists the lifecycles with a running deadline: a
-- finding's rectification deadline (its stage), a clue referral's receipt
-- awaited (migration 013) or a round of sign-off pending (migration 012;
-- since the change signoff-deadline it has a deadline), an inspection's
-- report or rectification, and an invitation's answer (stage INVITED).
SELECT f.workflow_id FROM findings f
WHERE f.stage = @finding_stage
   OR (f.stage NOT IN ('CLOSED', 'WITHDRAWN') AND f.clue_referrals @> '[{"state": "AWAITING_RECEIPT"}]'::jsonb)
   OR (f.stage = 'RECTIFIED' AND f.signoffs @> '[{"state": "PENDING"}]'::jsonb)
UNION
SELECT i.workflow_id FROM inspections i WHERE i.stage IN ('ONSITE_ENDED', 'FEEDBACK_GIVEN')
UNION
SELECT v.workflow_id FROM invitations v WHERE v.stage = 'INVITED'
ORDER BY workflow_id;

-- name: FindingUnit :one
SELECT unit_code FROM findings WHERE id = @id;

-- name: FindingInReach :one
-- FindingInReach says whether a finding exists and is in a caller's scope:
-- with by_unit, of one of units; with by_team, of an inspection whose team
-- lists team_subject; with by_receiver, referred to receiver (a clue
-- referral names it). ListFindings filters by the same conditions.
SELECT EXISTS (
  SELECT 1 FROM findings f WHERE f.id = @id
    AND (NOT @by_unit::boolean OR f.unit_code = ANY(@units::text[]))
    AND (NOT @by_receiver::boolean OR f.clue_referrals @> jsonb_build_array(jsonb_build_object('receiver', @receiver::text)))
    AND (NOT @by_team::boolean OR f.inspection_id IN (
          SELECT i.id FROM inspections i WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', @team_subject::text)))));
