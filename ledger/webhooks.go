package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// SecretSealer seals what the ledger keeps encrypted at rest (webhook
// secrets, tip content) and opens it again; *tipcrypt.Sealer (the server
// key, XUNCHA_TIP_KEY) is one.
type SecretSealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(ciphertext, ad []byte) ([]byte, error)
}

// webhookSecretAD is the additional data a webhook's secret is sealed with:
// a sealed secret copied onto another webhook (or a tip) does not open.
func webhookSecretAD(id string) []byte { return []byte("webhook-secret:" + id) }

// webhookRow is a webhooks row with its secret as stored: sealed, or (a row
// written before secrets were sealed) plaintext.
type webhookRow struct {
	casework.Webhook
	sealed    []byte
	plaintext *string
}

// webhookFromRow is the webhook a row holds, its secret as stored.
func webhookFromRow(r dbsqlc.Webhook) (webhookRow, error) {
	w := webhookRow{
		Webhook: casework.Webhook{ID: r.ID, RequestID: r.RequestID, URL: r.URL, EventTypes: r.EventTypes, CreatedAt: r.CreatedAt,
			DeletedAt: r.DeletedAt},
		sealed: r.SecretSealed, plaintext: r.Secret,
	}
	if err := json.Unmarshal(r.CreatedBy, &w.CreatedBy); err != nil {
		return webhookRow{}, fmt.Errorf("decoding created_by of webhook %q: %w", w.ID, err)
	}
	return w, nil
}

// sealer returns the Store's SecretSealer, or an error saying it is missing.
func (s *Store) sealer() (SecretSealer, error) {
	if s.Secrets == nil {
		return nil, errors.New("ledger: Store.Secrets is not set: webhook secrets and tip content are sealed with the server key (XUNCHA_TIP_KEY)")
	}
	return s.Secrets, nil
}

