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
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
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
	ID                  string                `json:"id"`
	RequestID           string                `json:"request_id"`
	Unit                Unit                  `json:"unit"`
	Kind                string                `json:"kind"`
	Round               string                `json:"round"`
	PlannedStart        string                `json:"planned_start"`
	PlannedEnd          string                `json:"planned_end"`
	ContentAreas        []int                 `json:"content_areas"`
	Team                []casework.TeamMember `json:"team"`
	FollowsInspectionID string                `json:"follows_inspection_id"`
	Actor               actor.Actor           `json:"actor"`
}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)
	unitCodePattern = regexp.MustCompile(`^[A-Za-z0-9-]{2,32}$`)
)

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
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
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
	if len(in.ContentAreas) == 0 {
		v.Add("inspection.content_areas", "must list at least one of the charter's content items 1 to %d", ContentAreas)
	}
	seen := map[int]bool{}
	for i, a := range in.ContentAreas {
		switch {
		case a < 1 || a > ContentAreas:
			v.Add(fmt.Sprintf("inspection.content_areas[%d]", i), "must be the charter's content item 1 to %d", ContentAreas)
		case seen[a]:
			v.Add(fmt.Sprintf("inspection.content_areas[%d]", i), "item %d is listed twice", a)
		}
		seen[a] = true
	}
	ValidateTeam(&v, in.Team)
	switch {
	case in.Kind == KindFollowUp && in.FollowsInspectionID == "":
		v.Add("inspection.follows_inspection_id", "a FOLLOW_UP (回头看) inspection names the earlier inspection it looks back at")
	case in.Kind != KindFollowUp && in.FollowsInspectionID != "":
		v.Add("inspection.follows_inspection_id", "only a FOLLOW_UP inspection follows an earlier one")
	}
	return v.Err()
}

// InspectionState is what the state query and every update return.
type InspectionState struct {
	Inspection casework.Inspection `json:"inspection"`
	Progress
}

// AwaitCreatedInput is the argument of the await-created update.
type AwaitCreatedInput struct {
	RequestID string `json:"request_id"`
}

// InspectionSummary is the one-line summary the Web UI shows for an
// inspection workflow: unit, kind and round.
func InspectionSummary(in InspectionInput) string {
	s := fmt.Sprintf("%s %s · %s", in.Unit.Name, in.Unit.Code, i18n.InspectionKind(in.Kind))
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
		searchattr.Overdue.ValueSet(false),
	)
}

