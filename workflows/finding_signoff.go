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
	"github.com/xuncha/xuncha/internal/searchattr"
)

// Sign-off before close-out (销号, issue 14 item 3): closing a finding may
// need more than the office's verification. The office's escalation policy
// names, per kind (and hazard severity), a set of signers — roles or
// organisations, ordered or not (casework.SignoffRule): for a MAJOR hazard,
// say, the competent department's sign-off and then the office's. When the
// office's verification accepts a rectification whose finding has such a
// rule, the finding stays RECTIFIED and a round of sign-off starts; each
// signer signs or refuses, with evidence. The finding closes when the set is
// complete; a refusal sends it back to REFERRED with a new deadline (the
// reopen counted), like a rejected verification.
//
// This file is the one home of those rules: checkVerifyWhileSigning and
// checkSignOff (what the finding's own state allows, in the updates'
// validators), requestSignoff (the verification's acceptance, under
// versionSignoff) and signOff.

// ActionSignOff is a signer's sign-off or refusal; it leads to CLOSED once
// the set is complete, to REFERRED on a refusal, and otherwise keeps the
// finding RECTIFIED.
const ActionSignOff = "signOff"

// FindingSignoffActions lists the sign-off actions callers can ask for.
var FindingSignoffActions = []string{ActionSignOff}

// versionSignoff is the workflow.GetVersion change ID under which an
// accepted verification first reads the office's sign-off rule (an
// activity) and, when the rule names signers, waits for them instead of
// closing. Histories recorded before it close at the verification, as they
// did.
const versionSignoff = "signoff-before-close"

// versionSignoffDeadline is the workflow.GetVersion change ID under which a
// round of sign-off has a deadline (the rule's working days after the
// verification, resolved with the calendar) and a ladder: the office's
// reminder before it and the overdue step at it. Rounds requested before
// it have neither.
const versionSignoffDeadline = "signoff-deadline"

// The sign-off's ladder steps, as escalations record them (their
// DeadlineSeq is the round's Seq): the office's REMINDER and OVERDUE steps
// of the signers' deadline.
const (
	StepSignoffReminder = "SIGNOFF_REMINDER"
	StepSignoffOverdue  = "SIGNOFF_OVERDUE"
)

// Reasons of the sign-off refusals (derrors.StageError.Reason).
const (
	// ReasonSignoffPending: the verification was accepted already; the
	// finding waits for its signers.
	ReasonSignoffPending = "SIGNOFF_PENDING"
	// ReasonNoSignoffPending: nothing waits for a signature (not yet
	// verified, or no sign-off needed).
	ReasonNoSignoffPending = "NO_SIGNOFF_PENDING"
	// ReasonNotASigner: the caller is none of the signers still awaited.
	ReasonNotASigner = "NOT_A_SIGNER"
	// ReasonSignoffOutOfOrder: an ordered set's earlier signer has not
	// signed yet.
	ReasonSignoffOutOfOrder = "SIGNOFF_OUT_OF_ORDER"
	// ReasonAlreadySigned: the caller signed this round already.
	ReasonAlreadySigned = "ALREADY_SIGNED"
)

// SignOffInput is the signOff update's argument: one signer signs the
// finding off, or refuses.
type SignOffInput struct {
	Change
	// Approve signs off; false refuses.
	Approve bool `json:"approve"`
	// Reason is why it is refused (required), or a note on the sign-off.
	Reason      string   `json:"reason,omitempty"`
	EvidenceIDs []string `json:"evidence_ids"`
	// Due is the new limit's last day when refusing; empty means one
	// month.
	Due string `json:"due,omitempty"`
}

// Validate checks the fields; names are SignOffFindingRequest's.
func (in SignOffInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireTextIf(!in.Approve, "reason", in.Reason, 5000)
	dateOnlyIf(&v, !in.Approve, "due", in.Due, i18n.T("is only given when refusing"))
	if len(in.EvidenceIDs) == 0 {
		v.Add("evidence_ids", "must list at least one piece of evidence (the signed close-out form, the inspection record)")
	}
	return v.Err()
}

// pendingSignoff is the index of the round of sign-off under way.
func pendingSignoff(f casework.Finding) (int, bool) {
	i := slices.IndexFunc(f.Signoffs, func(s casework.Signoff) bool { return s.State == casework.SignoffPending })
	return i, i >= 0
}

