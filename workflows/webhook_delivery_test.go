package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
)

// TestFindingAnnounceVersions runs the same announcement down both sides of
// webhookOutboxChange: histories recorded before it deliver inside the
// lifecycle, new ones hand the event to the outbox; the delivery IDs are the
// same either way.
func TestFindingAnnounceVersions(t *testing.T) {
	tests := []struct {
		name           string
		version        workflow.Version
		inline, queued int
	}{
		{"outbox", 1, 0, 1},
		{"inline, as recorded before the outbox", workflow.DefaultVersion, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			atLevelOne(h.env)
			h.env.OnGetVersion(webhookOutboxChange, workflow.DefaultVersion, 1).Return(tt.version)
			wd := h.update(time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "重复记录"})
			h.run(newFinding(SeverityMajor))
			requireDone(t, wd)
			require.Equal(t, tt.inline, h.fl.inline, "inline deliveries")
			require.Equal(t, tt.queued, h.fl.queued, "outbox hand-overs")
			require.Len(t, h.fl.deliveries, 1)
			d := h.fl.deliveries[0]
			require.Equal(t, EventMajorFinding, d.EventType)
			require.True(t, strings.HasSuffix(d.DeliveryID, "/major/wh-1"), d.DeliveryID)
			require.Contains(t, string(d.Payload), `"type":"finding.major"`)
		})
	}
}

// deliveryHarness runs WebhookDeliveryWorkflow with DeliverWebhook answering
// from a script and FinishDelivery recording the outcome.
type deliveryHarness struct {
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	attempts int
	outcomes []activities.FinishDeliveryInput
}

func newDeliveryHarness(t *testing.T, answer func(attempt int) (activities.DeliverWebhookResult, error)) *deliveryHarness {
	t.Helper()
	h := &deliveryHarness{env: newTestEnv()}
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity(acts.DeliverWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.DeliverWebhookInput) (activities.DeliverWebhookResult, error) {
			h.mu.Lock()
			h.attempts++
			n := h.attempts
			h.mu.Unlock()
			return answer(n)
		})
	h.env.OnActivity(acts.FinishDelivery, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishDeliveryInput) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.outcomes = append(h.outcomes, in)
			return nil
		})
	return h
}

func TestWebhookDeliveryWorkflow(t *testing.T) {
	in := activities.WebhookDeliveryInput{Delivery: activities.DeliverWebhookInput{
		WebhookID: "wh-1", DeliveryID: "finding/f-1/major/wh-1", EventType: EventMajorFinding, Payload: []byte(`{}`)}}
	failed := func() error {
		return temporal.NewApplicationError("answered HTTP 503", activities.ErrTypeWebhookDelivery)
	}
	tests := []struct {
		name     string
		answer   func(attempt int) (activities.DeliverWebhookResult, error)
		attempts int
		status   string
		reason   string // part of the recorded error; "" means none
	}{
		{"delivered", func(int) (activities.DeliverWebhookResult, error) {
			return activities.DeliverWebhookResult{StatusCode: 204}, nil
		}, 1, casework.DeliveryDelivered, ""},
		{"retried until the receiver answers", func(n int) (activities.DeliverWebhookResult, error) {
			if n < 4 {
				return activities.DeliverWebhookResult{}, failed()
			}
			return activities.DeliverWebhookResult{StatusCode: 200}, nil
		}, 4, casework.DeliveryDelivered, ""},
		{"webhook deleted", func(int) (activities.DeliverWebhookResult, error) {
			return activities.DeliverWebhookResult{Skipped: true}, nil
		}, 1, casework.DeliverySkipped, ""},
		{"address refused, not retried", func(int) (activities.DeliverWebhookResult, error) {
			return activities.DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError(
				"127.0.0.1 is a loopback address", activities.ErrTypeWebhookRefused, nil)
		}, 1, casework.DeliveryFailed, "loopback"},
		{"retries run out", func(int) (activities.DeliverWebhookResult, error) {
			return activities.DeliverWebhookResult{}, failed()
		}, 0, casework.DeliveryFailed, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newDeliveryHarness(t, tt.answer)
			h.env.ExecuteWorkflow(WebhookDeliveryWorkflow, in)
			require.True(t, h.env.IsWorkflowCompleted())
			if tt.status == casework.DeliveryFailed {
				require.ErrorContains(t, h.env.GetWorkflowError(), "gave up")
			} else {
				require.NoError(t, h.env.GetWorkflowError())
			}
			if tt.attempts > 0 {
				require.Equal(t, tt.attempts, h.attempts)
			} else {
				// The test environment stops retrying long before the
				// day is over; retried at all is what is checked here.
				require.Greater(t, h.attempts, 1, "retried with backoff")
			}
			require.Len(t, h.outcomes, 1)
			require.Equal(t, in.Delivery.DeliveryID, h.outcomes[0].DeliveryID)
			require.Equal(t, tt.status, h.outcomes[0].Status)
			if tt.reason == "" {
				require.Empty(t, h.outcomes[0].Error)
			} else {
				require.Contains(t, h.outcomes[0].Error, tt.reason)
			}
		})
	}
}