// dateTime is a civil date as the midnight-UTC time the ledger stores.
func dateTime(d calendar.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// inspectionSpec plugs the inspection procedure into the lifecycle core.
var inspectionSpec = &spec[casework.Inspection]{
	machine:   inspectionMachine,
	lifecycle: func(in *casework.Inspection) *casework.Lifecycle { return &in.Lifecycle },
	deadline:  (*casework.Inspection).RunningDeadlineField,
	write: func(next casework.Inspection, e casework.Event) (any, any) {
		// The team reports once every tip of the inspection is triaged,
		// checked in the write that makes it REPORTED (TipReceivingStages).
		return acts.ApplyInspectionChange, activities.InspectionChangeInput{Inspection: next, Event: e,
			TipsTriaged: e.Action == ActionSubmitReport}
	},
	writeEscalation: func(esc casework.Escalation, next casework.Inspection, e casework.Event) (any, any) {
		return acts.EscalateInspection, activities.EscalateInspectionInput{Escalation: esc, Inspection: next, Event: e}
	},
	escalation: inspectionEscalation,
	announcement: func(in casework.Inspection) (string, map[string]any) {
		return EventInspectionEscalated, map[string]any{"inspection_id": in.ID, "unit_code": in.UnitCode, "stage": in.Stage}
	},
	// The running deadline is the team's report's, or after the feedback
	// the unit's rectification report's: the details said only "due".
	dueWhatOf: func(in casework.Inspection) string {
		if in.Stage == StageFeedbackGiven {
			return "rectification report"
		}
		return "team report"
	},
	title: func(in casework.Inspection) string {
		t := fmt.Sprintf("**%s %s · %s", in.UnitName, in.UnitCode, i18n.InspectionKind(in.Kind))
		if in.Round != "" {
			t += " · " + in.Round
		}
		return t + "**"
	},
	stageName: i18n.InspectionStage,
	footer: func(in casework.Inspection) string {
		return i18n.Zh("\n\nFindings: search `XunchaInspection = '%s'`", in.ID)
	},
	guard:          inspectionGuard,
	keepSteps:      teamReportNoInterview,
	keepStepsSince: versionTeamReportNoInterview,
}

// versionTeamReportNoInterview: a missed team report (三(三)2, the team's
// own deadline) escalates to the office, and its ladder proposes no
// interview (约谈): an interview summons the inspected unit's leaders, who
// owe the team nothing. Before it, a late team report proposed one under
// the unit's code, for the unit to read. Asked only when an inspection's
// ladder has such a step to leave out; the runs before it keep it.
const versionTeamReportNoInterview = "team-report-no-interview"

// versionFeedbackWaitsForClassification: the feedback is refused while a
// finding of the inspection is FOUND, LISTED or DIAGNOSED (FINDINGS_NOT_CLASSIFIED);
// before it, those were passed over, left without a rectification
// deadline. Asked by every feedback that arrives; the feedbacks recorded
// before it replay as they ran.
const versionFeedbackWaitsForClassification = "feedback-waits-for-classification"

// versionCancelWaitsForFindings: a cancellation is refused while a finding
// of the inspection is open (FINDINGS_OPEN, as for closing); before it,
// they went on and escalated against the unit of an inspection called
// off. Asked by every cancellation; those recorded before it replay as
// they ran.
const versionCancelWaitsForFindings = "cancel-waits-for-findings"

// teamReportNoInterview keeps every step of the rectification deadline's
// ladder (the unit's) and all but the interview of the team report's.
func teamReportNoInterview(in casework.Inspection, s deadline.ScheduledStep) bool {
	return in.Stage == StageFeedbackGiven || s.Step != casework.StepInterviewProposed
}

// inspectionEscalation says what a step of the running deadline's ladder
// means. The team leader answers for the report deadline, the unit for the
// rectification deadline.
func inspectionEscalation(in casework.Inspection, step deadline.ScheduledStep, due calendar.Deadline) i18n.Text {
	what, who := i18n.T("the team report"), i18n.T("team leader %s", teamLeader(in))
	if in.Stage == StageFeedbackGiven {
		what, who = i18n.T("the rectification report"), i18n.T("unit %s", unitLabel(in.UnitName, in.UnitCode))
	}
	// Named as the office names it; it was its workflow ID
	// (inspection/ins-7b01f4901ecc0665).
	subject := inspectionLabel(in)
	switch step.Step {
	case casework.StepReminder:
		return i18n.T("reminder: %s of %s is due %s (%s)", what, subject, due.Due, who)
	case casework.StepOverdue:
		return i18n.T("overdue: %s of %s was due %s; escalated to the office (%s answers for it)", what, subject, due.Due, who)
	case casework.StepInterviewProposed:
		return i18n.T("still overdue %d working days after %s: an interview (约谈) is proposed (%s)", step.WorkingDays, due.Due, who)
	}
	return i18n.T("%s: %s of %s is due %s", step.Step, what, subject, due.Due)
}

func teamLeader(in casework.Inspection) string {
	for _, m := range in.Team {
		if m.Role == TeamLeader {
			return m.Name
		}
	}
	return "(none named)"
}

// InspectionWorkflow drives one inspection through the charter's procedure
// (三(三)1–6), with the report and rectification deadlines on durable timers.
func InspectionWorkflow(ctx workflow.Context, in InspectionInput) (LifecycleResult, error) {
	start, _ := calendar.ParseDate(in.PlannedStart) // validated below
	end, _ := calendar.ParseDate(in.PlannedEnd)
	now := workflow.Now(ctx).UTC()
	w := &inspection{core: newCore(ctx, inspectionSpec, casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: in.ID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, RequestID: in.RequestID,
			UnitCode: in.Unit.Code, Stage: StagePlanned, CreatedAt: now, UpdatedAt: now, Version: 1},

		UnitName:            in.Unit.Name,
		Kind:                in.Kind,
		Round:               in.Round,
		PlannedStart:        dateTime(start),
		PlannedEnd:          dateTime(end),
		ContentAreas:        slices.Clone(in.ContentAreas),
		Team:                slices.Clone(in.Team),
		FollowsInspectionID: in.FollowsInspectionID,

		Records:   map[string]string{},
		CreatedBy: in.Actor,
	})}
	// The inspection's own rules (the team's line-up among them), behind
	// the API that asked them (versionCreateInputChecked).
	w.invalid = in.Validate()
	return w.run(ctx)
}

// inspection is the state behind InspectionWorkflow. Its ladder runs the
// report deadline in ONSITE_ENDED and the rectification deadline in
// FEEDBACK_GIVEN.
type inspection struct {
	core[casework.Inspection]
	// invalid is the input's refusal (InspectionInput.Validate), which
	// refuses the creating request before anything is recorded.
	invalid error
}

