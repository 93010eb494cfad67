package casework

import (
	"encoding/json"
	"time"

	"github.com/xuncha/xuncha/internal/actor"
)

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
// raised the event writes it and moves on; the workers' dispatcher
// (activities.Dispatcher) delivers it and records how it ended — or, for a
// delivery queued before migration 020, its WebhookDeliveryWorkflow does.
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
	// Attempts counts the dispatcher's attempts so far.
	Attempts int `json:"attempts"`
	// NextAttemptAt is when the dispatcher may try it next; nil when a
	// WebhookDeliveryWorkflow owns it (queued before migration 020).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// Webhook is an office system's subscription.
type Webhook struct {
	ID         string   `json:"id"`
	RequestID  string   `json:"request_id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// Secret signs deliveries. The ledger keeps it sealed
	// (ledger.Store.Secrets) and opens it only in its CreateWebhook and
	// GetWebhook; it is never in JSON, so never in a history.
	Secret    string      `json:"-"`
	CreatedBy actor.Actor `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
	DeletedAt *time.Time  `json:"deleted_at,omitempty"`
}

// WebhookDelivery is one attempt to deliver an event to a subscriber.
type WebhookDelivery struct {
	ID         int64           `json:"id"`
	DeliveryID string          `json:"delivery_id"`
	WebhookID  string          `json:"webhook_id"`
	EventType  string          `json:"event_type"`
	Attempt    int             `json:"attempt"`
	StatusCode int             `json:"status_code"`
	Error      string          `json:"error,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	AttemptAt  time.Time       `json:"attempt_at"`
}
