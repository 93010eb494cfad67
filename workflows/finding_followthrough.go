package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
)

// A follow-through (issue 14) is a deadline a finding runs for someone
// other than its unit, beside its rectification deadline: a referral's
// receipt (回执, finding_referral.go) and a round of sign-off
// (finding_signoff.go). Each runs on a ladder of its own with the office's
// REMINDER and OVERDUE steps under names of its own, follows the calendar,
// and at its OVERDUE step marks its item overdue and posts a webhook. This
// file is where that is written once; the two say what differs.
type followThrough struct {
	// key names the item in event keys ("referral" gives
	// "referral/<seq>/escalate/<step>" and the data's "referral_seq");
	// action ends the events' actions ("Referral": escalateReferral,
	// redateReferral); noun names it in errors.
	key, action, noun string
	// reminder and overdue name the office's REMINDER and OVERDUE steps;
	// no other step is taken.
	reminder, overdue string
	// ladder is the finding's ladder for it.
	ladder func(*finding) *ladder
	// item is the deadline of item seq of f (nil without one) and whether
	// it is still awaited, so that its ladder runs.
	item func(f casework.Finding, seq int) (d *calendar.Deadline, awaited bool)
	// with returns f with item seq's deadline d and, when overdue, its
	// overdue mark set; f's slices are not changed.
	with func(f casework.Finding, seq int, d calendar.Deadline, overdue bool) casework.Finding
	// message is an escalation's message for step, due on due.
	message func(f casework.Finding, seq int, step string, due calendar.Deadline) i18n.Text
	// redated is a re-date's note.
	redated func(seq int, version int64, due, was calendar.Date) string
	// data is what the events say of the item besides its number.
	data func(f casework.Finding, seq int) map[string]any
	// announce posts the OVERDUE step's webhook (the row has the mark).
	announce func(ctx workflow.Context, w *finding, seq int, esc casework.Escalation)
}

// withItem is a copy of items with item i changed by set: a with's way to
// leave f's slices, which earlier states share, as they were.
func withItem[T any](items []T, i int, set func(*T)) []T {
	items = slices.Clone(items)
	set(&items[i])
	return items
}

// step names a ladder step of the deadline, "" for a step it does not take.
func (ft *followThrough) step(step string) string {
	switch step {
	case casework.StepReminder:
		return ft.reminder
	case casework.StepOverdue:
		return ft.overdue
	}
	return ""
}

// keepSteps keeps the ladder steps that name gives a name to.
func keepSteps(resolved deadline.Resolved, name func(string) string) deadline.Resolved {
	resolved.Steps = slices.DeleteFunc(slices.Clone(resolved.Steps), func(s deadline.ScheduledStep) bool { return name(s.Step) == "" })
	return resolved
}

// startFollowThrough (re)starts the ladder of item seq without the steps
// already fired, while the item is awaited.
func (w *finding) startFollowThrough(ctx workflow.Context, ft *followThrough, seq int, rule deadline.Rule, resolved deadline.Resolved,
	fired map[string]bool) {
	l := ft.ladder(w)
	active := func() bool {
		_, awaited := ft.item(w.row, seq)
		return awaited
	}
	l.start(ctx, w.mu, rule, keepSteps(resolved, ft.step), fired, active, func(ctx workflow.Context, step deadline.ScheduledStep) error {
		return w.escalateFollowThrough(ctx, ft, seq, step)
	})
	l.seq = seq
}

// redateFollowThrough recomputes the awaited item's deadline with the
// calendar now in force; when it moved, the change is recorded (event
// redate<action>) and its ladder starts again without the steps already
// taken. Without an item awaited it does nothing.
func (w *finding) redateFollowThrough(ctx workflow.Context, ft *followThrough, sig CalendarChangedSignal) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	l := ft.ladder(w)
	seq := l.seq
	d, awaited := ft.item(w.row, seq)
	if !l.running() || !awaited || d == nil {
		return nil
	}
	rule := *l.rule
	resolved, err := w.ledger.resolveDeadline(ctx, rule)
	if err != nil {
		return err
	}
	old := *d
	if resolved.Deadline.DueAt.Equal(old.DueAt) && !l.moved(keepSteps(resolved, ft.step)) {
		return nil
	}
	fired := l.fired()
	data := ft.data(w.row, seq)
	by := redatedBy(resolved, sig)
	data["calendar_version"], data[ft.key+"_seq"] = by, seq
	data["old_due"], data["new_due"], data["deadline"] = old.Due, resolved.Deadline.Due, resolved.Deadline
	if err := w.apply(ctx, ft.with(w.row, seq, resolved.Deadline, false), casework.Event{
		Key: redateKey(fmt.Sprintf("%s/%d/redate", ft.key, seq), resolved), Action: "redate" + ft.action, Actor: actor.System,
		Note: ft.redated(seq, by, resolved.Deadline.Due, old.Due) + unchangedDue(resolved, old), Data: dataJSON(data),
	}); err != nil {
		return err
	}
	w.startFollowThrough(ctx, ft, seq, rule, resolved, fired)
	return nil
}

