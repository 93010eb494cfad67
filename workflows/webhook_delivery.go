package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
)

// WebhookDeliveryWorkflowName is the type of the workflow that delivers one
// queued webhook event to one subscriber.
const WebhookDeliveryWorkflowName = activities.WebhookDeliveryWorkflowName

// webhookOutboxChange gates announce's switch from delivering inside the
// lifecycle (histories recorded before it) to queuing in the outbox.
const webhookOutboxChange = "webhook-outbox"

// WebhookDeliveryWorkflow delivers one event queued in the outbox (ID
// activities.WebhookDeliveryWorkflowID) and records the outcome there.
// activities.QueueWebhook started one per delivery until migration 020;
// since then the workers' outbox dispatcher (activities.Dispatcher)
// delivers, and the workflow stays registered so that those already
// running finish. DeliverWebhook is retried with backoff
// for up to a day (webhookOptions); a refused address or a vanished webhook
// is not retried. The lifecycle that raised the event has long moved on: a
// slow or failing receiver holds up only this workflow, which fails when the
// delivery is given up, so the Web UI shows it.
func WebhookDeliveryWorkflow(ctx workflow.Context, in activities.WebhookDeliveryInput) error {
	d := in.Delivery
	var res activities.DeliverWebhookResult
	deliverErr := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, webhookOptions), acts.DeliverWebhook, d).Get(ctx, &res)
	outcome := activities.FinishDeliveryInput{DeliveryID: d.DeliveryID, Status: casework.DeliveryDelivered}
	switch {
	case deliverErr != nil:
		outcome.Status, outcome.Error = casework.DeliveryFailed, deliveryFailure(deliverErr)
	case res.Skipped:
		outcome.Status = casework.DeliverySkipped
	}
	lctx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	if err := workflow.ExecuteActivity(lctx, acts.FinishDelivery, outcome).Get(ctx, nil); err != nil {
		return fmt.Errorf("recording the outcome of delivery %q: %w", d.DeliveryID, err)
	}
	if deliverErr != nil {
		return fmt.Errorf("delivering %s %q to webhook %q gave up: %s", d.EventType, d.DeliveryID, d.WebhookID, outcome.Error)
	}
	return nil
}

// deliveryFailure says why a delivery was given up, without the activity
// wrapper's bookkeeping.
func deliveryFailure(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "retries ran out: " + timeout.Error()
	}
	return err.Error()
}
