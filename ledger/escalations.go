package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Bounds of the escalation ladder, in working days relative to the due day.
const (
	// MaxReminderWorkingDays is how early a reminder may come: at most this
	// many working days before the due day.
	MaxReminderWorkingDays = 20
	// MaxInterviewWorkingDays is how late an interview may be proposed: at
	// most this many working days after the due day.
	MaxInterviewWorkingDays = 60
)

// EscalationID is the stable ID of the escalation step of a subject's
// deadline: the same subject, deadline sequence and step always give the
// same ID, so a retried escalation lands on the same row.
func EscalationID(subject string, deadlineSeq int, step string) string {
	sum := sha256.Sum256([]byte(subject + "\x00" + strconv.Itoa(deadlineSeq) + "\x00" + step))
	return "esc-" + hex.EncodeToString(sum[:8])
}

// escalationFromRow is the Escalation a row holds; it never fails (no JSON
// columns) but has the shape listPage and convertAll take.
func escalationFromRow(r dbsqlc.Escalation) (Escalation, error) {
	return Escalation{
		ID: r.ID, Subject: r.Subject, DeadlineSeq: r.DeadlineSeq, Step: r.Step, UnitCode: r.UnitCode,
		DueAt: r.DueAt, FiredAt: r.FiredAt, Message: r.Message,
	}, nil
}

// RecordEscalation records one escalation step in one transaction: the
// escalation row (unique by subject, deadline sequence and step; its ID is
// EscalationID unless esc.ID is set; a zero FiredAt means now), the finding's
// change as ApplyFindingChange writes it, and the event. It returns the
// escalation as stored, which on a retry is the first one. With an empty
// f.ID no finding row is touched and e is appended alone (if it has a key),
// for subjects that are not findings.
func (s *Store) RecordEscalation(ctx context.Context, esc Escalation, f Finding, e Event) (Escalation, error) {
	return s.recordEscalation(ctx, esc, func(q *dbsqlc.Queries) error {
		if f.ID != "" {
			return s.applyFindingChange(ctx, q, f, e)
		}
		if e.Key != "" {
			return s.appendEvent(ctx, q, e)
		}
		return nil
	})
}

// recordEscalation inserts an escalation (or finds the one stored for the
// same subject, deadline and step) and applies the owner's change, in one
// transaction.
func (s *Store) recordEscalation(ctx context.Context, esc Escalation, apply func(*dbsqlc.Queries) error) (Escalation, error) {
	if esc.Subject == "" || esc.Step == "" {
		return Escalation{}, fmt.Errorf("an escalation needs a subject and a step: %w", derrors.ErrInvalidArgument)
	}
	if esc.ID == "" {
		esc.ID = EscalationID(esc.Subject, esc.DeadlineSeq, esc.Step)
	}
	var firedAt *time.Time
	if !esc.FiredAt.IsZero() {
		firedAt = &esc.FiredAt
	}
	var stored Escalation
	err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.InsertEscalation(ctx, dbsqlc.InsertEscalationParams{
			ID: esc.ID, Subject: esc.Subject, DeadlineSeq: esc.DeadlineSeq, Step: esc.Step, UnitCode: esc.UnitCode,
			DueAt: esc.DueAt, FiredAt: firedAt, Message: esc.Message,
		}); err != nil {
			return fmt.Errorf("inserting escalation %s of %s: %w", esc.Step, esc.Subject, err)
		}
		r, found, err := optional(q.EscalationOfStep(ctx, dbsqlc.EscalationOfStepParams{
			Subject: esc.Subject, DeadlineSeq: esc.DeadlineSeq, Step: esc.Step,
		}))
		switch {
		case err != nil:
			return fmt.Errorf("reading escalation %s of %s: %w", esc.Step, esc.Subject, err)
		case !found:
			// Nothing stored for this triple, yet the insert did nothing: the
			// ID belongs to another escalation.
			return fmt.Errorf("escalation ID %q is taken by another escalation: %w", esc.ID, derrors.ErrAlreadyExists)
		}
		stored, _ = escalationFromRow(r)
		return apply(q)
	})
	if err != nil {
		return Escalation{}, err
	}
	return stored, nil
}

