// Package updatechain sends a Temporal Update for a client's request so
// that a failure an earlier request of the same ID left behind does not
// answer it.
//
// A request's Update ID derives from its request_id, so that a retry is
// answered with the first result. Temporal answers an Update ID the run has
// completed with the stored outcome, a failure as much as a success. A
// failure that changed nothing — a refusal, or the ledger unavailable past
// its retries — must not answer the request sent again once the reason is
// gone (corrected, or the database back): xuncha tells clients to do just
// that. So when the outcome is such a failure and it was completed before
// this send began, the Update is sent again under the next ID of a chain
// (ID, "ID #2", "ID #3", …), which the run has not seen; the chain is
// followed past every stale failure, up to MaxSends. The space keeps the
// chain apart from every request's own ID: a request_id holds none (the
// API's boundary), so "r-1 #2" is no other request's.
package updatechain

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/internal/derrors"
)

// MaxSends bounds the chain: a request refused this many times is answered
// with the last refusal.
const MaxSends = 16

// Send sends the Update of opts (UpdateID the request's) and decodes its
// result into result (nil for none). The error is the client's, as
// UpdateWorkflow and Get give it.
func Send(ctx context.Context, tc client.Client, opts client.UpdateWorkflowOptions, result any) error {
	began := time.Now()
	base := opts.UpdateID
	var err error
	for n := 1; n <= MaxSends; n++ {
		opts.UpdateID = ID(base, n)
		var handle client.WorkflowUpdateHandle
		if handle, err = tc.UpdateWorkflow(ctx, opts); err == nil {
			err = handle.Get(ctx, result)
		}
		if err == nil || !changedNothing(err) {
			return err
		}
		stale, serr := completedBefore(ctx, tc, opts.WorkflowID, opts.UpdateID, began)
		if serr != nil || !stale {
			return err
		}
	}
	return err
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

// changedNothing reports whether err is an Update's failure that left
// nothing behind: a domain refusal, or the ledger unavailable.
func changedNothing(err error) bool {
	err = derrors.FromTemporal(err)
	return derrors.IsRefusal(err) || errors.Is(err, derrors.ErrUnavailable)
}

// completedBefore reports whether the run of workflowID completed Update
// updateID before t: the outcome is an earlier request's. An Update the
// validator rejected is not in the history (it is decided anew each time),
// nor one still running.
func completedBefore(ctx context.Context, tc client.Client, workflowID, updateID string, t time.Time) (bool, error) {
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("reading the history of %s: %w", workflowID, err)
		}
		if done := e.GetWorkflowExecutionUpdateCompletedEventAttributes(); done != nil && done.GetMeta().GetUpdateId() == updateID {
			return e.GetEventTime().AsTime().Before(t), nil
		}
	}
	return false, nil
}
