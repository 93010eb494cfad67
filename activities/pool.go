package activities

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
)

// InvitationChangeInput writes an invitation's row (new, or with a version
// above the stored one) and its event, in one transaction with its line-up
// member's state.
type InvitationChangeInput struct {
	Invitation casework.Invitation `json:"invitation"`
	Event      casework.Event      `json:"event"`
}

// ApplyInvitationChange writes one change of an invitation (its first write
// too); a retry changes nothing.
func (a *Activities) ApplyInvitationChange(ctx context.Context, in InvitationChangeInput) error {
	if err := a.Ledger.ApplyInvitationChange(ctx, in.Invitation, in.Event); err != nil {
		return a.ledgerError(ctx, fmt.Sprintf("applying %s to invitation %q", in.Event.Action, in.Invitation.ID), err)
	}
	a.transition(casework.SubjectInvitation, in.Event, in.Invitation.Stage)
	a.log(ctx).Info("ledger: invitation changed", zap.String("invitation", in.Invitation.ID),
		zap.String("action", in.Event.Action), zap.String("stage", in.Invitation.Stage))
	return nil
}

// EscalateInvitationInput records one escalation step of an invitation's
// answer deadline.
type EscalateInvitationInput struct {
	Escalation casework.Escalation `json:"escalation"`
	Invitation casework.Invitation `json:"invitation"`
	Event      casework.Event      `json:"event"`
}

// EscalateInvitation records an escalation step of an invitation: the
// escalation with its event, then the invitation's row; both idempotent.
func (a *Activities) EscalateInvitation(ctx context.Context, in EscalateInvitationInput) (EscalateResult, error) {
	esc, err := a.Ledger.RecordInvitationEscalation(ctx, in.Escalation, in.Invitation, in.Event)
	return a.escalated(ctx, in.Escalation, esc, err)
}

// LineupPoolInput names a line-up whose replacement is to be drawn.
type LineupPoolInput struct {
	LineupID string `json:"lineup_id"`
}

// LineupPoolResult is the line-up and the pool as a replacement's draw
// reads them.
type LineupPoolResult struct {
	Lineup casework.Lineup         `json:"lineup"`
	Pool   casework.PoolCandidates `json:"pool"`
}

// LineupPool reads a line-up and the pool with the bookings on its dates
// (its own left out): the data a replacement is drawn from, by the workflow.
func (a *Activities) LineupPool(ctx context.Context, in LineupPoolInput) (LineupPoolResult, error) {
	l, err := a.Ledger.GetLineup(ctx, in.LineupID)
	if err != nil {
		return LineupPoolResult{}, a.ledgerError(ctx, "reading line-up "+in.LineupID, err)
	}
	pool, err := a.Ledger.Candidates(ctx, l.PlannedStart, l.PlannedEnd, l.ID)
	if err != nil {
		return LineupPoolResult{}, a.ledgerError(ctx, "reading the pool", err)
	}
	return LineupPoolResult{Lineup: l, Pool: pool}, nil
}

// RecordReplacementInput adds a drawn replacement to a line-up: Member
// (INVITED, with its invitation ID) in the place of Leaving, drawn from
// the line-up at Version; Exclusions are the replacement draw's.
type RecordReplacementInput struct {
	LineupID   string                `json:"lineup_id"`
	Version    int                   `json:"version"`
	Leaving    string                `json:"leaving"`
	Member     casework.LineupMember `json:"member"`
	Exclusions []casework.Exclusion  `json:"exclusions"`
	Event      casework.Event        `json:"event"`
}

// RecordReplacementResult is the line-up after the replacement.
type RecordReplacementResult struct {
	Lineup casework.Lineup `json:"lineup"`
}

// RecordReplacement writes a replacement under the pool's lock. A line-up
// changed since Version (another replacement, a swap) is refused with
// LINEUP_CHANGED, and the workflow draws again from the new state; a
// retry (the event's key recorded) returns the line-up as it is.
func (a *Activities) RecordReplacement(ctx context.Context, in RecordReplacementInput) (RecordReplacementResult, error) {
	l, err := a.Ledger.ChangeLineup(ctx, in.LineupID, in.Event, func(l *casework.Lineup) error {
		if l.Version != in.Version {
			return derrors.StageError{Reason: "LINEUP_CHANGED", Subject: "lineup/" + l.ID, Action: "replace", Stage: l.State}.
				Says("line-up %s changed while a replacement was drawn (version %d, drawn from %d)", l.ID, l.Version, in.Version)
		}
		l.Members = append(l.Members, in.Member)
		l.Draws++
		l.Exclusions = in.Exclusions
		return nil
	})
	if err != nil {
		return RecordReplacementResult{}, a.ledgerError(ctx, "recording a replacement in line-up "+in.LineupID, err)
	}
	a.log(ctx).Info("ledger: replacement drawn", zap.String("lineup", in.LineupID), zap.String("leaving", in.Leaving),
		zap.String("expert", in.Member.ExpertID))
	return RecordReplacementResult{Lineup: l}, nil
}

// InvitationTermsInput asks for the terms of an invitation being sent.
type InvitationTermsInput struct{}

// InvitationTerms is the office's answer limit for an invitation, with the
// version of the escalation policy that set it.
type InvitationTerms struct {
	PolicyVersion     int64 `json:"policy_version"`
	AnswerWorkingDays int   `json:"answer_working_days"`
}

// InvitationTerms reads the escalation policy in force for the answer
// limit of an invitation being sent (issue 15 item 3): the reading is this
// activity's, the deadline the workflow's.
func (a *Activities) InvitationTerms(ctx context.Context, _ InvitationTermsInput) (InvitationTerms, error) {
	p, err := a.Ledger.EscalationPolicy(ctx)
	if err != nil {
		return InvitationTerms{}, a.ledgerError(ctx, "reading the escalation policy", err)
	}
	return InvitationTerms{PolicyVersion: p.Version, AnswerWorkingDays: p.InvitationAnswerWorkingDays}, nil
}
