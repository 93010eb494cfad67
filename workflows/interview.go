package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// InterviewState is what the state query and every update return.
type InterviewState struct {
	Interview casework.Interview `json:"interview"`
	// Progress's Pending are the steps of the follow-up deadline.
	Progress
}

// interviewSpec plugs the interview into the lifecycle core. Its ladder
// keeps the reminder and the overdue step of the office's ladder: the
// interview is itself the last rung, so no interview about an interview is
// proposed. A change that arrives while the proposal is still being
// recorded is accepted and waits for it: an interview the ladder proposed
// is in the ledger, for all to see, a moment before the workflow hears so.
var interviewSpec = &spec[casework.Interview]{
	machine:   interviewMachine,
	lifecycle: func(iv *casework.Interview) *casework.Lifecycle { return &iv.Lifecycle },
	deadline:  runsIn(InterviewHeld, func(iv *casework.Interview) **calendar.Deadline { return &iv.FollowUpDeadline }),
	write: func(next casework.Interview, e casework.Event) (any, any) {
		return acts.ApplyInterviewChange, activities.InterviewChangeInput{Interview: next, Event: e}
	},
	writeEscalation: func(esc casework.Escalation, next casework.Interview, e casework.Event) (any, any) {
		return acts.EscalateInterview, activities.EscalateInterviewInput{Escalation: esc, Interview: next, Event: e}
	},
	keepSteps: reminderAndOverdue[casework.Interview],
	escalation: func(iv casework.Interview, step deadline.ScheduledStep, due calendar.Deadline) i18n.Text {
		switch step.Step {
		case casework.StepReminder:
			return i18n.T("reminder: the follow-up report of interview %s (unit %s, %s) is due %s",
				iv.ID, iv.UnitCode, iv.Subject, due.Due)
		case casework.StepOverdue:
			return i18n.T("overdue: the follow-up report of interview %s (unit %s, %s) was due %s; escalated to the office",
				iv.ID, iv.UnitCode, iv.Subject, due.Due)
		}
		return i18n.Text{}
	},
	announcement: func(iv casework.Interview) (string, map[string]any) {
		return EventInterviewEscalated, map[string]any{
			"interview_id": iv.ID,
			"subject":      iv.Subject,
			"unit_code":    iv.UnitCode,
			"held_on":      iv.HeldOn,
		}
	},
	title: func(iv casework.Interview) string {
		return i18n.Zh("**interview (约谈) of unit %s** (%s)", iv.UnitCode, iv.Subject)
	},
	stageName:             i18n.InterviewStage,
	dueWhat:               "follow-up report",
	changesWhileRecording: true,
}

// InterviewWorkflow drives one interview from proposal to closure, with the
// follow-up report deadline on durable timers and its escalation ladder.
func InterviewWorkflow(ctx workflow.Context, in InterviewInput) (LifecycleResult, error) {
	info := workflow.GetInfo(ctx)
	id := in.ID
	if id == "" {
		id = strings.TrimPrefix(info.WorkflowExecution.ID, "interview/")
	}
	now := workflow.Now(ctx).UTC()
	w := &interview{core: newCore(ctx, interviewSpec, casework.Interview{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: info.WorkflowExecution.ID, RequestID: in.RequestID, UnitCode: in.UnitCode,
			Stage: InterviewProposed, CreatedAt: now, UpdatedAt: now, Version: 1},
		Subject: in.Subject, Reason: in.Reason, ReasonZH: in.ReasonZH, Source: in.Source, ProposedBy: in.ProposedBy,
	}), deadlineSeqOfSubject: in.DeadlineSeq}
	// The proposal's own rules, behind the API (and the ladder) that asked
	// them (versionCreateInputChecked).
	w.invalid = in.Validate()
	return w.run(ctx)
}

// interview is the state behind InterviewWorkflow.
type interview struct {
	core[casework.Interview]
	// deadlineSeqOfSubject is the subject's deadline that proposed it (ladder).
	deadlineSeqOfSubject int
	// invalid is the input's refusal (InterviewInput.Validate), which
	// refuses the proposing request before anything is recorded.
	invalid error
}

func (w *interview) snapshot() InterviewState {
	return InterviewState{Interview: w.row, Progress: w.progress()}
}

