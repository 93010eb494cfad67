package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// ResolveDeadlineInput asks the worker to compute a deadline with the
// calendar and ladder in force.
type ResolveDeadlineInput struct {
	Rule deadline.Rule `json:"rule"`
}

// ResolveDeadline computes a deadline with the ledger's calendar and the
// office's escalation policy: the reading is this activity's, the
// computation is deadline.Resolve.
func (a *Activities) ResolveDeadline(ctx context.Context, in ResolveDeadlineInput) (deadline.Resolved, error) {
	r, err := LoadResolver(ctx, a.Ledger)
	if err != nil {
		return deadline.Resolved{}, a.ledgerError(ctx, "reading the calendar and the escalation policy", err)
	}
	res, err := r.Resolve(in.Rule)
	return res, refusal(err)
}

// FindingDeadlineInput is a change of a finding that starts a new
// rectification deadline (a referral, a rejected verification, a refused
// sign-off, a reopening): the change as ApplyFindingChange takes it,
// without the deadline, and the rule that computes it.
type FindingDeadlineInput struct {
	Finding casework.Finding `json:"finding"`
	Event   casework.Event   `json:"event"`
	Rule    deadline.Rule    `json:"rule"`
}

// ApplyFindingDeadline computes in.Rule as ResolveDeadline does and writes
// the change as ApplyFindingChange does, the row with the deadline and the
// event's data with it under "deadline": one call where a workflow since
// its code level 2 made two (issue 9 item 5). A refused rule writes
// nothing.
//
// A retry of a change its first attempt wrote (the answer lost) answers
// with the deadline the ledger holds, its ladder scheduled as Resolve
// would: a calendar version or policy loaded in between can make the one
// computed now differ, and the workflow would then run a ladder the ledger
// does not show. A re-date (the calendar's signal) starts from the stored
// one.
func (a *Activities) ApplyFindingDeadline(ctx context.Context, in FindingDeadlineInput) (deadline.Resolved, error) {
	r, err := LoadResolver(ctx, a.Ledger)
	if err != nil {
		return deadline.Resolved{}, a.ledgerError(ctx, "reading the calendar and the escalation policy", err)
	}
	res, err := r.Resolve(in.Rule)
	if err != nil {
		return deadline.Resolved{}, refusal(err)
	}
	in.Finding.Deadline = &res.Deadline
	if in.Event.Data, err = withDeadline(in.Event.Data, res.Deadline); err != nil {
		// The workflow wrote the data: nothing a retry would mend.
		return deadline.Resolved{}, temporal.NewNonRetryableApplicationError(
			"adding the deadline to the event's data: "+err.Error(), ErrTypeEventData, err)
	}
	moved, err := a.applyFindingChange(ctx, FindingChangeInput{Finding: in.Finding, Event: in.Event})
	if err != nil || moved {
		return res, err
	}
	stored, err := a.Ledger.GetFinding(ctx, in.Finding.ID)
	if err != nil {
		return deadline.Resolved{}, a.ledgerError(ctx, fmt.Sprintf("reading finding %q", in.Finding.ID), err)
	}
	if stored.Deadline == nil {
		return res, nil
	}
	kept, err := r.Reschedule(in.Rule, *stored.Deadline)
	return kept, refusal(err)
}

// ErrTypeEventData is the type of the failure of an event whose data is
// not a JSON object (ApplyFindingDeadline): the workflow's mistake, never
// retried.
const ErrTypeEventData = "EVENT_DATA"

// withDeadline is the event data data (a JSON object, or none) with d under
// "deadline".
func withDeadline(data json.RawMessage, d calendar.Deadline) (json.RawMessage, error) {
	fields := map[string]json.RawMessage{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &fields); err != nil {
			return nil, err
		}
	}
	var err error
	if fields["deadline"], err = json.Marshal(d); err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}

// ExtensionTermsInput asks what the office's policy allows for extending a
// deadline whose original last day (before any extension) is OriginalDue
// (YYYY-MM-DD).
type ExtensionTermsInput struct {
	OriginalDue string `json:"original_due"`
}

// ExtensionTerms reads the office's extension limits and computes the last
// day they let extensions reach, with the ledger's calendar: the reading is
// this activity's, the computation is deadline.ExtensionTermsFor, and the
// decision the workflow's.
func (a *Activities) ExtensionTerms(ctx context.Context, in ExtensionTermsInput) (deadline.ExtensionTerms, error) {
	r, err := LoadResolver(ctx, a.Ledger)
	if err != nil {
		return deadline.ExtensionTerms{}, a.ledgerError(ctx, "reading the calendar and the escalation policy", err)
	}
	terms, err := r.ExtensionTerms(in.OriginalDue)
	return terms, refusal(err)
}

// Resolver computes deadlines (deadline.Resolve) with the calendar and
// escalation policy in force, read from the ledger once. The API uses it to
// preview a deadline and refuse a limit before anything is recorded; the
// worker, to compute the deadline it then runs.
type Resolver struct {
	calendar *calendar.Calendar
	policy   casework.EscalationPolicy
}

// LoadResolver reads the calendar in force and the escalation policy (one
// round trip).
func LoadResolver(ctx context.Context, l *ledger.Store) (*Resolver, error) {
	cal, policy, err := l.DeadlineTerms(ctx)
	if err != nil {
		return nil, err
	}
	return &Resolver{calendar: cal, policy: policy}, nil
}

// Resolve computes one deadline and its escalation schedule.
func (r *Resolver) Resolve(rule deadline.Rule) (deadline.Resolved, error) {
	return deadline.Resolve(r.calendar, r.policy, rule)
}

// Reschedule is deadline.Reschedule with the calendar and policy in force.
func (r *Resolver) Reschedule(rule deadline.Rule, d calendar.Deadline) (deadline.Resolved, error) {
	return deadline.Reschedule(r.calendar, r.policy, rule, d)
}

// ExtensionTerms are the policy's extension limits for a deadline whose
// original last day is originalDue, and the last day they allow.
func (r *Resolver) ExtensionTerms(originalDue string) (deadline.ExtensionTerms, error) {
	return deadline.ExtensionTermsFor(r.calendar, r.policy, originalDue)
}

// refusal marks domain refusals non-retryable for Temporal: retrying a
// deadline past the calendar's last year, or an invalid limit, cannot help.
func refusal(err error) error {
	var invalid *calendar.ValidationError
	var noData *calendar.NoDataError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &noData):
		return derrors.ToTemporal(derrors.New(derrors.ErrFailedPrecondition, "%s", noData.Text()))
	case errors.As(err, &invalid):
		inv := &derrors.InvalidError{}
		for _, v := range invalid.Violations {
			inv.Violations = append(inv.Violations, derrors.FieldViolation{Field: v.Field, Rule: v.Rule, RuleZH: v.RuleZH})
		}
		return derrors.ToTemporal(inv)
	}
	return derrors.ToTemporal(err)
}
