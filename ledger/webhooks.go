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

// SecretSealer seals webhook secrets for the ledger and opens them again;
// *tipcrypt.Sealer (the server key, XUNCHA_TIP_KEY) is one.
type SecretSealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(ciphertext, ad []byte) ([]byte, error)
}

// webhookSecretAD is the additional data a webhook's secret is sealed with:
// a sealed secret copied onto another webhook (or a tip) does not open.
func webhookSecretAD(id string) []byte { return []byte("webhook-secret:" + id) }

const insertWebhook = `
INSERT INTO webhooks (id, request_id, url, event_types, secret_sealed, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::timestamptz, now()))
ON CONFLICT DO NOTHING`

const selectWebhookColumns = `
SELECT id, request_id, url, event_types, secret_sealed, secret, created_by, created_at, deleted_at
FROM webhooks`

// webhookRow is a webhooks row with its secret as stored: sealed, or (a row
// written before secrets were sealed) plaintext.
type webhookRow struct {
	Webhook
	sealed    []byte
	plaintext *string
}

func scanWebhook(row pgx.Row) (webhookRow, error) {
	var w webhookRow
	var createdBy []byte
	if err := row.Scan(&w.ID, &w.RequestID, &w.URL, &w.EventTypes, &w.sealed, &w.plaintext, &createdBy, &w.CreatedAt, &w.DeletedAt); err != nil {
		return webhookRow{}, err
	}
	if err := json.Unmarshal(createdBy, &w.CreatedBy); err != nil {
		return webhookRow{}, fmt.Errorf("decoding created_by of webhook %q: %w", w.ID, err)
	}
	return w, nil
}

// sealer returns the Store's SecretSealer, or an error saying it is missing.
func (s *Store) sealer() (SecretSealer, error) {
	if s.Secrets == nil {
		return nil, errors.New("ledger: Store.Secrets is not set: webhook secrets are sealed with the server key (XUNCHA_TIP_KEY)")
	}
	return s.Secrets, nil
}

// withSecret returns the webhook with its secret opened.
func (s *Store) withSecret(w webhookRow) (Webhook, error) {
	if w.sealed == nil && w.plaintext != nil {
		// Written before secrets were sealed; SealWebhookSecrets seals it at
		// the next start.
		w.Secret = *w.plaintext
		return w.Webhook, nil
	}
	sealer, err := s.sealer()
	if err != nil {
		return Webhook{}, err
	}
	plain, err := sealer.Open(w.sealed, webhookSecretAD(w.ID))
	if err != nil {
		return Webhook{}, fmt.Errorf("opening the secret of webhook %q (was the server key changed?): %w", w.ID, err)
	}
	w.Secret = string(plain)
	return w.Webhook, nil
}

// sameEventTypes compares subscriptions regardless of order.
func sameEventTypes(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// CreateWebhook records a subscription (a zero CreatedAt means now), its
// secret sealed with Secrets: the table holds only the ciphertext. A retry
// with the same request ID returns the webhook first created, secret
// included, and created is false; the same request ID with a different URL
// or event types, or an ID already taken by another request, is
// derrors.ErrAlreadyExists. Checking the URL, the event types and the secret
// is the caller's job.
func (s *Store) CreateWebhook(ctx context.Context, w Webhook) (_ Webhook, created bool, _ error) {
	if w.ID == "" || w.RequestID == "" {
		return Webhook{}, false, fmt.Errorf("a webhook needs an ID and a request ID: %w", derrors.ErrInvalidArgument)
	}
	sealer, err := s.sealer()
	if err != nil {
		return Webhook{}, false, err
	}
	sealed, err := sealer.Seal([]byte(w.Secret), webhookSecretAD(w.ID))
	if err != nil {
		return Webhook{}, false, fmt.Errorf("sealing the secret of webhook %q: %w", w.ID, err)
	}
	createdBy, err := json.Marshal(w.CreatedBy)
	if err != nil {
		return Webhook{}, false, fmt.Errorf("encoding actor: %w", err)
	}
	var createdAt *time.Time
	if !w.CreatedAt.IsZero() {
		createdAt = &w.CreatedAt
	}
	var out webhookRow
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertWebhook, w.ID, w.RequestID, w.URL, nonNil(w.EventTypes), sealed, createdBy, createdAt)
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
	stored, err := s.withSecret(out)
	if err != nil {
		return Webhook{}, false, err
	}
	return stored, created, nil
}

