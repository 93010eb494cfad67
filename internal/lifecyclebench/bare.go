//go:build lifecyclebench

package lifecyclebench

import (
	"errors"

	"go.temporal.io/sdk/workflow"
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
	st := BareState{ID: in.ID}
	for _, name := range BareUpdates {
		last := name == BareUpdates[len(BareUpdates)-1]
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, c BareChangeInput) (BareState, error) {
				st.Changes++
				st.Last = name
				st.Closed = last
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
