package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// escalationFromRow is the Escalation a row holds; it never fails (no JSON
// columns) but has the shape listPage and convertAll take.
func escalationFromRow(r dbsqlc.Escalation) (casework.Escalation, error) {
	return casework.Escalation{
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
func (s *Store) RecordEscalation(ctx context.Context, esc casework.Escalation, f casework.Finding, e casework.Event) (casework.Escalation, error) {
	return s.recordEscalation(ctx, esc, func(p *pipeline) error {
		if f.ID != "" {
			_, err := s.applyFindingChange(p, f, e)
			return err
		}
		if e.Key != "" {
			return s.appendEvent(ctx, p.q(), e)
		}
		return nil
	})
}

// recordEscalation inserts an escalation (or finds the one stored for the
// same subject, deadline and step) and applies the owner's change, in one
// transaction.
func (s *Store) recordEscalation(ctx context.Context, esc casework.Escalation, apply func(*pipeline) error) (casework.Escalation, error) {
	if esc.Subject == "" || esc.Step == "" {
		return casework.Escalation{}, fmt.Errorf("an escalation needs a subject and a step: %w", derrors.ErrInvalidArgument)
	}
	if esc.ID == "" {
		esc.ID = casework.EscalationID(esc.Subject, esc.DeadlineSeq, esc.Step)
	}
	var firedAt *time.Time
	if !esc.FiredAt.IsZero() {
		firedAt = &esc.FiredAt
	}
	var stored casework.Escalation
	err := s.inPipeline(ctx, func(p *pipeline) error {
		q := p.q()
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
		return apply(p)
	})
	if err != nil {
		return casework.Escalation{}, err
	}
	return stored, nil
}

// SubjectFilter narrows ListEscalations and ListInterviews; empty fields
// match all.
type SubjectFilter struct {
	// Subject is a lifecycle's workflow ID ("finding/<id>",
	// "inspection/<id>"; an escalation's also "interview/<id>" or
	// "invitation/<id>").
	Subject  string
	UnitCode string
	// Reach is the caller's scope.
	Reach Reach
}

// EscalationPage is one page of ListEscalations.
type EscalationPage struct {
	Escalations   []casework.Escalation
	NextPageToken string
}

// ListEscalations pages through the escalations that match filter, newest
// first (fired_at, then ID, descending). pageSize must come from PageSize.
func (s *Store) ListEscalations(ctx context.Context, filter SubjectFilter, pageSize int, pageToken string) (EscalationPage, error) {
	list, next, err := listPage("escalations", pageSize, pageToken,
		func(beforeAt *time.Time, beforeID string, limit int64) ([]dbsqlc.Escalation, error) {
			return s.q.ListEscalations(ctx, dbsqlc.ListEscalationsParams{
				Subject: filter.Subject, UnitCode: filter.UnitCode,
				ByUnit: filter.Reach.ByUnit, Units: filter.Reach.Units, ByTeam: filter.Reach.ByTeam, TeamSubject: filter.Reach.Subject,
				BeforeAt: beforeAt, BeforeID: beforeID, RowLimit: limit,
			})
		},
		escalationFromRow, func(e casework.Escalation) cursor { return cursor{At: e.FiredAt, ID: e.ID} })
	return EscalationPage{Escalations: list, NextPageToken: next}, err
}

// EscalationsOf returns a subject's escalations, oldest first.
func (s *Store) EscalationsOf(ctx context.Context, subject string) ([]casework.Escalation, error) {
	rows, err := s.q.EscalationsOf(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("listing escalations of %s: %w", subject, err)
	}
	return convertAll(rows, escalationFromRow)
}

// normalizeExtensionLimits orders a valid policy's severities as
// HazardSeverities lists them.
func normalizeExtensionLimits(l casework.ExtensionLimits) casework.ExtensionLimits {
	l.Severities = slices.DeleteFunc(slices.Clone(casework.HazardSeverities), func(s string) bool { return !slices.Contains(l.Severities, s) })
	if len(l.Severities) == 0 {
		l.Severities = nil
	}
	return l
}

// sameExtensionLimits compares two normalized limits.
func sameExtensionLimits(a, b casework.ExtensionLimits) bool {
	return a.MaxCount == b.MaxCount && a.TotalMonths == b.TotalMonths && a.TotalWorkingDays == b.TotalWorkingDays &&
		slices.Equal(a.Severities, b.Severities)
}

// normalizeSteps orders a valid ladder by when its steps fire.
func normalizeSteps(steps []casework.EscalationStep) []casework.EscalationStep {
	out := slices.Clone(steps)
	slices.SortStableFunc(out, func(a, b casework.EscalationStep) int { return a.WorkingDays - b.WorkingDays })
	return out
}

// escalationPolicyFromRow is the EscalationPolicy a row holds; its ID is
// the version.
func escalationPolicyFromRow(r dbsqlc.EscalationPolicy) (casework.EscalationPolicy, error) {
	p := casework.EscalationPolicy{Version: r.ID, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.Steps, &p.Steps); err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("decoding steps of escalation policy %d: %w", p.Version, err)
	}
	if err := json.Unmarshal(r.UpdatedBy, &p.UpdatedBy); err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("decoding updated_by of escalation policy %d: %w", p.Version, err)
	}
	// A policy set before extensions existed (NULL) leaves them at the
	// defaults.
	p.Extensions = casework.DefaultExtensionLimits()
	if r.Extensions != nil {
		p.Extensions = casework.ExtensionLimits{}
		if err := json.Unmarshal(r.Extensions, &p.Extensions); err != nil {
			return casework.EscalationPolicy{}, fmt.Errorf("decoding extensions of escalation policy %d: %w", p.Version, err)
		}
	}
	// A policy set before sign-offs existed (NULL) has none.
	if err := decodeList(r.SignoffRules, &p.SignoffRules); err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("decoding signoff_rules of escalation policy %d: %w", p.Version, err)
	}
	p.SignoffRules = normalizeSignoffRules(p.SignoffRules)
	// A policy set before the answer limit existed (NULL) has the default.
	p.InvitationAnswerWorkingDays = casework.DefaultInvitationAnswerWorkingDays
	if r.InvitationAnswerWorkingDays != nil {
		p.InvitationAnswerWorkingDays = int(*r.InvitationAnswerWorkingDays)
	}
	return p, nil
}

