package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/telemetry"
)

// runDispatcher runs d until the test ends or stop is called.
func runDispatcher(t *testing.T, d *activities.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// exec runs a statement as the ledger's owner: what the application role
// may not do, to set a scene.
func (fx fixture) exec(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.db.OwnerURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), sql)
	require.NoError(t, err)
}

// queue writes one delivery to the outbox, as QueueWebhook does.
func (fx fixture) queue(t *testing.T, deliveryID, webhookID string) {
	t.Helper()
	queued, err := fx.store.QueueDelivery(t.Context(), casework.OutboxDelivery{DeliveryID: deliveryID, WebhookID: webhookID,
		EventType: "finding.escalated", Payload: json.RawMessage(`{"type":"finding.escalated"}`)})
	require.NoError(t, err)
	require.True(t, queued)
}

// subscribe serves handler as webhook id's receiver until the test ends.
func (fx fixture) subscribe(t *testing.T, id, secret string, handler http.HandlerFunc) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	fx.subscribeURL(t, id, secret, srv.URL)
}

// subscribeURL records webhook id with its receiver at url.
func (fx fixture) subscribeURL(t *testing.T, id, secret, url string) {
	t.Helper()
	_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: id, RequestID: "req-" + id, URL: url, Secret: secret, CreatedBy: office})
	require.NoError(t, err)
}

// awaitOutcome waits for a queued delivery to finish and returns it.
func (fx fixture) awaitOutcome(t *testing.T, deliveryID string, within time.Duration) casework.OutboxDelivery {
	t.Helper()
	var got casework.OutboxDelivery
	require.Eventually(t, func() bool {
		var err error
		got, err = fx.store.QueuedDelivery(t.Context(), deliveryID)
		return err == nil && got.Status != casework.DeliveryPending
	}, within, 20*time.Millisecond, "delivery %s finishes", deliveryID)
	return got
}

// TestDispatcherDeliversTheOutbox: a queued delivery is sent, signed, and
// finished DELIVERED; a receiver that fails is tried again after the
// backoff until it answers; a deleted webhook is SKIPPED; a refused
// address and a delivery failing past GiveUpAfter are FAILED with the
// reason. Every attempt is in the delivery log.
func TestDispatcherDeliversTheOutbox(t *testing.T) {
	t.Parallel()
	fx := setup(t)

	ok, okSrv := newReceiver(t, "s3cret-d-ok", http.StatusNoContent)
	fx.subscribeURL(t, "w-d-ok", "s3cret-d-ok", okSrv.URL)

	// Fails twice with 503, then answers.
	var flaky atomic.Int32
	fx.subscribe(t, "w-d-flaky", "x", func(w http.ResponseWriter, _ *http.Request) {
		if flaky.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})

	gone, goneSrv := newReceiver(t, "s3cret-d-gone", http.StatusOK)
	fx.subscribeURL(t, "w-d-gone", "s3cret-d-gone", goneSrv.URL)

	var backoffs sync.Map // attempt → seen
	d := &activities.Dispatcher{Activities: fx.acts, Idle: 50 * time.Millisecond,
		Backoff: func(attempt int) time.Duration { backoffs.Store(attempt, true); return 100 * time.Millisecond }}
	runDispatcher(t, d)

	fx.queue(t, "d-disp-ok", "w-d-ok")
	d.Wake()
	got := fx.awaitOutcome(t, "d-disp-ok", 10*time.Second)
	require.Equal(t, casework.DeliveryDelivered, got.Status)
	require.Equal(t, 1, got.Attempts)
	require.NoError(t, <-ok.errs, "the receiver verifies the signature")
	require.Equal(t, "d-disp-ok", (<-ok.got).Header.Get(activities.HeaderWebhookDelivery))

	fx.queue(t, "d-disp-flaky", "w-d-flaky")
	got = fx.awaitOutcome(t, "d-disp-flaky", 10*time.Second)
	require.Equal(t, casework.DeliveryDelivered, got.Status)
	require.Equal(t, 3, got.Attempts)
	for _, attempt := range []int{1, 2} {
		_, seen := backoffs.Load(attempt)
		require.True(t, seen, "the backoff after attempt %d", attempt)
	}
	log, err := fx.store.Deliveries(t.Context(), "d-disp-flaky")
	require.NoError(t, err)
	require.Len(t, log, 3)
	for i, a := range log {
		require.Equal(t, i+1, a.Attempt)
	}
	require.Equal(t, http.StatusServiceUnavailable, log[0].StatusCode)
	require.Equal(t, http.StatusOK, log[2].StatusCode)

	require.NoError(t, fx.store.DeleteWebhook(t.Context(), "w-d-gone", office))
	fx.queue(t, "d-disp-gone", "w-d-gone")
	got = fx.awaitOutcome(t, "d-disp-gone", 10*time.Second)
	require.Equal(t, casework.DeliverySkipped, got.Status)
	require.Zero(t, gone.calls.Load(), "nothing is sent for a deleted webhook")
}

