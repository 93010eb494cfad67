package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
		DueAt: r.DueAt, FiredAt: r.FiredAt, Message: r.Message, MessageZH: r.MessageZh,
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
			DueAt: esc.DueAt, FiredAt: firedAt, Message: esc.Message, MessageZh: esc.MessageZH,
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

// Bounds of the extension limits.
const (
	// MaxExtensions is the most extensions a policy may allow per deadline.
	MaxExtensions = 10
	// MaxExtensionMonths and MaxExtensionWorkingDays bound the total an
	// extended deadline may move: the calendar's longest periods.
	MaxExtensionMonths      = 12
	MaxExtensionWorkingDays = 250
)

// ValidateExtensionLimits checks the office's limits on extensions: a
// count from 0 (none) to MaxExtensions; with a count above 0, exactly one
// total — 1 to MaxExtensionMonths months or 1 to MaxExtensionWorkingDays
// working days — and at least one hazard severity, each once; with 0,
// neither. Violations name extension_limits.max_count,
// extension_limits.total_months, extension_limits.total_working_days or
// extension_limits.severities[i].
func ValidateExtensionLimits(l ExtensionLimits) error {
	const prefix = "extension_limits."
	var v derrors.Violations
	if l.MaxCount < 0 || l.MaxCount > MaxExtensions {
		v.Add(prefix+"max_count", "must be between 0 (no extensions) and %d", MaxExtensions)
		return v.Err()
	}
	if l.MaxCount == 0 {
		if l.TotalMonths != 0 || l.TotalWorkingDays != 0 || len(l.Severities) > 0 {
			v.Add(prefix+"max_count", "is 0, which allows no extension: leave total_months, total_working_days and severities unset")
		}
		return v.Err()
	}
	switch {
	case l.TotalMonths != 0 && l.TotalWorkingDays != 0:
		v.Add(prefix+"total_months", "give either total_months or total_working_days, not both")
	case l.TotalMonths == 0 && l.TotalWorkingDays == 0:
		v.Add(prefix+"total_months", "give the total either in months (total_months, 1 to %d) or in working days (total_working_days, 1 to %d)",
			MaxExtensionMonths, MaxExtensionWorkingDays)
	case l.TotalMonths < 0 || l.TotalMonths > MaxExtensionMonths:
		v.Add(prefix+"total_months", "must be between 1 and %d", MaxExtensionMonths)
	case l.TotalWorkingDays < 0 || l.TotalWorkingDays > MaxExtensionWorkingDays:
		v.Add(prefix+"total_working_days", "must be between 1 and %d", MaxExtensionWorkingDays)
	}
	if len(l.Severities) == 0 {
		v.Add(prefix+"severities", "must list at least one of %s (set max_count 0 to allow no extension)", strings.Join(HazardSeverities, ", "))
	}
	for i, sev := range l.Severities {
		field := fmt.Sprintf("%sseverities[%d]", prefix, i)
		switch {
		case !slices.Contains(HazardSeverities, sev):
			v.Add(field, "must be one of %s", strings.Join(HazardSeverities, ", "))
		case slices.Index(l.Severities, sev) < i:
			v.Add(field, "%s is listed twice", sev)
		}
	}
	return v.Err()
}

// normalizeExtensionLimits orders a valid policy's severities as
// HazardSeverities lists them.
func normalizeExtensionLimits(l ExtensionLimits) ExtensionLimits {
	l.Severities = slices.DeleteFunc(slices.Clone(HazardSeverities), func(s string) bool { return !slices.Contains(l.Severities, s) })
	if len(l.Severities) == 0 {
		l.Severities = nil
	}
	return l
}