// EscalationPolicy returns the ladder in force: the newest one the office
// set, or DefaultEscalationPolicy (version 0) when it never set one.
func (s *Store) EscalationPolicy(ctx context.Context) (casework.EscalationPolicy, error) {
	r, found, err := optional(s.q.CurrentEscalationPolicy(ctx))
	if err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("reading the escalation policy: %w", err)
	}
	return escalationPolicyOf(r, found)
}

// escalationPolicyOf is the policy in force when r, if found, is the
// newest row: without one, the default.
func escalationPolicyOf(r dbsqlc.EscalationPolicy, found bool) (casework.EscalationPolicy, error) {
	if !found {
		return casework.DefaultEscalationPolicy(), nil
	}
	p, err := escalationPolicyFromRow(r)
	if err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("reading the escalation policy: %w", err)
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
func (s *Store) SetEscalationPolicy(ctx context.Context, requestID string, steps []casework.EscalationStep, extensions casework.ExtensionLimits,
	signoffs []casework.SignoffRule, answerDays int, expectedVersion *int64, by actor.Actor,
) (casework.EscalationPolicy, error) {
	if requestID == "" {
		return casework.EscalationPolicy{}, derrors.Invalid("request_id", "must not be empty")
	}
	var v derrors.Violations
	for _, err := range []error{casework.ValidateEscalationSteps(steps), casework.ValidateExtensionLimits(extensions), casework.ValidateSignoffRules(signoffs),
		casework.ValidateInvitationAnswerWorkingDays(answerDays)} {
		var invalid *derrors.InvalidError
		if errors.As(err, &invalid) {
			v = append(v, invalid.Violations...)
		}
	}
	if err := v.Err(); err != nil {
		return casework.EscalationPolicy{}, err
	}
	steps = normalizeSteps(steps)
	extensions = normalizeExtensionLimits(extensions)
	signoffs = normalizeSignoffRules(signoffs)
	signoffsJSON, err := jsonOrNull(signoffs, len(signoffs) == 0)
	if err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("encoding sign-off rules: %w", err)
	}
	stepsJSON, err := json.Marshal(steps)
	if err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("encoding escalation steps: %w", err)
	}
	extensionsJSON, err := json.Marshal(extensions)
	if err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("encoding extension limits: %w", err)
	}
	byJSON, err := json.Marshal(by)
	if err != nil {
		return casework.EscalationPolicy{}, fmt.Errorf("encoding actor: %w", err)
	}
	answerDays32 := int32(answerDays)
	var out casework.EscalationPolicy
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		// Every writer takes the lock, with expected_version or without:
		// one without could land between a versioned writer's check and
		// its insert, and undo the change that writer was checked against.
		if err := q.LockEscalationPolicy(ctx); err != nil {
			return fmt.Errorf("locking the escalation policy: %w", err)
		}
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
		return s.appendEvent(ctx, q, casework.Event{
			SubjectType: casework.SubjectEscalationPolicy, SubjectID: casework.EscalationPolicySubjectID, Key: "set/" + requestID,
			Action: "set_escalation_policy", Actor: by, Data: data, OccurredAt: out.UpdatedAt,
		})
	})
	if err != nil {
		return casework.EscalationPolicy{}, err
	}
	return out, nil
}

// checkPolicyVersion refuses to replace a policy other than the version the
// caller read (expected; 0 is the built-in policy before any was set): the
// policy changed meanwhile, and a whole policy sent now would undo that
// change. It runs under the policy's lock, which every writer takes until
// its transaction ends. A retry of a request already applied is not
// checked: it answers as the first time.
func (s *Store) checkPolicyVersion(ctx context.Context, q *dbsqlc.Queries, requestID string, expected int64) error {
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
		// VERSION_CHANGED, the version in force as the stage: a client
		// tells this refusal from others by its reason, not its words.
		return derrors.StageError{Reason: "VERSION_CHANGED", Subject: "escalation-policy", Action: "update", Stage: strconv.FormatInt(version, 10)}.
			Says("the escalation policy is at version %d, not %d: it changed since it was read; read it again and send the whole policy", version, expected)
	}
	return nil
}
