package workflows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/ledger"
)

// Interview stages (约谈): proposed, approved by the office or committee,
// held (the follow-up report deadline runs), follow-up reported, closed;
// cancelled from any open stage.
const (
	InterviewProposed         = "PROPOSED"
	InterviewApproved         = "APPROVED"
	InterviewHeld             = "HELD"
	InterviewFollowUpReported = "FOLLOW_UP_REPORTED"
	InterviewClosed           = "CLOSED"
	InterviewCancelled        = "CANCELLED"
)

// InterviewStages lists the stages in lifecycle order.
var InterviewStages = []string{InterviewProposed, InterviewApproved, InterviewHeld, InterviewFollowUpReported,
	InterviewClosed, InterviewCancelled}

// Who proposed an interview.
const (
	// InterviewSourceLadder is the escalation ladder of a missed deadline.
	InterviewSourceLadder = "LADDER"
	// InterviewSourceTeam is an inspection team.
	InterviewSourceTeam = "TEAM"
	// InterviewSourceOffice is the office.
	InterviewSourceOffice = "OFFICE"
)

// InterviewSources lists the sources.
var InterviewSources = []string{InterviewSourceLadder, InterviewSourceTeam, InterviewSourceOffice}

// Interview actions: the update names of an InterviewWorkflow.
const (
	ActionApproveInterview        = "approve"
	ActionHoldInterview           = "hold"
	ActionReportInterviewFollowUp = "reportFollowUp"
	ActionCloseInterview          = "close"
	ActionCancelInterview         = "cancel"
)

// MaxFollowUpWorkingDays is the longest follow-up report limit accepted, in
// working days after the day held (the default is
// deadline.DefaultFollowUpWorkingDays).
const MaxFollowUpWorkingDays = 60

// interviewMoves is the stage table: the action each open stage allows
// besides cancel, and the stage it leads to.
var interviewMoves = map[string]struct{ action, next string }{
	InterviewProposed:         {ActionApproveInterview, InterviewApproved},
	InterviewApproved:         {ActionHoldInterview, InterviewHeld},
	InterviewHeld:             {ActionReportInterviewFollowUp, InterviewFollowUpReported},
	InterviewFollowUpReported: {ActionCloseInterview, InterviewClosed},
}

// InterviewOpen reports whether a stage is not final.
func InterviewOpen(stage string) bool { return stage != InterviewClosed && stage != InterviewCancelled }

// AllowedInterviewActions lists what a stage allows, in a fixed order.
func AllowedInterviewActions(stage string) []string {
	if !InterviewOpen(stage) {
		return nil
	}
	var out []string
	if m, ok := interviewMoves[stage]; ok {
		out = append(out, m.action)
	}
	return append(out, ActionCancelInterview)
}

// NextInterviewStage returns the stage an action leads to from stage, or a
// *derrors.StageError naming the current stage and what it allows.
func NextInterviewStage(id, stage, action string) (string, error) {
	if !slices.Contains(AllowedInterviewActions(stage), action) {
		return "", &derrors.StageError{
			Reason:  "STAGE_NOT_ALLOWED",
			Subject: InterviewWorkflowID(id),
			Action:  action,
			Stage:   stage,
			Allowed: AllowedInterviewActions(stage),
		}
	}
	if action == ActionCancelInterview {
		return InterviewCancelled, nil
	}
	return interviewMoves[stage].next, nil
}

// interviewRoles says who may ask for each action ("propose" is checked by
// the API; the ladder proposes as the system).
var interviewRoles = map[string][]string{
	"propose":                     {actor.RoleOffice, actor.RoleTeamLeader, actor.RoleTeamMember},
	ActionApproveInterview:        {actor.RoleOffice, actor.RoleCommittee},
	ActionHoldInterview:           {actor.RoleOffice, actor.RoleCommittee},
	ActionReportInterviewFollowUp: {actor.RoleUnit, actor.RoleOffice},
	ActionCloseInterview:          {actor.RoleOffice, actor.RoleCommittee},
	// The system cancels a proposal whose finding or inspection ended
	// (CancelInterviewInput.OnlyProposed).
	ActionCancelInterview: {actor.RoleOffice, actor.RoleSystem},
}

