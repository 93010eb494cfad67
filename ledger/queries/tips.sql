-- name: InsertTip :execrows
-- InsertTip records a tip; its content only ever sealed (content_sealed).
INSERT INTO tips (id, request_id, inspection_id, channel, received_on, content_sealed, reporter_ciphertext, stage,
                  received_by)
VALUES (@id, @request_id, @inspection_id, @channel, @received_on, @content_sealed, @reporter_ciphertext, @stage,
        @received_by)
ON CONFLICT DO NOTHING;

-- name: GetTip :one
SELECT * FROM tips WHERE id = @id;

-- name: LockTip :one
SELECT * FROM tips WHERE id = @id FOR UPDATE;

-- name: ListTips :many
-- ListTips reads a page of an inspection's tips in (created_at, id) order;
-- after_at and after_id are the previous page's last row, NULL on the
-- first page.
SELECT * FROM tips
WHERE inspection_id = @inspection_id
  AND (sqlc.narg(after_at)::timestamptz IS NULL OR (created_at, id) > (sqlc.narg(after_at), @after_id::text))
ORDER BY created_at, id
LIMIT @row_limit::bigint;

-- name: TipsInStage :many
SELECT id FROM tips WHERE inspection_id = @inspection_id AND stage = @stage ORDER BY created_at, id;

-- name: TriageTip :exec
-- TriageTip moves a tip from from_stage; an empty finding_id is NULL.
UPDATE tips SET stage = @stage, finding_id = NULLIF(@finding_id::text, ''), dismiss_reason = @dismiss_reason,
                updated_at = @updated_at
WHERE id = @id AND stage = @from_stage;

-- name: LockPlaintextTips :many
-- LockPlaintextTips lists the tips whose content is still plaintext
-- (written before migration 009, or by an older binary), for xuncha migrate.
SELECT id, content FROM tips WHERE content IS NOT NULL ORDER BY id FOR UPDATE;

-- name: SealTipContent :exec
-- SealTipContent replaces a tip's plaintext content by its sealed form; the
-- tips_received_unchanged trigger lets only the table's owner do so.
UPDATE tips SET content_sealed = @content_sealed, content = NULL WHERE id = @id AND content IS NOT NULL;

-- name: CountPlaintextTips :one
SELECT count(*)::int AS plaintext FROM tips WHERE content IS NOT NULL;

-- name: NewestSealedTip :one
-- NewestSealedTip is the newest tip whose content is sealed: what the key
-- check at start opens (CheckSecretsKey).
SELECT id, content_sealed FROM tips WHERE content_sealed IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1;
