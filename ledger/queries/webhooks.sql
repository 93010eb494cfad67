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
INSERT INTO webhook_outbox (delivery_id, webhook_id, event_type, payload)
VALUES (@delivery_id, @webhook_id, @event_type, @payload)
ON CONFLICT (delivery_id) DO NOTHING;

-- name: FinishOutbox :execrows
UPDATE webhook_outbox SET status = @status, error = @error, finished_at = now()
WHERE delivery_id = @delivery_id AND status = 'PENDING';

-- name: GetOutbox :one
SELECT * FROM webhook_outbox WHERE delivery_id = @delivery_id;
