package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
)

// WebhookDeliveryWorkflowName is the workflow type that delivers one queued
// webhook event to one subscriber (workflows.WebhookDeliveryWorkflow). It is
// named here because QueueWebhook starts it and package workflows imports
// this one.
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
// its type it writes a webhook_outbox row and starts that delivery's
// WebhookDeliveryWorkflow on this worker's task queue, which retries with
// backoff for up to a day. It returns as soon as both are done, whatever the
// receivers do, so the lifecycle that raised the event never waits for a
// receiver. Both steps are idempotent by the delivery ID: a retry writes no
// second row and starts no second workflow.
func (a *Activities) QueueWebhook(ctx context.Context, in QueueWebhookInput) (QueueWebhookResult, error) {
	if !json.Valid(in.Payload) {
		return QueueWebhookResult{}, derrors.ToTemporal(derrors.Invalid("payload", "must be JSON"))
	}
	if a.Temporal == nil {
		return QueueWebhookResult{}, errors.New("activities: Activities.Temporal is not set: queued webhooks cannot be dispatched")
	}
	hooks, err := a.Ledger.WebhooksFor(ctx, in.EventType)
	if err != nil {
		return QueueWebhookResult{}, derrors.ToTemporal(err)
	}
	out := QueueWebhookResult{DeliveryIDs: make([]string, 0, len(hooks))}
	for _, w := range hooks {
		d := DeliverWebhookInput{WebhookID: w.ID, DeliveryID: in.DeliveryKey + "/" + w.ID, EventType: in.EventType, Payload: in.Payload}
		queued, err := a.Ledger.QueueDelivery(ctx, ledger.OutboxDelivery{DeliveryID: d.DeliveryID, WebhookID: d.WebhookID,
			EventType: d.EventType, Payload: d.Payload})
		if err != nil {
			return QueueWebhookResult{}, derrors.ToTemporal(err)
		}
		if err := a.startDelivery(ctx, d); err != nil {
			return QueueWebhookResult{}, err
		}
		if queued {
			a.log(ctx).Info("webhook: delivery queued", zap.String("webhook", w.ID), zap.String("event_type", in.EventType),
				zap.String("delivery", d.DeliveryID))
		}
		out.DeliveryIDs = append(out.DeliveryIDs, d.DeliveryID)
	}
	return out, nil
}

// startDelivery starts the delivery's workflow; one already started (by an
// earlier attempt, running or finished) counts as started.
func (a *Activities) startDelivery(ctx context.Context, d DeliverWebhookInput) error {
	_, err := a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       WebhookDeliveryWorkflowID(d.DeliveryID),
		TaskQueue:                activity.GetInfo(ctx).TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		StaticSummary:            i18n.Zh("%s to webhook %s", d.EventType, d.WebhookID),
	}, WebhookDeliveryWorkflowName, WebhookDeliveryInput{Delivery: d})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("starting the delivery %q: %w", d.DeliveryID, err)
	}
	return nil
}

// FinishDeliveryInput is how a queued delivery ended.
type FinishDeliveryInput struct {
	DeliveryID string `json:"delivery_id"`
	// Status is ledger.DeliveryDelivered, DeliverySkipped or DeliveryFailed.
	Status string `json:"status"`
	// Error says why a delivery failed.
	Error string `json:"error,omitempty"`
}

// FinishDelivery records the outcome in the outbox; a retry keeps the first.
func (a *Activities) FinishDelivery(ctx context.Context, in FinishDeliveryInput) error {
	if err := a.Ledger.FinishDelivery(ctx, in.DeliveryID, in.Status, in.Error); err != nil {
		return refusal(err)
	}
	a.Metrics.WebhookDelivery(in.Status)
	return nil
}