// sameExtensionLimits compares two normalized limits.
func sameExtensionLimits(a, b ExtensionLimits) bool {
	return a.MaxCount == b.MaxCount && a.TotalMonths == b.TotalMonths && a.TotalWorkingDays == b.TotalWorkingDays &&
		slices.Equal(a.Severities, b.Severities)
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
	// A policy set before extensions existed (NULL) leaves them at the
	// defaults.
	p.Extensions = DefaultExtensionLimits()
	if r.Extensions != nil {
		p.Extensions = ExtensionLimits{}
		if err := json.Unmarshal(r.Extensions, &p.Extensions); err != nil {
			return EscalationPolicy{}, fmt.Errorf("decoding extensions of escalation policy %d: %w", p.Version, err)
		}
	}
	// A policy set before sign-offs existed (NULL) has none.
	if err := decodeList(r.SignoffRules, &p.SignoffRules); err != nil {
		return EscalationPolicy{}, fmt.Errorf("decoding signoff_rules of escalation policy %d: %w", p.Version, err)
	}
	p.SignoffRules = normalizeSignoffRules(p.SignoffRules)
	// A policy set before the answer limit existed (NULL) has the default.
	p.InvitationAnswerWorkingDays = DefaultInvitationAnswerWorkingDays
	if r.InvitationAnswerWorkingDays != nil {
		p.InvitationAnswerWorkingDays = int(*r.InvitationAnswerWorkingDays)
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

// SetEscalationPolicy puts a new ladder, new extension limits, new
// sign-off rules and a new invitation answer limit in force (steps are
// checked with ValidateEscalationSteps and stored in firing order, the
// limits with ValidateExtensionLimits, the rules with ValidateSignoffRules,
// answerDays with ValidateInvitationAnswerWorkingDays); its version is the
// new row's ID. A
// retry with the same request ID returns the policy first set, even if a
// newer one is now in force; the same request ID with different steps,
// limits or rules is derrors.ErrAlreadyExists. Open deadlines keep the
// schedule they were given until they are re-dated; the extension limits
// apply to every decision from now on, the sign-off rules to every
// verification from now on (a sign-off under way keeps its signers), the
// answer limit to every invitation sent from now on (one sent keeps its
// deadline).
func (s *Store) SetEscalationPolicy(ctx context.Context, requestID string, steps []EscalationStep, extensions ExtensionLimits,
	signoffs []SignoffRule, answerDays int, expectedVersion *int64, by actor.Actor,
) (EscalationPolicy, error) {
	if requestID == "" {
		return EscalationPolicy{}, derrors.Invalid("request_id", "must not be empty")
	}
	var v derrors.Violations
	for _, err := range []error{ValidateEscalationSteps(steps), ValidateExtensionLimits(extensions), ValidateSignoffRules(signoffs),
		ValidateInvitationAnswerWorkingDays(answerDays)} {
		var invalid *derrors.InvalidError
		if errors.As(err, &invalid) {
			v = append(v, invalid.Violations...)
		}
	}
	if err := v.Err(); err != nil {
		return EscalationPolicy{}, err
	}
	steps = normalizeSteps(steps)
	extensions = normalizeExtensionLimits(extensions)
	signoffs = normalizeSignoffRules(signoffs)
	signoffsJSON, err := jsonOrNull(signoffs, len(signoffs) == 0)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("encoding sign-off rules: %w", err)
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("encoding escalation steps: %w", err)
	}
	extensionsJSON, err := json.Marshal(extensions)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("encoding extension limits: %w", err)
	}
	byJSON, err := json.Marshal(by)
	if err != nil {
		return EscalationPolicy{}, fmt.Errorf("encoding actor: %w", err)
	}
	answerDays32 := int32(answerDays)
	var out EscalationPolicy
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if expectedVersion != nil {
			if err := s.checkPolicyVersion(ctx, q, requestID, *expectedVersion); err != nil {
				return err
			}
		}
		id, inserted, err := optional(q.InsertEscalationPolicy(ctx, dbsqlc.InsertEscalationPolicyParams{
			RequestID: requestID, Steps: stepsJSON, UpdatedBy: byJSON, Extensions: extensionsJSON,
			SignoffRules: signoffsJSON, InvitationAnswerWorkingDays: &answerDays32,
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
			if !slices.Equal(first.Steps, steps) || !sameExtensionLimits(first.Extensions, extensions) ||
				!sameSignoffRules(first.SignoffRules, signoffs) || first.InvitationAnswerWorkingDays != answerDays {
				return fmt.Errorf("request_id %q was already used to set a different policy (escalation policy %d): %w",
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
		data, err := json.Marshal(map[string]any{"version": id, "steps": steps, "extensions": extensions, "signoff_rules": signoffs,
			"invitation_answer_working_days": answerDays})
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

// checkPolicyVersion refuses to replace a policy other than the version the
// caller read (expected; 0 is the built-in policy before any was set): the
// policy changed meanwhile, and a whole policy sent now would undo that
// change. The check holds the policy's lock until the transaction ends. A
// retry of a request already applied is not checked: it answers as the
// first time.
func (s *Store) checkPolicyVersion(ctx context.Context, q *dbsqlc.Queries, requestID string, expected int64) error {
	if err := q.LockEscalationPolicy(ctx); err != nil {
		return fmt.Errorf("locking the escalation policy: %w", err)
	}
	if _, done, err := optional(q.EscalationPolicyOfRequest(ctx, requestID)); err != nil || done {
		return err
	}
	current, found, err := optional(q.CurrentEscalationPolicy(ctx))
	if err != nil {
		return fmt.Errorf("reading the escalation policy: %w", err)
	}
	var version int64
	if found {
		version = current.ID
	}
	if version != expected {
		return derrors.New(derrors.ErrFailedPrecondition,
			"the escalation policy is at version %d, not %d: it changed since it was read; read it again and send the whole policy", version, expected)
	}
	return nil
}
