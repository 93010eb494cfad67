package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/egress"
)

// Dispatcher delivers the webhook outbox: it claims the deliveries that are
// due (ledger.Store.ClaimDeliveries, shared safely by every worker process),
// makes one attempt at each, and records how it went — DELIVERED, SKIPPED
// (the webhook was deleted), FAILED (a refused address, a vanished webhook,
// a payload that is not JSON, or attempts for longer than GiveUpAfter), or
// the next attempt after a backoff. A dispatcher that stops mid-attempt
// leaves its claims to another once their lease ends, so a delivery is
// attempted at least once and receivers deduplicate by X-Xuncha-Delivery.
//
// It replaces a WebhookDeliveryWorkflow per delivery: a lifecycle's event
// costs one outbox row and one POST, not a workflow's tasks on the cluster
// (issue 12 item 1). Deliveries queued before migration 020 keep their
// workflows.
type Dispatcher struct {
	// Activities attempt each delivery (DeliverWebhook's attempt, the
	// ledger, the address policy, the log and the metrics).
	Activities *Activities
	// Concurrency is how many deliveries are attempted at once (default 8).
	Concurrency int
	// Idle is how long the dispatcher waits for work when nothing is due
	// and it is not woken (Wake) (default 1 s).
	Idle time.Duration
	// Lease is how long a claim keeps other dispatchers away (default
	// 2 min). An attempt is cut off after three quarters of it, so two
	// attempts at one delivery never overlap; a POST is bounded by 10 s
	// anyway.
	Lease time.Duration
	// Backoff is the wait after the attempt-th failed attempt (default
	// DeliveryBackoff).
	Backoff func(attempt int) time.Duration
	// GiveUpAfter is how long after it was queued a failing delivery is
	// given up (default 24 h, as the delivery workflow's retries did).
	GiveUpAfter time.Duration

	once sync.Once
	wake chan struct{}
}

// DeliveryBackoff is the default wait after the attempt-th failed attempt:
// 1 s, doubling, at most 10 min (the delivery workflow's retry policy).
func DeliveryBackoff(attempt int) time.Duration {
	return min(time.Second<<min(max(attempt-1, 0), 10), 10*time.Minute)
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Concurrency < 1 {
			d.Concurrency = 8
		}
		if d.Idle <= 0 {
			d.Idle = time.Second
		}
		if d.Lease <= 0 {
			d.Lease = 2 * time.Minute
		}
		if d.Backoff == nil {
			d.Backoff = DeliveryBackoff
		}
		if d.GiveUpAfter <= 0 {
			d.GiveUpAfter = 24 * time.Hour
		}
	})
}

// Wake tells the dispatcher that deliveries were queued, so it looks now
// rather than after Idle. It never blocks.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the attempts under way.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	a := d.Activities
	slots := make(chan struct{}, d.Concurrency)
	var running sync.WaitGroup
	defer running.Wait()
	for ctx.Err() == nil {
		// Claim only what free hands can take now: a claim's lease runs
		// from the claim.
		free := d.Concurrency - len(slots)
		var claimed []casework.OutboxDelivery
		if free > 0 {
			var err error
			claimed, err = a.Ledger.ClaimDeliveries(ctx, free, d.Lease)
			if err != nil && ctx.Err() == nil {
				a.Log.Warn("webhook outbox: claiming deliveries failed", zap.Error(err))
			}
		}
		for _, q := range claimed {
			slots <- struct{}{}
			running.Add(1)
			go func() {
				defer func() {
					<-slots
					running.Done()
					d.Wake() // a free hand: claim what else is due
				}()
				// An attempt outlives the dispatcher's stop, so a POST sent
				// is recorded, but not its claim: it ends before another
				// dispatcher may take the delivery.
				actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.Lease*3/4)
				defer cancel()
				d.attempt(actx, q)
			}()
		}
		if free > 0 && len(claimed) == free {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-time.After(d.Idle):
		}
	}
}

// attempt makes one attempt at a claimed delivery within ctx (three
// quarters of the claim's lease) and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, q casework.OutboxDelivery) {
	a := d.Activities
	in := DeliverWebhookInput{WebhookID: q.WebhookID, DeliveryID: q.DeliveryID, EventType: q.EventType, Payload: q.Payload}
	res, err := a.attemptDelivery(ctx, in, q.Attempts)
	// The outcome is recorded even when the attempt was cut off, within a
	// bound of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordDeliveryTimeout)
	defer cancel()
	status, reason := casework.DeliveryDelivered, ""
	switch {
	case err == nil && res.Skipped:
		status = casework.DeliverySkipped
	case err == nil:
	case errors.Is(err, egress.ErrRefused), errors.Is(err, derrors.ErrNotFound), errors.Is(err, derrors.ErrInvalidArgument):
		status, reason = casework.DeliveryFailed, err.Error()
	case time.Since(q.QueuedAt) >= d.GiveUpAfter:
		status, reason = casework.DeliveryFailed, fmt.Sprintf("retries ran out after %d attempts over %s: %v", q.Attempts, d.GiveUpAfter, err)
	default:
		wait := d.Backoff(q.Attempts)
		if err := a.Ledger.RetryDelivery(rctx, q.DeliveryID, wait, err.Error()); err != nil {
			// The claim's lease brings it back.
			a.Log.Warn("webhook outbox: scheduling the next attempt failed", zap.String("delivery", q.DeliveryID), zap.Error(err))
		}
		return
	}
	if err := a.Ledger.FinishDelivery(rctx, q.DeliveryID, status, reason); err != nil {
		a.Log.Warn("webhook outbox: recording the outcome failed", zap.String("delivery", q.DeliveryID), zap.Error(err))
		return
	}
	if status == casework.DeliveryFailed {
		a.Log.Error("webhook: delivery given up", zap.String("webhook", q.WebhookID), zap.String("event_type", q.EventType),
			zap.String("delivery", q.DeliveryID), zap.Int("attempts", q.Attempts), zap.String("reason", reason))
	}
	a.Metrics.WebhookDelivery(status)
}