// escalateFollowThrough takes a step of item seq's ladder: an escalation
// row (subject the finding, DeadlineSeq the item's number), the finding's
// event, the item marked overdue at the OVERDUE step, and its webhook. A
// reminder whose deadline has passed is skipped.
func (w *finding) escalateFollowThrough(ctx workflow.Context, ft *followThrough, seq int, step deadline.ScheduledStep) error {
	d, _ := ft.item(w.row, seq)
	now := workflow.Now(ctx).UTC()
	name := ft.step(step.Step)
	if d == nil || name == "" || (name == ft.reminder && !now.Before(d.DueAt)) {
		return nil
	}
	due := *d
	message := ft.message(w.row, seq, name, due)
	data := ft.data(w.row, seq)
	data["step"], data[ft.key+"_seq"], data["due"] = name, seq, due.Due
	next := ft.with(w.row, seq, due, name == ft.overdue)
	next.Version = w.row.Version + 1
	next.UpdatedAt = now
	esc := casework.Escalation{Subject: w.subject(), DeadlineSeq: seq, Step: name, UnitCode: w.row.UnitCode,
		DueAt: due.DueAt, FiredAt: now, Message: message.EN, MessageZH: message.ZH}
	event := casework.Event{SubjectType: casework.SubjectFinding, SubjectID: w.row.ID,
		Key: fmt.Sprintf("%s/%d/escalate/%s", ft.key, seq, name), Action: "escalate" + ft.action,
		StageBefore: w.row.Stage, StageAfter: w.row.Stage, Actor: actor.System, Note: message.EN, OccurredAt: now,
		Data: dataJSON(data)}
	var res activities.EscalateResult
	if err := w.ledger.call(ctx, &res, acts.Escalate, activities.EscalateInput{Escalation: esc, Finding: next, Event: event}); err != nil {
		return fmt.Errorf("recording the %s's escalation %s: %w", ft.noun, name, err)
	}
	w.row = next
	w.escalations = append(w.escalations, res.Escalation)
	w.publish(ctx)
	if name == ft.overdue {
		ft.announce(ctx, w, seq, res.Escalation)
	}
	return nil
}

// What an open finding awaits (searchattr.Awaiting).
const (
	AwaitingExtensionDecision      = "EXTENSION_DECISION"
	AwaitingReferralReceipt        = "REFERRAL_RECEIPT"
	AwaitingReferralReceiptOverdue = "REFERRAL_RECEIPT_OVERDUE"
	AwaitingReferralOutcome        = "REFERRAL_OUTCOME"
	AwaitingSignoff                = "SIGNOFF"
	AwaitingSignoffOverdue         = "SIGNOFF_OVERDUE"
)

// Awaiting lists what the open finding f waits for from someone other than
// the inspected unit, each once, in a fixed order: the office's decision
// on an extension, a referral's receipt or outcome, the signers. Nothing
// for a finding that ended.
func Awaiting(f casework.Finding) []string {
	if !findingMachine.open(f.Stage) {
		return nil
	}
	var out []string
	add := func(what string) {
		if !slices.Contains(out, what) {
			out = append(out, what)
		}
	}
	if slices.ContainsFunc(f.Extensions, func(e casework.Extension) bool { return e.State == casework.ExtensionPending }) {
		add(AwaitingExtensionDecision)
	}
	for _, r := range f.ClueReferrals {
		switch {
		case r.State == casework.ReferralAwaitingReceipt && r.ReceiptOverdue:
			add(AwaitingReferralReceiptOverdue)
		case r.State == casework.ReferralAwaitingReceipt:
			add(AwaitingReferralReceipt)
		case !casework.ReferralSettled(r.State):
			add(AwaitingReferralOutcome)
		}
	}
	if i, ok := pendingSignoff(f); ok && f.Stage == FindingRectified {
		if f.Signoffs[i].Overdue {
			add(AwaitingSignoffOverdue)
		} else {
			add(AwaitingSignoff)
		}
	}
	return out
}
