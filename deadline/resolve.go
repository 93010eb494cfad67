package deadline

import (
	"fmt"
	"slices"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
)

// ScheduledStep is an escalation step with the instant it fires.
type ScheduledStep struct {
	Step        string    `json:"step"`
	WorkingDays int       `json:"working_days"`
	At          time.Time `json:"at"`
}

// Resolved is a computed deadline with its escalation schedule. It is an
// activity result recorded in workflow histories; its JSON field names must
// not change.
type Resolved struct {
	Deadline      calendar.Deadline `json:"deadline"`
	Steps         []ScheduledStep   `json:"steps"`
	PolicyVersion int64             `json:"policy_version"`
}

// Resolve computes rule's deadline on cal and when each step of policy's
// ladder that the rule takes (Rule.Steps) fires (see [Schedule]). A limit the office set (rule.Due) must fall
// after rule.From and no later than the statutory limit; the explanation
// then opens with the office's day and goes on with the statutory one.
// Refusals are derrors.InvalidError naming rule.Field or rule.DueField; a
// year without calendar data is an error matching calendar.ErrNoData.
func Resolve(cal *calendar.Calendar, policy casework.EscalationPolicy, rule Rule) (Resolved, error) {
	from, limit, err := limitOf(cal, rule)
	if err != nil {
		return Resolved{}, err
	}
	d := limit
	if rule.Due != "" {
		dueField := rule.DueField
		if dueField == "" {
			dueField = "due"
		}
		due, err := calendar.ParseDate(rule.Due)
		switch {
		case err != nil:
			return Resolved{}, derrors.Invalid(dueField, "must be a date YYYY-MM-DD")
		case due.After(limit.Due) && rule.Extension:
			return Resolved{}, derrors.Invalid(dueField, "must be no later than %s: extensions may move the deadline at most %s, its original last day",
				limit.Due, limit.PeriodText())
		case due.After(limit.Due):
			return Resolved{}, derrors.Invalid(dueField, "must be no later than %s, the statutory limit (%s)", limit.Due, limit.RuleText())
		case !due.After(from) && rule.Extension:
			return Resolved{}, derrors.Invalid(dueField, "must be after %s, the original last day", rule.From)
		case !due.After(from):
			return Resolved{}, derrors.Invalid(dueField, "must be after %s", rule.From)
		}
		// A last day that is a rest day moves to the next working day, as
		// the statutory one does (Civil Code art. 203): no step of the
		// ladder falls on a day the unit's office is closed.
		set := due
		due, reason, reasonZH, err := cal.NextWorkingDay(set)
		if err != nil {
			return Resolved{}, err
		}
		d.Due = due
		d.DueAt = due.End()
		// What the period up to the day set passes over, not the
		// statutory limit's (which listed rest days after the due day
		// and left out the make-up day it ended on); the versions of
		// both, which both were read by.
		skipped, makeups, versions, err := cal.Passed(from, due)
		if err != nil {
			return Resolved{}, err
		}
		d.Skipped, d.MakeupDays, d.Versions = skipped, makeups, slices.Clone(d.Versions)
		for _, v := range versions {
			if !slices.Contains(d.Versions, v) {
				d.Versions = append(d.Versions, v)
			}
		}
		var moved, movedZH []string
		if due != set {
			moved = []string{fmt.Sprintf("%s, the day set, is a rest day (%s); the limit ends on the next working day %s (Civil Code art. 203)", set, reason, due)}
			movedZH = []string{fmt.Sprintf("所定日期 %s 为休息日（%s），期限顺延至其后第一个工作日 %s（民法典第二百零三条）", set, reasonZH, due)}
		}
		setBy, setByZH := "the office", "省安委办"
		if rule.DueSetBy != "" {
			setBy, setByZH = rule.DueSetBy, rule.DueSetBy
		}
		head := fmt.Sprintf("due %s: set by %s, within the statutory limit of %s", due, setBy, limit.Due)
		headZH := fmt.Sprintf("%s 截止：由%s确定，在法定期限 %s 之内", due, setByZH, limit.Due)
		limitName, limitNameZH := "the statutory limit", "法定期限"
		if rule.Extension {
			head = fmt.Sprintf("due %s: an extension approved by the office, within the limit of extensions, %s (%s, the original last day)",
				due, limit.Due, limit.RuleText())
			headZH = fmt.Sprintf("%s 截止：经省安委办批准延期，在延期上限 %s 之内（原期限最后一天为 %s）", due, limit.Due, rule.From)
			// The limit here is the office's cap on extensions, which may
			// pass the statutory limit; it is not the law's.
			limitName, limitNameZH = "the limit of extensions", "延期上限"
		}
		limitLines, limitLinesZH := limit.EndingOn(due, limitName, limitNameZH)
		d.Explanation = append(append([]string{head}, moved...), limitLines...)
		d.ExplanationZH = append(append([]string{headZH}, movedZH...), limitLinesZH...)
	}
	return Reschedule(cal, policy, rule, d)
}

// Reschedule is d, a deadline of rule, with the steps of policy's ladder
// that the rule takes, scheduled on cal for d's last day: what Resolve
// answers for a deadline it computed before (which a retried write keeps
// as the ledger holds it).
func Reschedule(cal *calendar.Calendar, policy casework.EscalationPolicy, rule Rule, d calendar.Deadline) (Resolved, error) {
	policy.Steps = slices.DeleteFunc(slices.Clone(policy.Steps), func(st casework.EscalationStep) bool { return !rule.Takes(st.Step) })
	steps, err := Schedule(cal, policy, d.Due)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{Deadline: d, Steps: steps, PolicyVersion: policy.Version}, nil
}

