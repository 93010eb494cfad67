// Package workflows holds xuncha's lifecycles as Temporal workflows: the
// inspection procedure and the finding closed loop, their timers and their
// escalation. Workflow code is deterministic; anything that reads data runs in
// an activity (package activities).
package workflows

// DefaultTaskQueue is the task queue workers poll unless configured otherwise
// (XUNCHA_TASK_QUEUE).
const DefaultTaskQueue = "xuncha"

// Workflow type names as registered with the worker and seen in the Web UI.
const (
	// InspectionWorkflowName is the type of inspection workflows.
	InspectionWorkflowName = "InspectionWorkflow"
)

// Query and update names.
const (
	// QueryState returns a lifecycle's current state (InspectionState, ...).
	QueryState = "state"
	// UpdateAwaitCreated waits until the ledger row of a just-started workflow
	// is written and returns the state; the API sends it with the start
	// (update-with-start) so that a create returns only once a read sees it.
	UpdateAwaitCreated = "await-created"
)

// InspectionWorkflowID is the workflow ID of inspection id.
func InspectionWorkflowID(id string) string { return "inspection/" + id }

// AwaitCreatedUpdateID is the update ID of the creating request, so that a
// retried create is deduplicated by Temporal.
func AwaitCreatedUpdateID(requestID string) string { return "create/" + requestID }