// CheckInterviewRole refuses an actor whose role may not take the action.
func CheckInterviewRole(action string, who actor.Actor) error {
	return who.RequireRole(action+" an interview", interviewRoles[action]...)
}

// InterviewInput starts an InterviewWorkflow.
type InterviewInput struct {
	// ID is the interview's ID; empty means the workflow ID without its
	// "interview/" prefix.
	ID string `json:"id"`
	// RequestID is the proposing request's idempotency key.
	RequestID string `json:"request_id"`
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject string `json:"subject"`
	// UnitCode is the unit whose leaders are summoned.
	UnitCode string `json:"unit_code"`
	// Reason says why.
	Reason string `json:"reason"`
	// Source is LADDER, TEAM or OFFICE.
	Source string `json:"source"`
	// ProposedBy is who proposed it (actor.System for the ladder).
	ProposedBy actor.Actor `json:"proposed_by"`
	// DeadlineSeq is, for the ladder, the subject's deadline whose
	// escalation proposed it (part of the derived ID).
	DeadlineSeq int `json:"deadline_seq,omitempty"`
}

// Validate checks the input; field names are ProposeInterviewRequest's.
func (in InterviewInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	if _, _, err := ledger.ParseSubject(in.Subject); err != nil {
		v.Add("subject", `must be "finding/<id>" or "inspection/<id>"`)
	}
	requireText(&v, "reason", in.Reason, 5000)
	if !unitCodePattern.MatchString(in.UnitCode) {
		v.Add("unit_code", "must be 2–32 letters, digits or \"-\" (an administrative division or organisation code)")
	}
	if !slices.Contains(InterviewSources, in.Source) {
		v.Add("source", "must be one of %s", strings.Join(InterviewSources, ", "))
	}
	return v.Err()
}

// InterviewState is what the state query and every update return.
type InterviewState struct {
	Interview   ledger.Interview    `json:"interview"`
	Escalations []ledger.Escalation `json:"escalations"`
	// Pending are the escalation steps still to fire for the running
	// follow-up deadline.
	Pending []deadline.ScheduledStep `json:"pending"`
	// Recorded is true once the ledger holds the interview.
	Recorded bool `json:"recorded"`
}

// InterviewResult is what a finished InterviewWorkflow returns.
type InterviewResult struct {
	Stage string `json:"stage"`
}

// ApproveInterviewInput is the approve update's argument.
type ApproveInterviewInput struct {
	RequestID string      `json:"request_id"`
	Actor     actor.Actor `json:"actor"`
	Note      string      `json:"note"`
}

// Validate checks the fields; names are InterviewActionRequest's.
func (in ApproveInterviewInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	optionalText(&v, "note", in.Note, 5000)
	return v.Err()
}

// HoldInterviewInput is the hold update's argument.
type HoldInterviewInput struct {
	RequestID    string      `json:"request_id"`
	Actor        actor.Actor `json:"actor"`
	HeldOn       string      `json:"held_on"`
	Attendees    []string    `json:"attendees"`
	Minutes      string      `json:"minutes"`
	Requirements string      `json:"requirements"`
	// FollowUpWorkingDays is the follow-up report limit; 0 means
	// deadline.DefaultFollowUpWorkingDays.
	FollowUpWorkingDays int `json:"follow_up_working_days"`
}