func (w *interview) run(ctx workflow.Context) (LifecycleResult, error) {
	if err := w.begin(ctx, w.registerHandlers, w.invalid, nil); err != nil {
		return LifecycleResult{}, err
	}
	// Written again later, in a run since versionInterviewRetriesRecord:
	// a ladder's proposal has an ID that no second run may take, so a
	// failed first write lost it for good.
	if err := writeRetrying(ctx, versionInterviewRetriesRecord, "interview "+w.row.ID, func() error {
		return w.ledger.call(ctx, nil, acts.RecordInterview, activities.RecordInterviewInput{
			Interview: w.row,
			Event: casework.Event{
				Key: "propose/" + w.row.RequestID, Action: "propose", StageAfter: InterviewProposed, Actor: w.row.ProposedBy,
				Note: w.row.Reason, OccurredAt: w.row.CreatedAt,
				Data: dataJSON(map[string]any{"subject": w.row.Subject, "unit_code": w.row.UnitCode, "source": w.row.Source,
					"deadline_seq": w.deadlineSeqOfSubject}),
			},
			SubjectEnded: subjectEnded(w.row.Subject),
			// A proposal by hand waits for the subject's open interview
			// (INTERVIEW_OPEN); the ladder's proposes as it did.
			AloneOpen: w.row.Source != InterviewSourceLadder,
		})
	}); err != nil {
		// A refusal (the subject has ended) answers the proposing request
		// (the await-created Update) and ends the run, recording nothing;
		// runs before versionInterviewRefusalAnswers failed with it.
		if refused(err) && workflow.GetVersion(ctx, versionInterviewRefusalAnswers, workflow.DefaultVersion, 1) >= 1 {
			return LifecycleResult{}, failCreation(ctx, w.creating(), err, &w.refused)
		}
		return LifecycleResult{}, fmt.Errorf("recording interview %q: %w", w.row.ID, err)
	}
	w.recorded = true
	w.publish(ctx)
	workflow.GetLogger(ctx).Info("interview proposed", "interview", w.row.ID, "subject", w.row.Subject, "source", w.row.Source)

	result, err := w.live(ctx, w.receiveCalendarChanges)
	if temporal.IsCanceledError(err) {
		w.recordCancellation(ctx)
	}
	return result, err
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
	// versionInterviewRetriesRecord: an interview whose first ledger write
	// failed (past the ledger's retry window) writes it again later
	// (retryAgain) instead of failing the run. Asked only on failure.
	versionInterviewRetriesRecord = "interview-retries-record"
	// versionInterviewRefusalAnswers: the ledger's refusal of the proposal
	// (a subject that has ended, SUBJECT_ENDED) answers the proposing
	// request with it and ends the run (failCreation); before, the run
	// failed with it and the request was answered with the failure. Asked
	// only on a refusal.
	versionInterviewRefusalAnswers = "interview-refusal-answers"
	// versionCancelNotHeld: a cancellation admitted while the interview
	// was approved, which finds it held (a hold went first), is refused
	// as one arriving then is (checkNotHeld); before, it cancelled the
	// held interview. Asked only in that case.
	versionCancelNotHeld = "interview-cancel-not-held"
)

// subjectEnded are the stages that end the lifecycle of an interview's
// subject ("finding/<id>" or "inspection/<id>"), whose proposal the ledger
// refuses then (activities.RecordInterviewInput.SubjectEnded).
func subjectEnded(subject string) []string {
	if strings.HasPrefix(subject, casework.SubjectFinding+"/") {
		return slices.Clone(findingMachine.final)
	}
	return slices.Clone(inspectionMachine.final)
}

// recordCancellation writes CANCELLED to the ledger when the interview's
// workflow itself is cancelled (an operator, or a ladder that proposed it
// before versionLadderInterviewOutlivesLadder and stopped), so that the
// ledger does not show a proposal nobody can act on any more.
func (w *interview) recordCancellation(ctx workflow.Context) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if w.ledger.version(dctx, versionInterviewRecordsCancellation, 1) == workflow.DefaultVersion ||
		!w.recorded || !interviewMachine.open(w.row.Stage) {
		return
	}
	next := w.row
	next.Stage = InterviewCancelled
	why := i18n.T("cancelled: the interview's workflow was cancelled")
	next.CancelReason, next.CancelReasonZH = why.EN, why.ZH
	next.Overdue = false
	if err := w.apply(dctx, next, casework.Event{Key: "workflow-cancelled", Action: ActionCancelInterview, Actor: actor.System,
		Note: next.CancelReason}); err != nil {
		workflow.GetLogger(ctx).Error("recording the cancellation failed", "interview", w.row.ID, "error", err)
	}
	w.deadline.stop()
}

