package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

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

// FindingInput starts a FindingWorkflow: the finding as recorded (stage and
// ledger number are set by the workflow), or, with Reopen, a closed finding
// as the ledger holds it, reopened by a FOLLOW_UP inspection's failed
// re-check.
type FindingInput struct {
	Finding ledger.Finding `json:"finding"`
	Reopen  *ReopenInput   `json:"reopen,omitempty"`
}

// ReopenInput says who reopened a closed finding, why, and from when the new
// rectification limit (at most one month) runs.
type ReopenInput struct {
	RequestID    string      `json:"request_id"`
	InspectionID string      `json:"inspection_id"`
	Actor        actor.Actor `json:"actor"`
	Reason       string      `json:"reason"`
	From         string      `json:"from"`
	Due          string      `json:"due,omitempty"`
}

func (r ReopenInput) rule() deadline.Rule {
	return deadline.RectificationAgain(r.From, r.Due)
}

// FindingState is what the state query and every update return.
type FindingState struct {
	Finding     ledger.Finding      `json:"finding"`
	Escalations []ledger.Escalation `json:"escalations"`
	// Pending are the escalation steps still to fire for the running
	// deadline.
	Pending []deadline.ScheduledStep `json:"pending"`
	// Recorded is true once the ledger holds the finding with its number.
	Recorded bool `json:"recorded"`
}

// FindingResult is what a finished FindingWorkflow returns.
type FindingResult struct {
	Stage string `json:"stage"`
}

// CalendarChangedSignal carries the loaded calendar version.
type CalendarChangedSignal struct {
	Version int64 `json:"version"`
}

// FindingSearchAttributes are set when a finding workflow starts.
func FindingSearchAttributes(f ledger.Finding) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(findingAttributes(f)...)
}

func findingAttributes(f ledger.Finding) []temporal.SearchAttributeUpdate {
	updates := []temporal.SearchAttributeUpdate{
		searchattr.Stage.ValueSet(FindingFound),
		searchattr.Unit.ValueSet(f.UnitCode),
		searchattr.Inspection.ValueSet(f.InspectionID),
		searchattr.Kind.ValueSet(f.Kind),
		searchattr.Overdue.ValueSet(false),
	}
	if f.Severity != "" {
		updates = append(updates, searchattr.Severity.ValueSet(f.Severity))
	}
	return updates
}

// FindingSummary is the Web UI's one-line summary of a finding workflow.
func FindingSummary(f ledger.Finding) string {
	if f.LedgerNumber != "" {
		return f.LedgerNumber + " · " + f.Title
	}
	return f.Title
}

// FindingWorkflow drives one finding round the closed loop, with its
// rectification deadline on durable timers and the escalation ladder.
func FindingWorkflow(ctx workflow.Context, in FindingInput) (FindingResult, error) {
	if in.Reopen != nil {
		w := &finding{row: in.Finding, mu: workflow.NewMutex(ctx), recorded: true}
		return w.reopen(ctx, *in.Reopen)
	}
	f := in.Finding
	f.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	f.Stage = FindingFound
	f.CreatedAt = workflow.Now(ctx).UTC()
	f.UpdatedAt = f.CreatedAt
	f.Version = 1
	w := &finding{row: f, mu: workflow.NewMutex(ctx)}
	return w.run(ctx)
}

// finding is the state behind FindingWorkflow.
type finding struct {
	row         ledger.Finding
	escalations []ledger.Escalation
	recorded    bool
	// refused is the ledger's refusal of the finding, when it refused it.
	refused error
	mu      workflow.Mutex

	// deadline is the running rectification deadline's ladder.
	deadline ladder

	deliveries int // webhook deliveries still running
}

func (w *finding) snapshot() FindingState {
	return FindingState{Finding: w.row, Escalations: slices.Clone(w.escalations), Recorded: w.recorded, Pending: w.deadline.pending()}
}

func (w *finding) subject() string { return FindingWorkflowID(w.row.ID) }