const selectPlaintextSecrets = `
SELECT id, secret FROM webhooks WHERE secret IS NOT NULL ORDER BY id FOR UPDATE`

const sealSecret = `
UPDATE webhooks SET secret_sealed = $2, secret = NULL WHERE id = $1 AND secret IS NOT NULL`

// SealWebhookSecrets seals the secrets still stored in plaintext (rows
// written before migration 006, or by an older binary) and empties the
// plaintext column, in one transaction; it returns how many it sealed.
// Running it again seals nothing: servers and workers run it at every start.
func (s *Store) SealWebhookSecrets(ctx context.Context) (int, error) {
	sealer, err := s.sealer()
	if err != nil {
		return 0, err
	}
	var n int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, selectPlaintextSecrets)
		if err != nil {
			return fmt.Errorf("listing plaintext webhook secrets: %w", err)
		}
		type plain struct{ id, secret string }
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (plain, error) {
			var p plain
			return p, r.Scan(&p.id, &p.secret)
		})
		if err != nil {
			return fmt.Errorf("listing plaintext webhook secrets: %w", err)
		}
		for _, p := range list {
			sealed, err := sealer.Seal([]byte(p.secret), webhookSecretAD(p.id))
			if err != nil {
				return fmt.Errorf("sealing the secret of webhook %q: %w", p.id, err)
			}
			if _, err := tx.Exec(ctx, sealSecret, p.id, sealed); err != nil {
				return fmt.Errorf("sealing the secret of webhook %q: %w", p.id, err)
			}
		}
		n = len(list)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

const listWebhooks = selectWebhookColumns + `
WHERE deleted_at IS NULL
ORDER BY created_at, id`

// ListWebhooks returns the active (not deleted) webhooks, oldest first,
// without their secrets (GetWebhook opens one).
func (s *Store) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	return s.queryWebhooks(ctx, "listing webhooks", listWebhooks)
}

const webhooksFor = selectWebhookColumns + `
WHERE deleted_at IS NULL AND (cardinality(event_types) = 0 OR $1 = ANY (event_types))
ORDER BY created_at, id`

// WebhooksFor returns the active webhooks that receive eventType: those
// subscribed to it and those subscribed to every type (no types listed),
// oldest first, without their secrets.
func (s *Store) WebhooksFor(ctx context.Context, eventType string) ([]Webhook, error) {
	return s.queryWebhooks(ctx, fmt.Sprintf("listing webhooks for %q", eventType), webhooksFor, eventType)
}

