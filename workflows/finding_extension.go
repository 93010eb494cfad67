package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

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

// Extensions (延期, issue 14 item 1): before its rectification deadline
// passes, the unit may ask for more time, with a reason and evidence; the
// office approves with a new last day or refuses with a reason. The finding
// stays REFERRED throughout and its deadline's ladder keeps running while a
// request waits. An approval starts a new deadline (DeadlineSeq + 1) whose
// ladder fires at the new instants. The office's escalation policy limits
// how many extensions one rectification deadline gets, how far they move it
// in total (from its original last day) and which hazard severities may be
// extended at all (casework.ExtensionLimits).
//
// This file is the one home of those rules: checkExtensionRequest and
// checkExtensionDecision (what the finding's own state allows, in the
// updates' validators, with workflow time) and checkExtensionTerms (what
// the office's limits allow, in the handlers, once the limits are read).

// Extension actions: they keep the finding REFERRED.
const (
	ActionRequestExtension = "requestExtension"
	ActionDecideExtension  = "decideExtension"
)

// FindingExtensionActions lists the extension actions callers can ask for.
var FindingExtensionActions = []string{ActionRequestExtension, ActionDecideExtension}

// Reasons of the extension refusals (derrors.StageError.Reason).
const (
	ReasonExtensionAfterDeadline = "EXTENSION_AFTER_DEADLINE"
	ReasonExtensionPending       = "EXTENSION_PENDING"
	ReasonNoPendingExtension     = "NO_PENDING_EXTENSION"
	ReasonExtensionLimit         = "EXTENSION_LIMIT"
	ReasonExtensionSeverity      = "EXTENSION_NOT_ALLOWED_FOR_SEVERITY"
)

// RequestExtensionInput is the requestExtension update's argument: the unit
// (or the office on its behalf) asks for a later last day.
type RequestExtensionInput struct {
	Change
	// Due is the last day asked for (YYYY-MM-DD).
	Due         string   `json:"due"`
	Reason      string   `json:"reason"`
	EvidenceIDs []string `json:"evidence_ids"`
}

// Validate checks the fields; names are RequestExtensionRequest's.
func (in RequestExtensionInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	requireDate(&v, "due", in.Due)
	v.RequireText("reason", in.Reason, 5000)
	if len(in.EvidenceIDs) == 0 {
		v.Add("evidence_ids", "must list at least one piece of evidence of why more time is needed")
	}
	return v.Err()
}

// DecideExtensionInput is the decideExtension update's argument: the office
// approves the pending request, with a new last day, or refuses it.
type DecideExtensionInput struct {
	Change
	Approve bool `json:"approve"`
	// Due is the approved last day (YYYY-MM-DD); empty approves the day
	// asked for.
	Due string `json:"due,omitempty"`
	// Reason is why it is refused (required), or a note on the approval.
	Reason string `json:"reason,omitempty"`
}

// Validate checks the fields; names are DecideExtensionRequest's.
func (in DecideExtensionInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireTextIf(!in.Approve, "reason", in.Reason, 5000)
	dateOnlyIf(&v, in.Approve, "due", in.Due, i18n.T("is only given when approving"))
	return v.Err()
}

// pendingExtension is the index of the request waiting for the office.
func pendingExtension(f casework.Finding) (int, bool) {
	i := slices.IndexFunc(f.Extensions, func(e casework.Extension) bool { return e.State == casework.ExtensionPending })
	return i, i >= 0
}

// approvedExtensions counts the extensions granted to the running
// rectification deadline (its round: the referral's, or the one set by the
// last rejection or reopening).
func approvedExtensions(f casework.Finding) int {
	n := 0
	for _, e := range f.Extensions {
		if e.State == casework.ExtensionApproved && e.Round == f.ReopenCount {
			n++
		}
	}
	return n
}

// originalDue is the running deadline's last day as the office set it,
// before any extension.
func originalDue(f casework.Finding) string {
	if f.OriginalDue != "" {
		return f.OriginalDue
	}
	return f.Deadline.Due.String()
}