// EscalationFilter narrows ListEscalations; empty fields match all.
type EscalationFilter struct {
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject  string
	UnitCode string
	// Reach is the caller's scope.
	Reach Reach
}

// EscalationPage is one page of ListEscalations.
type EscalationPage struct {
	Escalations   []Escalation
	NextPageToken string
}

// ListEscalations pages through the escalations that match filter, newest
// first (fired_at, then ID, descending). pageSize must come from PageSize.
func (s *Store) ListEscalations(ctx context.Context, filter EscalationFilter, pageSize int, pageToken string) (EscalationPage, error) {
	list, next, err := listPage("escalations", pageSize, pageToken,
		func(beforeAt *time.Time, beforeID string, limit int64) ([]dbsqlc.Escalation, error) {
			return s.q.ListEscalations(ctx, dbsqlc.ListEscalationsParams{
				Subject: filter.Subject, UnitCode: filter.UnitCode,
				ByUnit: filter.Reach.ByUnit, Units: filter.Reach.Units, ByTeam: filter.Reach.ByTeam, TeamSubject: filter.Reach.Subject,
				BeforeAt: beforeAt, BeforeID: beforeID, RowLimit: limit,
			})
		},
		escalationFromRow, func(e Escalation) cursor { return cursor{At: e.FiredAt, ID: e.ID} })
	return EscalationPage{Escalations: list, NextPageToken: next}, err
}

// EscalationsOf returns a subject's escalations, oldest first.
func (s *Store) EscalationsOf(ctx context.Context, subject string) ([]Escalation, error) {
	rows, err := s.q.EscalationsOf(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("listing escalations of %s: %w", subject, err)
	}
	return convertAll(rows, escalationFromRow)
}

// ValidateEscalationSteps checks a ladder: each step is REMINDER, OVERDUE or
// INTERVIEW_PROPOSED and appears at most once; OVERDUE is required and falls
// on the due day (0); a REMINDER comes 1 to MaxReminderWorkingDays working
// days before it (negative), an INTERVIEW_PROPOSED 1 to
// MaxInterviewWorkingDays after it. Violations name steps[i].step,
// steps[i].working_days or steps.
func ValidateEscalationSteps(steps []EscalationStep) error {
	var v derrors.Violations
	seen := map[string]int{}
	for i, st := range steps {
		stepField := fmt.Sprintf("steps[%d].step", i)
		daysField := fmt.Sprintf("steps[%d].working_days", i)
		if first, ok := seen[st.Step]; ok {
			v.Add(stepField, "must not repeat %s (already steps[%d])", st.Step, first)
			continue
		}
		switch st.Step {
		case StepReminder:
			if st.WorkingDays >= 0 || st.WorkingDays < -MaxReminderWorkingDays {
				v.Add(daysField, "must be between -%d and -1 for %s (working days before the due day)", MaxReminderWorkingDays, StepReminder)
			}
		case StepOverdue:
			if st.WorkingDays != 0 {
				v.Add(daysField, "must be 0 for %s (it fires when the due day ends)", StepOverdue)
			}
		case StepInterviewProposed:
			if st.WorkingDays <= 0 || st.WorkingDays > MaxInterviewWorkingDays {
				v.Add(daysField, "must be between 1 and %d for %s (working days after the due day)", MaxInterviewWorkingDays, StepInterviewProposed)
			}
		default:
			v.Add(stepField, "must be one of %s, %s, %s", StepReminder, StepOverdue, StepInterviewProposed)
			continue
		}
		seen[st.Step] = i
	}
	if _, ok := seen[StepOverdue]; !ok {
		v.Add("steps", "must include an %s step with working_days 0", StepOverdue)
	}
	return v.Err()
}

// normalizeSteps orders a valid ladder by when its steps fire.
func normalizeSteps(steps []EscalationStep) []EscalationStep {
	out := slices.Clone(steps)
	slices.SortStableFunc(out, func(a, b EscalationStep) int { return a.WorkingDays - b.WorkingDays })
	return out
}

