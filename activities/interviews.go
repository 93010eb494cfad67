package activities

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/ledger"
)

// RecordInterviewInput writes a new interview's ledger row (stage PROPOSED)
// and its "propose" event.
type RecordInterviewInput struct {
	Interview casework.Interview `json:"interview"`
	Event     casework.Event     `json:"event"`
	// SubjectEnded are the stages that end the subject's lifecycle: a
	// subject in one is refused (SUBJECT_ENDED). Empty in proposals from
	// before it, which were not checked.
	SubjectEnded []string `json:"subject_ended,omitempty"`
	// AloneOpen refuses the proposal while the subject has another
	// interview open (INTERVIEW_OPEN): a proposal by hand. False in the
	// ladder's, and in proposals from before it.
	AloneOpen bool `json:"alone_open,omitempty"`
}

// RecordInterview writes a proposed interview; a retry changes nothing. A
// workflow ID taken by another interview (ALREADY_EXISTS), or a subject
// that has ended (SUBJECT_ENDED), is a non-retryable refusal.
func (a *Activities) RecordInterview(ctx context.Context, in RecordInterviewInput) error {
	var rules []ledger.InterviewRule
	if in.AloneOpen {
		rules = append(rules, ledger.AloneOpen)
	}
	if err := a.Ledger.CreateInterview(ctx, in.Interview, in.Event, in.SubjectEnded, rules...); err != nil {
		return a.ledgerError(ctx, fmt.Sprintf("recording interview %q", in.Interview.ID), err)
	}
	a.transition(casework.SubjectInterview, in.Event, in.Interview.Stage)
	a.log(ctx).Info("ledger: interview proposed", zap.String("interview", in.Interview.ID),
		zap.String("subject", in.Interview.Subject), zap.String("unit", in.Interview.UnitCode),
		zap.String("source", in.Interview.Source))
	return nil
}

// InterviewChangeInput applies one change: the row becomes Interview (if its
// Version is above the stored one) and Event is appended (if its key is
// new), in one transaction.
type InterviewChangeInput struct {
	Interview casework.Interview `json:"interview"`
	Event     casework.Event     `json:"event"`
}

// ApplyInterviewChange writes one change of an interview.
func (a *Activities) ApplyInterviewChange(ctx context.Context, in InterviewChangeInput) error {
	if err := a.Ledger.ApplyInterviewChange(ctx, in.Interview, in.Event); err != nil {
		return a.ledgerError(ctx, fmt.Sprintf("applying %s to interview %q", in.Event.Action, in.Interview.ID), err)
	}
	a.transition(casework.SubjectInterview, in.Event, in.Interview.Stage)
	a.log(ctx).Info("ledger: interview changed", zap.String("interview", in.Interview.ID), zap.String("action", in.Event.Action),
		zap.String("stage", in.Interview.Stage), zap.Int("version", in.Interview.Version))
	return nil
}

// EscalateInterviewInput records one escalation step of an interview's
// follow-up deadline: the escalation row (unique by subject, deadline
// sequence and step) with its event, then the interview's new row.
type EscalateInterviewInput struct {
	Escalation casework.Escalation `json:"escalation"`
	Interview  casework.Interview  `json:"interview"`
	Event      casework.Event      `json:"event"`
}

// EscalateInterview records an escalation step of an interview. The
// escalation and its event are one transaction, the row's overdue mark a
// second: both are idempotent, so a retry after a crash between them
// completes the step.
func (a *Activities) EscalateInterview(ctx context.Context, in EscalateInterviewInput) (EscalateResult, error) {
	in.Event.SubjectType, in.Event.SubjectID = casework.SubjectInterview, in.Interview.ID
	esc, err := a.Ledger.RecordEscalation(ctx, in.Escalation, casework.Finding{}, in.Event)
	if err == nil {
		if err := a.Ledger.ApplyInterviewChange(ctx, in.Interview, casework.Event{}); err != nil {
			return EscalateResult{}, a.ledgerError(ctx, fmt.Sprintf("marking interview %q after %s",
				in.Interview.ID, in.Escalation.Step), err)
		}
	}
	return a.escalated(ctx, in.Escalation, esc, err)
}

// ProposedInterviewsInput names a subject ("finding/<id>" or
// "inspection/<id>") and who proposed its interviews (LADDER, TEAM,
// OFFICE).
type ProposedInterviewsInput struct {
	Subject string `json:"subject"`
	Source  string `json:"source"`
}

// InterviewIDsResult lists interview IDs.
type InterviewIDsResult struct {
	IDs []string `json:"ids"`
}

// ProposedInterviews lists, sorted, the interviews about a subject from a
// source that are still PROPOSED (not approved), so that a finding or an
// inspection that ends can cancel those its ladder proposed.
func (a *Activities) ProposedInterviews(ctx context.Context, in ProposedInterviewsInput) (InterviewIDsResult, error) {
	ids, err := a.Ledger.ProposedInterviews(ctx, in.Subject, in.Source)
	if err != nil {
		return InterviewIDsResult{}, a.ledgerError(ctx, fmt.Sprintf("listing the proposed interviews of %s", in.Subject), err)
	}
	if ids == nil {
		ids = []string{}
	}
	return InterviewIDsResult{IDs: ids}, nil
}