func (w *finding) run(ctx workflow.Context) (FindingResult, error) {
	if err := w.registerHandlers(ctx); err != nil {
		return FindingResult{}, err
	}
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)

	// FOUND: recorded with evidence, numbered in the ledger.
	var rec activities.RecordFindingResult
	if err := workflow.ExecuteActivity(actx, acts.RecordFinding, activities.RecordFindingInput{
		Finding: w.row, EventKey: "record/" + w.row.RequestID, InspectionStages: FindingRecordingStages,
	}).Get(ctx, &rec); err != nil {
		return FindingResult{}, failCreation(ctx, "recording finding "+w.row.ID, err, &w.refused)
	}
	w.row.LedgerNumber = rec.LedgerNumber

	// A MAJOR hazard or important problem is notified at once (charter 三(三)3).
	if NeedsImmediateNotice(w.row) {
		if err := w.notifyMajor(ctx); err != nil {
			return FindingResult{}, err
		}
	}

	// LISTED follows automatically once the ledger gave the number.
	next := w.row
	next.Stage = FindingListed
	if err := w.apply(ctx, next, ledger.Event{
		Key: "list/" + w.row.RequestID, Action: "list", Actor: actor.System,
		Note: "entered in the problem ledger as " + w.row.LedgerNumber,
	}); err != nil {
		return FindingResult{}, err
	}
	w.recorded = true

	workflow.Go(ctx, w.receiveCalendarChanges)

	if err := workflow.Await(ctx, func() bool {
		return !FindingOpen(w.row.Stage) && workflow.AllHandlersFinished(ctx) && w.deliveries == 0
	}); err != nil {
		return FindingResult{}, err
	}
	return FindingResult{Stage: w.row.Stage}, nil
}