// checkExtensionRequest refuses a request the finding's state does not
// allow at now: one after the running deadline has passed, one while
// another waits for the office, one for a day not after the running
// deadline's. Outside REFERRED it says nothing: the stage table refuses.
func checkExtensionRequest(f casework.Finding, due string, now time.Time) error {
	if f.Stage != FindingReferred || f.Deadline == nil {
		return nil
	}
	if f.Deadline.Missed(now) {
		return findingRefusal(f, ActionRequestExtension, ReasonExtensionAfterDeadline,
			"%s: the rectification deadline %s has passed; an extension is asked for before it passes", FindingWorkflowID(f.ID), f.Deadline.Due)
	}
	if i, ok := pendingExtension(f); ok {
		return findingRefusal(f, ActionRequestExtension, ReasonExtensionPending,
			"%s: extension %d (to %s) is waiting for the office's decision", FindingWorkflowID(f.ID), f.Extensions[i].Seq, f.Extensions[i].RequestedDue)
	}
	return checkLater(f, due, "due")
}

// checkExtensionDecision refuses a decision the finding's state does not
// allow at now: none is pending, or an approval's day is not after the
// running deadline's or already past.
func checkExtensionDecision(f casework.Finding, in DecideExtensionInput, now time.Time) error {
	if f.Stage != FindingReferred || f.Deadline == nil {
		return nil
	}
	i, ok := pendingExtension(f)
	if !ok {
		return findingRefusal(f, ActionDecideExtension, ReasonNoPendingExtension,
			"%s: no extension request is waiting for a decision", FindingWorkflowID(f.ID))
	}
	if !in.Approve {
		return nil
	}
	due := approvedDue(f.Extensions[i], in)
	if err := checkLater(f, due, "due"); err != nil {
		return err
	}
	if today := calendar.DateOf(now); calendar.MustParseDate(due).Before(today) { // checkLater parsed it
		return derrors.Invalid("due", "must not be before today, %s", today)
	}
	return nil
}

// approvedDue is the day an approval grants: the office's, or the one asked
// for.
func approvedDue(e casework.Extension, in DecideExtensionInput) string {
	if in.Due != "" {
		return in.Due
	}
	return e.RequestedDue
}

// checkLater refuses a day (a valid YYYY-MM-DD) not after the running
// deadline's last day.
func checkLater(f casework.Finding, due, field string) error {
	d, err := calendar.ParseDate(due)
	if err != nil {
		return derrors.Invalid(field, "must be a date YYYY-MM-DD")
	}
	if !d.After(f.Deadline.Due) {
		return derrors.Invalid(field, "must be after %s, the running deadline's last day", f.Deadline.Due)
	}
	return nil
}

// checkExtensionTerms refuses what the office's limits (terms, read for the
// running deadline's original last day) do not allow for due: no extension
// at all, the finding's severity, as many extensions as allowed already
// granted, the total already used up, or due past the last day the total
// allows.
func checkExtensionTerms(f casework.Finding, terms deadline.ExtensionTerms, due, action string) error {
	id := FindingWorkflowID(f.ID)
	limits := terms.Limits
	switch granted := approvedExtensions(f); {
	case limits.MaxCount == 0 || terms.Latest == nil:
		return findingRefusal(f, action, ReasonExtensionLimit,
			"%s: the office's escalation policy (version %d) allows no extension", id, terms.PolicyVersion)
	case f.Severity != "" && !slices.Contains(limits.Severities, f.Severity):
		return findingRefusal(f, action, ReasonExtensionSeverity,
			"%s: a %s hazard's deadline may not be extended (the office's escalation policy, version %d, allows %s)",
			id, i18n.Term(i18n.Severity, f.Severity), terms.PolicyVersion, i18n.Terms(i18n.Severity, ", ", limits.Severities...))
	case granted >= limits.MaxCount:
		return findingRefusal(f, action, ReasonExtensionLimit,
			"%s: this rectification deadline was extended %d times already, the most the office's escalation policy (version %d) allows",
			id, granted, terms.PolicyVersion)
	case !terms.Latest.Due.After(f.Deadline.Due):
		return findingRefusal(f, action, ReasonExtensionLimit,
			"%s: extensions have used up their total: the deadline may move at most %s (its original last day), to %s",
			id, terms.Latest.PeriodText(), terms.Latest.Due)
	}
	if d, err := calendar.ParseDate(due); err != nil || d.After(terms.Latest.Due) {
		return derrors.Invalid("due", "must be no later than %s: extensions may move the deadline at most %s, its original last day",
			terms.Latest.Due, terms.Latest.PeriodText())
	}
	return nil
}

