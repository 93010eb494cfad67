//go:build lifecyclebench

package lifecyclebench

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/internal/searchattr"
)

// BareWorkflowName is the type of the bare workflow on the benchmark's
// worker.
const BareWorkflowName = "LifecycleBenchBareWorkflow"

// BareUpdates are the bare workflow's Updates, one per change of the finding
// lifecycle the benchmark drives, in the same order. The first is sent with
// the start (update-with-start), as RecordFinding sends await-created; the
// last closes the workflow, as verify(accept) closes a finding.
var BareUpdates = []string{"record", "diagnose", "classify", "refer", "reportRectification", "verify"}

// BareInput starts a bare workflow.
type BareInput struct {
	ID string `json:"id"`
}

// BareChangeInput is the argument of every bare Update.
type BareChangeInput struct {
	RequestID string `json:"request_id"`
}

// BareState is what every bare Update returns.
type BareState struct {
	ID      string `json:"id"`
	Changes int    `json:"changes"`
	Last    string `json:"last"`
	Closed  bool   `json:"closed"`
}

// BareWorkflow is the floor the finding lifecycle is measured against: it
// takes the six BareUpdates with trivial handlers (a validator that accepts
// any change with a request ID, a handler that sets a field and returns) and
// ends once the last one is handled. No activities, no timers, no search
// attributes: whatever the finding workflow does beyond this is its cost.
func BareWorkflow(ctx workflow.Context, in BareInput) (BareState, error) {
	return takeUpdates(ctx, in, nil)
}

// MachineryWorkflowName is the type of the machinery workflow on the
// benchmark's worker.
const MachineryWorkflowName = "LifecycleBenchMachineryWorkflow"

// NoLedgerName is the name of the machinery workflow's local activity.
const NoLedgerName = "LifecycleBenchNoLedger"

// NoLedger is the machinery workflow's local activity: it takes the change
// and writes nothing.
func NoLedger(context.Context, BareChangeInput) error { return nil }

// machineryLocalOptions are the finding's ledger options (a short bound, no
// retry of the local attempt's own).
var machineryLocalOptions = workflow.LocalActivityOptions{
	ScheduleToCloseTimeout: 10 * time.Second,
	StartToCloseTimeout:    10 * time.Second,
	RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
}

// MachineryWorkflow is the bare workflow plus what issue 9 item 5 asks of
// every change's workflow task besides the ledger's work: a local activity
// (NoLedger, which does nothing, so its marker is recorded) and, from the
// second change on, an upsert of the four search attributes the finding
// upserts and its Web UI details, as the finding publishes them. Against
// it (-machinery), the finding's remaining cost is what xuncha's own work
// adds: the ledger's writes, the rules, the payloads' size.
func MachineryWorkflow(ctx workflow.Context, in BareInput) (BareState, error) {
	return takeUpdates(ctx, in, func(ctx workflow.Context, st BareState, c BareChangeInput) error {
		if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, machineryLocalOptions), NoLedgerName, c).Get(ctx, nil); err != nil {
			return err
		}
		if st.Changes == 1 {
			return nil // the finding's first change publishes nothing either: it starts with its attributes
		}
		if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.Stage.ValueSet(st.Last), searchattr.Overdue.ValueSet(false),
			searchattr.DueAt.ValueUnset(), searchattr.Awaiting.ValueSet([]string{"office"})); err != nil {
			return err
		}
		workflow.SetCurrentDetails(ctx, "**machinery "+st.ID+"** — stage "+st.Last)
		return nil
	})
}

// takeUpdates registers the six BareUpdates, each running work (when not
// nil) with the state it returns, and waits until the last one is handled.
func takeUpdates(ctx workflow.Context, in BareInput, work func(workflow.Context, BareState, BareChangeInput) error) (BareState, error) {
	st := BareState{ID: in.ID}
	for _, name := range BareUpdates {
		last := name == BareUpdates[len(BareUpdates)-1]
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, c BareChangeInput) (BareState, error) {
				st.Changes++
				st.Last = name
				st.Closed = last
				if work != nil {
					if err := work(ctx, st, c); err != nil {
						return st, err
					}
				}
				return st, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, c BareChangeInput) error {
				if c.RequestID == "" {
					return errors.New("request_id: must not be empty")
				}
				return nil
			}})
		if err != nil {
			return st, err
		}
	}
	if err := workflow.Await(ctx, func() bool { return st.Closed && workflow.AllHandlersFinished(ctx) }); err != nil {
		return st, err
	}
	return st, nil
}
