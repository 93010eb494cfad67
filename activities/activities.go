// Package activities holds xuncha's side effects, run by Temporal on behalf of
// the workflows: ledger writes (idempotent, keyed by business IDs),
// notifications, webhooks and deadline computation.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/internal/updatechain"
	"github.com/xuncha/xuncha/ledger"
)

// Activities is the receiver of every activity; its fields are built once in
// cmd and shared by all activity executions.
type Activities struct {
	// Ledger is the PostgreSQL ledger.
	Ledger *ledger.Store
	// Log is the structured logger.
	Log *zap.Logger
	// Temporal lets an activity update another workflow (SendUpdate).
	Temporal client.Client
	// Queued, when set, is called after QueueWebhook wrote deliveries: the
	// worker's Dispatcher.Wake, so that they leave at once.
	Queued func()
	// Egress is the webhook address policy deliveries connect through
	// (XUNCHA_WEBHOOK_ALLOW); nil allows public addresses only.
	Egress *egress.Policy
	// AccessLogRetentionDays is how long the daily audit anchor keeps
	// access records (XUNCHA_ACCESS_LOG_RETENTION, default 180, never
	// less); zero prunes nothing.
	AccessLogRetentionDays int
	// Metrics counts lifecycle transitions and finished webhook deliveries
	// as their ledger writes succeed; nil counts nothing.
	Metrics *telemetry.Metrics
	// AdoptFinding starts the workflow of a finding the ledger holds and no
	// workflow drives yet (an imported one), idempotently: an existing run
	// of the same ID is kept and is no error. workflows.Worker sets it
	// (workflows.StartAdopting) when it is nil: the workflow's input and
	// search attributes are the workflows package's.
	AdoptFinding func(ctx context.Context, f casework.Finding) error
}

// log is Log with the trace of ctx (the activity's span): one search by
// trace_id finds an activity's lines with the request's that started it.
func (a *Activities) log(ctx context.Context) *zap.Logger { return logging.Ctx(ctx, a.Log) }

// transition counts a lifecycle change whose ledger write succeeded. A write
// retried after its commit went unacknowledged counts twice: rare, and the
// ledger's event log stays the exact record.
func (a *Activities) transition(lifecycle string, e casework.Event, stage string) {
	if e.StageAfter != "" {
		stage = e.StageAfter
	}
	a.Metrics.Transition(lifecycle, e.Action, stage)
}

// CreateInspectionInput writes a new inspection's ledger row.
type CreateInspectionInput struct {
	Inspection casework.Inspection `json:"inspection"`
	EventKey   string              `json:"event_key"`
	// NotRepeating applies charter 四(二)1 as the row is written: a
	// COMPREHENSIVE inspection of a local government the State Council
	// inspected that year is refused (ledger.Store.CreateInspection).
	NotRepeating bool `json:"not_repeating,omitempty"`
}

// CreateInspection writes the inspection's ledger row and its "create" event;
// a retry changes nothing.
func (a *Activities) CreateInspection(ctx context.Context, in CreateInspectionInput) error {
	if err := a.Ledger.CreateInspection(ctx, in.Inspection, in.EventKey, in.NotRepeating); err != nil {
		return a.ledgerError(ctx, fmt.Sprintf("creating inspection %q", in.Inspection.ID), err)
	}
	a.Metrics.Transition(casework.SubjectInspection, "create", in.Inspection.Stage)
	a.log(ctx).Info("ledger: inspection created", zap.String("inspection", in.Inspection.ID), zap.String("unit", in.Inspection.UnitCode))
	return nil
}

// InspectionChangeInput applies one change of an inspection.
type InspectionChangeInput struct {
	Inspection casework.Inspection `json:"inspection"`
	Event      casework.Event      `json:"event"`
	// TipsTriaged: the change needs every tip of the inspection triaged
	// (the team's report); the ledger refuses it while one is RECEIVED.
	TipsTriaged bool `json:"tips_triaged,omitempty"`
}

// ApplyInspectionChange writes the row (if its version is newer) and the
// event (if its key is new) in one transaction.
func (a *Activities) ApplyInspectionChange(ctx context.Context, in InspectionChangeInput) error {
	if err := a.Ledger.ApplyInspectionChange(ctx, in.Inspection, in.Event, ledger.InspectionChangeOptions{TipsTriaged: in.TipsTriaged}); err != nil {
		return a.ledgerError(ctx, fmt.Sprintf("applying %s to inspection %q", in.Event.Action, in.Inspection.ID), err)
	}
	a.transition(casework.SubjectInspection, in.Event, in.Inspection.Stage)
	return nil
}

// EscalateInspectionInput records an escalation step of an inspection.
type EscalateInspectionInput struct {
	Escalation casework.Escalation `json:"escalation"`
	Inspection casework.Inspection `json:"inspection"`
	Event      casework.Event      `json:"event"`
}

// EscalateInspection records the escalation, the row and the event.
func (a *Activities) EscalateInspection(ctx context.Context, in EscalateInspectionInput) (EscalateResult, error) {
	esc, err := a.Ledger.RecordInspectionEscalation(ctx, in.Escalation, in.Inspection, in.Event)
	return a.escalated(ctx, in.Escalation, esc, err)
}

// InspectionFindingsInput names an inspection and, optionally, a stage.
type InspectionFindingsInput struct {
	InspectionID string `json:"inspection_id"`
	Stage        string `json:"stage,omitempty"`
}