// TestDispatcherGivesUp: a refused receiver address is FAILED at the first
// attempt, with the rule; a receiver that keeps failing is FAILED once the
// delivery is older than GiveUpAfter, not before.
func TestDispatcherGivesUp(t *testing.T) {
	t.Parallel()
	fx := setup(t)

	refused, refusedSrv := newReceiver(t, "x", http.StatusOK)
	fx.subscribeURL(t, "w-d-refused", "x", refusedSrv.URL)
	var calls atomic.Int32
	fx.subscribe(t, "w-d-down", "x", func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	})

	// Both dispatchers count their outcomes in one registry, as a worker's
	// /metrics does.
	tel, err := telemetry.New(t.Context(), telemetry.Config{Service: "test"})
	require.NoError(t, err)
	fx.acts.Metrics = tel.Metrics
	require.Zero(t, deliveries(t, tel.Registry, casework.DeliveryFailed))

	// The address policy allows public addresses only (nil, the default).
	public := *fx.acts
	public.Egress = nil
	stop := runDispatcher(t, &activities.Dispatcher{Activities: &public, Idle: 50 * time.Millisecond})
	fx.queue(t, "d-disp-refused", "w-d-refused")
	got := fx.awaitOutcome(t, "d-disp-refused", 10*time.Second)
	require.Equal(t, casework.DeliveryFailed, got.Status)
	require.Contains(t, got.Error, "loopback")
	require.Equal(t, 1, got.Attempts, "a refused address is not tried again")
	require.Zero(t, refused.calls.Load())
	stop()
	require.Equal(t, 1.0, deliveries(t, tel.Registry, casework.DeliveryFailed), "a given-up delivery is counted FAILED")

	// The failing receiver, with the policy allowing loopback: tried again
	// and again while young, FAILED once old.
	runDispatcher(t, &activities.Dispatcher{Activities: fx.acts, Idle: 50 * time.Millisecond,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
	fx.queue(t, "d-disp-down", "w-d-down")
	require.Eventually(t, func() bool { return calls.Load() >= 3 }, 10*time.Second, 20*time.Millisecond)
	pending, err := fx.store.QueuedDelivery(t.Context(), "d-disp-down")
	require.NoError(t, err)
	require.Equal(t, casework.DeliveryPending, pending.Status, "a young delivery is still retried")
	require.Contains(t, pending.Error, "502", "the last failure is kept")
	fx.exec(t, `UPDATE webhook_outbox SET queued_at = now() - interval '25 hours' WHERE delivery_id = 'd-disp-down'`)
	got = fx.awaitOutcome(t, "d-disp-down", 10*time.Second)
	require.Equal(t, casework.DeliveryFailed, got.Status)
	require.Contains(t, got.Error, "retries ran out")
	require.Contains(t, got.Error, "502")
	// Counted once the outcome is written, a moment after the row shows
	// it: read after the write, the count raced it.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, 2.0, deliveries(c, tel.Registry, casework.DeliveryFailed))
	}, 5*time.Second, 10*time.Millisecond, "counted FAILED once, however often it was tried")
	require.Zero(t, deliveries(t, tel.Registry, casework.DeliveryDelivered))
}