// extensionTerms reads the office's extension limits for a deadline whose
// original last day is original, in an activity: the policy and the
// calendar are data. A refusal (a year without calendar data) comes back
// as the domain error.
func (r ledgerRunner) extensionTerms(ctx workflow.Context, original string) (deadline.ExtensionTerms, error) {
	var terms deadline.ExtensionTerms
	if err := r.call(ctx, &terms, acts.ExtensionTerms, activities.ExtensionTermsInput{OriginalDue: original}); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return deadline.ExtensionTerms{}, derrors.FromTemporal(err)
		}
		return deadline.ExtensionTerms{}, fmt.Errorf("reading the extension limits: %w", err)
	}
	return terms, nil
}

// requestExtension records the unit's request; the deadline and its ladder
// run on until the office decides.
func (w *finding) requestExtension(ctx workflow.Context, in RequestExtensionInput) error {
	original := originalDue(w.row)
	terms, err := w.ledger.extensionTerms(ctx, original)
	if err != nil {
		return err
	}
	if err := checkExtensionTerms(w.row, terms, in.Due, ActionRequestExtension); err != nil {
		return err
	}
	ext := casework.Extension{
		Seq: len(w.row.Extensions) + 1, Round: w.row.ReopenCount, DeadlineSeq: w.row.DeadlineSeq,
		State: casework.ExtensionPending, PreviousDue: w.row.Deadline.Due.String(), OriginalDue: original,
		RequestedDue: in.Due, Reason: in.Reason, EvidenceIDs: slices.Clone(in.EvidenceIDs),
		RequestedBy: in.Actor, RequestedAt: workflow.Now(ctx).UTC(),
	}
	next := w.row
	next.Extensions = append(slices.Clone(w.row.Extensions), ext)
	if err := w.apply(ctx, next, casework.Event{Action: ActionRequestExtension, Actor: in.Actor,
		Note:     fmt.Sprintf("extension %d requested: due %s asked for (due %s now): %s", ext.Seq, in.Due, ext.PreviousDue, in.Reason),
		Evidence: evidenceJSON(in.EvidenceIDs),
		Data:     dataJSON(map[string]any{"extension": ext}),
	}); err != nil {
		return err
	}
	w.announceExtension(ctx, EventExtensionRequested, "requested", ext)
	return nil
}