// FindingCounts tallies an inspection's findings (for closure and summary).
func (a *Activities) FindingCounts(ctx context.Context, in InspectionFindingsInput) (casework.InspectionSummary, error) {
	sum, err := a.Ledger.FindingCounts(ctx, in.InspectionID)
	return sum, a.ledgerError(ctx, fmt.Sprintf("counting the findings of inspection %q", in.InspectionID), err)
}

// FindingsAmongInput asks for an inspection's findings in any of Stages.
type FindingsAmongInput struct {
	InspectionID string   `json:"inspection_id"`
	Stages       []string `json:"stages"`
}

// FindingsAmongResult counts findings and names the first of them by
// ledger number (those numbered).
type FindingsAmongResult struct {
	Count   int      `json:"count"`
	Numbers []string `json:"numbers,omitempty"`
}

// FindingsAmong counts an inspection's findings in any of the stages, for
// a rule that waits for them (feedback waits for classification).
func (a *Activities) FindingsAmong(ctx context.Context, in FindingsAmongInput) (FindingsAmongResult, error) {
	n, numbers, err := a.Ledger.FindingsAmong(ctx, in.InspectionID, in.Stages...)
	return FindingsAmongResult{Count: n, Numbers: numbers},
		a.ledgerError(ctx, fmt.Sprintf("counting the findings of inspection %q", in.InspectionID), err)
}

// FindingIDsResult lists finding IDs.
type FindingIDsResult struct {
	IDs []string `json:"ids"`
}

// FindingsInStage lists an inspection's findings in a stage.
func (a *Activities) FindingsInStage(ctx context.Context, in InspectionFindingsInput) (FindingIDsResult, error) {
	ids, err := a.Ledger.FindingsInStage(ctx, in.InspectionID, in.Stage)
	return FindingIDsResult{IDs: ids}, a.ledgerError(ctx, fmt.Sprintf("listing the findings of inspection %q", in.InspectionID), err)
}

// SendUpdateInput is an update for another workflow (an inspection refers
// its findings at feedback).
type SendUpdateInput struct {
	WorkflowID string          `json:"workflow_id"`
	UpdateName string          `json:"update_name"`
	UpdateID   string          `json:"update_id"`
	Args       json.RawMessage `json:"args"`
}

// SendUpdateResult says whether the other workflow accepted; a refusal is
// an answer, not a failure of the activity.
type SendUpdateResult struct {
	Refused string `json:"refused,omitempty"`
}

// SendUpdate sends the update and waits for its result. The update ID makes
// a retry harmless; a failure that changed nothing, left by an earlier
// attempt, does not answer a retry (updatechain). A refusal (or a workflow
// that is gone) is the answer; the ledger unavailable past its retries, or
// any other failure, fails the activity, to be retried.
func (a *Activities) SendUpdate(ctx context.Context, in SendUpdateInput) (SendUpdateResult, error) {
	err := updatechain.Send(ctx, a.Temporal, client.UpdateWorkflowOptions{
		WorkflowID:   in.WorkflowID,
		UpdateID:     in.UpdateID,
		UpdateName:   in.UpdateName,
		Args:         []any{in.Args},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}, nil)
	if err == nil {
		return SendUpdateResult{}, nil
	}
	derr := derrors.FromTemporal(err)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) || derrors.IsRefusal(derr) {
		return SendUpdateResult{Refused: derr.Error()}, nil
	}
	return SendUpdateResult{}, fmt.Errorf("sending %s to %s: %w", in.UpdateName, in.WorkflowID, err)
}

// FindingIDInput names a finding.
type FindingIDInput struct {
	ID string `json:"id"`
}

// GetFinding reads a finding's ledger row (a FOLLOW_UP re-check reads the
// finding it looks back at).
func (a *Activities) GetFinding(ctx context.Context, in FindingIDInput) (casework.Finding, error) {
	f, err := a.Ledger.GetFinding(ctx, in.ID)
	return f, a.ledgerError(ctx, fmt.Sprintf("reading finding %q", in.ID), err)
}

// AppendEvent writes one event; a retry with the same key is a no-op.
func (a *Activities) AppendEvent(ctx context.Context, e casework.Event) error {
	return a.ledgerError(ctx, fmt.Sprintf("recording %s of %s %q", e.Action, e.SubjectType, e.SubjectID), a.Ledger.AppendEvent(ctx, e))
}

// StartWorkflowInput starts another workflow run (a reopened finding).
type StartWorkflowInput struct {
	WorkflowID   string          `json:"workflow_id"`
	WorkflowType string          `json:"workflow_type"`
	Input        json.RawMessage `json:"input"`
}

// StartWorkflow starts a new run under a workflow ID whose earlier run has
// closed, on this worker's task queue. A run already started by an earlier
// attempt counts as done.
func (a *Activities) StartWorkflow(ctx context.Context, in StartWorkflowInput) error {
	_, err := a.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       in.WorkflowID,
		TaskQueue:                activity.GetInfo(ctx).TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, in.WorkflowType, in.Input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("starting %s: %w", in.WorkflowID, err)
	}
	return nil
}

// RecordExposure records a publication (an inspection's entry announcement
// with its published contact channels); a retry with the same request ID is a
// no-op.
func (a *Activities) RecordExposure(ctx context.Context, e casework.Exposure) (casework.Exposure, error) {
	stored, _, err := a.Ledger.RecordExposure(ctx, e)
	return stored, a.ledgerError(ctx, fmt.Sprintf("recording exposure %q", e.RequestID), err)
}