// limitOf is rule's start day and the limit its period gives on cal.
func limitOf(cal *calendar.Calendar, rule Rule) (calendar.Date, calendar.Deadline, error) {
	field := rule.Field
	if field == "" {
		field = "from"
	}
	from, err := calendar.ParseDate(rule.From)
	if err != nil {
		return calendar.Date{}, calendar.Deadline{}, derrors.Invalid(field, "must be a date YYYY-MM-DD")
	}
	var limit calendar.Deadline
	switch {
	case rule.Months > 0:
		limit, err = cal.AddMonths(from, rule.Months)
	case rule.WorkingDays > 0:
		limit, err = cal.AddWorkingDays(from, rule.WorkingDays)
	default:
		return calendar.Date{}, calendar.Deadline{}, fmt.Errorf("deadline rule has neither months nor working days: %w", derrors.ErrInvalidArgument)
	}
	return from, limit, err
}

// ExtensionTerms are what the office's policy allows for extending a
// deadline: the limits, and the last day extensions may reach.
type ExtensionTerms struct {
	Limits        casework.ExtensionLimits `json:"limits"`
	PolicyVersion int64                    `json:"policy_version"`
	// Latest is the last day the extensions of a deadline may reach, the
	// limits' total after its original last day, explained; nil when the
	// limits allow no extension.
	Latest *calendar.Deadline `json:"latest,omitempty"`
}

// ExtensionTermsFor returns the extension terms of policy for a deadline whose
// original last day (before any extension) is originalDue (YYYY-MM-DD):
// the limits, and the last day they let extensions reach, counted on cal.
// It is an activity result recorded in workflow histories; its JSON field
// names must not change.
func ExtensionTermsFor(cal *calendar.Calendar, policy casework.EscalationPolicy, originalDue string) (ExtensionTerms, error) {
	terms := ExtensionTerms{Limits: policy.Extensions, PolicyVersion: policy.Version}
	if policy.Extensions.MaxCount == 0 {
		return terms, nil
	}
	_, latest, err := limitOf(cal, Extension(originalDue, policy.Extensions, ""))
	if err != nil {
		return ExtensionTerms{}, err
	}
	terms.Latest = &latest
	return terms, nil
}

// Schedule returns the instants policy's ladder fires for a deadline due on
// due, in the policy's order. A step n working days before the due day fires
// at the end of the n-th working day before it ([WorkingDaysBefore]); at 0,
// at the end of the due day; n after, at the end of the n-th working day
// after it.
func Schedule(cal *calendar.Calendar, policy casework.EscalationPolicy, due calendar.Date) ([]ScheduledStep, error) {
	var steps []ScheduledStep
	for _, st := range policy.Steps {
		day := due
		var err error
		switch {
		case st.WorkingDays < 0:
			day, err = WorkingDaysBefore(cal, due, -st.WorkingDays)
		case st.WorkingDays > 0:
			var after calendar.Deadline
			after, err = cal.AddWorkingDays(due, st.WorkingDays)
			day = after.Due
		}
		if err != nil {
			return nil, fmt.Errorf("scheduling %s: %w", st.Step, err)
		}
		steps = append(steps, ScheduledStep{Step: st.Step, WorkingDays: st.WorkingDays, At: day.End()})
	}
	return steps, nil
}

// WorkingDaysBefore returns the n-th working day before d (d itself is not
// counted): the mirror of calendar.AddWorkingDays, with make-up days counted
// and holidays skipped alike. A day in a year without data is an error
// matching calendar.ErrNoData.
func WorkingDaysBefore(cal *calendar.Calendar, d calendar.Date, n int) (calendar.Date, error) {
	for counted := 0; counted < n; {
		d = d.AddDays(-1)
		ok, err := cal.IsWorkingDay(d)
		if err != nil {
			return calendar.Date{}, err
		}
		if ok {
			counted++
		}
	}
	return d, nil
}

// Compute is the one implementation behind POST /v1/calendar:deadline and
// `xuncha calendar deadline`: the deadline workingDays working days, or
// months months, after from (YYYY-MM-DD), explained. Exactly one of
// workingDays and months is positive; a request breaking that, or a
// malformed from, is a derrors.InvalidError naming every broken field.
func Compute(cal *calendar.Calendar, from string, workingDays, months int) (calendar.Deadline, error) {
	d, err := CheckCompute(from, workingDays, months)
	if err != nil {
		return calendar.Deadline{}, err
	}
	if workingDays > 0 {
		return cal.AddWorkingDays(d, workingDays)
	}
	return cal.AddMonths(d, months)
}

// CheckCompute checks Compute's arguments, without a calendar: the day
// from, and either workingDays or months. A caller that reads the calendar
// first checks them so.
func CheckCompute(from string, workingDays, months int) (calendar.Date, error) {
	var v derrors.Violations
	d, err := calendar.ParseDate(from)
	if err != nil {
		v.Add("from", "must be a date YYYY-MM-DD")
	}
	switch {
	case workingDays != 0 && months != 0:
		v.Add("working_days", "give either working_days or months, not both")
	case workingDays == 0 && months == 0:
		v.Add("working_days", "give working_days (at least 1) or months (1 to 12)")
	case workingDays < 0:
		v.Add("working_days", "must be at least 1")
	case months < 0 || months > calendar.MaxMonths:
		v.Add("months", "must be between 1 and %d", calendar.MaxMonths)
	}
	return d, v.Err()
}
