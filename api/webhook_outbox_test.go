package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

// hangingReceiver is an office system that takes requests and does not
// answer until released; then it verifies each signature and answers 204.
type hangingReceiver struct {
	server  *httptest.Server
	release chan struct{}

	mu       sync.Mutex
	secret   string
	requests int
	verified []string // delivery IDs answered with a valid signature
	refused  []string
}

func (r *hangingReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	r.mu.Unlock()
	select {
	case <-r.release:
	case <-req.Context().Done():
		return // the sender gave up on this attempt
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		err = activities.VerifyWebhookSignature(r.secret, req.Header.Get(activities.HeaderWebhookSignature), body, time.Now(), 5*time.Minute)
	}
	if err != nil {
		r.refused = append(r.refused, err.Error())
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	r.verified = append(r.verified, req.Header.Get(activities.HeaderWebhookDelivery))
	w.WriteHeader(http.StatusNoContent)
}

// TestHangingReceiverDoesNotHoldTheFinding closes a MAJOR finding while the
// only subscriber hangs: the finding's workflow ends at once, its delivery
// waits in the outbox, and arrives, signed, once the receiver answers.
func TestHangingReceiverDoesNotHoldTheFinding(t *testing.T) {
	s := setup(t)
	r := &hangingReceiver{release: make(chan struct{})}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.server.Close)
	releaseOnce := sync.OnceFunc(func() { close(r.release) })
	t.Cleanup(releaseOnce) // before the server closes (cleanups run last first)
	code, hook := s.do("POST", "/v1/webhooks", &office, map[string]any{
		"request_id": rid(t, "webhook"), "url": r.server.URL + "/hang", "event_types": []string{workflows.EventMajorFinding},
	})
	require.Equal(t, http.StatusOK, code, "%v", hook)
	r.mu.Lock()
	r.secret = hook["secret"].(string)
	r.mu.Unlock()

	f := s.recordFinding(s.createInspection(), "record", "MAJOR")
	id := f["id"].(string)
	deliveryID := workflows.FindingWorkflowID(id) + "/major/" + hook["id"].(string)
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.requests > 0
	}, 20*time.Second, 50*time.Millisecond, "the delivery reaches the receiver, which hangs")

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), s.evidence("photo of the alarm")), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify"), "accept": true, "reason": "整改到位"}, "CLOSED")
	closedAt := time.Now()
	s.awaitClosed(id)
	t.Logf("the finding's workflow ended %s after CLOSED", time.Since(closedAt).Round(time.Millisecond))

	ctx := context.Background()
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.FindingWorkflowID(id), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	queued, err := s.Ledger.QueuedDelivery(ctx, deliveryID)
	require.NoError(t, err)
	require.Equal(t, ledger.DeliveryPending, queued.Status, "the delivery still waits for the receiver")
	delivery, err := s.Temporal.DescribeWorkflowExecution(ctx, activities.WebhookDeliveryWorkflowID(deliveryID), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, delivery.GetWorkflowExecutionInfo().GetStatus())
	r.mu.Lock()
	require.Empty(t, r.verified, "nothing was answered yet")
	r.mu.Unlock()

	releaseOnce()
	require.Eventually(t, func() bool {
		d, err := s.Ledger.QueuedDelivery(ctx, deliveryID)
		return err == nil && d.Status == ledger.DeliveryDelivered
	}, 60*time.Second, 100*time.Millisecond, "the delivery arrives once the receiver answers")
	r.mu.Lock()
	require.Empty(t, r.refused, "every request carried a valid signature")
	require.Contains(t, r.verified, deliveryID)
	r.mu.Unlock()
	var payload struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	queued, err = s.Ledger.QueuedDelivery(ctx, deliveryID)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(queued.Payload, &payload))
	require.Equal(t, workflows.EventMajorFinding, payload.Type)
	require.Equal(t, id, payload.Data["finding_id"])
	attempts, err := s.Ledger.Deliveries(ctx, deliveryID)
	require.NoError(t, err)
	require.NotEmpty(t, attempts)
	require.Equal(t, http.StatusNoContent, attempts[len(attempts)-1].StatusCode)
	require.Eventually(t, func() bool {
		d, err := s.Temporal.DescribeWorkflowExecution(ctx, activities.WebhookDeliveryWorkflowID(deliveryID), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 20*time.Second, 100*time.Millisecond, "the delivery workflow completes")
	// Both histories (a finding that queued its event, the delivery) are
	// recorded into workflows/testdata/replay with XUNCHA_RECORD_HISTORIES=1.
	s.replayHistory("finding-outbox", workflows.FindingWorkflowID(id))
	s.replayHistory("webhook-delivery", activities.WebhookDeliveryWorkflowID(deliveryID))
}