// withSecret returns the webhook with its secret opened.
func (s *Store) withSecret(w webhookRow) (casework.Webhook, error) {
	if w.sealed == nil && w.plaintext != nil {
		// Written before secrets were sealed; SealWebhookSecrets seals it at
		// the next start.
		w.Secret = *w.plaintext
		return w.Webhook, nil
	}
	sealer, err := s.sealer()
	if err != nil {
		return casework.Webhook{}, err
	}
	plain, err := sealer.Open(w.sealed, webhookSecretAD(w.ID))
	if err != nil {
		return casework.Webhook{}, fmt.Errorf("opening the secret of webhook %q (was the server key changed?): %w", w.ID, err)
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
func (s *Store) CreateWebhook(ctx context.Context, w casework.Webhook) (_ casework.Webhook, created bool, _ error) {
	if w.ID == "" || w.RequestID == "" {
		return casework.Webhook{}, false, fmt.Errorf("a webhook needs an ID and a request ID: %w", derrors.ErrInvalidArgument)
	}
	sealer, err := s.sealer()
	if err != nil {
		return casework.Webhook{}, false, err
	}
	sealed, err := sealer.Seal([]byte(w.Secret), webhookSecretAD(w.ID))
	if err != nil {
		return casework.Webhook{}, false, fmt.Errorf("sealing the secret of webhook %q: %w", w.ID, err)
	}
	createdBy, err := json.Marshal(w.CreatedBy)
	if err != nil {
		return casework.Webhook{}, false, fmt.Errorf("encoding actor: %w", err)
	}
	var createdAt *time.Time
	if !w.CreatedAt.IsZero() {
		createdAt = &w.CreatedAt
	}
	var out webhookRow
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.InsertWebhook(ctx, dbsqlc.InsertWebhookParams{
			ID: w.ID, RequestID: w.RequestID, URL: w.URL, EventTypes: orEmpty(w.EventTypes), SecretSealed: sealed,
			CreatedBy: createdBy, CreatedAt: createdAt,
		})
		if err != nil {
			return fmt.Errorf("inserting webhook %q: %w", w.ID, err)
		}
		if n == 1 {
			created = true
			r, err := q.GetWebhook(ctx, w.ID)
			if err != nil {
				return fmt.Errorf("reading webhook %q: %w", w.ID, err)
			}
			if out, err = webhookFromRow(r); err != nil {
				return fmt.Errorf("reading webhook %q: %w", w.ID, err)
			}
			// The event records the subscription, never its secret.
			data, err := json.Marshal(map[string]any{"url": out.URL, "event_types": orEmpty(out.EventTypes)})
			if err != nil {
				return fmt.Errorf("encoding event data: %w", err)
			}
			return s.appendEvent(ctx, q, casework.Event{
				SubjectType: casework.SubjectWebhook, SubjectID: w.ID, Key: "create/" + w.RequestID, Action: "create_webhook",
				Actor: w.CreatedBy, Data: data, OccurredAt: out.CreatedAt,
			})
		}
		r, found, err := optional(q.WebhookOfRequest(ctx, w.RequestID))
		switch {
		case err != nil:
			return fmt.Errorf("reading webhook of request %q: %w", w.RequestID, err)
		case !found:
			return fmt.Errorf("webhook ID %q is taken by another request: %w", w.ID, derrors.ErrAlreadyExists)
		}
		first, err := webhookFromRow(r)
		if err != nil {
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
		return casework.Webhook{}, false, err
	}
	stored, err := s.withSecret(out)
	if err != nil {
		return casework.Webhook{}, false, err
	}
	return stored, created, nil
}

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
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		list, err := q.LockPlaintextSecrets(ctx)
		if err != nil {
			return fmt.Errorf("listing plaintext webhook secrets: %w", err)
		}
		for _, p := range list {
			// secret IS NOT NULL is the query's condition.
			sealed, err := sealer.Seal([]byte(orZero(p.Secret)), webhookSecretAD(p.ID))
			if err != nil {
				return fmt.Errorf("sealing the secret of webhook %q: %w", p.ID, err)
			}
			if err := q.SealSecret(ctx, dbsqlc.SealSecretParams{ID: p.ID, SecretSealed: sealed}); err != nil {
				return fmt.Errorf("sealing the secret of webhook %q: %w", p.ID, err)
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

// ListWebhooks returns the active (not deleted) webhooks, oldest first,
// without their secrets (GetWebhook opens one).
func (s *Store) ListWebhooks(ctx context.Context) ([]casework.Webhook, error) {
	rows, err := s.q.ListWebhooks(ctx)
	return webhooksWithoutSecrets("listing webhooks", rows, err)
}

// WebhooksFor returns the active webhooks that receive eventType: those
// subscribed to it and those subscribed to every type (no types listed),
// oldest first, without their secrets.
func (s *Store) WebhooksFor(ctx context.Context, eventType string) ([]casework.Webhook, error) {
	rows, err := s.q.WebhooksFor(ctx, eventType)
	return webhooksWithoutSecrets(fmt.Sprintf("listing webhooks for %q", eventType), rows, err)
}

// webhooksWithoutSecrets converts the rows of a webhook list (or wraps its
// error).
func webhooksWithoutSecrets(what string, rows []dbsqlc.Webhook, err error) ([]casework.Webhook, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	list, err := convertAll(rows, func(r dbsqlc.Webhook) (casework.Webhook, error) {
		w, err := webhookFromRow(r)
		return w.Webhook, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return list, nil
}

// GetWebhook reads one webhook, deleted or not (DeletedAt says), with its
// secret opened; a missing one is derrors.ErrNotFound.
func (s *Store) GetWebhook(ctx context.Context, id string) (casework.Webhook, error) {
	r, err := s.q.GetWebhook(ctx, id)
	if err != nil {
		return casework.Webhook{}, notFound(err, "webhook", id)
	}
	w, err := webhookFromRow(r)
	if err != nil {
		return casework.Webhook{}, err
	}
	return s.withSecret(w)
}

// DeleteWebhook stops deliveries to a webhook; the row stays, marked
// deleted, and the event records who deleted it. Deleting it again is a
// no-op; an unknown ID is derrors.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id string, by actor.Actor) error {
	return s.inTx(ctx, func(q *dbsqlc.Queries) error {
		n, err := q.DeleteWebhook(ctx, id)
		if err != nil {
			return fmt.Errorf("deleting webhook %q: %w", id, err)
		}
		if n == 1 {
			return s.appendEvent(ctx, q, casework.Event{
				SubjectType: casework.SubjectWebhook, SubjectID: id, Key: "delete", Action: "delete_webhook",
				Actor: by, OccurredAt: time.Now(),
			})
		}
		exists, err := q.WebhookExists(ctx, id)
		if err != nil {
			return fmt.Errorf("reading webhook %q: %w", id, err)
		}
		if !exists {
			return derrors.New(derrors.ErrNotFound, "webhook %q not found", id)
		}
		return nil
	})
}

// RecordDelivery appends one delivery attempt (a zero AttemptAt means now;
// a nil Payload is recorded as null).
func (s *Store) RecordDelivery(ctx context.Context, d casework.WebhookDelivery) error {
	payload := d.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	var attemptAt *time.Time
	if !d.AttemptAt.IsZero() {
		attemptAt = &d.AttemptAt
	}
	if err := s.q.InsertDelivery(ctx, dbsqlc.InsertDeliveryParams{
		DeliveryID: d.DeliveryID, WebhookID: d.WebhookID, EventType: d.EventType, Attempt: d.Attempt,
		StatusCode: d.StatusCode, Error: d.Error, Payload: payload, AttemptAt: attemptAt,
	}); err != nil {
		return fmt.Errorf("recording attempt %d of delivery %q to webhook %q: %w", d.Attempt, d.DeliveryID, d.WebhookID, err)
	}
	return nil
}

// Deliveries returns the attempts of one delivery in the order they were
// made.
func (s *Store) Deliveries(ctx context.Context, deliveryID string) ([]casework.WebhookDelivery, error) {
	rows, err := s.q.ListDeliveries(ctx, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("listing attempts of delivery %q: %w", deliveryID, err)
	}
	return convertAll(rows, func(r dbsqlc.WebhookDelivery) (casework.WebhookDelivery, error) {
		return casework.WebhookDelivery{
			ID: r.ID, DeliveryID: r.DeliveryID, WebhookID: r.WebhookID, EventType: r.EventType, Attempt: r.Attempt,
			StatusCode: r.StatusCode, Error: r.Error, Payload: r.Payload, AttemptAt: r.AttemptAt,
		}, nil
	})
}

// ClaimDeliveries takes up to n pending deliveries that are due, for one
// attempt each: each one's attempt is counted (Attempts is this one's
// number) and it is not due again until lease has passed, so another
// dispatcher does not take it meanwhile, and one that stopped mid-attempt
// leaves it to the next after the lease. Deliveries owned by a
// WebhookDeliveryWorkflow are never claimed.
func (s *Store) ClaimDeliveries(ctx context.Context, n int, lease time.Duration) ([]casework.OutboxDelivery, error) {
	if n < 1 || lease <= 0 {
		return nil, fmt.Errorf("claiming deliveries needs a positive batch and lease, not %d and %s: %w", n, lease, derrors.ErrInvalidArgument)
	}
	rows, err := s.q.ClaimOutbox(ctx, dbsqlc.ClaimOutboxParams{LeaseSeconds: lease.Seconds(), Batch: int32(min(n, 10_000))})
	if err != nil {
		return nil, fmt.Errorf("claiming queued webhook deliveries: %w", err)
	}
	out := make([]casework.OutboxDelivery, len(rows))
	for i, r := range rows {
		out[i] = casework.OutboxDelivery{DeliveryID: r.DeliveryID, WebhookID: r.WebhookID, EventType: r.EventType, Payload: r.Payload,
			Status: casework.DeliveryPending, QueuedAt: r.QueuedAt, Attempts: r.Attempts}
	}
	return out, nil
}

// RetryDelivery schedules a pending delivery's next attempt after a failed
// one, keeping why it failed. A delivery already finished is left as it is.
func (s *Store) RetryDelivery(ctx context.Context, deliveryID string, after time.Duration, reason string) error {
	if _, err := s.q.RetryOutbox(ctx, dbsqlc.RetryOutboxParams{DeliveryID: deliveryID, AfterSeconds: after.Seconds(), Error: reason}); err != nil {
		return fmt.Errorf("scheduling the next attempt of delivery %q: %w", deliveryID, err)
	}
	return nil
}

// QueueEvent hands an event to the outbox: one delivery, due at once, for
// each webhook that receives eventType, its ID deliveryKey + "/" + the
// webhook's ID. ids lists every delivery, queued names those this call
// wrote: queuing the same event again writes nothing.
func (s *Store) QueueEvent(ctx context.Context, eventType, deliveryKey string, payload []byte) (ids, queued []string, _ error) {
	if !json.Valid(payload) {
		return nil, nil, derrors.Invalid("payload", "must be JSON")
	}
	hooks, err := s.WebhooksFor(ctx, eventType)
	if err != nil {
		return nil, nil, err
	}
	ids = make([]string, 0, len(hooks))
	for _, w := range hooks {
		id := deliveryKey + "/" + w.ID
		wrote, err := s.QueueDelivery(ctx, casework.OutboxDelivery{DeliveryID: id, WebhookID: w.ID, EventType: eventType, Payload: payload})
		if err != nil {
			return nil, nil, fmt.Errorf("queuing delivery %q: %w", id, err)
		}
		if wrote {
			queued = append(queued, id)
		}
		ids = append(ids, id)
	}
	return ids, queued, nil
}

// QueueDelivery writes a delivery to the outbox (status PENDING). Queuing
// the same delivery ID again changes nothing, so a retried activity is
// harmless; queued says whether this call wrote it.
func (s *Store) QueueDelivery(ctx context.Context, d casework.OutboxDelivery) (queued bool, _ error) {
	if d.DeliveryID == "" || d.WebhookID == "" || d.EventType == "" {
		return false, fmt.Errorf("a queued delivery needs its delivery ID, webhook ID and event type: %w", derrors.ErrInvalidArgument)
	}
	if !json.Valid(d.Payload) {
		return false, derrors.Invalid("payload", "must be JSON")
	}
	n, err := s.q.InsertOutbox(ctx, dbsqlc.InsertOutboxParams{
		DeliveryID: d.DeliveryID, WebhookID: d.WebhookID, EventType: d.EventType, Payload: d.Payload,
	})
	if err != nil {
		return false, fmt.Errorf("queuing delivery %q to webhook %q: %w", d.DeliveryID, d.WebhookID, err)
	}
	return n == 1, nil
}

// FinishDelivery records how a queued delivery ended (DeliveryDelivered,
// DeliverySkipped or DeliveryFailed, with the reason). A delivery already
// finished keeps its first outcome; an unknown one is derrors.ErrNotFound.
func (s *Store) FinishDelivery(ctx context.Context, deliveryID, status, reason string) error {
	switch status {
	case casework.DeliveryDelivered, casework.DeliverySkipped, casework.DeliveryFailed:
	default:
		return derrors.Invalid("status", "must be %s, %s or %s, not %q", casework.DeliveryDelivered, casework.DeliverySkipped, casework.DeliveryFailed, status)
	}
	n, err := s.q.FinishOutbox(ctx, dbsqlc.FinishOutboxParams{DeliveryID: deliveryID, Status: status, Error: reason})
	if err != nil {
		return fmt.Errorf("finishing delivery %q: %w", deliveryID, err)
	}
	if n == 0 {
		if _, err := s.QueuedDelivery(ctx, deliveryID); err != nil {
			return err
		}
	}
	return nil
}

// QueuedDelivery reads one outbox entry; an unknown one is
// derrors.ErrNotFound.
func (s *Store) QueuedDelivery(ctx context.Context, deliveryID string) (casework.OutboxDelivery, error) {
	r, err := s.q.GetOutbox(ctx, deliveryID)
	if err != nil {
		return casework.OutboxDelivery{}, notFound(err, "queued delivery", deliveryID)
	}
	return casework.OutboxDelivery{
		DeliveryID: r.DeliveryID, WebhookID: r.WebhookID, EventType: r.EventType, Payload: r.Payload,
		Status: r.Status, Error: r.Error, QueuedAt: r.QueuedAt, FinishedAt: r.FinishedAt,
		Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt,
	}, nil
}

// CheckSecretsKey opens the newest tip content and the newest webhook
// secret the ledger holds sealed with Secrets: a server or worker started
// with another key (XUNCHA_TIP_KEY) could read none of them, and would seal
// everything new, plaintext webhook secrets at start included, under a key
// the others do not have. It is refused before it does. A ledger with
// nothing sealed yet takes any key.
func (s *Store) CheckSecretsKey(ctx context.Context) error {
	return checkSecretsKey(ctx, s.q, s.Secrets)
}

// checkSecretsKey is CheckSecretsKey for sealer, reading with q (the
// Store's, or xuncha migrate's connection before it seals tips).
func checkSecretsKey(ctx context.Context, q *dbsqlc.Queries, sealer SecretSealer) error {
	if sealer == nil {
		return nil
	}
	type sample struct {
		what           string
		ciphertext, ad []byte
	}
	var samples []sample
	tip, found, err := optional(q.NewestSealedTip(ctx))
	if err != nil {
		return fmt.Errorf("reading a sealed tip: %w", err)
	}
	if found {
		samples = append(samples, sample{"the content of tip " + tip.ID, tip.ContentSealed, tipContentAD(tip.ID)})
	}
	wh, found, err := optional(q.NewestSealedWebhook(ctx))
	if err != nil {
		return fmt.Errorf("reading a sealed webhook secret: %w", err)
	}
	if found {
		samples = append(samples, sample{"the secret of webhook " + wh.ID, wh.SecretSealed, webhookSecretAD(wh.ID)})
	}
	for _, s := range samples {
		if _, err := sealer.Open(s.ciphertext, s.ad); err != nil {
			return fmt.Errorf("the server key does not open %s, sealed with the ledger's key: start with the key the ledger was written with (XUNCHA_TIP_KEY): %w", s.what, err)
		}
	}
	return nil
}
