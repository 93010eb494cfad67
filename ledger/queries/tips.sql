-- name: InsertTip :execrows
INSERT INTO tips (id, request_id, inspection_id, channel, received_on, content, reporter_ciphertext, stage,
                  received_by)
VALUES (@id, @request_id, @inspection_id, @channel, @received_on, @content, @reporter_ciphertext, @stage,
        @received_by)
ON CONFLICT DO NOTHING;

-- name: GetTip :one
SELECT * FROM tips WHERE id = @id;

-- name: LockTip :one
SELECT * FROM tips WHERE id = @id FOR UPDATE;

-- name: ListTips :many
SELECT * FROM tips WHERE inspection_id = @inspection_id ORDER BY created_at, id;

-- name: TipsInStage :many
SELECT id FROM tips WHERE inspection_id = @inspection_id AND stage = @stage ORDER BY created_at, id;

-- name: TriageTip :exec
-- TriageTip moves a tip from from_stage; an empty finding_id is NULL.
UPDATE tips SET stage = @stage, finding_id = NULLIF(@finding_id::text, ''), dismiss_reason = @dismiss_reason,
                updated_at = @updated_at
WHERE id = @id AND stage = @from_stage;
