package workflows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// Inspection kinds (charter 一).
const (
	KindComprehensive = "COMPREHENSIVE"
	KindSpecial       = "SPECIAL"
	KindFollowUp      = "FOLLOW_UP"
)

// InspectionKinds lists the valid kinds.
var InspectionKinds = []string{KindComprehensive, KindSpecial, KindFollowUp}

// Inspection stages (DESIGN §2).
const (
	StagePlanned               = "PLANNED"
	StageNotified              = "NOTIFIED"
	StageStationed             = "STATIONED"
	StageOnsiteEnded           = "ONSITE_ENDED"
	StageReported              = "REPORTED"
	StageReviewed              = "REVIEWED"
	StageApproved              = "APPROVED"
	StageFeedbackGiven         = "FEEDBACK_GIVEN"
	StageRectificationReported = "RECTIFICATION_REPORTED"
	StageClosed                = "CLOSED"
	StageCancelled             = "CANCELLED"
)

// Unit is the inspected body.
type Unit struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// InspectionInput starts an InspectionWorkflow.
type InspectionInput struct {
	ID           string      `json:"id"`
	RequestID    string      `json:"request_id"`
	Unit         Unit        `json:"unit"`
	Kind         string      `json:"kind"`
	Round        string      `json:"round"`
	PlannedStart string      `json:"planned_start"`
	PlannedEnd   string      `json:"planned_end"`
	Actor        actor.Actor `json:"actor"`
}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)
	unitCodePattern = regexp.MustCompile(`^[A-Za-z0-9-]{2,32}$`)
)

// ValidateRequestID checks a client-chosen idempotency key.
func ValidateRequestID(v *derrors.Violations, field, id string) {
	switch {
	case strings.TrimSpace(id) == "":
		v.Add(field, "must not be empty: every change carries a client-chosen request_id")
	case len(id) > 128:
		v.Add(field, "must be at most 128 characters")
	}
}

// ValidateID checks a client-chosen ID.
func ValidateID(v *derrors.Violations, field, id string) {
	if id != "" && !idPattern.MatchString(id) {
		v.Add(field, "must be 3–64 characters of lower-case letters, digits and \"-\", starting and ending with a letter or digit")
	}
}

// Validate checks the input; field names are those of the API request
// (CreateInspectionRequest).
func (in InspectionInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	ValidateID(&v, "inspection_id", in.ID)
	switch {
	case strings.TrimSpace(in.Unit.Code) == "":
		v.Add("inspection.unit.code", "must not be empty")
	case !unitCodePattern.MatchString(in.Unit.Code):
		v.Add("inspection.unit.code", "must be 2–32 letters, digits or \"-\" (an administrative division or organisation code)")
	}
	switch {
	case strings.TrimSpace(in.Unit.Name) == "":
		v.Add("inspection.unit.name", "must not be empty")
	case utf8.RuneCountInString(in.Unit.Name) > 200:
		v.Add("inspection.unit.name", "must be at most 200 characters")
	}
	if !slices.Contains(InspectionKinds, in.Kind) {
		v.Add("inspection.kind", "must be one of %s", strings.Join(InspectionKinds, ", "))
	}
	if utf8.RuneCountInString(in.Round) > 100 {
		v.Add("inspection.round", "must be at most 100 characters")
	}
	start, errStart := calendar.ParseDate(in.PlannedStart)
	if errStart != nil {
		v.Add("inspection.planned_start", "must be a date YYYY-MM-DD")
	}
	end, errEnd := calendar.ParseDate(in.PlannedEnd)
	if errEnd != nil {
		v.Add("inspection.planned_end", "must be a date YYYY-MM-DD")
	}
	if errStart == nil && errEnd == nil && end.Before(start) {
		v.Add("inspection.planned_end", "must not be before planned_start (%s)", start)
	}
	return v.Err()
}

// InspectionState is what the state query returns and what the API shows.
type InspectionState struct {
	ID           string      `json:"id"`
	RequestID    string      `json:"request_id"`
	Unit         Unit        `json:"unit"`
	Kind         string      `json:"kind"`
	Round        string      `json:"round"`
	PlannedStart string      `json:"planned_start"`
	PlannedEnd   string      `json:"planned_end"`
	Stage        string      `json:"stage"`
	CreatedBy    actor.Actor `json:"created_by"`
	CreatedAt    time.Time   `json:"created_at"`
	// Recorded is true once the ledger row is written.
	Recorded bool `json:"recorded"`
}

