package activities

import (
	"context"
	"encoding/json"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/derrors"
)

// WebhookDeliveryWorkflowName is the workflow type that delivers one queued
// webhook event to one subscriber (workflows.WebhookDeliveryWorkflow). It is
// named here because QueueWebhook started it (until migration 020) and
// package workflows imports this one.
const WebhookDeliveryWorkflowName = "WebhookDeliveryWorkflow"

// WebhookDeliveryWorkflowID is the workflow ID of the delivery deliveryID:
// deterministic, so that queuing the same event again starts nothing new.
func WebhookDeliveryWorkflowID(deliveryID string) string { return "webhook-delivery/" + deliveryID }

// WebhookDeliveryInput is the input of a WebhookDeliveryWorkflow.
type WebhookDeliveryInput struct {
	Delivery DeliverWebhookInput `json:"delivery"`
}

// QueueWebhookInput is an event raised by a lifecycle, for every webhook
// subscribed to its type.
type QueueWebhookInput struct {
	EventType string `json:"event_type"`
	// DeliveryKey is stable for the event; each subscriber's delivery ID is
	// DeliveryKey + "/" + webhook ID.
	DeliveryKey string          `json:"delivery_key"`
	Payload     json.RawMessage `json:"payload"`
}

// QueueWebhookResult lists the delivery IDs queued (or already queued).
type QueueWebhookResult struct {
	DeliveryIDs []string `json:"delivery_ids"`
}

// QueueWebhook hands an event to the outbox: for each webhook subscribed to
// its type it writes a webhook_outbox row, due at once, which the workers'
// Dispatcher delivers, retrying with backoff for up to a day. It returns
// as soon as the rows are written, whatever the receivers do, so the
// lifecycle that raised the event never waits for a receiver. Queuing is
// idempotent by the delivery ID: a retry writes no second row.
func (a *Activities) QueueWebhook(ctx context.Context, in QueueWebhookInput) (QueueWebhookResult, error) {
	if !json.Valid(in.Payload) {
		return QueueWebhookResult{}, derrors.ToTemporal(derrors.Invalid("payload", "must be JSON"))
	}
	ids, queued, err := a.Ledger.QueueEvent(ctx, in.EventType, in.DeliveryKey, in.Payload)
	if err != nil {
		return QueueWebhookResult{}, a.ledgerError(ctx, "queuing the deliveries of "+in.EventType, err)
	}
	for _, id := range queued {
		a.log(ctx).Info("webhook: delivery queued", zap.String("event_type", in.EventType), zap.String("delivery", id))
	}
	if len(ids) > 0 && a.Queued != nil {
		a.Queued()
	}
	return QueueWebhookResult{DeliveryIDs: ids}, nil
}

// FinishDeliveryInput is how a queued delivery ended.
type FinishDeliveryInput struct {
	DeliveryID string `json:"delivery_id"`
	// Status is casework.DeliveryDelivered, DeliverySkipped or DeliveryFailed.
	Status string `json:"status"`
	// Error says why a delivery failed.
	Error string `json:"error,omitempty"`
}

// FinishDelivery records the outcome in the outbox; a retry keeps the first.
func (a *Activities) FinishDelivery(ctx context.Context, in FinishDeliveryInput) error {
	if err := a.Ledger.FinishDelivery(ctx, in.DeliveryID, in.Status, in.Error); err != nil {
		return a.ledgerError(ctx, "finishing delivery "+in.DeliveryID, err)
	}
	a.Metrics.WebhookDelivery(in.Status)
	return nil
}