// Validate checks the fields; names are HoldInterviewRequest's.
func (in HoldInterviewInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	if _, err := calendar.ParseDate(in.HeldOn); err != nil {
		v.Add("held_on", "must be a date YYYY-MM-DD")
	}
	switch {
	case len(in.Attendees) == 0:
		v.Add("attendees", "must name at least one attendee")
	case len(in.Attendees) > 100:
		v.Add("attendees", "must name at most 100 attendees")
	}
	for i, a := range in.Attendees {
		requireText(&v, fmt.Sprintf("attendees[%d]", i), a, 200)
	}
	requireText(&v, "minutes", in.Minutes, 20000)
	requireText(&v, "requirements", in.Requirements, 10000)
	if in.FollowUpWorkingDays < 0 || in.FollowUpWorkingDays > MaxFollowUpWorkingDays {
		v.Add("follow_up_working_days", "must be between 1 and %d (0 means %d)", MaxFollowUpWorkingDays, deadline.DefaultFollowUpWorkingDays)
	}
	return v.Err()
}

// followUpDays is the limit in force.
func (in HoldInterviewInput) followUpDays() int {
	return deadline.FollowUpWorkingDays(in.FollowUpWorkingDays)
}

// ReportInterviewFollowUpInput is the reportFollowUp update's argument.
type ReportInterviewFollowUpInput struct {
	RequestID   string      `json:"request_id"`
	Actor       actor.Actor `json:"actor"`
	Report      string      `json:"report"`
	EvidenceIDs []string    `json:"evidence_ids"`
}

// Validate checks the fields; names are ReportInterviewFollowUpRequest's.
func (in ReportInterviewFollowUpInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	requireText(&v, "report", in.Report, 20000)
	for i, id := range in.EvidenceIDs {
		if strings.TrimSpace(id) == "" {
			v.Add(fmt.Sprintf("evidence_ids[%d]", i), "must not be empty")
		}
	}
	return v.Err()
}

// CloseInterviewInput is the close update's argument.
type CloseInterviewInput struct {
	RequestID string      `json:"request_id"`
	Actor     actor.Actor `json:"actor"`
	Note      string      `json:"note"`
}

// Validate checks the fields; names are InterviewActionRequest's.
func (in CloseInterviewInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	optionalText(&v, "note", in.Note, 5000)
	return v.Err()
}

// CancelInterviewInput is the cancel update's argument.
type CancelInterviewInput struct {
	RequestID string      `json:"request_id"`
	Actor     actor.Actor `json:"actor"`
	// Reason is InterviewActionRequest.note, required.
	Reason string `json:"reason"`
	// OnlyProposed cancels only an interview nobody approved yet: its
	// subject ended, so the proposal is moot, but an approved interview
	// goes ahead. The system's cancellations always set it.
	OnlyProposed bool `json:"only_proposed,omitempty"`
}

// Validate checks the fields; names are InterviewActionRequest's.
func (in CancelInterviewInput) Validate() error {
	var v derrors.Violations
	ValidateRequestID(&v, "request_id", in.RequestID)
	requireText(&v, "note", in.Reason, 5000)
	return v.Err()
}

// checkCancel adds to the cancel's field checks that a cancellation of a
// proposal only (OnlyProposed, as the system sends when the subject ends)
// finds the interview still PROPOSED, and that the system cancels nothing
// else.
func (w *interview) checkCancel(in CancelInterviewInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	if in.Actor.Role == actor.RoleSystem && !in.OnlyProposed {
		return fmt.Errorf("the system cancels only interviews not yet approved: %w", derrors.ErrPermissionDenied)
	}
	if in.OnlyProposed && w.row.Stage != InterviewProposed {
		return &derrors.StageError{Reason: "INTERVIEW_NOT_PROPOSED", Subject: w.subject(), Action: ActionCancelInterview,
			Stage: w.row.Stage, Allowed: AllowedInterviewActions(w.row.Stage),
			Message: fmt.Sprintf("%s is %s, no longer a proposal: it goes ahead unless the office cancels it", w.subject(), w.row.Stage)}
	}
	return nil
}

// InterviewSearchAttributes are set when an interview workflow starts.
func InterviewSearchAttributes(in InterviewInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		searchattr.Stage.ValueSet(InterviewProposed),
		searchattr.Unit.ValueSet(in.UnitCode),
		searchattr.Overdue.ValueSet(false),
	)
}