var acts *activities.Activities

func (w *inspection) snapshot() InspectionState {
	return InspectionState{Inspection: w.row, Progress: w.progress()}
}

func (w *inspection) run(ctx workflow.Context) (LifecycleResult, error) {
	if err := w.begin(ctx, w.registerHandlers, w.invalid, nil); err != nil {
		return LifecycleResult{}, err
	}
	if err := w.ledger.call(ctx, nil, acts.CreateInspection, activities.CreateInspectionInput{
		Inspection: w.row, EventKey: "create/" + w.row.RequestID,
		NotRepeating: w.row.Kind == KindComprehensive && casework.IsLocalGovernment(w.row.UnitCode),
	}); err != nil {
		return LifecycleResult{}, failCreation(ctx, w.creating(), err, &w.refused)
	}
	w.recorded = true
	w.publish(ctx)
	workflow.GetLogger(ctx).Info("inspection recorded", "inspection", w.row.ID, "stage", w.row.Stage)
	return w.live(ctx, w.receiveCalendarChanges)
}

func (w *inspection) registerHandlers(ctx workflow.Context) error {
	for _, err := range []error{
		registerState(ctx, w, &w.core),
		registerChange(ctx, w, ActionApproveTeam, func(in ApproveTeamInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.approveTeam),
		registerAdmitted(ctx, w, ActionNotify, func(in NotifyInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(ctx workflow.Context, in NotifyInput) error {
				return w.checkDay(ctx, "notified_on", in.NotifiedOn)
			}, w.notify),
		registerAdmitted(ctx, w, ActionStation, func(in StationInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(ctx workflow.Context, in StationInput) error {
				return w.checkDay(ctx, "stationed_on", in.StationedOn, "notified_on")
			}, w.station),
		registerAdmitted(ctx, w, ActionEndOnsite, func(in EndOnsiteInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(ctx workflow.Context, in EndOnsiteInput) error {
				return w.checkDay(ctx, "onsite_ended_on", in.OnsiteEndedOn, "stationed_on")
			}, w.endOnsite),
		registerChange(ctx, w, ActionSubmitReport, func(in SubmitReportInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.submitReport),
		registerChange(ctx, w, ActionReview, func(in ReviewInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.review),
		registerAdmitted(ctx, w, ActionApprove, func(in ApproveInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(ctx workflow.Context, in ApproveInput) error {
				if in.ApprovedOn == "" {
					return nil // no day given: none is recorded
				}
				return w.checkDay(ctx, "approved_on", in.ApprovedOn, "onsite_ended_on")
			}, w.approve),
		registerAdmitted(ctx, w, ActionGiveFeedback, func(in GiveFeedbackInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(ctx workflow.Context, in GiveFeedbackInput) error {
				// After the on-site end, and after the committee's
				// approval (三(三)5) when the approval gave its day.
				return w.checkDay(ctx, "feedback_delivered_on", in.FeedbackDeliveredOn, "onsite_ended_on", "approved_on")
			}, w.giveFeedback),
		registerChange(ctx, w, ActionInspectionRectified, func(in InspectionRectificationInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.reportRectification),
		registerChange(ctx, w, ActionClose, func(in ApproveInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.close),
		registerChange(ctx, w, ActionRecheck, w.validateRecheck, w.recheck),
		registerChange(ctx, w, ActionCancel, func(in CancelInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.cancel),
	} {
		if err != nil {
			return fmt.Errorf("registering inspection handlers: %w", err)
		}
	}
	return nil
}

// ledgerActivityOptions retry ledger calls (idempotent writes, reads) with
// backoff while the database is away, but not forever: a change that can
// never be written must not hold its workflow's lock for good. Refusals —
// the derrors types, among them data PostgreSQL refuses (see
// activities.ClassifyLedgerError) — are not retried at all; anything else is
// retried for up to ledgerRetryWindow, the interval capped at 30 seconds, so
// that a database restart of a minute or two is ridden out and the write
// lands within 30 seconds of its return.
var ledgerActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: ledgerRetryWindow,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    30 * time.Second,
		// The same bound in attempts (waits of 1, 2, 4, 8, 16 s, then 30 s:
		// 25 attempts span about 10 minutes), stated so that no default
		// decides it — Temporal's test environment caps unset attempts at 10.
		MaximumAttempts:        25,
		NonRetryableErrorTypes: derrors.NonRetryableTypes,
	},
}

// ledgerRetryWindow bounds how long a ledger call is retried: five times
// the longest database restart the worker is meant to ride out.
const ledgerRetryWindow = 10 * time.Minute