// deliveries reads xuncha_webhook_deliveries_total for status from reg.
func deliveries(t require.TestingT, reg prometheus.Gatherer, status string) float64 {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != telemetry.WebhookDeliveries {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == status {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestDispatchersShareTheOutbox: two dispatchers (two worker processes)
// deliver 120 queued deliveries, each exactly once; a delivery claimed by a
// dispatcher that died is delivered by another once the claim's lease ends;
// a delivery a WebhookDeliveryWorkflow owns (queued before migration 020)
// is left alone.
func TestDispatchersShareTheOutbox(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	var mu sync.Mutex
	seen := map[string]int{}
	fx.subscribe(t, "w-d-shared", "x", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get(activities.HeaderWebhookDelivery)]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})

	// A dispatcher that claimed one delivery and died: its lease is short.
	fx.queue(t, "d-shared-orphan", "w-d-shared")
	claimed, err := fx.store.ClaimDeliveries(t.Context(), 10, 500*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	again, err := fx.store.ClaimDeliveries(t.Context(), 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again, "a claimed delivery is not claimed again within its lease")
	// A delivery its workflow owns.
	fx.exec(t, `INSERT INTO webhook_outbox (delivery_id, webhook_id, event_type, payload)
		VALUES ('d-shared-workflow', 'w-d-shared', 'finding.escalated', '{}')`)

	const n = 120
	for i := range n {
		fx.queue(t, fmt.Sprintf("d-shared-%03d", i), "w-d-shared")
	}
	for range 2 {
		runDispatcher(t, &activities.Dispatcher{Activities: fx.acts, Idle: 20 * time.Millisecond, Concurrency: 4})
	}
	for i := range n {
		require.Equal(t, casework.DeliveryDelivered, fx.awaitOutcome(t, fmt.Sprintf("d-shared-%03d", i), 30*time.Second).Status)
	}
	orphan := fx.awaitOutcome(t, "d-shared-orphan", 30*time.Second)
	require.Equal(t, casework.DeliveryDelivered, orphan.Status)
	require.Equal(t, 2, orphan.Attempts, "the dead dispatcher's claim, then the live one's")

	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		require.Equal(t, 1, seen[fmt.Sprintf("d-shared-%03d", i)], "delivered once")
	}
	require.Zero(t, seen["d-shared-workflow"], "a workflow's delivery is not the dispatcher's")
	owned, err := fx.store.QueuedDelivery(t.Context(), "d-shared-workflow")
	require.NoError(t, err)
	require.Equal(t, casework.DeliveryPending, owned.Status)
	require.Nil(t, owned.NextAttemptAt)
}

// TestDispatcherKeepsItsHandsBusy: a backlog leaves as fast as the
// dispatcher's hands allow, not a batch per Idle: each finished attempt
// claims the next.
func TestDispatcherKeepsItsHandsBusy(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.subscribe(t, "w-d-busy", "x", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	const n = 40
	for i := range n {
		fx.queue(t, fmt.Sprintf("d-busy-%02d", i), "w-d-busy")
	}
	// Two hands and a long Idle, never woken from outside.
	runDispatcher(t, &activities.Dispatcher{Activities: fx.acts, Concurrency: 2, Idle: time.Minute})
	for i := range n {
		require.Equal(t, casework.DeliveryDelivered, fx.awaitOutcome(t, fmt.Sprintf("d-busy-%02d", i), 20*time.Second).Status)
	}
}

// TestDispatcherAttemptEndsWithinItsLease: an attempt at a receiver that
// never answers is cut off before its claim's lease ends (not after the
// POST's own 10 s), recorded as failed, and tried again after it; so no
// other dispatcher's attempt can overlap it.
func TestDispatcherAttemptEndsWithinItsLease(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	var mu sync.Mutex
	var arrivals []time.Time
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(stop) }) // before the server closes
	_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-d-hang", RequestID: "req-d-hang", URL: hang.URL,
		Secret: "x", CreatedBy: office})
	require.NoError(t, err)
	fx.queue(t, "d-disp-hang", "w-d-hang")
	const lease = 800 * time.Millisecond
	for range 2 {
		runDispatcher(t, &activities.Dispatcher{Activities: fx.acts, Idle: 20 * time.Millisecond, Lease: lease,
			Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	}
	var log []casework.WebhookDelivery
	require.Eventually(t, func() bool {
		log, err = fx.store.Deliveries(t.Context(), "d-disp-hang")
		return err == nil && len(log) >= 2
	}, 8*time.Second, 20*time.Millisecond, "two attempts recorded well before the POST's own 10 s bound")
	require.Contains(t, log[0].Error, "deadline exceeded")
	pending, err := fx.store.QueuedDelivery(t.Context(), "d-disp-hang")
	require.NoError(t, err)
	require.Contains(t, pending.Error, "deadline exceeded", "the cut-off attempt's failure is recorded on the row")
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(arrivals); i++ {
		require.GreaterOrEqual(t, arrivals[i].Sub(arrivals[i-1]), lease*3/4-50*time.Millisecond,
			"attempt %d began after attempt %d was cut off", i+1, i)
	}
}

func TestDeliveryBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		10: 512 * time.Second, 11: 10 * time.Minute, 40: 10 * time.Minute} {
		require.Equal(t, want, activities.DeliveryBackoff(attempt), "after attempt %d", attempt)
	}
}