// InterviewSummary is the Web UI's one-line summary of an interview
// workflow.
func InterviewSummary(in InterviewInput) string {
	return fmt.Sprintf("约谈 unit %s · %s · %s", in.UnitCode, in.Subject, in.Source)
}

// LadderInterviewID is the ID of the interview the escalation ladder
// proposes for a subject's deadline: "finding/f-1" and deadline 2 give
// "finding-f-1-2", so that a step taken again proposes nothing new.
func LadderInterviewID(subject string, deadlineSeq int) string {
	return strings.ReplaceAll(subject, "/", "-") + "-" + strconv.Itoa(deadlineSeq)
}

// ProposeInterviewFromLadder starts an InterviewWorkflow as a child of the
// calling workflow (an escalation ladder's INTERVIEW_PROPOSED step) and
// returns once the child has started; the child lives on when the caller
// ends (ParentClosePolicy ABANDON). Its ID is LadderInterviewID(in.Subject,
// in.DeadlineSeq) unless in.ID is set, and an interview already started for
// it is not started again (no error). Empty Source, ProposedBy and RequestID
// default to LADDER, actor.System and "ladder/<ID>". An invalid input is an
// *derrors.InvalidError and nothing starts.
func ProposeInterviewFromLadder(ctx workflow.Context, in InterviewInput) error {
	if in.ID == "" {
		in.ID = LadderInterviewID(in.Subject, in.DeadlineSeq)
	}
	if in.Source == "" {
		in.Source = InterviewSourceLadder
	}
	if in.ProposedBy == (actor.Actor{}) {
		in.ProposedBy = actor.System
	}
	if in.RequestID == "" {
		in.RequestID = "ladder/" + in.ID
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if workflow.GetVersion(ctx, versionLadderInterviewOutlivesLadder, workflow.DefaultVersion, 1) >= 1 {
		// The proposal is the office's to decide now: stopping the ladder
		// (a rectification report, a withdrawal, a re-dated deadline) must
		// not cancel the interview's workflow behind the ledger's back.
		// Its cancel func is dropped on purpose: nothing cancels the child.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            InterviewWorkflowID(in.ID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: InterviewSearchAttributes(in),
		StaticSummary:         InterviewSummary(in),
	})
	child := workflow.ExecuteChildWorkflow(cctx, InterviewWorkflowName, in)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return nil
		}
		return fmt.Errorf("starting interview %q: %w", in.ID, err)
	}
	return nil
}

// InterviewWorkflow drives one interview from proposal to closure, with the
// follow-up report deadline on durable timers and its escalation ladder.
func InterviewWorkflow(ctx workflow.Context, in InterviewInput) (InterviewResult, error) {
	info := workflow.GetInfo(ctx)
	id := in.ID
	if id == "" {
		id = strings.TrimPrefix(info.WorkflowExecution.ID, "interview/")
	}
	now := workflow.Now(ctx).UTC()
	w := &interview{mu: workflow.NewMutex(ctx), row: ledger.Interview{
		ID: id, WorkflowID: info.WorkflowExecution.ID, RequestID: in.RequestID, Subject: in.Subject,
		UnitCode: in.UnitCode, Reason: in.Reason, Source: in.Source, Stage: InterviewProposed,
		ProposedBy: in.ProposedBy, CreatedAt: now, UpdatedAt: now, Version: 1,
	}, deadlineSeqOfSubject: in.DeadlineSeq}
	return w.run(ctx)
}

// interview is the state behind InterviewWorkflow.
type interview struct {
	row         ledger.Interview
	escalations []ledger.Escalation
	recorded    bool
	mu          workflow.Mutex
	// deadline is the follow-up report deadline's ladder.
	deadline   ladder
	deliveries int // webhook deliveries still running
	// deadlineSeqOfSubject is the subject's deadline that proposed it (ladder).
	deadlineSeqOfSubject int
}

func (w *interview) subject() string { return InterviewWorkflowID(w.row.ID) }

func (w *interview) mutex() workflow.Mutex { return w.mu }

