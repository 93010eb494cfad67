// Package updatechain sends a Temporal Update for a client's request so
// that a failure an earlier request of the same ID left behind does not
// answer it.
//
// A request's Update ID derives from its request_id, so that a retry is
// answered with the first result. Temporal answers an Update ID the run has
// completed with the stored outcome, a failure as much as a success. A
// failure that left nothing behind — a refusal, or the ledger unavailable
// past its retries (derrors.LeftNothing) — must not answer the request
// sent again once the reason is gone (corrected, the team on site, the
// database back): xuncha tells clients to do just that. So when the
// outcome is such a failure, completed before this send began, the Update
// is sent again under an ID of a chain (ID, "ID #2", "ID #3", …): the
// first one that is not also such a stale failure, read from the run's
// history once. That one is either new to the run (decided anew) or holds
// an outcome that stands (a success, or a failure that may have changed
// something), which answers. A send makes at most two Updates and one
// history read, however often the request was refused before.
//
// The space keeps the chain apart from every request's own ID: a
// request_id holds none (the API's boundary), so "r-1 #2" is no other
// request's.
package updatechain

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
)

// MaxSends bounds the chain: a request refused this many times is answered
// with its first refusal.
const MaxSends = 16

// Send sends the Update of opts (UpdateID the request's) and decodes its
// result into result (nil for none). The error is the client's, as
// UpdateWorkflow and Get give it.
func Send(ctx context.Context, tc client.Client, opts client.UpdateWorkflowOptions, result any) error {
	return SendGuarded(ctx, tc, opts, result, nil)
}

// SendGuarded is Send with guard, when not nil, asked before the Update is
// sent again under the chain's next ID, where the request is decided anew:
// its error answers instead, and nothing more is sent. The API's claim of
// a request_id that Temporal's answer cannot vouch for is such a guard.
func SendGuarded(ctx context.Context, tc client.Client, opts client.UpdateWorkflowOptions, result any,
	guard func(context.Context) error,
) error {
	return send(ctx, tc, opts.WorkflowID, opts.UpdateID, guard, func(id string) error {
		opts.UpdateID = id
		handle, err := tc.UpdateWorkflow(ctx, opts)
		if err == nil {
			err = handle.Get(ctx, result)
		}
		return err
	})
}

// SendWithStart is Send for an Update sent with its workflow's start
// (update-with-start, the creating Update). A create its run refused ended
// that run (failed); sent again under the chain's next ID, it starts a new
// run where start's WorkflowIDReusePolicy allows one.
func SendWithStart(ctx context.Context, tc client.Client, start client.StartWorkflowOptions, workflowType string, input any,
	opts client.UpdateWorkflowOptions, result any,
) error {
	signed := payloadcrypt.WithStart(ctx, start, workflowType, input)
	return send(ctx, tc, start.ID, opts.UpdateID, nil, func(id string) error {
		opts.UpdateID = id
		handle, err := tc.UpdateWithStartWorkflow(signed, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: tc.NewWithStartWorkflowOperation(start, workflowType, input),
			UpdateOptions:          opts,
		})
		if err == nil {
			err = handle.Get(ctx, result)
		}
		return err
	})
}

// send runs try with the request's Update ID (base) and, when its failure
// is an earlier send's that left nothing, once more with the chain's next
// ID to try (next), if guard (when set) lets it.
func send(ctx context.Context, tc client.Client, workflowID, base string, guard func(context.Context) error,
	try func(updateID string) error,
) error {
	began := time.Now()
	err := try(base)
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || !derrors.LeftNothing(app.Type()) {
		return err
	}
	id, herr := next(ctx, tc, workflowID, base, began)
	if herr != nil || id == "" {
		return err
	}
	if guard != nil {
		if gerr := guard(ctx); gerr != nil {
			return gerr
		}
	}
	return try(id)
}

// ID is the n-th Update ID of the chain that starts at base (n from 1).
func ID(base string, n int) string {
	if n <= 1 {
		return base
	}
	return base + chainMark + strconv.Itoa(n)
}

// chainMark separates an ID of the chain from its base.
const chainMark = " #"

// InChain reports whether id is one of the chain's IDs that starts at
// base: the key a change's ledger event carries (the Update ID).
func InChain(base, id string) bool {
	if id == base {
		return true
	}
	n, ok := strings.CutPrefix(id, base+chainMark)
	if !ok {
		return false
	}
	i, err := strconv.Atoi(n)
	return err == nil && i >= 2 && strconv.Itoa(i) == n
}

// next reads the outcomes of the chain's Updates that the latest run of
// workflowID completed before t, and returns the chain's first ID after
// base whose outcome is not a failure that left nothing: one the run has
// not seen, or one whose outcome stands. It returns "" when base's failure
// is not among them (the run completed it after t: it is this send's own
// answer), or when the chain is used up.
func next(ctx context.Context, tc client.Client, workflowID, base string, t time.Time) (string, error) {
	outcomes := map[string]*updatepb.Outcome{}
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return "", fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		done := e.GetWorkflowExecutionUpdateCompletedEventAttributes()
		if done != nil && InChain(base, done.GetMeta().GetUpdateId()) && e.GetEventTime().AsTime().Before(t) {
			outcomes[done.GetMeta().GetUpdateId()] = done.GetOutcome()
		}
	}
	if _, ok := outcomes[base]; !ok {
		return "", nil
	}
	for n := 2; n <= MaxSends; n++ {
		o, seen := outcomes[ID(base, n)]
		if !seen || o.GetFailure() == nil || !derrors.LeftNothing(o.GetFailure().GetApplicationFailureInfo().GetType()) {
			return ID(base, n), nil
		}
	}
	return "", nil
}
