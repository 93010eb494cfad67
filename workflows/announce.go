package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/internal/derrors"
)

// versionAnnounceOutlivesLadder is the workflow.GetVersion change ID under
// which a webhook's hand-over is not cancelled with the context it was
// announced in (announce).
const versionAnnounceOutlivesLadder = "announce-outlives-ladder"

// webhookOptions retry a delivery with backoff for up to a day (in a
// WebhookDeliveryWorkflow; in the lifecycle itself for histories recorded
// before webhookOutboxChange).
var webhookOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    10 * time.Minute,
		// An unknown webhook or a payload that is not JSON will not get better.
		NonRetryableErrorTypes: derrors.NonRetryableTypes,
	},
}

// announce posts an event to every subscribed webhook. deliveryKey is
// stable for the event; receivers deduplicate by the delivery ID derived
// from it (deliveryKey + "/" + webhook ID). *pending counts the hand-overs
// still running: a workflow waits for them before it ends.
//
// Workflows that reach announce since webhookOutboxChange hand the event to
// the outbox (activities.QueueWebhook, a short ledger write that starts one
// WebhookDeliveryWorkflow per subscriber) and wait only for that, so a
// lifecycle ends when its stage says so whatever the receivers do. Histories
// recorded before the change keep delivering inside the lifecycle, each
// delivery on its own, waited for before the workflow ends.
func announce(ctx workflow.Context, r ledgerRunner, pending *int, eventType, deliveryKey string, data map[string]any) {
	outbox := r.version(ctx, webhookOutboxChange, 1) >= 1
	*pending++
	// A ladder's step announces in the ladder's context, which the
	// ladder's stop cancels: an invitation that lapses stops its ladder in
	// the task that took the step, and the hand-over was cancelled before
	// it began, the webhook lost. Since versionAnnounceOutlivesLadder the
	// hand-over runs in a context of its own; the workflow still waits for
	// it (pending) before it ends.
	if r.version(ctx, versionAnnounceOutlivesLadder, 1) >= 1 {
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { *pending-- }()
		if outbox {
			queueWebhook(ctx, r, eventType, deliveryKey, data)
			return
		}
		deliverInline(ctx, eventType, deliveryKey, data)
	})
}

// webhookPayload is the body posted for an event.
func webhookPayload(ctx workflow.Context, eventType string, data map[string]any) []byte {
	return dataJSON(map[string]any{
		"type":        eventType,
		"occurred_at": workflow.Now(ctx).UTC(),
		"data":        data,
	})
}

// queueWebhook writes the event's deliveries to the outbox.
func queueWebhook(ctx workflow.Context, r ledgerRunner, eventType, deliveryKey string, data map[string]any) {
	in := activities.QueueWebhookInput{EventType: eventType, DeliveryKey: deliveryKey, Payload: webhookPayload(ctx, eventType, data)}
	if err := r.call(ctx, nil, acts.QueueWebhook, in); err != nil {
		workflow.GetLogger(ctx).Error("queuing webhook deliveries failed", "event", eventType, "delivery_key", deliveryKey, "error", err)
	}
}

// deliverInline is announce before webhookOutboxChange: list the
// subscribers, then deliver to each, retrying for up to a day, inside the
// lifecycle. Kept unchanged so that recorded histories replay.
func deliverInline(ctx workflow.Context, eventType, deliveryKey string, data map[string]any) {
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var subs activities.SubscribersResult
	if err := workflow.ExecuteActivity(actx, acts.Subscribers, activities.SubscribersInput{EventType: eventType}).Get(ctx, &subs); err != nil {
		workflow.GetLogger(ctx).Error("listing webhook subscribers failed", "event", eventType, "error", err)
		return
	}
	payload := webhookPayload(ctx, eventType, data)
	wctx := workflow.WithActivityOptions(ctx, webhookOptions)
	futures := make([]workflow.Future, 0, len(subs.WebhookIDs))
	for _, id := range subs.WebhookIDs {
		futures = append(futures, workflow.ExecuteActivity(wctx, acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: id, DeliveryID: deliveryKey + "/" + id, EventType: eventType, Payload: payload,
		}))
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("webhook delivery gave up", "webhook", subs.WebhookIDs[i], "event", eventType, "error", err)
		}
	}
}