func (w *interview) snapshot() InterviewState {
	return InterviewState{Interview: w.row, Escalations: slices.Clone(w.escalations), Pending: w.deadline.pending(),
		Recorded: w.recorded}
}

// checkChange refuses what the stage or the role does not allow. A change
// that arrives while the proposal is still being recorded is accepted and
// waits for it (apply): an interview the ladder proposed is in the ledger,
// for all to see, a moment before the workflow hears so.
func (w *interview) checkChange(action string, _ bool, who actor.Actor) error {
	if _, err := NextInterviewStage(w.row.ID, w.row.Stage, action); err != nil {
		return err
	}
	return CheckInterviewRole(action, who)
}

func (w *interview) run(ctx workflow.Context) (InterviewResult, error) {
	if err := w.registerHandlers(ctx); err != nil {
		return InterviewResult{}, err
	}
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	if err := workflow.ExecuteActivity(actx, acts.RecordInterview, activities.RecordInterviewInput{
		Interview: w.row,
		Event: ledger.Event{
			Key: "propose/" + w.row.RequestID, Action: "propose", StageAfter: InterviewProposed, Actor: w.row.ProposedBy,
			Note: w.row.Reason, OccurredAt: w.row.CreatedAt,
			Data: dataJSON(map[string]any{"subject": w.row.Subject, "unit_code": w.row.UnitCode, "source": w.row.Source,
				"deadline_seq": w.deadlineSeqOfSubject}),
		},
	}).Get(ctx, nil); err != nil {
		return InterviewResult{}, fmt.Errorf("recording interview %q: %w", w.row.ID, err)
	}
	w.recorded = true
	w.publish(ctx)
	workflow.GetLogger(ctx).Info("interview proposed", "interview", w.row.ID, "subject", w.row.Subject, "source", w.row.Source)

	workflow.Go(ctx, w.receiveCalendarChanges)

	if err := workflow.Await(ctx, func() bool {
		return !InterviewOpen(w.row.Stage) && workflow.AllHandlersFinished(ctx) && w.deliveries == 0
	}); err != nil {
		if temporal.IsCanceledError(err) {
			w.recordCancellation(ctx)
		}
		return InterviewResult{}, err
	}
	return InterviewResult{Stage: w.row.Stage}, nil
}

// Change IDs (workflow.GetVersion) of the interview lifecycle.
const (
	// versionLadderInterviewOutlivesLadder starts a ladder's interview in a
	// disconnected context: before it, stopping the ladder cancelled the
	// interview's workflow.
	versionLadderInterviewOutlivesLadder = "ladder-interview-outlives-ladder"
	// versionInterviewRecordsCancellation makes a cancelled interview
	// workflow record CANCELLED in the ledger before it ends.
	versionInterviewRecordsCancellation = "interview-records-cancellation"
)

// recordCancellation writes CANCELLED to the ledger when the interview's
// workflow itself is cancelled (an operator, or a ladder that proposed it
// before versionLadderInterviewOutlivesLadder and stopped), so that the
// ledger does not show a proposal nobody can act on any more.
func (w *interview) recordCancellation(ctx workflow.Context) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if workflow.GetVersion(dctx, versionInterviewRecordsCancellation, workflow.DefaultVersion, 1) == workflow.DefaultVersion ||
		!w.recorded || !InterviewOpen(w.row.Stage) {
		return
	}
	next := w.row
	next.Stage = InterviewCancelled
	next.CancelReason = "cancelled: the interview's workflow was cancelled"
	next.Overdue = false
	if err := w.apply(dctx, next, ledger.Event{Key: "workflow-cancelled", Action: ActionCancelInterview, Actor: actor.System,
		Note: next.CancelReason}); err != nil {
		workflow.GetLogger(ctx).Error("recording the cancellation failed", "interview", w.row.ID, "error", err)
	}
	w.deadline.stop()
}

