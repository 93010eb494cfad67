-- name: InsertIdempotencyKey :execrows
INSERT INTO idempotency_keys (method, target, request_id, fingerprint)
VALUES (@method, @target, @request_id, @fingerprint)
ON CONFLICT DO NOTHING;

-- name: IdempotencyFingerprint :one
SELECT fingerprint FROM idempotency_keys
WHERE method = @method AND target = @target AND request_id = @request_id;

-- name: DeleteIdempotencyKey :exec
DELETE FROM idempotency_keys
WHERE method = @method AND target = @target AND request_id = @request_id AND fingerprint = @fingerprint;

-- name: CommitWithoutWaitingForDisk :exec
-- CommitWithoutWaitingForDisk lets the transaction it runs in commit without
-- waiting for the write-ahead log to reach the disk (synchronous_commit off,
-- for that transaction only): a crash in the instant after may lose it.
SELECT set_config('synchronous_commit', 'off', true);
