package deadline

import (
	"slices"

	"github.com/xuncha/xuncha/casework"
)

// The charter's limits.
const (
	// ReportWorkingDays is the team report's limit: 5 working days after
	// on-site work in an area ends (charter 三(三)4).
	ReportWorkingDays = 5
	// RectificationMonths is the longest rectification limit: one month
	// after the feedback is received (charter 三(三)6).
	RectificationMonths = 1
	// DefaultFollowUpWorkingDays is an interview's follow-up report limit
	// when the office gives none.
	DefaultFollowUpWorkingDays = 5
)

// Rule says how a deadline is computed, so that it can be computed again
// when the calendar changes. It travels in activity inputs and workflow
// state as JSON; the field names are part of recorded histories and must not
// change.
type Rule struct {
	// Field names the request field the rule came from, for error messages
	// (e.g. "feedback_received_on").
	Field string `json:"field,omitempty"`
	// From is the start day (YYYY-MM-DD), not counted.
	From string `json:"from"`
	// Months is the statutory limit in months (Civil Code arts. 200–204).
	Months int `json:"months,omitempty"`
	// WorkingDays is the limit in working days; exactly one of Months and
	// WorkingDays is set.
	WorkingDays int `json:"working_days,omitempty"`
	// Due, when set, is a shorter last day the office chose (YYYY-MM-DD); it
	// may not pass the statutory limit.
	Due string `json:"due,omitempty"`
	// DueField names the request field Due came from (e.g. "due").
	DueField string `json:"due_field,omitempty"`
	// Extension marks an approved extension's deadline (Extension): From
	// is then the original last day, the period the limit of extensions.
	Extension bool `json:"extension,omitempty"`
	// DueSetBy names who set Due when the office did not: a signer's
	// organisation, refusing a sign-off (SetBy). Empty: the office.
	DueSetBy string `json:"due_set_by,omitempty"`
	// Steps, when set, are the steps of the office's ladder (casework.Step…)
	// this deadline takes; the others are not scheduled, so that a step it
	// never fires cannot refuse it (one that falls in a year without
	// calendar data). Empty takes every step, as every rule recorded before
	// the field did (the lifecycles then leave out what they do not take).
	Steps []string `json:"steps,omitempty"`
}

// remindAndOverdue are the steps of a deadline whose lapse is the last
// rung, or its own consequence: no interview is proposed over it (a team
// report, an interview's follow-up, a referral's receipt, a sign-off, an
// invitation's answer).
func remindAndOverdue() []string { return []string{casework.StepReminder, casework.StepOverdue} }

// Takes reports whether the deadline takes the ladder step named step.
func (r Rule) Takes(step string) bool { return len(r.Steps) == 0 || slices.Contains(r.Steps, step) }

// TeamReport is the team report deadline: ReportWorkingDays working days
// after onsiteEndedOn (YYYY-MM-DD, the request's onsite_ended_on).
func TeamReport(onsiteEndedOn string) Rule {
	return Rule{Field: "onsite_ended_on", From: onsiteEndedOn, WorkingDays: ReportWorkingDays, Steps: remindAndOverdue()}
}

// Rectification is the rectification report deadline counted from the
// feedback: the office's limit due (YYYY-MM-DD, the request's "due"; empty
// for the full period), never more than RectificationMonths after
// feedbackOn. fromField names the request field feedbackOn came from
// (feedback_received_on for a referred finding, feedback_delivered_on for an
// inspection's feedback).
func Rectification(fromField, feedbackOn, due string) Rule {
	return Rule{Field: fromField, From: feedbackOn, Months: RectificationMonths, Due: due, DueField: "due"}
}

// RectificationAgain is the new rectification deadline when a report is
// rejected or a closed finding is reopened: due (the request's "due"), never
// more than RectificationMonths after decidedOn, the day of the decision
// (YYYY-MM-DD). The workflow passes its own today (workflow time); the API,
// previewing, passes the wall clock's.
func RectificationAgain(decidedOn, due string) Rule {
	return Rule{Field: "due", From: decidedOn, Months: RectificationMonths, Due: due, DueField: "due"}
}

// SetBy is r with Due set by who (an organisation) rather than the office:
// its explanation says so.
func (r Rule) SetBy(who string) Rule {
	r.DueSetBy = who
	return r
}

// FollowUp is the follow-up report deadline of an interview held on heldOn
// (YYYY-MM-DD): days working days after it (0 means
// DefaultFollowUpWorkingDays).
func FollowUp(heldOn string, days int) Rule {
	return Rule{Field: "held_on", From: heldOn, WorkingDays: FollowUpWorkingDays(days), Steps: remindAndOverdue()}
}

// FollowUpWorkingDays is the follow-up limit in force when a request asks
// for days: days itself, or DefaultFollowUpWorkingDays for 0.
func FollowUpWorkingDays(days int) int {
	if days == 0 {
		return DefaultFollowUpWorkingDays
	}
	return days
}

// Extension is the deadline of an approved extension (延期): due
// (YYYY-MM-DD), the last day the office approved, after originalDue — the
// running deadline's last day as the office set it, before any extension —
// and at most the limits' total after it ([ExtensionTermsFor]). The total is
// part of the rule, so re-dating the deadline for a calendar change keeps
// the limits it was approved under.
func Extension(originalDue string, limits casework.ExtensionLimits, due string) Rule {
	return Rule{Field: "original_due", From: originalDue, Months: limits.TotalMonths, WorkingDays: limits.TotalWorkingDays,
		Due: due, DueField: "due", Extension: true}
}

// WithDueField returns r with its office limit named field in errors, for a
// request that carries several limits (e.g. "finding_dues[f-1]").
func (r Rule) WithDueField(field string) Rule {
	r.DueField = field
	return r
}

// ReferralReceipt is the deadline of a receiving body's receipt (回执) of a
// referred clue (issue 14 item 2): days working days after referredOn
// (YYYY-MM-DD), the day of the referral.
func ReferralReceipt(referredOn string, days int) Rule {
	return Rule{Field: "ack_working_days", From: referredOn, WorkingDays: days, Steps: remindAndOverdue()}
}

// SignoffDue is the deadline of a finding's sign-off before close-out
// (销号, issue 14 item 3): days working days after verifiedOn (YYYY-MM-DD),
// the day the office's verification asked the signers for it.
func SignoffDue(verifiedOn string, days int) Rule {
	return Rule{Field: "signoff_rules.working_days", From: verifiedOn, WorkingDays: days, Steps: remindAndOverdue()}
}

// DefaultInvitationAnswerWorkingDays is how long a drawn person has to
// accept or decline an invitation (issue 15) when the office's escalation
// policy sets nothing (casework.DefaultInvitationAnswerWorkingDays).
const DefaultInvitationAnswerWorkingDays = casework.DefaultInvitationAnswerWorkingDays

// InvitationAnswer is the deadline of an answer to an invitation sent on
// invitedOn (YYYY-MM-DD): days working days after it (0 means
// DefaultInvitationAnswerWorkingDays).
func InvitationAnswer(invitedOn string, days int) Rule {
	if days == 0 {
		days = DefaultInvitationAnswerWorkingDays
	}
	return Rule{Field: "invited_on", From: invitedOn, WorkingDays: days, Steps: remindAndOverdue()}
}