func (w *interview) registerHandlers(ctx workflow.Context) error {
	if err := registerState(ctx, lifecycle[InterviewState](w), "interview",
		func() string { return w.row.ID }, func() string { return w.row.RequestID },
		func() bool { return w.recorded }, func() error { return nil }); err != nil {
		return err
	}
	handlers := []struct {
		name string
		err  error
	}{
		{ActionApproveInterview, registerChange(ctx, w, ActionApproveInterview, func(in ApproveInterviewInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.approve)},
		{ActionHoldInterview, registerChange(ctx, w, ActionHoldInterview, func(in HoldInterviewInput) (actor.Actor, bool, error) {
			return in.Actor, true, w.checkHeldOn(ctx, in)
		}, w.hold)},
		{ActionReportInterviewFollowUp, registerChange(ctx, w, ActionReportInterviewFollowUp, func(in ReportInterviewFollowUpInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.reportFollowUp)},
		{ActionCloseInterview, registerChange(ctx, w, ActionCloseInterview, func(in CloseInterviewInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.close)},
		{ActionCancelInterview, registerChange(ctx, w, ActionCancelInterview, func(in CancelInterviewInput) (actor.Actor, bool, error) {
			return in.Actor, true, w.checkCancel(in)
		}, w.cancel)},
	}
	for _, h := range handlers {
		if h.err != nil {
			return fmt.Errorf("registering update %s: %w", h.name, h.err)
		}
	}
	return nil
}

// checkHeldOn adds to the hold's field checks that the day held is neither
// before the interview was proposed nor in the future.
func (w *interview) checkHeldOn(ctx workflow.Context, in HoldInterviewInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	held := calendar.MustParseDate(in.HeldOn)
	proposed := calendar.DateOf(w.row.CreatedAt)
	today := calendar.DateOf(workflow.Now(ctx))
	switch {
	case held.Before(proposed):
		return derrors.Invalid("held_on", "must not be before %s, the day the interview was proposed", proposed)
	case held.After(today):
		return derrors.Invalid("held_on", "must not be after today (%s): record an interview once it is held", today)
	}
	return nil
}

// apply writes a change to the ledger and, once written, makes it the
// workflow's state. The event key is the Temporal update ID when there is one,
// so a retried write records nothing twice.
func (w *interview) apply(ctx workflow.Context, next ledger.Interview, e ledger.Event) error {
	if err := workflow.Await(ctx, func() bool { return w.recorded }); err != nil {
		return err
	}
	e = changeEvent(ctx, e, ledger.SubjectInterview, w.row.ID, w.row.Stage, next.Stage)
	next.Version = w.row.Version + 1
	next.UpdatedAt = e.OccurredAt
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	if err := workflow.ExecuteActivity(actx, acts.ApplyInterviewChange, activities.InterviewChangeInput{Interview: next, Event: e}).Get(ctx, nil); err != nil {
		return ledgerFailure(fmt.Sprintf("writing %s of %s to the ledger", e.Action, w.subject()), err)
	}
	w.row = next
	w.publish(ctx)
	return nil
}

// publish keeps the search attributes and the UI details current.
func (w *interview) publish(ctx workflow.Context) {
	running := w.row.FollowUpDeadline != nil && w.row.Stage == InterviewHeld
	updates := []temporal.SearchAttributeUpdate{
		searchattr.Stage.ValueSet(w.row.Stage),
		searchattr.Overdue.ValueSet(w.row.Overdue),
	}
	if running {
		updates = append(updates, searchattr.DueAt.ValueSet(w.row.FollowUpDeadline.DueAt))
	} else {
		updates = append(updates, searchattr.DueAt.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
	details := fmt.Sprintf("**约谈 unit %s** (%s) — stage %s", w.row.UnitCode, w.row.Subject, w.row.Stage)
	if running {
		details += "; follow-up report due " + w.row.FollowUpDeadline.Due.String()
	}
	if w.row.Overdue {
		details += " — OVERDUE"
	}
	workflow.SetCurrentDetails(ctx, details)
}

func (w *interview) approve(ctx workflow.Context, in ApproveInterviewInput) error {
	next := w.row
	next.Stage = InterviewApproved
	by := in.Actor
	next.ApprovedBy = &by
	return w.apply(ctx, next, ledger.Event{Action: ActionApproveInterview, Actor: in.Actor, Note: in.Note})
}

func (w *interview) hold(ctx workflow.Context, in HoldInterviewInput) error {
	rule := deadline.FollowUp(in.HeldOn, in.FollowUpWorkingDays)
	resolved, err := resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	next := w.row
	next.Stage = InterviewHeld
	next.HeldOn = in.HeldOn
	next.Attendees = slices.Clone(in.Attendees)
	next.Minutes = in.Minutes
	next.Requirements = in.Requirements
	next.FollowUpWorkingDays = in.followUpDays()
	next.FollowUpDeadline = &resolved.Deadline
	next.DeadlineSeq++
	next.Overdue = false
	if err := w.apply(ctx, next, ledger.Event{Action: ActionHoldInterview, Actor: in.Actor,
		Note: "follow-up report due " + resolved.Deadline.Due.String(),
		Data: dataJSON(map[string]any{"held_on": in.HeldOn, "attendees": in.Attendees, "requirements": in.Requirements,
			"follow_up_working_days": next.FollowUpWorkingDays, "deadline": resolved.Deadline})}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, nil)
	return nil
}

func (w *interview) reportFollowUp(ctx workflow.Context, in ReportInterviewFollowUpInput) error {
	now := workflow.Now(ctx).UTC()
	next := w.row
	next.Stage = InterviewFollowUpReported
	next.FollowUpReport = in.Report
	next.FollowUpEvidenceIDs = slices.Clone(in.EvidenceIDs)
	next.FollowUpReportedAt = &now
	// The report stops the clock: a late report is still recorded
	// (missed_deadlines keeps the count), and the ladder ends.
	next.Overdue = false
	note := "follow-up reported in time"
	if d := w.row.FollowUpDeadline; d != nil && !now.Before(d.DueAt) {
		note = "follow-up reported after the deadline " + d.Due.String()
	}
	if err := w.apply(ctx, next, ledger.Event{Action: ActionReportInterviewFollowUp, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs), Data: dataJSON(map[string]any{"report": in.Report})}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

func (w *interview) close(ctx workflow.Context, in CloseInterviewInput) error {
	next := w.row
	next.Stage = InterviewClosed
	return w.apply(ctx, next, ledger.Event{Action: ActionCloseInterview, Actor: in.Actor, Note: in.Note})
}

func (w *interview) cancel(ctx workflow.Context, in CancelInterviewInput) error {
	next := w.row
	next.Stage = InterviewCancelled
	next.CancelReason = in.Reason
	next.Overdue = false
	if err := w.apply(ctx, next, ledger.Event{Action: ActionCancelInterview, Actor: in.Actor, Note: in.Reason}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

// interviewSteps keeps the reminder and the overdue step of the office's
// ladder: the interview is itself the last rung, so no interview about an
// interview is proposed.
func interviewSteps(resolved deadline.Resolved) deadline.Resolved {
	resolved.Steps = slices.DeleteFunc(slices.Clone(resolved.Steps), func(s deadline.ScheduledStep) bool {
		return s.Step != ledger.StepReminder && s.Step != ledger.StepOverdue
	})
	return resolved
}

// startLadder starts the follow-up deadline's ladder.
func (w *interview) startLadder(ctx workflow.Context, rule deadline.Rule, resolved deadline.Resolved, fired map[string]bool) {
	w.deadline.start(ctx, w.mu, rule, interviewSteps(resolved), fired,
		func() bool { return w.row.Stage == InterviewHeld }, w.escalate)
}

// escalate takes a step of the ladder: an escalation row, an event, the
// overdue mark, and a webhook to each subscriber. A reminder whose deadline
// has already passed (an interview recorded late) is skipped.
func (w *interview) escalate(ctx workflow.Context, step deadline.ScheduledStep) error {
	now := workflow.Now(ctx).UTC()
	due := w.row.FollowUpDeadline
	if due == nil || (step.Step == ledger.StepReminder && !now.Before(due.DueAt)) {
		return nil
	}
	next := w.row
	var message string
	switch step.Step {
	case ledger.StepReminder:
		message = fmt.Sprintf("reminder: the follow-up report of interview %s (unit %s, %s) is due %s",
			w.row.ID, w.row.UnitCode, w.row.Subject, due.Due)
	case ledger.StepOverdue:
		next.Overdue = true
		next.MissedDeadlines++
		message = fmt.Sprintf("overdue: the follow-up report of interview %s (unit %s, %s) was due %s; escalated to the office",
			w.row.ID, w.row.UnitCode, w.row.Subject, due.Due)
	default:
		return nil
	}
	next.Version = w.row.Version + 1
	next.UpdatedAt = now
	esc := ledger.Escalation{Subject: w.subject(), DeadlineSeq: w.row.DeadlineSeq, Step: step.Step, UnitCode: w.row.UnitCode,
		DueAt: due.DueAt, FiredAt: now, Message: message}
	event := ledger.Event{
		SubjectType: ledger.SubjectInterview, SubjectID: w.row.ID,
		Key: fmt.Sprintf("escalate/%d/%s", w.row.DeadlineSeq, step.Step), Action: "escalate",
		StageBefore: w.row.Stage, StageAfter: next.Stage, Actor: actor.System, Note: message, OccurredAt: now,
		Data: dataJSON(map[string]any{"step": step.Step, "deadline_seq": w.row.DeadlineSeq, "due": due.Due}),
	}
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var res activities.EscalateResult
	if err := workflow.ExecuteActivity(actx, acts.EscalateInterview, activities.EscalateInterviewInput{
		Escalation: esc, Interview: next, Event: event}).Get(ctx, &res); err != nil {
		return fmt.Errorf("recording escalation %s: %w", step.Step, err)
	}
	w.row = next
	w.escalations = append(w.escalations, res.Escalation)
	w.publish(ctx)
	announce(ctx, &w.deliveries, EventInterviewEscalated, fmt.Sprintf("%s/%d/%s", w.subject(), w.row.DeadlineSeq, step.Step), map[string]any{
		"escalation":   res.Escalation,
		"interview_id": w.row.ID,
		"subject":      w.row.Subject,
		"unit_code":    w.row.UnitCode,
		"held_on":      w.row.HeldOn,
		"due":          due.Due,
		"deadline":     due.Explanation,
	})
	return nil
}

// receiveCalendarChanges re-dates the follow-up deadline when the office
// loads a new calendar version.
func (w *interview) receiveCalendarChanges(ctx workflow.Context) {
	receiveCalendarChanges(ctx, w.subject(), w.redate)
}

func (w *interview) redate(ctx workflow.Context, sig CalendarChangedSignal) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	if w.row.Stage != InterviewHeld || !w.deadline.running() || w.row.FollowUpDeadline == nil {
		return nil
	}
	rule := *w.deadline.rule
	resolved, err := resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	old := w.row.FollowUpDeadline
	if resolved.Deadline.DueAt.Equal(old.DueAt) && !w.deadline.moved(interviewSteps(resolved)) {
		return nil
	}
	fired := w.deadline.fired()
	next := w.row
	next.FollowUpDeadline = &resolved.Deadline
	note := fmt.Sprintf("re-dated by calendar version %d: due %s (was %s)", sig.Version, resolved.Deadline.Due, old.Due)
	if err := w.apply(ctx, next, ledger.Event{
		Key: fmt.Sprintf("redate/%d/%d", w.row.DeadlineSeq, sig.Version), Action: "redate", Actor: actor.System, Note: note,
		Data: dataJSON(map[string]any{"calendar_version": sig.Version, "old_due": old.Due, "new_due": resolved.Deadline.Due,
			"deadline": resolved.Deadline}),
	}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, fired)
	return nil
}