func (w *finding) registerHandlers(ctx workflow.Context) error {
	if err := registerState(ctx, lifecycle[FindingState](w), "finding",
		func() string { return w.row.ID }, func() string { return w.row.RequestID },
		func() bool { return w.recorded }, func() error { return w.refused }); err != nil {
		return err
	}
	handlers := []struct {
		name string
		err  error
	}{
		{ActionDiagnose, registerChange(ctx, w, ActionDiagnose, func(in DiagnoseInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.diagnose)},
		{ActionClassify, registerChange(ctx, w, ActionClassify, func(in ClassifyInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.classify)},
		{ActionRefer, registerChange(ctx, w, ActionRefer, func(in ReferInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.refer)},
		{ActionReportRectification, registerChange(ctx, w, ActionReportRectification, func(in ReportRectificationInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.reportRectification)},
		{ActionVerify, registerChange(ctx, w, ActionVerify, func(in VerifyInput) (actor.Actor, bool, error) {
			return in.Actor, in.Accept, in.Validate()
		}, w.verify)},
		{ActionWithdraw, registerChange(ctx, w, ActionWithdraw, func(in WithdrawInput) (actor.Actor, bool, error) {
			return in.Actor, true, in.Validate()
		}, w.withdraw)},
	}
	for _, h := range handlers {
		if h.err != nil {
			return fmt.Errorf("registering update %s: %w", h.name, h.err)
		}
	}
	return nil
}

func (w *finding) mutex() workflow.Mutex { return w.mu }

func (w *finding) checkChange(action string, accepted bool, who actor.Actor) error {
	if _, err := NextFindingStage(w.row.ID, w.row.Stage, action, accepted); err != nil {
		return err
	}
	if !w.recorded {
		return &derrors.StageError{Reason: "NOT_RECORDED", Subject: w.subject(), Action: action, Stage: w.row.Stage,
			Message: w.subject() + " is still being recorded; retry shortly"}
	}
	return CheckFindingRole(action, who)
}

// apply writes a change to the ledger and, once written, makes it the
// workflow's state. The event key is the Temporal update ID when there is one,
// so a retried write records nothing twice.
func (w *finding) apply(ctx workflow.Context, next ledger.Finding, e ledger.Event) error {
	e = changeEvent(ctx, e, ledger.SubjectFinding, w.row.ID, w.row.Stage, next.Stage)
	next.Version = w.row.Version + 1
	next.UpdatedAt = e.OccurredAt
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	if err := workflow.ExecuteActivity(actx, acts.ApplyFindingChange, activities.FindingChangeInput{Finding: next, Event: e}).Get(ctx, nil); err != nil {
		return ledgerFailure(fmt.Sprintf("writing %s of %s to the ledger", e.Action, w.subject()), err)
	}
	w.row = next
	w.publish(ctx)
	return nil
}

// publish keeps the search attributes and the UI details current.
func (w *finding) publish(ctx workflow.Context) {
	updates := []temporal.SearchAttributeUpdate{
		searchattr.Stage.ValueSet(w.row.Stage),
		searchattr.Overdue.ValueSet(w.row.Overdue),
	}
	if w.row.Deadline != nil && w.row.Stage == FindingReferred {
		updates = append(updates, searchattr.DueAt.ValueSet(w.row.Deadline.DueAt))
	} else {
		updates = append(updates, searchattr.DueAt.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
	details := fmt.Sprintf("**%s** — stage %s", FindingSummary(w.row), w.row.Stage)
	if w.row.Deadline != nil && w.row.Stage == FindingReferred {
		details += "; rectification report due " + w.row.Deadline.Due.String()
	}
	if w.row.Overdue {
		details += " — OVERDUE"
	}
	workflow.SetCurrentDetails(ctx, details)
}

func evidenceJSON(ids []string) json.RawMessage {
	if len(ids) == 0 {
		return nil
	}
	b, _ := json.Marshal(ids) // a string slice always marshals
	return b
}

func dataJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func (w *finding) diagnose(ctx workflow.Context, in DiagnoseInput) error {
	next := w.row
	next.Stage = FindingDiagnosed
	d := in.Diagnosis
	next.Diagnosis = &d
	return w.apply(ctx, next, ledger.Event{Action: ActionDiagnose, Actor: in.Actor, Data: dataJSON(d)})
}

func (w *finding) classify(ctx workflow.Context, in ClassifyInput) error {
	next := w.row
	next.Stage = FindingClassified
	next.Dispositions = slices.Clone(in.Dispositions)
	return w.apply(ctx, next, ledger.Event{Action: ActionClassify, Actor: in.Actor, Note: in.Note,
		Data: dataJSON(map[string]any{"dispositions": in.Dispositions})})
}

func (w *finding) refer(ctx workflow.Context, in ReferInput) error {
	rule := deadline.Rectification("feedback_received_on", in.Referral.FeedbackReceivedOn, in.Referral.Due)
	resolved, err := w.resolve(ctx, rule)
	if err != nil {
		return err
	}
	next := w.row
	next.Stage = FindingReferred
	r := in.Referral
	next.Referral = &r
	next.Deadline = &resolved.Deadline
	next.DeadlineSeq++
	next.Overdue = false
	if err := w.apply(ctx, next, ledger.Event{Action: ActionRefer, Actor: in.Actor, Note: in.Note,
		Data: dataJSON(map[string]any{"referral": r, "deadline": resolved.Deadline})}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, nil)
	return nil
}

func (w *finding) reportRectification(ctx workflow.Context, in ReportRectificationInput) error {
	next := w.row
	next.Stage = FindingRectified
	next.Rectification = &ledger.Rectification{
		Report: in.Report, HandlingOfResponsible: in.HandlingOfResponsible,
		EvidenceIDs: slices.Clone(in.EvidenceIDs), ReportedAt: workflow.Now(ctx).UTC(),
	}
	// The report stops the clock: a report after the deadline was missed is
	// still recorded (missed_deadlines keeps the count), and the ladder ends.
	next.Overdue = false
	note := "rectification reported in time"
	if w.row.Deadline != nil && !workflow.Now(ctx).Before(w.row.Deadline.DueAt) {
		note = "rectification reported after the deadline " + w.row.Deadline.Due.String()
	}
	if err := w.apply(ctx, next, ledger.Event{Action: ActionReportRectification, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs),
		Data:     dataJSON(map[string]any{"report": in.Report, "handling_of_responsible": in.HandlingOfResponsible})}); err != nil {
		return err
	}
	w.deadline.stop()
	return nil
}

func (w *finding) verify(ctx workflow.Context, in VerifyInput) error {
	if in.Accept {
		next := w.row
		next.Stage = FindingClosed
		next.Overdue = false
		if err := w.apply(ctx, next, ledger.Event{Action: ActionVerify, Actor: in.Actor, Note: in.Reason,
			Data: dataJSON(map[string]any{"accept": true})}); err != nil {
			return err
		}
		w.ended(ctx, "closed", ActionVerify)
		return nil
	}
	today := calendar.DateOf(workflow.Now(ctx))
	rule := deadline.RectificationAgain(today.String(), in.Due)
	resolved, err := w.resolve(ctx, rule)
	if err != nil {
		return err
	}
	next := w.row
	next.Stage = FindingReferred
	next.ReopenCount++
	next.Rectification = nil
	next.Deadline = &resolved.Deadline
	next.DeadlineSeq++
	next.Overdue = false
	if err := w.apply(ctx, next, ledger.Event{Action: ActionVerify, Actor: in.Actor, Note: in.Reason,
		Data: dataJSON(map[string]any{"accept": false, "reopen_count": next.ReopenCount, "deadline": resolved.Deadline})}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, nil)
	return nil
}

func (w *finding) withdraw(ctx workflow.Context, in WithdrawInput) error {
	next := w.row
	next.Stage = FindingWithdrawn
	next.WithdrawReason = in.Reason
	// A withdrawn finding owes nothing: it is no longer overdue (the
	// escalations and the missed-deadline count stay as history).
	next.Overdue = false
	if err := w.apply(ctx, next, ledger.Event{Action: ActionWithdraw, Actor: in.Actor, Note: in.Reason}); err != nil {
		return err
	}
	// The proposals are cancelled, saying why, before the ladder stops: an
	// interview a ladder proposed before versionLadderInterviewOutlivesLadder
	// is cancelled by the stop too, and would only say "workflow cancelled".
	w.ended(ctx, "withdrawn", ActionWithdraw)
	w.deadline.stop()
	return nil
}

// ended finishes what the finding's end (how: "withdrawn", "closed") makes
// moot: the interviews its ladder proposed that nobody approved.
func (w *finding) ended(ctx workflow.Context, how, action string) {
	cancelProposedInterviews(ctx, w.subject(), fmt.Sprintf("finding %s was %s", w.row.ID, how),
		w.subject()+"/"+action, ladderInterviewIDs(w.subject(), w.escalations))
}

// resolve computes a deadline in an activity: the calendar is data.
func (w *finding) resolve(ctx workflow.Context, rule deadline.Rule) (deadline.Resolved, error) {
	return resolveDeadline(ctx, rule)
}

// resolveDeadline computes a deadline with the calendar and ladder in force,
// in an activity because the calendar and the ladder are data; the activity
// reads them and computes with deadline.Resolve. A refusal (a limit past the
// statutory one, a year without calendar data) comes back as the domain
// error.
func resolveDeadline(ctx workflow.Context, rule deadline.Rule) (deadline.Resolved, error) {
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var resolved deadline.Resolved
	if err := workflow.ExecuteActivity(actx, acts.ResolveDeadline, activities.ResolveDeadlineInput{Rule: rule}).Get(ctx, &resolved); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return deadline.Resolved{}, derrors.FromTemporal(err)
		}
		return deadline.Resolved{}, fmt.Errorf("computing the deadline: %w", err)
	}
	return resolved, nil
}

// reopen continues a closed finding in a new run: REFERRED again, with a new
// deadline and its ladder, the reopen counted and recorded.
func (w *finding) reopen(ctx workflow.Context, in ReopenInput) (FindingResult, error) {
	if err := w.registerHandlers(ctx); err != nil {
		return FindingResult{}, err
	}
	w.row.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.UpsertTypedSearchAttributes(ctx, findingAttributes(w.row)...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not set", "error", err)
	}
	rule := in.rule()
	resolved, err := w.resolve(ctx, rule)
	if err != nil {
		return FindingResult{}, err
	}
	next := w.row
	next.Stage = FindingReferred
	next.ReopenCount++
	next.Rectification = nil
	next.Deadline = &resolved.Deadline
	next.DeadlineSeq++
	next.Overdue = false
	if err := w.apply(ctx, next, ledger.Event{Key: "reopen/" + in.RequestID, Action: "reopen", Actor: in.Actor,
		Note: "re-check by follow-up inspection " + in.InspectionID + " failed: " + in.Reason,
		Data: dataJSON(map[string]any{"inspection_id": in.InspectionID, "reopen_count": next.ReopenCount, "deadline": resolved.Deadline})}); err != nil {
		return FindingResult{}, err
	}
	w.startLadder(ctx, rule, resolved, nil)
	workflow.Go(ctx, w.receiveCalendarChanges)
	if err := workflow.Await(ctx, func() bool {
		return !FindingOpen(w.row.Stage) && workflow.AllHandlersFinished(ctx) && w.deliveries == 0
	}); err != nil {
		return FindingResult{}, err
	}
	return FindingResult{Stage: w.row.Stage}, nil
}