// decideExtension records the office's decision on the pending request. An
// approval re-dates the running deadline: a new deadline (DeadlineSeq + 1),
// no longer overdue, whose ladder starts afresh at the new instants.
func (w *finding) decideExtension(ctx workflow.Context, in DecideExtensionInput) error {
	i, _ := pendingExtension(w.row) // the validator made sure
	ext := w.row.Extensions[i]
	now := workflow.Now(ctx).UTC()
	who := in.Actor
	ext.DecidedBy, ext.DecidedAt, ext.DecisionReason = &who, &now, in.Reason
	next := w.row
	next.Extensions = slices.Clone(w.row.Extensions)
	if !in.Approve {
		ext.State = casework.ExtensionRefused
		next.Extensions[i] = ext
		if err := w.apply(ctx, next, casework.Event{Action: ActionDecideExtension, Actor: in.Actor,
			Note: fmt.Sprintf("extension %d refused: %s", ext.Seq, in.Reason),
			Data: dataJSON(map[string]any{"approve": false, "extension": ext}),
		}); err != nil {
			return err
		}
		w.announceExtension(ctx, EventExtensionDecided, "decided", ext)
		return nil
	}

	due := approvedDue(ext, in)
	original := originalDue(w.row)
	terms, err := w.ledger.extensionTerms(ctx, original)
	if err != nil {
		return err
	}
	if err := checkExtensionTerms(w.row, terms, due, ActionDecideExtension); err != nil {
		return err
	}
	rule := deadline.Extension(original, terms.Limits, due)
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	old := *w.row.Deadline
	ext.State, ext.ApprovedDue, ext.PreviousDue = casework.ExtensionApproved, due, old.Due.String()
	next.Extensions[i] = ext
	next.OriginalDue = original
	next.Deadline = &resolved.Deadline
	next.DeadlineSeq++
	next.Overdue = false
	note := fmt.Sprintf("extension %d approved: due %s (was %s; originally %s)", ext.Seq, resolved.Deadline.Due, old.Due, original)
	if effective := resolved.Deadline.Due.String(); effective != due {
		// The approved day was a rest day: the deadline is the working day
		// after (Civil Code art. 203), which the note gives; it gave the
		// day approved.
		note += fmt.Sprintf("; %s, the day approved, is a rest day", due)
	}
	if in.Reason != "" {
		note += ": " + in.Reason
	}
	if err := w.apply(ctx, next, casework.Event{Action: ActionDecideExtension, Actor: in.Actor, Note: note,
		Data: dataJSON(map[string]any{"approve": true, "extension": ext, "old_due": old.Due, "new_due": resolved.Deadline.Due,
			"original_due": original, "deadline": resolved.Deadline, "policy_version": terms.PolicyVersion}),
	}); err != nil {
		return err
	}
	w.startLadder(ctx, rule, resolved, nil)
	w.announceExtension(ctx, EventExtensionDecided, "decided", ext)
	return nil
}

// announceExtension posts an extension's request or decision to the
// subscribed webhooks.
func (w *finding) announceExtension(ctx workflow.Context, eventType, what string, ext casework.Extension) {
	data := findingData(w.row, map[string]any{
		"severity":  w.row.Severity,
		"extension": ext,
	})
	if d := w.row.Deadline; d != nil {
		data["due"] = d.Due
		data["deadline"] = d.Explanation
	}
	announce(ctx, w.ledger, &w.deliveries, eventType, fmt.Sprintf("%s/extension/%d/%s", w.subject(), ext.Seq, what), data)
}

// lapsePending closes the request still waiting for the office when the
// finding leaves REFERRED (why says how), so that it is no longer pending;
// without one it returns exts as they are.
func lapsePending(exts []casework.Extension, now time.Time, why i18n.Text) []casework.Extension {
	i := slices.IndexFunc(exts, func(e casework.Extension) bool { return e.State == casework.ExtensionPending })
	if i < 0 {
		return exts
	}
	out := slices.Clone(exts)
	system := actor.System
	out[i].State, out[i].DecidedBy, out[i].DecidedAt = casework.ExtensionLapsed, &system, &now
	out[i].DecisionReason, out[i].DecisionReasonZH = why.EN, why.ZH
	return out
}

// lapsed names, for a change's event, the extension request and the round
// of sign-off the change made lapse (their seq), nil when it made none so.
func lapsed(before, after casework.Finding) map[string]any {
	out := map[string]any{}
	for i, e := range after.Extensions {
		if e.State == casework.ExtensionLapsed && before.Extensions[i].State != casework.ExtensionLapsed {
			out["extension"] = e.Seq
		}
	}
	for i, s := range after.Signoffs {
		if s.State == casework.SignoffLapsed && before.Signoffs[i].State != casework.SignoffLapsed {
			out["signoff"] = s.Seq
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// extensionDetails is the extension part of a finding's Web UI details.
func extensionDetails(f casework.Finding) string {
	if f.Stage != FindingReferred {
		return ""
	}
	var out string
	if f.OriginalDue != "" {
		out += i18n.Zh("; extended %d× from %s", approvedExtensions(f), f.OriginalDue)
	}
	if i, ok := pendingExtension(f); ok {
		out += i18n.Zh("; extension to %s requested, awaiting the office", f.Extensions[i].RequestedDue)
	}
	return out
}