// escalationPolicyFromRow is the EscalationPolicy a row holds; its ID is
// the version.
func escalationPolicyFromRow(r dbsqlc.EscalationPolicy) (EscalationPolicy, error) {
	p := EscalationPolicy{Version: r.ID, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Steps, &p.Steps); err != nil {
		return EscalationPolicy{}, fmt.Errorf("decoding steps of escalation policy %d: %w", p.Version, err)
	}
	if err := json.Unmarshal(r.UpdatedBy, &p.UpdatedBy); err != nil {
		return EscalationPolicy{}, fmt.Errorf("decoding updated_by of escalation policy %d: %w", p.Version, err)
	}
	return p, nil
}

// EscalationPolicy returns the ladder in force: the newest one the office
// set, or DefaultEscalationPolicy (version 0) when it never set one.
func (s *Store) EscalationPolicy(ctx context.Context) (EscalationPolicy, error) {
	r, found, err := optional(s.q.CurrentEscalationPolicy(ctx))
	switch {
	case err != nil:
		return EscalationPolicy{}, fmt.Errorf("reading the escalation policy: %w", err)
	case !found:
		return DefaultEscalationPolicy(), nil
	}
	p, err := escalationPolicyFromRow(r)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("reading the escalation policy: %w", err)
	}
	return p, nil
}

// SetEscalationPolicy puts a new ladder in force (steps are checked with
// ValidateEscalationSteps and stored in firing order); its version is the
// new row's ID. A retry with the same request ID returns the policy first
// set, even if a newer one is now in force; the same request ID with
// different steps is derrors.ErrAlreadyExists. Open deadlines keep the
// schedule they were given until they are re-dated.
func (s *Store) SetEscalationPolicy(ctx context.Context, requestID string, steps []EscalationStep, by actor.Actor) (EscalationPolicy, error) {
	if requestID == "" {
		return EscalationPolicy{}, derrors.Invalid("request_id", "must not be empty")
	}
	if err := ValidateEscalationSteps(steps); err != nil {
		return EscalationPolicy{}, err
	}
	steps = normalizeSteps(steps)
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("encoding escalation steps: %w", err)
	}
	byJSON, err := json.Marshal(by)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("encoding actor: %w", err)
	}
	var out EscalationPolicy
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		id, inserted, err := optional(q.InsertEscalationPolicy(ctx, dbsqlc.InsertEscalationPolicyParams{
			RequestID: requestID, Steps: stepsJSON, UpdatedBy: byJSON,
		}))
		if err != nil {
			return fmt.Errorf("inserting escalation policy: %w", err)
		}
		if !inserted {
			// Set already by an earlier request with this ID.
			r, err := q.EscalationPolicyOfRequest(ctx, requestID)
			if err != nil {
				return fmt.Errorf("reading escalation policy of request %q: %w", requestID, err)
			}
			first, err := escalationPolicyFromRow(r)
			if err != nil {
				return fmt.Errorf("reading escalation policy of request %q: %w", requestID, err)
			}
			if !slices.Equal(first.Steps, steps) {
				return fmt.Errorf("request_id %q was already used to set different steps (escalation policy %d): %w",
					requestID, first.Version, derrors.ErrAlreadyExists)
			}
			out = first
			return nil
		}
		r, err := q.GetEscalationPolicy(ctx, id)
		if err != nil {
			return fmt.Errorf("reading escalation policy %d: %w", id, err)
		}
		out, err = escalationPolicyFromRow(r)
		if err != nil {
			return fmt.Errorf("reading escalation policy %d: %w", id, err)
		}
		data, err := json.Marshal(map[string]any{"version": id, "steps": steps})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		return s.appendEvent(ctx, q, Event{
			SubjectType: SubjectEscalationPolicy, SubjectID: EscalationPolicySubjectID, Key: "set/" + requestID,
			Action: "set_escalation_policy", Actor: by, Data: data, OccurredAt: out.UpdatedAt,
		})
	})
	if err != nil {
		return EscalationPolicy{}, err
	}
	return out, nil
}
