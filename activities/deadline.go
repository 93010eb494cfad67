package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// DeadlineRule says how a deadline is computed, so that it can be computed
// again when the calendar changes.
type DeadlineRule struct {
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
}

// ScheduledStep is an escalation step with the instant it fires.
type ScheduledStep struct {
	Step        string    `json:"step"`
	WorkingDays int       `json:"working_days"`
	At          time.Time `json:"at"`
}

// ResolvedDeadline is a computed deadline with its escalation schedule.
type ResolvedDeadline struct {
	Deadline      calendar.Deadline `json:"deadline"`
	Steps         []ScheduledStep   `json:"steps"`
	PolicyVersion int64             `json:"policy_version"`
}

// ResolveDeadline computes a deadline and when each step of the ladder fires.
// A step n working days before the due day fires at the end of the n-th
// working day before it; at 0, at the end of the due day; n after, at the
// end of the n-th working day after it. The API runs it before accepting a
// request (to refuse a limit beyond the statutory one), the worker when the
// deadline starts and when the calendar changes.
func ResolveDeadline(cal *calendar.Calendar, policy ledger.EscalationPolicy, rule DeadlineRule) (ResolvedDeadline, error) {
	field := rule.Field
	if field == "" {
		field = "from"
	}
	from, err := calendar.ParseDate(rule.From)
	if err != nil {
		return ResolvedDeadline{}, derrors.Invalid(field, "must be a date YYYY-MM-DD")
	}
	var limit calendar.Deadline
	switch {
	case rule.Months > 0:
		limit, err = cal.AddMonths(from, rule.Months)
	case rule.WorkingDays > 0:
		limit, err = cal.AddWorkingDays(from, rule.WorkingDays)
	default:
		return ResolvedDeadline{}, fmt.Errorf("deadline rule has neither months nor working days: %w", derrors.ErrInvalidArgument)
	}
	if err != nil {
		return ResolvedDeadline{}, err
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
			return ResolvedDeadline{}, derrors.Invalid(dueField, "must be a date YYYY-MM-DD")
		case due.After(limit.Due):
			return ResolvedDeadline{}, derrors.Invalid(dueField, "must be no later than %s, the statutory limit (%s)", limit.Due, limit.Rule)
		case !due.After(from):
			return ResolvedDeadline{}, derrors.Invalid(dueField, "must be after %s", rule.From)
		}
		d.Due = due
		d.DueAt = due.End()
		d.Explanation = append([]string{
			fmt.Sprintf("due %s: set by the office, within the statutory limit of %s", due, limit.Due),
		}, limit.Explanation...)
	}
	res := ResolvedDeadline{Deadline: d, PolicyVersion: policy.Version}
	for _, st := range policy.Steps {
		day := d.Due
		switch {
		case st.WorkingDays < 0:
			day, err = workingDaysBefore(cal, d.Due, -st.WorkingDays)
		case st.WorkingDays > 0:
			var after calendar.Deadline
			after, err = cal.AddWorkingDays(d.Due, st.WorkingDays)
			day = after.Due
		}
		if err != nil {
			return ResolvedDeadline{}, fmt.Errorf("scheduling %s: %w", st.Step, err)
		}
		res.Steps = append(res.Steps, ScheduledStep{Step: st.Step, WorkingDays: st.WorkingDays, At: day.End()})
	}
	return res, nil
}

// workingDaysBefore returns the n-th working day before d.
func workingDaysBefore(cal *calendar.Calendar, d calendar.Date, n int) (calendar.Date, error) {
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

// ResolveDeadlineInput asks the worker to compute a deadline with the
// calendar and ladder in force.
type ResolveDeadlineInput struct {
	Rule DeadlineRule `json:"rule"`
}

// ResolveDeadline computes a deadline with the ledger's calendar and the
// office's escalation policy.
func (a *Activities) ResolveDeadline(ctx context.Context, in ResolveDeadlineInput) (ResolvedDeadline, error) {
	r, err := LoadResolver(ctx, a.Ledger)
	if err != nil {
		return ResolvedDeadline{}, a.ledgerError("reading the calendar and the escalation policy", err)
	}
	res, err := r.Resolve(in.Rule)
	return res, refusal(err)
}

// Resolver computes deadlines with the calendar and escalation policy in
// force, read from the ledger once. The API uses it to refuse a limit before
// anything is recorded; the worker, to compute the deadline it then runs.
type Resolver struct {
	calendar *calendar.Calendar
	policy   ledger.EscalationPolicy
}

// LoadResolver reads the calendar in force and the escalation policy.
func LoadResolver(ctx context.Context, l *ledger.Store) (*Resolver, error) {
	cal, err := l.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	policy, err := l.EscalationPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return &Resolver{calendar: cal, policy: policy}, nil
}

// Resolve computes one deadline and its escalation schedule.
func (r *Resolver) Resolve(rule DeadlineRule) (ResolvedDeadline, error) {
	return ResolveDeadline(r.calendar, r.policy, rule)
}

// refusal marks domain refusals non-retryable for Temporal: retrying a
// deadline past the calendar's last year, or an invalid limit, cannot help.
func refusal(err error) error {
	var invalid *calendar.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, calendar.ErrNoData):
		return derrors.ToTemporal(derrors.New(derrors.ErrFailedPrecondition, "%s", err.Error()))
	case errors.As(err, &invalid):
		inv := &derrors.InvalidError{}
		for _, v := range invalid.Violations {
			inv.Violations = append(inv.Violations, derrors.FieldViolation{Field: v.Field, Rule: v.Rule})
		}
		return derrors.ToTemporal(inv)
	}
	return derrors.ToTemporal(err)
}
