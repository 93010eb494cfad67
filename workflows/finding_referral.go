package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Referral of clues by cadre-management authority (移交, issue 14 item 2):
// a VIOLATION_CLUE or RESPONSIBILITY finding classified REFER_CLUE is
// referred to the body with jurisdiction over the people concerned. The
// office's routing table (casework.ReferralRoute: administrative level of the
// unit × kind of clue × cadre rank) proposes the receiver; the office
// confirms it or overrides it with a reason. The receiver acknowledges
// receipt (回执) within the route's working days — otherwise the ladder
// escalates (REFERRAL_REMINDER before, REFERRAL_UNACKNOWLEDGED at the
// deadline, webhook referral.unacknowledged) — and later reports the outcome
// (立案, 不予立案, 处理结果). The finding may close only when every referral
// is settled (CONCLUDED or NOT_FILED).
//
// The finding's stage does not move: a clue is referred, acknowledged and
// answered while the finding is REFERRED or RECTIFIED, beside the unit's
// rectification. This file is the one home of these rules:
// checkReferClue, checkReferralAnswer (what the finding's state allows, in
// the validators) and checkReferralsSettled (the close-out's gate, in
// verify's validator); the routing decision (chooseReceiver) in the
// handler, once the route is read.

// Referral actions: they keep the finding in its stage.
const (
	ActionReferClue             = "referClue"
	ActionAcknowledgeReferral   = "acknowledgeReferral"
	ActionReportReferralOutcome = "reportReferralOutcome"
)

// FindingReferralActions lists the referral actions callers can ask for.
var FindingReferralActions = []string{ActionReferClue, ActionAcknowledgeReferral, ActionReportReferralOutcome}

// Reasons of the referral refusals (derrors.StageError.Reason).
const (
	ReasonNotAClue                = "NOT_A_CLUE"
	ReasonReferralOpen            = "REFERRAL_OPEN"
	ReasonNoReferralRoute         = "NO_REFERRAL_ROUTE"
	ReasonNoReferral              = "NO_REFERRAL"
	ReasonReferralAcknowledged    = "REFERRAL_ALREADY_ACKNOWLEDGED"
	ReasonReferralNotAcknowledged = "REFERRAL_NOT_ACKNOWLEDGED"
	ReasonReferralSettled         = "REFERRAL_SETTLED"
	ReasonReferralOutcomePending  = "REFERRAL_OUTCOME_PENDING"
	ReasonClueNotReferred         = "CLUE_NOT_REFERRED"
)

// The referral's ladder steps, as escalations record them (their
// DeadlineSeq is the referral's Seq): the office's REMINDER and OVERDUE
// steps of the receipt's deadline. A proposed interview is the unit's
// leaders' and has no place here.
const (
	StepReferralReminder       = "REFERRAL_REMINDER"
	StepReferralUnacknowledged = "REFERRAL_UNACKNOWLEDGED"
)

// clueKinds are the finding kinds that carry a clue to refer.
var clueKinds = []string{KindViolationClue, KindResponsibility}

// referralStages are the finding stages in which referral actions are
// taken: from the hand-over until the close-out.
var referralStages = []string{FindingReferred, FindingRectified}

// withClueReferralMoves adds the referral actions to the finding's stage
// table: each keeps the finding in its stage.
func withClueReferralMoves(moves map[string][]move) map[string][]move {
	for _, stage := range referralStages {
		for _, action := range FindingReferralActions {
			moves[stage] = append(moves[stage], move{action, stage})
		}
	}
	return moves
}

// withClueReferralRoles adds who may take the referral actions: the office
// refers; the receiving body acknowledges and reports its outcome, or the
// office enters a paper receipt or outcome for it.
func withClueReferralRoles(roles map[string][]string) map[string][]string {
	roles[ActionReferClue] = []string{actor.RoleOffice}
	roles[ActionAcknowledgeReferral] = []string{actor.RoleReceiver, actor.RoleOffice}
	roles[ActionReportReferralOutcome] = []string{actor.RoleReceiver, actor.RoleOffice}
	return roles
}