func (s *Store) queryWebhooks(ctx context.Context, what, query string, args ...any) ([]Webhook, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Webhook, error) {
		w, err := scanWebhook(r)
		return w.Webhook, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// GetWebhook reads one webhook, deleted or not (DeletedAt says), with its
// secret opened; a missing one is derrors.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, selectWebhookColumns+` WHERE id = $1`, id))
	if err != nil {
		return Webhook{}, notFound(err, fmt.Sprintf("webhook %q", id))
	}
	return s.withSecret(w)
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

// Outbox delivery states (webhook_outbox.status).
const (
	// DeliveryPending is queued, or being retried.
	DeliveryPending = "PENDING"
	// DeliveryDelivered was answered 2xx.
	DeliveryDelivered = "DELIVERED"
	// DeliverySkipped was not sent: the webhook was deleted first.
	DeliverySkipped = "SKIPPED"
	// DeliveryFailed was given up: the address was refused or the retries
	// ran out (Error says which).
	DeliveryFailed = "FAILED"
)

// OutboxDelivery is one event queued for one subscriber: the lifecycle that
// raised the event writes it and moves on; a WebhookDeliveryWorkflow
// delivers it and records how it ended.
type OutboxDelivery struct {
	// DeliveryID is the X-Xuncha-Delivery header, stable across attempts.
	DeliveryID string          `json:"delivery_id"`
	WebhookID  string          `json:"webhook_id"`
	EventType  string          `json:"event_type"`
	Payload    json.RawMessage `json:"payload"`
	Status     string          `json:"status"`
	Error      string          `json:"error,omitempty"`
	QueuedAt   time.Time       `json:"queued_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
}

const insertOutbox = `
INSERT INTO webhook_outbox (delivery_id, webhook_id, event_type, payload)
VALUES ($1, $2, $3, $4)
ON CONFLICT (delivery_id) DO NOTHING`

// QueueDelivery writes a delivery to the outbox (status PENDING). Queuing
// the same delivery ID again changes nothing, so a retried activity is
// harmless; queued says whether this call wrote it.
func (s *Store) QueueDelivery(ctx context.Context, d OutboxDelivery) (queued bool, _ error) {
	if d.DeliveryID == "" || d.WebhookID == "" || d.EventType == "" {
		return false, fmt.Errorf("a queued delivery needs its delivery ID, webhook ID and event type: %w", derrors.ErrInvalidArgument)
	}
	if !json.Valid(d.Payload) {
		return false, derrors.Invalid("payload", "must be JSON")
	}
	tag, err := s.pool.Exec(ctx, insertOutbox, d.DeliveryID, d.WebhookID, d.EventType, d.Payload)
	if err != nil {
		return false, fmt.Errorf("queuing delivery %q to webhook %q: %w", d.DeliveryID, d.WebhookID, err)
	}
	return tag.RowsAffected() == 1, nil
}

const finishOutbox = `
UPDATE webhook_outbox SET status = $2, error = $3, finished_at = now()
WHERE delivery_id = $1 AND status = 'PENDING'`

// FinishDelivery records how a queued delivery ended (DeliveryDelivered,
// DeliverySkipped or DeliveryFailed, with the reason). A delivery already
// finished keeps its first outcome; an unknown one is derrors.ErrNotFound.
func (s *Store) FinishDelivery(ctx context.Context, deliveryID, status, reason string) error {
	switch status {
	case DeliveryDelivered, DeliverySkipped, DeliveryFailed:
	default:
		return derrors.Invalid("status", "must be %s, %s or %s, not %q", DeliveryDelivered, DeliverySkipped, DeliveryFailed, status)
	}
	tag, err := s.pool.Exec(ctx, finishOutbox, deliveryID, status, reason)
	if err != nil {
		return fmt.Errorf("finishing delivery %q: %w", deliveryID, err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := s.QueuedDelivery(ctx, deliveryID); err != nil {
			return err
		}
	}
	return nil
}

const selectOutbox = `
SELECT delivery_id, webhook_id, event_type, payload, status, error, queued_at, finished_at
FROM webhook_outbox WHERE delivery_id = $1`

// QueuedDelivery reads one outbox entry; an unknown one is
// derrors.ErrNotFound.
func (s *Store) QueuedDelivery(ctx context.Context, deliveryID string) (OutboxDelivery, error) {
	var d OutboxDelivery
	err := s.pool.QueryRow(ctx, selectOutbox, deliveryID).Scan(&d.DeliveryID, &d.WebhookID, &d.EventType, &d.Payload,
		&d.Status, &d.Error, &d.QueuedAt, &d.FinishedAt)
	if err != nil {
		return OutboxDelivery{}, notFound(err, fmt.Sprintf("queued delivery %q", deliveryID))
	}
	return d, nil
}
