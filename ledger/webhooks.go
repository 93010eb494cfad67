package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/internal/derrors"
)

const insertWebhook = `
INSERT INTO webhooks (id, request_id, url, event_types, secret, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::timestamptz, now()))
ON CONFLICT DO NOTHING`

const selectWebhookColumns = `
SELECT id, request_id, url, event_types, secret, created_by, created_at, deleted_at
FROM webhooks`

func scanWebhook(row pgx.Row) (Webhook, error) {
	var w Webhook
	var createdBy []byte
	if err := row.Scan(&w.ID, &w.RequestID, &w.URL, &w.EventTypes, &w.Secret, &createdBy, &w.CreatedAt, &w.DeletedAt); err != nil {
		return Webhook{}, err
	}
	if err := json.Unmarshal(createdBy, &w.CreatedBy); err != nil {
		return Webhook{}, fmt.Errorf("decoding created_by of webhook %q: %w", w.ID, err)
	}
	return w, nil
}

// sameEventTypes compares subscriptions regardless of order.
func sameEventTypes(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// CreateWebhook records a subscription (a zero CreatedAt means now). A retry
// with the same request ID returns the webhook first created and created is
// false; the same request ID with a different URL or event types, or an ID
// already taken by another request, is derrors.ErrAlreadyExists. Checking
// the URL, the event types and the secret is the caller's job.
func (s *Store) CreateWebhook(ctx context.Context, w Webhook) (_ Webhook, created bool, _ error) {
	if w.ID == "" || w.RequestID == "" {
		return Webhook{}, false, fmt.Errorf("a webhook needs an ID and a request ID: %w", derrors.ErrInvalidArgument)
	}
	createdBy, err := json.Marshal(w.CreatedBy)
	if err != nil {
		return Webhook{}, false, fmt.Errorf("encoding actor: %w", err)
	}
	var createdAt *time.Time
	if !w.CreatedAt.IsZero() {
		createdAt = &w.CreatedAt
	}
	var out Webhook
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertWebhook, w.ID, w.RequestID, w.URL, nonNil(w.EventTypes), w.Secret, createdBy, createdAt)
		if err != nil {
			return fmt.Errorf("inserting webhook %q: %w", w.ID, err)
		}
		if tag.RowsAffected() == 1 {
			created = true
			out, err = scanWebhook(tx.QueryRow(ctx, selectWebhookColumns+` WHERE id = $1`, w.ID))
			if err != nil {
				return fmt.Errorf("reading webhook %q: %w", w.ID, err)
			}
			return nil
		}
		first, err := scanWebhook(tx.QueryRow(ctx, selectWebhookColumns+` WHERE request_id = $1`, w.RequestID))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("webhook ID %q is taken by another request: %w", w.ID, derrors.ErrAlreadyExists)
		case err != nil:
			return fmt.Errorf("reading webhook of request %q: %w", w.RequestID, err)
		}
		if first.URL != w.URL || !sameEventTypes(first.EventTypes, w.EventTypes) {
			return fmt.Errorf("request_id %q was already used to create a different webhook (%s): %w",
				w.RequestID, first.ID, derrors.ErrAlreadyExists)
		}
		out = first
		return nil
	})
	if err != nil {
		return Webhook{}, false, err
	}
	return out, created, nil
}

const listWebhooks = selectWebhookColumns + `
WHERE deleted_at IS NULL
ORDER BY created_at, id`

// ListWebhooks returns the active (not deleted) webhooks, oldest first, with
// their secrets: callers that show them must hide the secret.
func (s *Store) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	return s.queryWebhooks(ctx, "listing webhooks", listWebhooks)
}

const webhooksFor = selectWebhookColumns + `
WHERE deleted_at IS NULL AND (cardinality(event_types) = 0 OR $1 = ANY (event_types))
ORDER BY created_at, id`

// WebhooksFor returns the active webhooks that receive eventType: those
// subscribed to it and those subscribed to every type (no types listed),
// oldest first.
func (s *Store) WebhooksFor(ctx context.Context, eventType string) ([]Webhook, error) {
	return s.queryWebhooks(ctx, fmt.Sprintf("listing webhooks for %q", eventType), webhooksFor, eventType)
}

func (s *Store) queryWebhooks(ctx context.Context, what, query string, args ...any) ([]Webhook, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) { return scanWebhook(r) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// GetWebhook reads one webhook, deleted or not (DeletedAt says); a missing
// one is derrors.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, selectWebhookColumns+` WHERE id = $1`, id))
	if err != nil {
		return Webhook{}, notFound(err, fmt.Sprintf("webhook %q", id))
	}
	return w, nil
}

const deleteWebhook = `
UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`

const webhookExists = `SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = $1)`

// DeleteWebhook stops deliveries to a webhook; the row stays, marked
// deleted. Deleting it again is a no-op; an unknown ID is
// derrors.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, deleteWebhook, id)
	if err != nil {
		return fmt.Errorf("deleting webhook %q: %w", id, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, webhookExists, id).Scan(&exists); err != nil {
		return fmt.Errorf("reading webhook %q: %w", id, err)
	}
	if !exists {
		return derrors.New(derrors.ErrNotFound, "webhook %q not found", id)
	}
	return nil
}

const insertDelivery = `
INSERT INTO webhook_deliveries (delivery_id, webhook_id, event_type, attempt, status_code, error, payload, attempt_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8::timestamptz, now()))`

// RecordDelivery appends one delivery attempt (a zero AttemptAt means now;
// a nil Payload is recorded as null).
func (s *Store) RecordDelivery(ctx context.Context, d WebhookDelivery) error {
	payload := d.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	var attemptAt *time.Time
	if !d.AttemptAt.IsZero() {
		attemptAt = &d.AttemptAt
	}
	if _, err := s.pool.Exec(ctx, insertDelivery, d.DeliveryID, d.WebhookID, d.EventType, d.Attempt, d.StatusCode,
		d.Error, payload, attemptAt); err != nil {
		return fmt.Errorf("recording attempt %d of delivery %q to webhook %q: %w", d.Attempt, d.DeliveryID, d.WebhookID, err)
	}
	return nil
}

const listDeliveries = `
SELECT id, delivery_id, webhook_id, event_type, attempt, status_code, error, payload, attempt_at
FROM webhook_deliveries
WHERE delivery_id = $1
ORDER BY id`

// Deliveries returns the attempts of one delivery in the order they were
// made.
func (s *Store) Deliveries(ctx context.Context, deliveryID string) ([]WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, listDeliveries, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("listing attempts of delivery %q: %w", deliveryID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookDelivery, error) {
		var d WebhookDelivery
		err := r.Scan(&d.ID, &d.DeliveryID, &d.WebhookID, &d.EventType, &d.Attempt, &d.StatusCode, &d.Error,
			&d.Payload, &d.AttemptAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing attempts of delivery %q: %w", deliveryID, err)
	}
	return list, nil
}