// ReferClueInput is the referClue update's argument.
type ReferClueInput struct {
	Change
	// UnitLevel is the unit's administrative level; empty takes it from
	// the unit's division code (UnitLevelOf).
	UnitLevel string `json:"unit_level,omitempty"`
	ClueKind  string `json:"clue_kind"`
	CadreRank string `json:"cadre_rank"`
	// Receiver, when set, is the office's choice; empty confirms the
	// routing table's. OverrideReason says why it differs from the table.
	Receiver       string `json:"receiver,omitempty"`
	OverrideReason string `json:"override_reason,omitempty"`
	// AckWorkingDays is the receipt's limit; 0 takes the route's (or
	// casework.DefaultAckWorkingDays for a receiver the table does not name).
	AckWorkingDays int    `json:"ack_working_days,omitempty"`
	Note           string `json:"note,omitempty"`
}

// Validate checks the fields; names are ReferClueRequest's.
func (in ReferClueInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if in.UnitLevel != "" && !slices.Contains(casework.UnitLevels, in.UnitLevel) {
		v.Add("unit_level", "must be one of %s (or empty: taken from the unit's division code)", strings.Join(casework.UnitLevels, ", "))
	}
	if !slices.Contains(casework.ClueKinds, in.ClueKind) {
		v.Add("clue_kind", "must be one of %s", strings.Join(casework.ClueKinds, ", "))
	}
	if !slices.Contains(casework.CadreRanks, in.CadreRank) {
		v.Add("cadre_rank", "must be one of %s", strings.Join(casework.CadreRanks, ", "))
	}
	if in.Receiver != "" {
		casework.ValidateReceiver(&v, "receiver", in.Receiver)
		v.LimitText("override_reason", in.OverrideReason, 2000)
	} else if in.OverrideReason != "" {
		v.Add("override_reason", "is only given with receiver, to override the routing table's")
	}
	if in.AckWorkingDays != 0 {
		casework.ValidateAckWorkingDays(&v, "ack_working_days", in.AckWorkingDays)
	}
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// AcknowledgeReferralInput is the acknowledgeReferral update's argument:
// the receipt (回执).
type AcknowledgeReferralInput struct {
	Change
	// Seq names the referral; 0 names the one awaiting receipt (for a
	// receiver, the one referred to it).
	Seq           int    `json:"seq,omitempty"`
	ReceiptNumber string `json:"receipt_number,omitempty"`
	Note          string `json:"note,omitempty"`
}

// Validate checks the fields; names are AcknowledgeReferralRequest's.
func (in AcknowledgeReferralInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if in.Seq < 0 {
		v.Add("seq", "must be a referral's number (1, 2, …), or 0 for the one awaiting receipt")
	}
	v.LimitText("receipt_number", in.ReceiptNumber, 100)
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// ReportReferralOutcomeInput is the reportReferralOutcome update's
// argument: 立案 (FILED), 不予立案 (NOT_FILED) or 处理结果 (CONCLUDED).
type ReportReferralOutcomeInput struct {
	Change
	// Seq names the referral; 0 names the one not yet settled (for a
	// receiver, the one referred to it).
	Seq         int      `json:"seq,omitempty"`
	Outcome     string   `json:"outcome"`
	Summary     string   `json:"summary"`
	CaseNumber  string   `json:"case_number,omitempty"`
	EvidenceIDs []string `json:"evidence_ids,omitempty"`
}

// Validate checks the fields; names are ReportReferralOutcomeRequest's.
func (in ReportReferralOutcomeInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if in.Seq < 0 {
		v.Add("seq", "must be a referral's number (1, 2, …), or 0 for the one not yet settled")
	}
	if !slices.Contains(casework.ReferralOutcomes, in.Outcome) {
		v.Add("outcome", "must be one of %s", strings.Join(casework.ReferralOutcomes, ", "))
	}
	v.RequireText("summary", in.Summary, 10000)
	v.RequireTextIf(in.Outcome == casework.OutcomeFiled, "case_number", in.CaseNumber, 100)
	for i, id := range in.EvidenceIDs {
		v.RequireText(fmt.Sprintf("evidence_ids[%d]", i), id, 200)
	}
	return v.Err()
}

// UnitLevelOf is the administrative level of a unit with a six-digit
// administrative division code (430000 the province, 430100 a city, 430102
// a county); false for any other code (an organisation code), whose level
// the office gives. It reads any six digits, a first 0 too, unlike
// casework.IsLocalGovernment: the referral's check asks it again as a
// running finding replays the referrals it took, so what it took stays
// taken.
func UnitLevelOf(unitCode string) (string, bool) {
	if len(unitCode) != 6 || strings.Trim(unitCode, "0123456789") != "" {
		return "", false
	}
	switch {
	case strings.HasSuffix(unitCode, "0000"):
		return casework.UnitLevelProvince, true
	case strings.HasSuffix(unitCode, "00"):
		return casework.UnitLevelCity, true
	}
	return casework.UnitLevelCounty, true
}

// checkReferClue refuses a referral the finding does not allow: it carries
// no clue (kind, or not classified REFER_CLUE), a referral awaits its
// receipt, or one to the same receiver is not settled; and a unit level it
// cannot take from the unit's code. Outside the referral stages it says
// nothing: the stage table refuses.
func checkReferClue(f casework.Finding, in ReferClueInput) error {
	if !slices.Contains(referralStages, f.Stage) {
		return nil
	}
	id := findingLabel(f)
	if !slices.Contains(clueKinds, f.Kind) || !slices.Contains(f.Dispositions, "REFER_CLUE") {
		// Kinds and dispositions by their Chinese names in Chinese (it
		// read "REFER_CLUE 的 VIOLATION_CLUE or RESPONSIBILITY 问题"), the
		// finding by its ledger number.
		return findingRefusal(f, ActionReferClue, ReasonNotAClue,
			"%s: only a %s finding classified %s is referred to the body with jurisdiction (this one is %s, classified %s)",
			id, i18n.Alternatives(i18n.FindingKind, clueKinds...), i18n.Term(i18n.Disposition, "REFER_CLUE"),
			i18n.Term(i18n.FindingKind, f.Kind), i18n.Terms(i18n.Disposition, ", ", f.Dispositions...))
	}
	for _, r := range f.ClueReferrals {
		switch {
		case r.State == casework.ReferralAwaitingReceipt:
			return findingRefusal(f, ActionReferClue, ReasonReferralOpen,
				"%s: referral %d to %s awaits its receipt; refer again once it is acknowledged", id, r.Seq, r.Receiver)
		case in.Receiver != "" && r.Receiver == in.Receiver && !casework.ReferralSettled(r.State):
			return findingRefusal(f, ActionReferClue, ReasonReferralOpen,
				"%s: referral %d to %s is not settled yet", id, r.Seq, r.Receiver)
		}
	}
	if in.UnitLevel == "" {
		if _, ok := UnitLevelOf(f.UnitCode); !ok {
			return derrors.Invalid("unit_level", "must be given: unit code %s is not an administrative division code", f.UnitCode)
		}
	}
	return nil
}

// checkNoClueInHand refuses to withdraw a finding whose clue a body is
// handling (a referral not settled): withdrawn, the finding's workflow
// ends, and the body's receipt and outcome could never be recorded (its
// case result was lost, the body kept the finding as awaiting its
// receipt). Checked as a withdrawal arrives (registerAdmitted): runs that
// withdrew such a finding before replay as they ran.
func checkNoClueInHand(f casework.Finding) error {
	for _, r := range f.ClueReferrals {
		if !casework.ReferralSettled(r.State) {
			return findingRefusal(f, ActionWithdraw, ReasonReferralOpen,
				"%s: referral %d to %s is %s: a finding whose clue a body is handling is withdrawn only once the body reports the outcome",
				findingLabel(f), r.Seq, r.Receiver, i18n.Term(i18n.ReferralState, r.State))
		}
	}
	return nil
}

// referralFor finds the referral an answer is about: seq's, or (seq 0) the
// newest one in wanted; for a receiver only those referred to its
// organisation. It is -1 when there is none.
func referralFor(f casework.Finding, who actor.Actor, seq int, wanted func(casework.ClueReferral) bool) int {
	for i := len(f.ClueReferrals) - 1; i >= 0; i-- {
		r := f.ClueReferrals[i]
		if who.Role == actor.RoleReceiver && r.Receiver != who.Organisation {
			continue
		}
		if seq != 0 && r.Seq == seq || seq == 0 && wanted(r) {
			return i
		}
	}
	return -1
}

// checkReferralAnswer refuses a receipt or an outcome the finding's
// referrals do not allow: no such referral (to the caller's body), a second
// receipt, an outcome before the receipt, after a settled one, or a
// NOT_FILED after a case was opened.
func checkReferralAnswer(f casework.Finding, action string, who actor.Actor, seq int, outcome string) error {
	if !slices.Contains(referralStages, f.Stage) {
		return nil
	}
	id := FindingWorkflowID(f.ID)
	wanted := func(r casework.ClueReferral) bool { return !casework.ReferralSettled(r.State) }
	if action == ActionAcknowledgeReferral {
		wanted = func(r casework.ClueReferral) bool { return r.State == casework.ReferralAwaitingReceipt }
	}
	i := referralFor(f, who, seq, wanted)
	if i < 0 {
		what := i18n.T("awaiting receipt")
		if action == ActionReportReferralOutcome {
			what = i18n.T("awaiting an outcome")
		}
		if seq != 0 {
			what = i18n.T("numbered %d", seq)
		}
		if who.Role == actor.RoleReceiver {
			return findingRefusal(f, action, ReasonNoReferral, "%s: no referral to %s %s", id, who.Organisation, what)
		}
		return findingRefusal(f, action, ReasonNoReferral, "%s: no referral %s", id, what)
	}
	r := f.ClueReferrals[i]
	switch {
	case action == ActionAcknowledgeReferral && r.State != casework.ReferralAwaitingReceipt:
		return findingRefusal(f, action, ReasonReferralAcknowledged, "%s: referral %d was acknowledged already", id, r.Seq)
	case action == ActionAcknowledgeReferral:
		return nil
	case r.State == casework.ReferralAwaitingReceipt:
		return findingRefusal(f, action, ReasonReferralNotAcknowledged,
			"%s: referral %d awaits its receipt (回执); acknowledge it before reporting an outcome", id, r.Seq)
	case casework.ReferralSettled(r.State):
		return findingRefusal(f, action, ReasonReferralSettled, "%s: referral %d is settled (%s)", id, r.Seq, i18n.Term(i18n.ReferralState, r.State))
	case r.State == casework.ReferralFiled && outcome != casework.OutcomeConcluded:
		return derrors.Invalid("outcome", "must be CONCLUDED: referral %d's case %s is open and owes its handling result (处理结果)",
			r.Seq, r.Outcomes[len(r.Outcomes)-1].CaseNumber)
	}
	return nil
}

// checkReferralsSettled refuses to close out (an accepted verification) a
// finding whose referrals are not all settled: the finding records every
// outcome before it can close. A rejection goes back to REFERRED and is
// not held up.
func checkReferralsSettled(f casework.Finding, in VerifyInput) error {
	if !in.Accept {
		return nil
	}
	return referralsSettled(f, ActionVerify)
}

// referralsSettled refuses action, which would close out the RECTIFIED
// finding f (an accepted verification, the last signature), while one of
// its referrals has no final outcome.
func referralsSettled(f casework.Finding, action string) error {
	if f.Stage != FindingRectified {
		return nil
	}
	for _, r := range f.ClueReferrals {
		if !casework.ReferralSettled(r.State) {
			return findingRefusal(f, action, ReasonReferralOutcomePending,
				"%s: referral %d to %s has no final outcome yet (%s); the finding closes once the receiver reports it",
				FindingWorkflowID(f.ID), r.Seq, r.Receiver, i18n.Term(i18n.ReferralState, r.State))
		}
	}
	return nil
}

// checkClueReferred refuses action, which would close out the RECTIFIED
// finding f, when f is a clue classified REFER_CLUE that was never
// referred (referClue): it was closed out with the unit's rectification
// alone, its problem list saying 移交问题线索 and 已销号, and nobody with
// jurisdiction ever told. An accepted verification without signers is
// refused for it (the ledger's close-out call writes nothing,
// activities.CloseFindingInput.OnlyToSign); with signers the round starts,
// and its last signature is refused for it (checked as the request
// arrives, admit). Closes-out made before it replay as they were.
func checkClueReferred(f casework.Finding, action string) error {
	if f.Stage != FindingRectified || !slices.Contains(clueKinds, f.Kind) || !slices.Contains(f.Dispositions, "REFER_CLUE") ||
		len(f.ClueReferrals) > 0 {
		return nil
	}
	return findingRefusal(f, action, ReasonClueNotReferred,
		"%s is classified REFER_CLUE and was never referred to the body with jurisdiction: refer the clue (referClue) first; it closes out once the receiver reports the outcome",
		findingLabel(f))
}

// versionClueReferred gates the handlers' own check of checkClueReferred
// (clueReferredToClose): the last of two signatures admitted at once, and
// a verification of a run from before code level 2, closed out a clue never
// referred. Asked only when the check refuses, so runs that close out
// without it keep their histories; a run that closed out an unreferred clue
// before it replays as it did.
const versionClueReferred = "clue-referred-to-close"

// clueReferredToClose is checkClueReferred as a handler asks it, behind
// versionClueReferred.
func clueReferredToClose(ctx workflow.Context, f casework.Finding, action string) error {
	err := checkClueReferred(f, action)
	if err == nil || workflow.GetVersion(ctx, versionClueReferred, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	return err
}

// chooseReceiver is the routing decision: the office's receiver or the
// route's, the receipt's limit, and the refusals: no receiver at all, or
// one that differs from the route without a reason.
func chooseReceiver(f casework.Finding, in ReferClueInput, route *casework.ReferralRoute, key i18n.Text) (receiver string, days int, err error) {
	switch {
	case in.Receiver == "" && route == nil:
		return "", 0, findingRefusal(f, ActionReferClue, ReasonNoReferralRoute,
			"%s: the routing table has no receiver for %s; name the receiver, with override_reason", FindingWorkflowID(f.ID), key)
	case in.Receiver == "":
		receiver, days = route.Receiver, route.AckWorkingDays
	case route == nil && strings.TrimSpace(in.OverrideReason) == "":
		return "", 0, derrors.Invalid("override_reason", "must say why the clue goes to %s: the routing table has no receiver for %s",
			in.Receiver, key)
	case route != nil && in.Receiver != route.Receiver && strings.TrimSpace(in.OverrideReason) == "":
		return "", 0, derrors.Invalid("override_reason", "must say why the clue goes to %s and not to %s, the routing table's receiver for %s",
			in.Receiver, route.Receiver, key)
	case route != nil && in.Receiver == route.Receiver:
		receiver, days = route.Receiver, route.AckWorkingDays
	default:
		receiver, days = in.Receiver, casework.DefaultAckWorkingDays
	}
	if in.AckWorkingDays != 0 {
		days = in.AckWorkingDays
	}
	return receiver, days, nil
}

// routeReferral reads the routing table's route for a key, in an activity:
// the table is data.
func (r ledgerRunner) routeReferral(ctx workflow.Context, in activities.RouteReferralInput) (*casework.ReferralRoute, error) {
	var res activities.RouteReferralResult
	if err := r.call(ctx, &res, acts.RouteReferral, in); err != nil {
		return nil, ledgerFailure("reading the referral routing table", err)
	}
	return res.Route, nil
}

// versionRouteReceiverOpen: a referral that confirms the routing table's
// receiver is refused, as one naming it is, while a referral to that
// receiver is not settled; before it, confirming the route gave the body a
// second open referral of the clue. Asked only then.
const versionRouteReceiverOpen = "route-receiver-open"

// referClue routes the clue, records the referral and starts the receipt's
// ladder.
func (w *finding) referClue(ctx workflow.Context, in ReferClueInput) error {
	level := in.UnitLevel
	if level == "" {
		level, _ = UnitLevelOf(w.row.UnitCode) // the validator made sure
	}
	key := i18n.Text{EN: casework.RouteKey(level, in.ClueKind, in.CadreRank), ZH: i18n.RouteKeyZH(level, in.ClueKind, in.CadreRank)}
	route, err := w.ledger.routeReferral(ctx, activities.RouteReferralInput{UnitLevel: level, ClueKind: in.ClueKind, CadreRank: in.CadreRank})
	if err != nil {
		return err
	}
	receiver, days, err := chooseReceiver(w.row, in, route, key)
	if err != nil {
		return err
	}
	// The validator checks a receiver the office names; the route's is
	// known only now.
	if i := slices.IndexFunc(w.row.ClueReferrals, func(r casework.ClueReferral) bool {
		return r.Receiver == receiver && !casework.ReferralSettled(r.State)
	}); i >= 0 && workflow.GetVersion(ctx, versionRouteReceiverOpen, workflow.DefaultVersion, 1) >= 1 {
		r := w.row.ClueReferrals[i]
		return findingRefusal(w.row, ActionReferClue, ReasonReferralOpen,
			"%s: referral %d to %s is not settled yet", FindingWorkflowID(w.row.ID), r.Seq, r.Receiver)
	}
	now := workflow.Now(ctx).UTC()
	rule := deadline.ReferralReceipt(calendar.DateOf(workflow.Now(ctx)).String(), days)
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	ref := casework.ClueReferral{
		Seq: len(w.row.ClueReferrals) + 1, UnitLevel: level, ClueKind: in.ClueKind, CadreRank: in.CadreRank,
		Receiver: receiver, Note: in.Note, State: casework.ReferralAwaitingReceipt, AckWorkingDays: days,
		ReferredBy: in.Actor, ReferredAt: now, AckDeadline: &resolved.Deadline,
	}
	note := fmt.Sprintf("clue referred to %s (%s); receipt due %s", receiver, key, resolved.Deadline.Due)
	if route != nil {
		ref.ProposedReceiver, ref.RouteVersion = route.Receiver, route.Version
		if receiver != route.Receiver {
			ref.OverrideReason = in.OverrideReason
			note = fmt.Sprintf("clue referred to %s, overriding the routing table's %s (%s): %s; receipt due %s",
				receiver, route.Receiver, key, in.OverrideReason, resolved.Deadline.Due)
		}
	} else {
		ref.OverrideReason = in.OverrideReason
		note = fmt.Sprintf("clue referred to %s, which the routing table does not name for %s: %s; receipt due %s",
			receiver, key, in.OverrideReason, resolved.Deadline.Due)
	}
	next := w.row
	next.ClueReferrals = append(slices.Clone(w.row.ClueReferrals), ref)
	if err := w.apply(ctx, next, casework.Event{Action: ActionReferClue, Actor: in.Actor, Note: note,
		Data: dataJSON(map[string]any{"referral": ref, "deadline": resolved.Deadline, "policy_version": resolved.PolicyVersion}),
	}); err != nil {
		return err
	}
	w.startFollowThrough(ctx, receiptFollowThrough, ref.Seq, rule, resolved, nil)
	w.announceReferral(ctx, EventReferralReferred, "referred", ref)
	return nil
}

// receiveCalendarChanges re-dates, for each calendar version loaded, the
// finding's rectification deadline (the core's redate), then the
// receipt's deadline of the referral awaiting it, then the pending
// sign-off's deadline. It takes the place of the
// core's method for the finding.
func (w *finding) receiveCalendarChanges(ctx workflow.Context) {
	receiveCalendarChanges(ctx, w.subject(), func(ctx workflow.Context, sig CalendarChangedSignal) error {
		err := w.redate(ctx, sig)
		if rerr := w.redateFollowThrough(ctx, receiptFollowThrough, sig); rerr != nil {
			workflow.GetLogger(ctx).Error("re-dating the referral's receipt failed", "subject", w.subject(), "version", sig.Version, "error", rerr)
		}
		if serr := w.redateFollowThrough(ctx, signoffFollowThrough, sig); serr != nil {
			workflow.GetLogger(ctx).Error("re-dating the sign-off failed", "subject", w.subject(), "version", sig.Version, "error", serr)
		}
		return err
	})
}

// receiptFollowThrough is the receipt's deadline (finding_followthrough.go):
// the route's working days after the referral, reminded and escalated as
// REFERRAL_REMINDER and REFERRAL_UNACKNOWLEDGED (webhook
// referral.unacknowledged) while the referral awaits its receipt and the
// finding is open; its number is the referral's. The finding's receipt
// ladder runs it, for one referral at a time.
var receiptFollowThrough = &followThrough{
	key: "referral", action: "Referral", noun: "referral",
	reminder: StepReferralReminder, overdue: StepReferralUnacknowledged,
	ladder: func(w *finding) *ladder { return &w.receipt },
	item: func(f casework.Finding, seq int) (*calendar.Deadline, bool) {
		i := referralIndex(f, seq)
		if i < 0 {
			return nil, false
		}
		r := f.ClueReferrals[i]
		return r.AckDeadline, findingMachine.open(f.Stage) && r.State == casework.ReferralAwaitingReceipt
	},
	with: func(f casework.Finding, seq int, d calendar.Deadline, overdue bool) casework.Finding {
		f.ClueReferrals = withItem(f.ClueReferrals, referralIndex(f, seq), func(r *casework.ClueReferral) {
			r.AckDeadline = &d
			r.ReceiptOverdue = r.ReceiptOverdue || overdue
		})
		return f
	},
	message: func(f casework.Finding, seq int, step string, due calendar.Deadline) i18n.Text {
		r := f.ClueReferrals[referralIndex(f, seq)]
		if step == StepReferralUnacknowledged {
			return i18n.T("unacknowledged: %s has not acknowledged referral %d of %s, due %s; escalated to the office",
				r.Receiver, seq, findingLabel(f), due.Due)
		}
		return i18n.T("reminder: %s owes its receipt (回执) of referral %d of %s by %s", r.Receiver, seq, findingLabel(f), due.Due)
	},
	redated: func(seq int, version int64, due, was calendar.Date) string {
		return fmt.Sprintf("referral %d's receipt re-dated by calendar version %d: due %s (was %s)", seq, version, due, was)
	},
	data: func(f casework.Finding, seq int) map[string]any {
		return map[string]any{"receiver": f.ClueReferrals[referralIndex(f, seq)].Receiver}
	},
	announce: func(ctx workflow.Context, w *finding, seq int, esc casework.Escalation) {
		data := w.referralData(w.row.ClueReferrals[referralIndex(w.row, seq)])
		data["escalation"] = esc
		announce(ctx, w.ledger, &w.deliveries, EventReferralUnacknowledged, fmt.Sprintf("%s/referral/%d/unacknowledged", w.subject(), seq), data)
	},
}

// referralIndex is the index of referral seq in f's referrals, -1 for none.
func referralIndex(f casework.Finding, seq int) int {
	return slices.IndexFunc(f.ClueReferrals, func(r casework.ClueReferral) bool { return r.Seq == seq })
}

// acknowledgeReferral records the receipt (回执) and stops its ladder.
func (w *finding) acknowledgeReferral(ctx workflow.Context, in AcknowledgeReferralInput) error {
	i := referralFor(w.row, in.Actor, in.Seq, func(r casework.ClueReferral) bool { return r.State == casework.ReferralAwaitingReceipt })
	ref := w.row.ClueReferrals[i] // the validator made sure
	now := workflow.Now(ctx).UTC()
	who := in.Actor
	ref.State, ref.AcknowledgedBy, ref.AcknowledgedAt = casework.ReferralAcknowledged, &who, &now
	ref.ReceiptNumber, ref.AckNote = in.ReceiptNumber, in.Note
	note := fmt.Sprintf("referral %d acknowledged by %s", ref.Seq, ref.Receiver)
	if ref.AckDeadline != nil && !now.Before(ref.AckDeadline.DueAt) {
		note += fmt.Sprintf(", after its deadline %s", ref.AckDeadline.Due)
	}
	if in.ReceiptNumber != "" {
		note += " (receipt " + in.ReceiptNumber + ")"
	}
	next := w.row
	next.ClueReferrals = slices.Clone(w.row.ClueReferrals)
	next.ClueReferrals[i] = ref
	if err := w.apply(ctx, next, casework.Event{Action: ActionAcknowledgeReferral, Actor: in.Actor, Note: note,
		Data: dataJSON(map[string]any{"referral": ref})}); err != nil {
		return err
	}
	w.receipt.stop()
	return nil
}

// reportReferralOutcome records an outcome: a case opened (the referral
// waits for its handling result), none opened, or the handling result.
func (w *finding) reportReferralOutcome(ctx workflow.Context, in ReportReferralOutcomeInput) error {
	i := referralFor(w.row, in.Actor, in.Seq, func(r casework.ClueReferral) bool { return !casework.ReferralSettled(r.State) })
	ref := w.row.ClueReferrals[i] // the validator made sure
	ref.Outcomes = append(slices.Clone(ref.Outcomes), casework.ReferralOutcome{
		Outcome: in.Outcome, Summary: in.Summary, CaseNumber: in.CaseNumber, EvidenceIDs: slices.Clone(in.EvidenceIDs),
		ReportedBy: in.Actor, ReportedAt: workflow.Now(ctx).UTC(),
	})
	ref.State = map[string]string{
		casework.OutcomeFiled: casework.ReferralFiled, casework.OutcomeNotFiled: casework.ReferralNotFiled, casework.OutcomeConcluded: casework.ReferralConcluded,
	}[in.Outcome]
	next := w.row
	next.ClueReferrals = slices.Clone(w.row.ClueReferrals)
	next.ClueReferrals[i] = ref
	note := fmt.Sprintf("referral %d: %s reported %s: %s", ref.Seq, ref.Receiver, in.Outcome, in.Summary)
	if err := w.apply(ctx, next, casework.Event{Action: ActionReportReferralOutcome, Actor: in.Actor, Note: note,
		Evidence: evidenceJSON(in.EvidenceIDs), Data: dataJSON(map[string]any{"referral": ref, "outcome": in.Outcome})}); err != nil {
		return err
	}
	w.announceReferral(ctx, EventReferralOutcome, "outcome/"+fmt.Sprint(len(ref.Outcomes)), ref)
	return nil
}

// referralData is a referral's webhook payload.
func (w *finding) referralData(ref casework.ClueReferral) map[string]any {
	return findingData(w.row, map[string]any{
		"kind":     w.row.Kind,
		"referral": ref,
	})
}

// announceReferral posts a referral's change to the subscribed webhooks.
func (w *finding) announceReferral(ctx workflow.Context, eventType, what string, ref casework.ClueReferral) {
	announce(ctx, w.ledger, &w.deliveries, eventType, fmt.Sprintf("%s/referral/%d/%s", w.subject(), ref.Seq, what), w.referralData(ref))
}

// referralDetails is the referral part of a finding's Web UI details: each
// referral not settled, with where it stands.
func referralDetails(f casework.Finding) string {
	var out string
	for _, r := range f.ClueReferrals {
		switch {
		case r.State == casework.ReferralAwaitingReceipt && r.ReceiptOverdue:
			out += i18n.Zh("; clue referred to %s — UNACKNOWLEDGED, receipt was due %s", r.Receiver, r.AckDeadline.Due)
		case r.State == casework.ReferralAwaitingReceipt:
			out += i18n.Zh("; clue referred to %s, receipt due %s", r.Receiver, r.AckDeadline.Due)
		case r.State == casework.ReferralAcknowledged:
			out += i18n.Zh("; clue referred to %s, acknowledged, outcome awaited", r.Receiver)
		case r.State == casework.ReferralFiled:
			out += i18n.Zh("; clue referred to %s, case filed (立案), handling result awaited", r.Receiver)
		}
	}
	return out
}

// registerReferralHandlers registers the referral actions' updates.
func (w *finding) registerReferralHandlers(ctx workflow.Context) error {
	for _, err := range []error{
		registerChange(ctx, w, ActionReferClue, func(in ReferClueInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkReferClue(w.row, in)
		}, w.referClue),
		registerChange(ctx, w, ActionAcknowledgeReferral, func(in AcknowledgeReferralInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkReferralAnswer(w.row, ActionAcknowledgeReferral, in.Actor, in.Seq, "")
		}, w.acknowledgeReferral),
		registerChange(ctx, w, ActionReportReferralOutcome, func(in ReportReferralOutcomeInput) (actor.Actor, error) {
			if err := in.Validate(); err != nil {
				return in.Actor, err
			}
			return in.Actor, checkReferralAnswer(w.row, ActionReportReferralOutcome, in.Actor, in.Seq, in.Outcome)
		}, w.reportReferralOutcome),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
