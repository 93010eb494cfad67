-- name: InsertWebhook :execrows
-- InsertWebhook records a subscription; a NULL created_at means now.
INSERT INTO webhooks (id, request_id, url, event_types, secret_sealed, created_by, created_at)
VALUES (@id, @request_id, @url, @event_types, @secret_sealed, @created_by,
        COALESCE(sqlc.narg(created_at)::timestamptz, now()))
ON CONFLICT DO NOTHING;

-- name: GetWebhook :one
SELECT * FROM webhooks WHERE id = @id;

-- name: WebhookOfRequest :one
SELECT * FROM webhooks WHERE request_id = @request_id;

-- name: LockPlaintextSecrets :many
SELECT id, secret FROM webhooks WHERE secret IS NOT NULL ORDER BY id FOR UPDATE;

-- name: SealSecret :exec
UPDATE webhooks SET secret_sealed = @secret_sealed, secret = NULL WHERE id = @id AND secret IS NOT NULL;

-- name: ListWebhooks :many
SELECT * FROM webhooks
WHERE deleted_at IS NULL
ORDER BY created_at, id;

-- name: WebhooksFor :many
-- WebhooksFor lists the active webhooks subscribed to event_type or to every
-- type (none listed).
SELECT * FROM webhooks
WHERE deleted_at IS NULL AND (cardinality(event_types) = 0 OR @event_type::text = ANY (event_types))
ORDER BY created_at, id;

-- name: DeleteWebhook :execrows
UPDATE webhooks SET deleted_at = now() WHERE id = @id AND deleted_at IS NULL;

-- name: WebhookExists :one
SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = @id);

-- name: InsertDelivery :exec
-- InsertDelivery appends an attempt; a NULL attempt_at means now.
INSERT INTO webhook_deliveries (delivery_id, webhook_id, event_type, attempt, status_code, error, payload, attempt_at)
VALUES (@delivery_id, @webhook_id, @event_type, @attempt, @status_code, @error, @payload,
        COALESCE(sqlc.narg(attempt_at)::timestamptz, now()));

-- name: ListDeliveries :many
SELECT * FROM webhook_deliveries WHERE delivery_id = @delivery_id ORDER BY id;

-- name: InsertOutbox :execrows
-- InsertOutbox queues a delivery for the dispatcher, due now.
INSERT INTO webhook_outbox (delivery_id, webhook_id, event_type, payload, next_attempt_at)
VALUES (@delivery_id, @webhook_id, @event_type, @payload, now())
ON CONFLICT (delivery_id) DO NOTHING;

-- name: ClaimOutbox :many
-- ClaimOutbox takes up to @batch due deliveries for one attempt each: it
-- counts the attempt and moves them a lease ahead, so no other dispatcher
-- takes them meanwhile; rows another dispatcher is claiming are skipped,
-- not waited for.
UPDATE webhook_outbox o
SET attempts = o.attempts + 1,
    next_attempt_at = now() + make_interval(secs => @lease_seconds::float8)
FROM (
  SELECT delivery_id FROM webhook_outbox
  WHERE status = 'PENDING' AND next_attempt_at <= now()
  ORDER BY next_attempt_at, delivery_id
  LIMIT @batch
  FOR UPDATE SKIP LOCKED
) due
WHERE o.delivery_id = due.delivery_id
RETURNING o.delivery_id, o.webhook_id, o.event_type, o.payload, o.attempts, o.queued_at;

-- name: RetryOutbox :execrows
-- RetryOutbox schedules a pending delivery's next attempt after a failed one.
UPDATE webhook_outbox
SET next_attempt_at = now() + make_interval(secs => @after_seconds::float8), error = @error
WHERE delivery_id = @delivery_id AND status = 'PENDING';

-- name: FinishOutbox :execrows
UPDATE webhook_outbox SET status = @status, error = @error, finished_at = now()
WHERE delivery_id = @delivery_id AND status = 'PENDING';

-- name: GetOutbox :one
SELECT * FROM webhook_outbox WHERE delivery_id = @delivery_id;

-- name: NewestSealedWebhook :one
-- NewestSealedWebhook is the newest webhook whose secret is sealed: what
-- the key check at start opens (CheckSecretsKey).
SELECT id, secret_sealed FROM webhooks WHERE secret_sealed IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1;