// signed reports whether slot i of s carries a signature.
func signed(s casework.Signoff, i int) bool {
	return slices.ContainsFunc(s.Signatures, func(sig casework.Signature) bool { return sig.Signed && sig.Signer == i })
}

// awaited lists the signers of s still to sign, in order.
func awaited(s casework.Signoff) []casework.Signer {
	var out []casework.Signer
	for i, signer := range s.Signers {
		if !signed(s, i) {
			out = append(out, signer)
		}
	}
	return out
}

// sameSigner tells whether two actors are the same person or system: by
// their sign-in subject when both have one, else by name, role and
// organisation.
func sameSigner(a, b actor.Actor) bool {
	if a.Subject != "" && b.Subject != "" {
		return a.Subject == b.Subject
	}
	return a.Name == b.Name && a.Role == b.Role && a.Organisation == b.Organisation
}

func signerNames(signers []casework.Signer) i18n.Text {
	var t i18n.Text
	for i, s := range signers {
		if i > 0 {
			t.EN += ", "
			t.ZH += "、"
		}
		t.EN += s.String()
		t.ZH += s.Zh()
	}
	return t
}

// checkVerifyWhileSigning refuses a second verification while a round of
// sign-off waits: the office verified already.
func checkVerifyWhileSigning(f casework.Finding) error {
	if i, ok := pendingSignoff(f); ok && f.Stage == FindingRectified {
		return findingRefusal(f, ActionVerify, ReasonSignoffPending,
			"%s: the rectification was verified; the close-out waits for the sign-off of %s",
			FindingWorkflowID(f.ID), signerNames(awaited(f.Signoffs[i])))
	}
	return nil
}

// signerSlot is the slot of the pending round s that who fills, or the
// refusal: who signed this round already, is none of the signers awaited,
// or (ordered) an earlier signer has not signed yet. In a round signed in
// any order, who fills the first open slot it matches; specificSlot then
// prefers one that names its organisation.
func signerSlot(f casework.Finding, s casework.Signoff, who actor.Actor) (int, error) {
	id := FindingWorkflowID(f.ID)
	for _, sig := range s.Signatures {
		if sig.Signed && sameSigner(sig.By, who) {
			return 0, findingRefusal(f, ActionSignOff, ReasonAlreadySigned,
				"%s: %s signed this close-out already (as %s)", id, who.Text(), s.Signers[sig.Signer].Text())
		}
	}
	next := -1
	for i, signer := range s.Signers {
		if signed(s, i) {
			continue
		}
		if next < 0 {
			next = i
		}
		if !signer.Matches(who) {
			continue
		}
		if s.Ordered && i != next {
			return 0, findingRefusal(f, ActionSignOff, ReasonSignoffOutOfOrder,
				"%s: the signers sign in order; %s signs before %s", id, s.Signers[next].Text(), signer.Text())
		}
		return i, nil
	}
	return 0, findingRefusal(f, ActionSignOff, ReasonNotASigner,
		"%s: %s is none of the signers awaited: %s", id, who.Text(), signerNames(awaited(s)))
}

// versionSpecificSlot: in a round signed in any order, a signer whom
// several open slots name fills the one that names its organisation, not
// the first: a department that took a slot any committee member may fill
// left its own slot open and the other department none (NOT_A_SIGNER),
// and could not sign again. Asked only when the two slots differ.
const versionSpecificSlot = "signoff-specific-slot"