func (w *interview) registerHandlers(ctx workflow.Context) error {
	for _, err := range []error{
		registerState(ctx, w, &w.core),
		registerChange(ctx, w, ActionApproveInterview, func(in ApproveInterviewInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.approve),
		registerChange(ctx, w, ActionHoldInterview, func(in HoldInterviewInput) (actor.Actor, error) { return in.Actor, w.checkHeldOn(ctx, in) }, w.hold),
		registerChange(ctx, w, ActionReportInterviewFollowUp, func(in ReportInterviewFollowUpInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.reportFollowUp),
		registerChange(ctx, w, ActionCloseInterview, func(in CloseInterviewInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.close),
		registerAdmitted(ctx, w, ActionCancelInterview, func(in CancelInterviewInput) (actor.Actor, error) { return in.Actor, w.checkCancel(in) },
			func(workflow.Context, CancelInterviewInput) error { return w.checkNotHeld() }, w.cancel),
	} {
		if err != nil {
			return fmt.Errorf("registering interview handlers: %w", err)
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
	held, err := dayHasCome(ctx, "held_on", in.HeldOn)
	if err != nil {
		return err
	}
	if proposed := calendar.DateOf(w.row.CreatedAt); held.Before(proposed) {
		return derrors.Invalid("held_on", "must not be before %s, the day the interview was proposed", proposed)
	}
	return nil
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
		return derrors.StageError{Reason: "INTERVIEW_NOT_PROPOSED", Subject: w.subject(), Action: ActionCancelInterview,
			Stage: w.row.Stage, Allowed: interviewMachine.allowed(w.row.Stage)}.
			Says("%s is %s, no longer a proposal: it goes ahead unless the office cancels it", w.subject(), w.row.Stage)
	}
	return nil
}

// checkNotHeld refuses to cancel an interview that was held: the summons
// took place, and its record (the day, the minutes, the unit's follow-up)
// stays; it is closed once the follow-up is reported. A held interview was
// cancelled, its follow-up report then on an interview that could never be
// closed, and the statistics counted it held while the lists showed it
// cancelled. Checked as a cancellation arrives (registerAdmitted): runs
// that cancelled a held interview before replay as they ran.
func (w *interview) checkNotHeld() error {
	if !slices.Contains(interviewMachine.anytimeRefusedIn, w.row.Stage) {
		return nil
	}
	return derrors.StageError{Reason: "INTERVIEW_HELD", Subject: w.subject(), Action: ActionCancelInterview,
		Stage: w.row.Stage, Allowed: interviewMachine.allowed(w.row.Stage)}.
		Says("%s was held on %s: its record stays, and it is closed once the unit's follow-up is reported", w.subject(), w.row.HeldOn)
}

func (w *interview) approve(ctx workflow.Context, in ApproveInterviewInput) error {
	next := w.row
	next.Stage = InterviewApproved
	by := in.Actor
	next.ApprovedBy = &by
	return w.apply(ctx, next, casework.Event{Action: ActionApproveInterview, Actor: in.Actor, Note: in.Note})
}

func (w *interview) hold(ctx workflow.Context, in HoldInterviewInput) error {
	rule := deadline.FollowUp(in.HeldOn, in.FollowUpWorkingDays)
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
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
	if err := w.apply(ctx, next, casework.Event{Action: ActionHoldInterview, Actor: in.Actor,
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
	if err := w.apply(ctx, next, casework.Event{Action: ActionReportInterviewFollowUp, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs), Data: dataJSON(map[string]any{"report": in.Report})}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

func (w *interview) close(ctx workflow.Context, in CloseInterviewInput) error {
	next := w.row
	next.Stage = InterviewClosed
	return w.apply(ctx, next, casework.Event{Action: ActionCloseInterview, Actor: in.Actor, Note: in.Note})
}

func (w *interview) cancel(ctx workflow.Context, in CancelInterviewInput) error {
	// Accepted while approved, then held by a change that went first; the
	// version is asked only then, as before.
	if err := w.checkNotHeld(); err != nil && workflow.GetVersion(ctx, versionCancelNotHeld, workflow.DefaultVersion, 1) >= 1 {
		return err
	}
	next := w.row
	next.Stage = InterviewCancelled
	next.CancelReason, next.CancelReasonZH = in.Reason, in.ReasonZH
	next.Overdue = false
	if err := w.apply(ctx, next, casework.Event{Action: ActionCancelInterview, Actor: in.Actor, Note: in.Reason}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}