// AwaitCreatedInput is the argument of the await-created update.
type AwaitCreatedInput struct {
	RequestID string `json:"request_id"`
}

// InspectionResult is what a finished InspectionWorkflow returns.
type InspectionResult struct {
	Stage string `json:"stage"`
}

// InspectionSummary is the one-line summary the Web UI shows for an
// inspection workflow.
func InspectionSummary(in InspectionInput) string {
	s := fmt.Sprintf("%s %s · %s", in.Unit.Name, in.Unit.Code, in.Kind)
	if in.Round != "" {
		s += " · " + in.Round
	}
	return s
}

// InspectionSearchAttributes are set when the workflow starts.
func InspectionSearchAttributes(in InspectionInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		searchattr.Stage.ValueSet(StagePlanned),
		searchattr.Unit.ValueSet(in.Unit.Code),
		searchattr.Inspection.ValueSet(in.ID),
		searchattr.Kind.ValueSet(in.Kind),
	)
}

// InspectionWorkflow drives one inspection through the charter's procedure.
func InspectionWorkflow(ctx workflow.Context, in InspectionInput) (InspectionResult, error) {
	w := &inspection{state: InspectionState{
		ID:           in.ID,
		RequestID:    in.RequestID,
		Unit:         in.Unit,
		Kind:         in.Kind,
		Round:        in.Round,
		PlannedStart: in.PlannedStart,
		PlannedEnd:   in.PlannedEnd,
		Stage:        StagePlanned,
		CreatedBy:    in.Actor,
		CreatedAt:    workflow.Now(ctx).UTC(),
	}}
	return w.run(ctx)
}

// inspection is the state behind InspectionWorkflow.
type inspection struct {
	state InspectionState
}

var acts *activities.Activities

func (w *inspection) run(ctx workflow.Context) (InspectionResult, error) {
	log := workflow.GetLogger(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (InspectionState, error) { return w.state, nil }); err != nil {
		return InspectionResult{}, fmt.Errorf("registering query: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAwaitCreated,
		func(ctx workflow.Context, in AwaitCreatedInput) (InspectionState, error) {
			if err := workflow.Await(ctx, func() bool { return w.state.Recorded }); err != nil {
				return InspectionState{}, err
			}
			return w.state, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, in AwaitCreatedInput) error {
			if in.RequestID != w.state.RequestID {
				return derrors.ToTemporal(derrors.New(derrors.ErrAlreadyExists,
					"inspection %q already exists, created by another request", w.state.ID))
			}
			return nil
		}},
	); err != nil {
		return InspectionResult{}, fmt.Errorf("registering update: %w", err)
	}

	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	err := workflow.ExecuteActivity(actx, acts.CreateInspection, activities.CreateInspectionInput{
		ID:           w.state.ID,
		WorkflowID:   workflow.GetInfo(ctx).WorkflowExecution.ID,
		RequestID:    w.state.RequestID,
		UnitCode:     w.state.Unit.Code,
		UnitName:     w.state.Unit.Name,
		Kind:         w.state.Kind,
		Round:        w.state.Round,
		PlannedStart: w.state.PlannedStart,
		PlannedEnd:   w.state.PlannedEnd,
		Stage:        w.state.Stage,
		Actor:        w.state.CreatedBy,
		CreatedAt:    w.state.CreatedAt,
	}).Get(ctx, nil)
	if err != nil {
		return InspectionResult{}, fmt.Errorf("recording inspection %q in the ledger: %w", w.state.ID, err)
	}
	w.state.Recorded = true
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("**%s** — stage %s", InspectionSummary(InspectionInput{Unit: w.state.Unit, Kind: w.state.Kind, Round: w.state.Round}), w.state.Stage))
	log.Info("inspection recorded", "inspection", w.state.ID, "stage", w.state.Stage)

	// The later stages of the procedure arrive as updates; until then the
	// workflow waits, holding the live stage for queries.
	if err := workflow.Await(ctx, func() bool {
		return w.state.Stage == StageClosed || w.state.Stage == StageCancelled
	}); err != nil {
		return InspectionResult{}, err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return InspectionResult{}, err
	}
	return InspectionResult{Stage: w.state.Stage}, nil
}

// ledgerActivityOptions retry ledger writes until the database is back; the
// writes are idempotent.
var ledgerActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: derrors.NonRetryableTypes,
	},
}