// specificSlot is, in a round signed in any order, the open slot that
// names who's organisation among those who matches, or else the first it
// matches (-1: none). An ordered round's slot is the next one.
func specificSlot(s casework.Signoff, who actor.Actor) int {
	first := -1
	for i, signer := range s.Signers {
		if signed(s, i) || !signer.Matches(who) {
			continue
		}
		if s.Ordered || signer.Organisation != "" {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// checkSignOff refuses a sign-off the finding's state does not allow:
// none is under way, the caller is not the signer (or not yet), or the
// signature would close out a finding whose referred clue has no final
// outcome yet (the finding records every outcome before it can close; a
// clue may be referred while the signers sign). Outside RECTIFIED it says
// nothing: the stage table refuses.
func checkSignOff(f casework.Finding, in SignOffInput) error {
	if f.Stage != FindingRectified {
		return nil
	}
	i, ok := pendingSignoff(f)
	if !ok {
		return findingRefusal(f, ActionSignOff, ReasonNoSignoffPending,
			"%s: no close-out waits for a sign-off: the office verifies the rectification first, and only findings the escalation policy's sign-off rules name need one",
			FindingWorkflowID(f.ID))
	}
	if _, err := signerSlot(f, f.Signoffs[i], in.Actor); err != nil {
		return err
	}
	if in.Approve && len(awaited(f.Signoffs[i])) == 1 {
		return referralsSettled(f, ActionSignOff)
	}
	return nil
}

// lastSignature reports whether the pending round of sign-off of f awaits
// one signature only: an approving one closes the finding out.
func lastSignature(f casework.Finding) bool {
	i, ok := pendingSignoff(f)
	return ok && len(awaited(f.Signoffs[i])) == 1
}

// signoffTerms reads the office's sign-off rule for the finding, in an
// activity: the policy is data.
func (r ledgerRunner) signoffTerms(ctx workflow.Context, f casework.Finding) (activities.SignoffTerms, error) {
	var terms activities.SignoffTerms
	if err := r.call(ctx, &terms, acts.SignoffTerms, activities.SignoffTermsInput{Kind: f.Kind, Severity: f.Severity}); err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return activities.SignoffTerms{}, derrors.FromTemporal(err)
		}
		return activities.SignoffTerms{}, fmt.Errorf("reading the sign-off rules: %w", err)
	}
	return terms, nil
}

// requestSignoff is an accepted verification's first step since
// versionSignoff, in runs below code level 2: when the office's rule for
// the finding names signers, a round of sign-off starts (askSignoff; asked
// reports true); otherwise nothing happens here and the verification
// closes the finding. Level-2 runs read the rule in the close-out's own
// ledger call (finding.verify).
func (w *finding) requestSignoff(ctx workflow.Context, in VerifyInput) (asked bool, _ error) {
	if w.ledger.version(ctx, versionSignoff, 1) == workflow.DefaultVersion {
		return false, nil
	}
	terms, err := w.ledger.signoffTerms(ctx, w.row)
	if err != nil || terms.Rule == nil {
		return false, err
	}
	return true, w.askSignoff(ctx, in, terms)
}

// askSignoff starts a round of sign-off for an accepted verification under
// terms, whose rule names signers: the verification is recorded, the
// finding stays RECTIFIED.
func (w *finding) askSignoff(ctx workflow.Context, in VerifyInput, terms activities.SignoffTerms) error {
	so := casework.Signoff{
		Seq: len(w.row.Signoffs) + 1, Round: w.row.ReopenCount, State: casework.SignoffPending,
		Ordered: terms.Rule.Ordered, Signers: slices.Clone(terms.Rule.Signers), PolicyVersion: terms.PolicyVersion,
		RequestedBy: in.Actor, RequestedAt: workflow.Now(ctx).UTC(),
	}
	var rule *deadline.Rule
	var resolved deadline.Resolved
	if w.ledger.version(ctx, versionSignoffDeadline, 1) != workflow.DefaultVersion {
		r := deadline.SignoffDue(calendar.DateOf(workflow.Now(ctx)).String(), terms.Rule.Days())
		var err error
		if resolved, err = w.ledger.resolveDeadline(ctx, r); err != nil {
			return err
		}
		so.Deadline, rule = &resolved.Deadline, &r
	}
	next := w.row
	next.Signoffs = append(slices.Clone(w.row.Signoffs), so)
	order := "in any order"
	if so.Ordered {
		order = "in this order"
	}
	note := fmt.Sprintf("rectification verified; the close-out awaits the sign-off of %s (%s)", signerNames(so.Signers), order)
	if so.Deadline != nil {
		note += ", due " + so.Deadline.Due.String()
	}
	if in.Reason != "" {
		note += ": " + in.Reason
	}
	if err := w.apply(ctx, next, casework.Event{Action: ActionVerify, Actor: in.Actor, Note: note,
		Data: dataJSON(map[string]any{"accept": true, "signoff": so})}); err != nil {
		return err
	}
	if rule != nil {
		w.startFollowThrough(ctx, signoffFollowThrough, so.Seq, *rule, resolved, nil)
	}
	w.publishSignoff(ctx)
	w.announceSignoff(ctx, EventSignoffRequested, "requested", so, nil)
	return nil
}

// signOff records one signer's sign-off or refusal (the validator found
// its slot). The last signature closes the finding; a refusal sends it
// back to REFERRED with a new deadline, the reopen counted.
func (w *finding) signOff(ctx workflow.Context, in SignOffInput) error {
	i, _ := pendingSignoff(w.row)
	so := w.row.Signoffs[i]
	slot, err := signerSlot(w.row, so, in.Actor)
	if err != nil {
		return err
	}
	if specific := specificSlot(so, in.Actor); specific != slot &&
		workflow.GetVersion(ctx, versionSpecificSlot, workflow.DefaultVersion, 1) >= 1 {
		slot = specific
	}
	now := workflow.Now(ctx).UTC()
	sig := casework.Signature{Signer: slot, Signed: in.Approve, Reason: in.Reason, EvidenceIDs: slices.Clone(in.EvidenceIDs),
		By: in.Actor, At: now}
	so.Signatures = append(slices.Clone(so.Signatures), sig)
	signer := so.Signers[slot]
	with := func(s casework.Signoff) []casework.Signoff {
		out := slices.Clone(w.row.Signoffs)
		out[i] = s
		return out
	}

	if !in.Approve {
		so.State, so.EndedAt = casework.SignoffRefused, &now
		today := calendar.DateOf(workflow.Now(ctx))
		var reopens int
		if err := w.rectifyAgain(ctx, deadline.RectificationAgain(today.String(), in.Due).SetBy(in.Actor.Organisation),
			func(next *casework.Finding) {
				next.ReopenCount++
				next.Rectification = nil
				next.Signoffs = with(so)
				reopens = next.ReopenCount
			},
			casework.Event{Action: ActionSignOff, Actor: in.Actor, Evidence: evidenceJSON(in.EvidenceIDs),
				Note: fmt.Sprintf("sign-off %d refused by %s (as %s): %s", so.Seq, in.Actor, signer, in.Reason)},
			func() map[string]any {
				return map[string]any{"approve": false, "signoff": so, "signature": sig, "reopen_count": reopens}
			}); err != nil {
			return err
		}
		w.signing.stop()
		w.publishSignoff(ctx)
		w.announceSignoff(ctx, EventSignoffRefused, "refused", so, &sig)
		return nil
	}

	next := w.row
	complete := len(awaited(so)) == 0
	// The last signature, admitted while another was still awaited (two
	// signed at once), does not close out a clue never referred.
	if complete {
		if err := clueReferredToClose(ctx, w.row, ActionSignOff); err != nil {
			return err
		}
	}
	note := fmt.Sprintf("signed off by %s (as %s); awaiting %s", in.Actor, signer, signerNames(awaited(so)))
	if complete {
		so.State, so.EndedAt = casework.SignoffComplete, &now
		next.Stage = FindingClosed
		next.Overdue = false
		note = fmt.Sprintf("signed off by %s (as %s); every signer signed: closed out", in.Actor, signer)
	}
	if in.Reason != "" {
		note += ": " + in.Reason
	}
	next.Signoffs = with(so)
	if err := w.apply(ctx, next, casework.Event{Action: ActionSignOff, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs),
		Data:     dataJSON(map[string]any{"approve": true, "signoff": so, "signature": sig, "complete": complete})}); err != nil {
		return err
	}
	if complete {
		w.signing.stop()
	}
	w.publishSignoff(ctx)
	w.announceSignoff(ctx, EventSignedOff, "signed", so, &sig)
	if complete {
		w.ended(ctx, "closed", ActionSignOff)
	}
	return nil
}

