package workflows

import (
	"encoding/json"
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// FindingInput starts a FindingWorkflow: the finding as recorded (stage and
// ledger number are set by the workflow), or, with Reopen, a closed finding
// as the ledger holds it, reopened by a FOLLOW_UP inspection's failed
// re-check, or, with Adopt, a finding the ledger already holds, numbered
// and LISTED, that no workflow has driven yet (a problem list's import
// writes its rows in one transaction and starts their workflows after).
type FindingInput struct {
	Finding casework.Finding `json:"finding"`
	Reopen  *ReopenInput     `json:"reopen,omitempty"`
	// Adopt takes Finding as the ledger holds it: nothing is recorded, no
	// recording window is checked (it may have closed since the import);
	// the notice of a major hazard or important problem is sent.
	Adopt bool `json:"adopt,omitempty"`
	// StartedListed says that the start set the search attributes of the
	// finding as its record lists it (CreatingStart): a run at level 3
	// then has no upsert of its own as it is recorded, and publishes the
	// recorded finding's when the ledger does not take it.
	StartedListed bool `json:"started_listed,omitempty"`
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
	Finding casework.Finding `json:"finding"`
	// Progress: Recorded once the ledger holds the finding with its
	// number.
	Progress
}

// CalendarChangedSignal carries the loaded calendar version.
type CalendarChangedSignal struct {
	Version int64 `json:"version"`
}

// CreatingStart is how the workflow of a new finding f is started on
// taskQueue: its ID, the type that runs at level 3 (FindingWorkflowName),
// its search attributes and its summary. A finding its record lists at
// once starts with the attributes of the listed finding, which the run
// then does not upsert again (FindingInput.StartedListed); one notified at
// once is FOUND until the notice is sent, and starts so. A refused finding
// fails its run, so a retry may start the ID again.
func CreatingStart(f casework.Finding, taskQueue string) (client.StartWorkflowOptions, FindingInput, string) {
	attrs := findingAttributes(f)
	in := FindingInput{Finding: f, StartedListed: !NeedsImmediateNotice(f)}
	if in.StartedListed {
		listed := f
		listed.Stage = FindingListed
		attrs = append(attrs, findingSpec.searchUpdates(listed)...)
	}
	return client.StartWorkflowOptions{
		ID:                    FindingWorkflowID(f.ID),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
		StaticSummary:         FindingSummary(f),
	}, in, FindingWorkflowName
}

func findingAttributes(f casework.Finding) []temporal.SearchAttributeUpdate {
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
func FindingSummary(f casework.Finding) string {
	if f.LedgerNumber != "" {
		return f.LedgerNumber + " · " + f.Title
	}
	return f.Title
}

// findingSpec plugs the finding's closed loop into the lifecycle core.
var findingSpec = &spec[casework.Finding]{
	machine:   findingMachine,
	lifecycle: func(f *casework.Finding) *casework.Lifecycle { return &f.Lifecycle },
	deadline:  runsIn(FindingReferred, func(f *casework.Finding) **calendar.Deadline { return &f.Deadline }),
	write: func(next casework.Finding, e casework.Event) (any, any) {
		return acts.ApplyFindingChange, activities.FindingChangeInput{Finding: next, Event: e}
	},
	writeEscalation: func(esc casework.Escalation, next casework.Finding, e casework.Event) (any, any) {
		return acts.Escalate, activities.EscalateInput{Escalation: esc, Finding: next, Event: e}
	},
	escalation: func(f casework.Finding, step deadline.ScheduledStep, due calendar.Deadline) i18n.Text {
		switch step.Step {
		case casework.StepReminder:
			return i18n.T("reminder: the rectification report of %s is due %s", findingLabel(f), due.Due)
		case casework.StepOverdue:
			return i18n.T("overdue: the rectification report of %s was due %s; escalated to the office", findingLabel(f), due.Due)
		case casework.StepInterviewProposed:
			return i18n.T("still overdue %d working days after %s: an interview (约谈) of the leaders of unit %s is proposed",
				step.WorkingDays, due.Due, unitLabel(f.UnitName, f.UnitCode))
		}
		return i18n.T("%s: the rectification report of %s is due %s", step.Step, findingLabel(f), due.Due)
	},
	announcement: func(f casework.Finding) (string, map[string]any) {
		return EventFindingEscalated, findingData(f, map[string]any{})
	},
	title:     func(f casework.Finding) string { return "**" + FindingSummary(f) + "**" },
	stageName: i18n.FindingStage,
	dueWhat:   "rectification report",
	footer:    func(f casework.Finding) string { return extensionDetails(f) + signoffDetails(f) + referralDetails(f) },
	attributes: func(f casework.Finding) []temporal.SearchAttributeUpdate {
		if a := Awaiting(f); len(a) > 0 {
			return []temporal.SearchAttributeUpdate{searchattr.Awaiting.ValueSet(a)}
		}
		return []temporal.SearchAttributeUpdate{searchattr.Awaiting.ValueUnset()}
	},
}

// findingData is a finding's webhook payload: what names the finding in
// every event about it (its ID and ledger number, inspection, unit and
// title), and what the event adds (more, which it fills in).
func findingData(f casework.Finding, more map[string]any) map[string]any {
	more["finding_id"] = f.ID
	more["ledger_number"] = f.LedgerNumber
	more["inspection_id"] = f.InspectionID
	more["unit_code"] = f.UnitCode
	more["title"] = f.Title
	return more
}

// unitLabel names a unit as the office does, by its name and code
// ("长沙市（430100）"); by its code alone when it has no name.
func unitLabel(name, code string) i18n.Text {
	if name == "" {
		return i18n.Text{EN: code, ZH: code}
	}
	return i18n.Text{EN: name + " (" + code + ")", ZH: name + "（" + code + "）"}
}

// inspectionLabel names an inspection as the office does: its unit, kind
// and round ("长沙市（430100）综合巡查（2026年第一轮）").
func inspectionLabel(in casework.Inspection) i18n.Text {
	unit := unitLabel(in.UnitName, in.UnitCode)
	t := i18n.Text{EN: "the " + in.Kind + " inspection of " + unit.EN, ZH: unit.ZH + i18n.InspectionKind(in.Kind)}
	if in.Round != "" {
		t.EN += ", " + in.Round
		t.ZH += "（" + in.Round + "）"
	}
	return t
}

// findingLabel names a finding in escalation messages: its ledger number
// once it has one.
func findingLabel(f casework.Finding) string {
	if f.LedgerNumber != "" {
		return f.LedgerNumber
	}
	return FindingWorkflowID(f.ID)
}

// FindingWorkflow drives one finding round the closed loop, with its
// rectification deadline on durable timers and the escalation ladder.
func FindingWorkflow(ctx workflow.Context, in FindingInput) (LifecycleResult, error) {
	if in.Reopen != nil {
		w := &finding{core: newCore(ctx, findingSpec, in.Finding)}
		w.recorded = true
		return w.reopen(ctx, *in.Reopen)
	}
	if in.Adopt {
		w := &finding{core: newCore(ctx, findingSpec, in.Finding)}
		w.recorded = true
		return w.adopt(ctx)
	}
	f := in.Finding
	f.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	f.Stage = FindingFound
	f.CreatedAt = workflow.Now(ctx).UTC()
	f.UpdatedAt = f.CreatedAt
	f.Version = 1
	w := &finding{core: newCore(ctx, findingSpec, f)}
	return w.run(ctx, in.StartedListed)
}

// finding is the state behind FindingWorkflow.
type finding struct {
	core[casework.Finding]
	// receipt runs the ladder of the clue referral awaiting its receipt
	// (finding_referral.go).
	receipt ladder
	// signing runs the ladder of the round of sign-off waiting for its
	// signers (finding_signoff.go).
	signing ladder
}

func (w *finding) snapshot() FindingState {
	return FindingState{Finding: w.row, Progress: w.progress()}
}

// run records and lists the new finding, then drives it to its end.
// startedListed is FindingInput.StartedListed: a level-3 run whose record
// lists it at once then has the listed finding's search attributes
// already.
func (w *finding) run(ctx workflow.Context, startedListed bool) (LifecycleResult, error) {
	// FOUND: recorded with evidence, numbered in the ledger. LISTED
	// follows automatically once the ledger gave the number: since level 2
	// in the same ledger write, unless the finding is notified at once,
	// which comes between the two.
	notify := NeedsImmediateNotice(w.row)
	listed := w.ledger.level >= levelTwo && !notify
	startedListed = startedListed && listed && w.ledger.level >= levelThree
	// The handlers, then the finding's own rules, behind the API that asked
	// them as it built the input (begin).
	if err := w.begin(ctx, w.registerHandlers, ValidateFinding(w.row), func() {
		if startedListed {
			w.publish(ctx) // not listed after all
		}
	}); err != nil {
		return LifecycleResult{}, err
	}
	var rec activities.RecordFindingResult
	if err := w.ledger.call(ctx, &rec, acts.RecordFinding, activities.RecordFindingInput{
		Finding: w.row, EventKey: "record/" + w.row.RequestID, InspectionStages: FindingRecordingStages, Listed: listed,
	}); err != nil {
		if startedListed {
			w.publish(ctx) // not listed after all: FOUND, as a run that fails shows
		}
		return LifecycleResult{}, failCreation(ctx, w.creating(), err, &w.refused)
	}
	w.row.LedgerNumber = rec.LedgerNumber

	if listed {
		w.row.Stage, w.row.Version = FindingListed, w.row.Version+1
		if startedListed {
			workflow.SetCurrentDetails(ctx, w.details())
		} else {
			w.publish(ctx)
		}
	} else {
		// A MAJOR hazard or important problem is notified at once (charter 三(三)3).
		if notify {
			if err := w.notifyMajor(ctx); err != nil {
				return LifecycleResult{}, err
			}
		}
		next := w.row
		next.Stage = FindingListed
		if err := w.apply(ctx, next, casework.Event{
			Key: "list/" + w.row.RequestID, Action: "list", Actor: actor.System,
			Note: "entered in the problem ledger as " + w.row.LedgerNumber,
		}); err != nil {
			return LifecycleResult{}, err
		}
	}
	w.recorded = true
	return w.live(ctx, w.receiveCalendarChanges)
}

func (w *finding) registerHandlers(ctx workflow.Context) error {
	for _, err := range []error{
		registerState(ctx, w, &w.core),
		registerChange(ctx, w, ActionDiagnose, func(in DiagnoseInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.diagnose),
		registerChange(ctx, w, ActionClassify, func(in ClassifyInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.classify),
		registerAdmitted(ctx, w, ActionRefer, func(in ReferInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(ctx workflow.Context, in ReferInput) error {
				_, err := dayHasCome(ctx, "feedback_received_on", in.Referral.FeedbackReceivedOn)
				return err
			}, w.refer),
		registerChange(ctx, w, ActionReportRectification, func(in ReportRectificationInput) (actor.Actor, error) { return in.Actor, in.Validate() }, w.reportRectification),
		registerChange(ctx, w, ActionVerify, func(in VerifyInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			if err := checkVerifyWhileSigning(w.row); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkReferralsSettled(w.row, in)
		}, w.verify),
		registerAdmitted(ctx, w, ActionWithdraw, func(in WithdrawInput) (actor.Actor, error) { return in.Actor, in.Validate() },
			func(workflow.Context, WithdrawInput) error { return checkNoClueInHand(w.row) }, w.withdraw),
		registerChange(ctx, w, ActionRequestExtension, func(in RequestExtensionInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkExtensionRequest(w.row, in.Due, workflow.Now(ctx))
		}, w.requestExtension),
		registerChange(ctx, w, ActionDecideExtension, func(in DecideExtensionInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkExtensionDecision(w.row, in, workflow.Now(ctx))
		}, w.decideExtension),
		registerAdmitted(ctx, w, ActionSignOff, func(in SignOffInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkSignOff(w.row, in)
		}, func(_ workflow.Context, in SignOffInput) error {
			if !in.Approve || !lastSignature(w.row) {
				return nil
			}
			return checkClueReferred(w.row, ActionSignOff)
		}, w.signOff),
		w.registerReferralHandlers(ctx),
	} {
		if err != nil {
			return fmt.Errorf("registering finding handlers: %w", err)
		}
	}
	return nil
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

// notifyMajor tells the unit and the office about a MAJOR hazard or an
// important problem with the rectification opinion, as soon as it is found.
func (w *finding) notifyMajor(ctx workflow.Context) error {
	if err := w.apply(ctx, w.row, casework.Event{
		Key: "notify/" + w.row.RequestID, Action: "notify", Actor: actor.System,
		Note: fmt.Sprintf("notified to unit %s and the office at once, with the rectification opinion", w.row.UnitCode),
		Data: dataJSON(map[string]any{"recipients": []string{"unit:" + w.row.UnitCode, "office"},
			"rectification_opinion": w.row.RectificationOpinion}),
	}); err != nil {
		return err
	}
	announce(ctx, w.ledger, &w.deliveries, EventMajorFinding, w.subject()+"/major", findingData(w.row, map[string]any{
		"unit_name":             w.row.UnitName,
		"kind":                  w.row.Kind,
		"severity":              w.row.Severity,
		"important":             w.row.Important,
		"rectification_opinion": w.row.RectificationOpinion,
	}))
	return nil
}

func (w *finding) diagnose(ctx workflow.Context, in DiagnoseInput) error {
	next := w.row
	next.Stage = FindingDiagnosed
	d := in.Diagnosis
	next.Diagnosis = &d
	return w.apply(ctx, next, casework.Event{Action: ActionDiagnose, Actor: in.Actor, Data: dataJSON(d)})
}

func (w *finding) classify(ctx workflow.Context, in ClassifyInput) error {
	next := w.row
	next.Stage = FindingClassified
	next.Dispositions = slices.Clone(in.Dispositions)
	return w.apply(ctx, next, casework.Event{Action: ActionClassify, Actor: in.Actor, Note: in.Note,
		Data: dataJSON(map[string]any{"dispositions": in.Dispositions})})
}

// rectifyAgain moves the finding to REFERRED with a new rectification
// deadline computed by rule, records the change with e, whose data are
// data() and the deadline under "deadline", and starts the deadline's
// ladder: the referral, a rejected verification, a refused sign-off and a
// failed re-check all do this. before prepares the row (the referral, the
// reopen count); data is asked after it.
func (w *finding) rectifyAgain(ctx workflow.Context, rule deadline.Rule, before func(*casework.Finding), e casework.Event,
	data func() map[string]any) error {
	next := w.row
	next.Stage = FindingReferred
	before(&next)
	next.DeadlineSeq++
	next.Overdue = false
	next.OriginalDue = "" // a new deadline of the office's, not extended yet
	var resolved deadline.Resolved
	if w.ledger.level >= levelTwo {
		// One ledger call computes the deadline and writes the change
		// with it (activities.ApplyFindingDeadline).
		e.Data = dataJSON(data())
		if err := w.applyVia(ctx, next, e, func(next casework.Finding, e casework.Event) (any, any) {
			return acts.ApplyFindingDeadline, activities.FindingDeadlineInput{Finding: next, Event: e, Rule: rule}
		}, &resolved, func(f *casework.Finding) bool { f.Deadline = &resolved.Deadline; return true }); err != nil {
			return err
		}
	} else {
		var err error
		if resolved, err = w.ledger.resolveDeadline(ctx, rule); err != nil {
			return err
		}
		next.Deadline = &resolved.Deadline
		d := data()
		d["deadline"] = resolved.Deadline
		e.Data = dataJSON(d)
		if err := w.apply(ctx, next, e); err != nil {
			return err
		}
	}
	w.startLadder(ctx, rule, resolved, nil)
	return nil
}

func (w *finding) refer(ctx workflow.Context, in ReferInput) error {
	r := in.Referral
	return w.rectifyAgain(ctx, deadline.Rectification("feedback_received_on", r.FeedbackReceivedOn, r.Due),
		func(next *casework.Finding) { next.Referral = &r },
		casework.Event{Action: ActionRefer, Actor: in.Actor, Note: in.Note},
		func() map[string]any { return map[string]any{"referral": r} })
}

func (w *finding) reportRectification(ctx workflow.Context, in ReportRectificationInput) error {
	next := w.row
	next.Stage = FindingRectified
	next.Rectification = &casework.Rectification{
		Report: in.Report, HandlingOfResponsible: in.HandlingOfResponsible,
		EvidenceIDs: slices.Clone(in.EvidenceIDs), ReportedAt: workflow.Now(ctx).UTC(),
	}
	next.Extensions = lapsePending(w.row.Extensions, workflow.Now(ctx).UTC(), i18n.T("the rectification was reported before a decision"))
	// The report stops the clock: a report after the deadline was missed is
	// still recorded (missed_deadlines keeps the count), and the ladder ends.
	next.Overdue = false
	note := "rectification reported in time"
	if w.row.Deadline != nil && !workflow.Now(ctx).Before(w.row.Deadline.DueAt) {
		note = "rectification reported after the deadline " + w.row.Deadline.Due.String()
	}
	data := map[string]any{"report": in.Report, "handling_of_responsible": in.HandlingOfResponsible}
	if l := lapsed(w.row, next); l != nil {
		data["lapsed"] = l
	}
	if err := w.apply(ctx, next, casework.Event{Action: ActionReportRectification, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs), Data: dataJSON(data)}); err != nil {
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
		e := casework.Event{Action: ActionVerify, Actor: in.Actor, Note: in.Reason, Data: dataJSON(map[string]any{"accept": true})}
		if w.ledger.level >= levelTwo {
			// One ledger call reads the office's sign-off rule and, when
			// it names no signers, closes the finding
			// (activities.CloseFinding); otherwise the rule holds the
			// close-out for its signers (finding_signoff.go).
			// A clue never referred closes out only after a round of
			// sign-off, whose last signature waits for its referral
			// (checkClueReferred): without signers it is refused.
			unreferred := checkClueReferred(w.row, ActionVerify)
			var res activities.CloseFindingResult
			if err := w.applyVia(ctx, next, e, func(next casework.Finding, e casework.Event) (any, any) {
				return acts.CloseFinding, activities.CloseFindingInput{Finding: next, Event: e, OnlyToSign: unreferred != nil}
			}, &res, func(*casework.Finding) bool { return res.Closed }); err != nil {
				return err
			}
			if !res.Closed && res.Terms.Rule == nil && unreferred != nil {
				return unreferred
			}
			if !res.Closed {
				return w.askSignoff(ctx, in, res.Terms)
			}
		} else {
			// Since versionSignoff, the office's sign-off rule may hold
			// the close-out for its signers (finding_signoff.go).
			if asked, err := w.requestSignoff(ctx, in); asked || err != nil {
				return err
			}
			if err := clueReferredToClose(ctx, w.row, ActionVerify); err != nil {
				return err
			}
			if err := w.apply(ctx, next, e); err != nil {
				return err
			}
		}
		w.ended(ctx, "closed", ActionVerify)
		return nil
	}
	today := calendar.DateOf(workflow.Now(ctx))
	var reopens int
	return w.rectifyAgain(ctx, deadline.RectificationAgain(today.String(), in.Due),
		func(next *casework.Finding) { next.ReopenCount++; next.Rectification = nil; reopens = next.ReopenCount },
		casework.Event{Action: ActionVerify, Actor: in.Actor, Note: in.Reason},
		func() map[string]any { return map[string]any{"accept": false, "reopen_count": reopens} })
}

func (w *finding) withdraw(ctx workflow.Context, in WithdrawInput) error {
	next := w.row
	next.Stage = FindingWithdrawn
	next.WithdrawReason = in.Reason
	next.Extensions = lapsePending(w.row.Extensions, workflow.Now(ctx).UTC(), i18n.T("the finding was withdrawn before a decision"))
	next.Signoffs = lapseSignoff(w.row.Signoffs, workflow.Now(ctx).UTC())
	// A withdrawn finding owes nothing: it is no longer overdue (the
	// escalations and the missed-deadline count stay as history).
	next.Overdue = false
	var data json.RawMessage
	if l := lapsed(w.row, next); l != nil {
		data = dataJSON(map[string]any{"lapsed": l})
	}
	if err := w.apply(ctx, next, casework.Event{Action: ActionWithdraw, Actor: in.Actor, Note: in.Reason, Data: data}); err != nil {
		return err
	}
	// The proposals are cancelled, saying why, before the ladder stops: an
	// interview a ladder proposed before versionLadderInterviewOutlivesLadder
	// is cancelled by the stop too, and would only say "workflow cancelled".
	w.ended(ctx, "withdrawn", ActionWithdraw)
	w.deadline.stop()
	w.signing.stop()
	return nil
}

// adopt drives a finding the ledger already holds from where it stands: its
// row came with the input, read from the ledger by whoever started the
// workflow. A MAJOR hazard or important problem is notified now, under the
// mutex, so that a change sent with the start (update-with-start) comes
// after it; the notice's event and webhook are keyed, so they are sent once.
func (w *finding) adopt(ctx workflow.Context) (LifecycleResult, error) {
	w.row.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	notify := w.spec.machine.open(w.stage()) && NeedsImmediateNotice(w.row)
	if notify {
		// Held before the handlers exist: a change sent with the start waits.
		if err := w.mu.Lock(ctx); err != nil {
			return LifecycleResult{}, err
		}
	}
	if err := w.registerHandlers(ctx); err != nil {
		return LifecycleResult{}, err
	}
	if notify {
		err := w.notifyMajor(ctx)
		w.mu.Unlock()
		if err != nil {
			return LifecycleResult{}, err
		}
	} else {
		// The start set the search attributes from the row: no upsert,
		// which would cost the workflow service a write per finding.
		workflow.SetCurrentDetails(ctx, w.details())
	}
	return w.live(ctx, w.receiveCalendarChanges)
}

// reopen continues a closed finding in a new run: REFERRED again, with a new
// deadline and its ladder, the reopen counted and recorded.
// versionReopenRetries: a reopening whose ledger write failed (past the
// ledger's retry window) is made again later (retryAgain) instead of
// failing the run. Asked only on failure.
const versionReopenRetries = "reopen-retries"

func (w *finding) reopen(ctx workflow.Context, in ReopenInput) (LifecycleResult, error) {
	if err := w.registerHandlers(ctx); err != nil {
		return LifecycleResult{}, err
	}
	w.row.WorkflowID = workflow.GetInfo(ctx).WorkflowExecution.ID
	if err := workflow.UpsertTypedSearchAttributes(ctx, findingAttributes(w.row)...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not set", "error", err)
	}
	var reopens int
	// Made again later, in a run since versionReopenRetries: the
	// inspection has recorded the re-check as failed, and the finding
	// stayed CLOSED when the reopening's write failed.
	if err := writeRetrying(ctx, versionReopenRetries, "the reopening of finding "+w.row.ID, func() error {
		return w.rectifyAgain(ctx, in.rule(),
			func(next *casework.Finding) { next.ReopenCount++; next.Rectification = nil; reopens = next.ReopenCount },
			casework.Event{Key: "reopen/" + in.RequestID, Action: "reopen", Actor: in.Actor,
				Note: "re-check by follow-up inspection " + in.InspectionID + " failed: " + in.Reason},
			func() map[string]any {
				return map[string]any{"inspection_id": in.InspectionID, "reopen_count": reopens}
			})
	}); err != nil {
		return LifecycleResult{}, err
	}
	return w.live(ctx, w.receiveCalendarChanges)
}
