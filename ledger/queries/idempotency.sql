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