// publishSignoff keeps the sign-off search attribute current (set only on
// findings that needed a sign-off).
func (w *finding) publishSignoff(ctx workflow.Context) {
	_, pending := pendingSignoff(w.row)
	if err := workflow.UpsertTypedSearchAttributes(ctx, searchattr.SignoffPending.ValueSet(pending)); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// announceSignoff posts a round's request, a signature or a refusal to the
// subscribed webhooks.
func (w *finding) announceSignoff(ctx workflow.Context, eventType, what string, so casework.Signoff, sig *casework.Signature) {
	data := findingData(w.row, map[string]any{
		"kind":     w.row.Kind,
		"severity": w.row.Severity,
		"stage":    w.row.Stage,
		"signoff":  so,
		"awaiting": awaited(so),
	})
	key := fmt.Sprintf("%s/signoff/%d/%s", w.subject(), so.Seq, what)
	if sig != nil {
		data["signature"] = *sig
		key = fmt.Sprintf("%s/signoff/%d/%s/%d", w.subject(), so.Seq, what, len(so.Signatures))
	}
	if d := w.row.Deadline; d != nil && w.row.Stage == FindingReferred {
		data["due"] = d.Due
		data["deadline"] = d.Explanation
	}
	announce(ctx, w.ledger, &w.deliveries, eventType, key, data)
}

// signoffFollowThrough is a round of sign-off's deadline
// (finding_followthrough.go): the rule's working days after the
// verification, reminded and escalated as SIGNOFF_REMINDER and
// SIGNOFF_OVERDUE (webhook finding.signoff_overdue) while the round waits
// for signatures; its number is the round's.
var signoffFollowThrough = &followThrough{
	key: "signoff", action: "Signoff", noun: "sign-off",
	reminder: StepSignoffReminder, overdue: StepSignoffOverdue,
	ladder: func(w *finding) *ladder { return &w.signing },
	item: func(f casework.Finding, seq int) (*calendar.Deadline, bool) {
		i, ok := pendingSignoff(f)
		if !ok || f.Signoffs[i].Seq != seq || f.Stage != FindingRectified {
			return nil, false
		}
		return f.Signoffs[i].Deadline, true
	},
	with: func(f casework.Finding, seq int, d calendar.Deadline, overdue bool) casework.Finding {
		i := slices.IndexFunc(f.Signoffs, func(s casework.Signoff) bool { return s.Seq == seq })
		f.Signoffs = withItem(f.Signoffs, i, func(s *casework.Signoff) {
			s.Deadline = &d
			s.Overdue = s.Overdue || overdue
		})
		return f
	},
	message: func(f casework.Finding, seq int, step string, due calendar.Deadline) i18n.Text {
		i, _ := pendingSignoff(f)
		waiting := signerNames(awaited(f.Signoffs[i]))
		if step == StepSignoffOverdue {
			return i18n.T("sign-off overdue: the close-out of %s still awaits the sign-off of %s, due %s; escalated to the office",
				findingLabel(f), waiting, due.Due)
		}
		return i18n.T("reminder: the close-out of %s awaits the sign-off of %s by %s", findingLabel(f), waiting, due.Due)
	},
	redated: func(seq int, version int64, due, was calendar.Date) string {
		return fmt.Sprintf("sign-off %d re-dated by calendar version %d: due %s (was %s)", seq, version, due, was)
	},
	data: func(f casework.Finding, seq int) map[string]any {
		i, _ := pendingSignoff(f)
		return map[string]any{"awaiting": awaited(f.Signoffs[i])}
	},
	announce: func(ctx workflow.Context, w *finding, seq int, _ casework.Escalation) {
		i, _ := pendingSignoff(w.row)
		w.announceSignoff(ctx, EventSignoffOverdue, "overdue", w.row.Signoffs[i], nil)
	},
}

// lapseSignoff closes the round still waiting for signatures when the
// finding is withdrawn; without one it returns signoffs as they are.
func lapseSignoff(signoffs []casework.Signoff, now time.Time) []casework.Signoff {
	i := slices.IndexFunc(signoffs, func(s casework.Signoff) bool { return s.State == casework.SignoffPending })
	if i < 0 {
		return signoffs
	}
	out := slices.Clone(signoffs)
	out[i].State, out[i].EndedAt = casework.SignoffLapsed, &now
	return out
}

// signoffDetails is the sign-off part of a finding's Web UI details.
func signoffDetails(f casework.Finding) string {
	i, ok := pendingSignoff(f)
	if !ok || f.Stage != FindingRectified {
		return ""
	}
	so := f.Signoffs[i]
	done := len(so.Signers) - len(awaited(so))
	out := i18n.Zh("; verified, sign-off %d/%d, awaiting %s", done, len(so.Signers), signerNames(awaited(so)))
	switch {
	case so.Deadline != nil && so.Overdue:
		out += i18n.Zh(" — SIGN-OFF OVERDUE, was due %s", so.Deadline.Due)
	case so.Deadline != nil:
		out += i18n.Zh(", sign-off due %s", so.Deadline.Due)
	}
	return out
}
