package workflows

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// The problem list's import (issue 13 item 3) writes every row to the
// ledger in one transaction, numbered and LISTED, and only then has each
// finding's workflow started, by a FindingImportWorkflow: the API starts it
// before the transaction and signals it once the transaction has ended;
// its activity starts the findings' workflows, which adopt their ledger
// rows (FindingInput.Adopt), a bounded number at a time, heartbeating how
// far it got, so that a worker's crash loses nothing and starts nothing
// twice.

// FindingImportWorkflowName is the type of the workflow that starts the
// workflows of an import's findings.
const FindingImportWorkflowName = "FindingImportWorkflow"

// FindingImportWorkflowID is the ID of the import of a list into an
// inspection: digest identifies the list's findings, so that the same file
// uploaded again finds the same workflow.
func FindingImportWorkflowID(inspectionID, digest string) string {
	return "finding-import/" + inspectionID + "/" + digest
}

// SignalImportCommitted tells a FindingImportWorkflow that the import's
// ledger transaction has ended, committed or not: the ledger now holds
// whatever it will hold of the import.
const SignalImportCommitted = "import-committed"

// DefaultImportCommitWait is how long a FindingImportWorkflow waits for
// SignalImportCommitted before it reads the ledger anyway: an API that
// stopped between its transaction and the signal leaves nothing behind. A
// transaction still open by then would be rolled back or its rows started by
// the next upload of the same file.
const DefaultImportCommitWait = 10 * time.Minute

// FindingImportInput starts a FindingImportWorkflow.
type FindingImportInput struct {
	InspectionID string `json:"inspection_id"`
	// FindingIDs are the findings of the import, in the file's order.
	FindingIDs []string `json:"finding_ids"`
	// CommitWait bounds the wait for SignalImportCommitted (default
	// DefaultImportCommitWait).
	CommitWait time.Duration `json:"commit_wait,omitempty"`
	// Concurrency is how many workflows are started at a time (default
	// activities.DefaultImportStartConcurrency).
	Concurrency int `json:"concurrency,omitempty"`
}

// FindingImportResult counts the findings whose workflow exists after the
// import, and the IDs the ledger did not hold.
type FindingImportResult struct {
	Started int `json:"started"`
	Missing int `json:"missing"`
}

// importStartOptions run StartImportedFindings: a heartbeat after each
// chunk, so that a stopped worker's attempt is retried within a minute and
// goes on from its last chunk; retried until it succeeds, as findings
// without their workflow are what the import must never leave.
var importStartOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Hour,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// FindingImportWorkflow waits until the import's ledger transaction has
// ended (SignalImportCommitted, or CommitWait) and starts the workflow of
// each of its findings the ledger holds.
func FindingImportWorkflow(ctx workflow.Context, in FindingImportInput) (FindingImportResult, error) {
	wait := in.CommitWait
	if wait <= 0 {
		wait = DefaultImportCommitWait
	}
	tctx, cancel := workflow.WithCancel(ctx)
	committed := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalImportCommitted), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		committed = true
	})
	sel.AddFuture(workflow.NewTimer(tctx, wait), func(workflow.Future) {})
	sel.Select(ctx)
	cancel()
	if !committed {
		workflow.GetLogger(ctx).Warn("no word that the import's transaction ended; reading the ledger as it is",
			"inspection", in.InspectionID, "waited", wait)
	}
	var res activities.StartImportedFindingsResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, importStartOptions), acts.StartImportedFindings,
		activities.StartImportedFindingsInput{InspectionID: in.InspectionID, FindingIDs: in.FindingIDs, Concurrency: in.Concurrency},
	).Get(ctx, &res); err != nil {
		return FindingImportResult{}, err
	}
	return FindingImportResult{Started: res.Started, Missing: res.Missing}, nil
}

// AdoptingStart is how the workflow of finding f, which the ledger holds
// and no workflow drives yet, is started on taskQueue: its ID, adopting
// the row (FindingInput.Adopt) with its stage and number as search
// attributes and summary. An existing run is kept (USE_EXISTING); an ID
// that ever ran is not started again (REJECT_DUPLICATE), so a finding that
// had its workflow never gets a second.
func AdoptingStart(f casework.Finding, taskQueue string) (client.StartWorkflowOptions, FindingInput) {
	attrs := findingAttributes(f)
	attrs[0] = searchattr.Stage.ValueSet(f.Stage)
	return client.StartWorkflowOptions{
		ID:                       FindingWorkflowID(f.ID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
		StaticSummary:            FindingSummary(f),
	}, FindingInput{Finding: f, Adopt: true}
}

// StartAdopting is activities.Activities.AdoptFinding for a worker on
// taskQueue: it starts the adopting workflow of f (AdoptingStart); a
// workflow of f that exists or existed is no error.
func StartAdopting(tc client.Client, taskQueue string) func(ctx context.Context, f casework.Finding) error {
	return func(ctx context.Context, f casework.Finding) error {
		opts, in := AdoptingStart(f, taskQueue)
		_, err := tc.ExecuteWorkflow(ctx, opts, FindingWorkflowName, in)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil
		}
		return err
	}
}
