package activities

import (
	"context"

	"github.com/xuncha/xuncha/casework"
)

// SignoffTermsInput asks which sign-offs a finding of Kind and Severity
// needs before it closes.
type SignoffTermsInput struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity,omitempty"`
}

// SignoffTerms is the office's sign-off rule for a finding: nil when the
// office's verification closes it.
type SignoffTerms struct {
	PolicyVersion int64                 `json:"policy_version"`
	Rule          *casework.SignoffRule `json:"rule,omitempty"`
}

// SignoffTerms reads the escalation policy in force and picks the sign-off
// rule for the finding (casework.SignoffRuleFor): the reading is this
// activity's, the decision the workflow's.
func (a *Activities) SignoffTerms(ctx context.Context, in SignoffTermsInput) (SignoffTerms, error) {
	p, err := a.Ledger.EscalationPolicy(ctx)
	if err != nil {
		return SignoffTerms{}, a.ledgerError(ctx, "reading the escalation policy", err)
	}
	return SignoffTerms{PolicyVersion: p.Version, Rule: casework.SignoffRuleFor(p.SignoffRules, in.Kind, in.Severity)}, nil
}

// CloseFindingInput is an accepted verification: the finding's row as it
// closes it, and the verification's event.
type CloseFindingInput struct {
	Finding casework.Finding `json:"finding"`
	Event   casework.Event   `json:"event"`
	// OnlyToSign: the close-out waits for something the signers' round
	// waits for too (a clue to be referred): nothing is written when the
	// rule names no signers, and the workflow refuses the close-out.
	OnlyToSign bool `json:"only_to_sign,omitempty"`
}

// CloseFindingResult is the office's sign-off terms for the finding and
// whether the close-out was written.
type CloseFindingResult struct {
	Terms  SignoffTerms `json:"terms"`
	Closed bool         `json:"closed"`
}

// CloseFinding reads the sign-off terms as SignoffTerms does and, when they
// name no signers, writes the close-out as ApplyFindingChange does: one
// call where a workflow since its code level 2 made two (issue 9 item 5).
// When the rule names signers nothing is written: the round of sign-off is
// the workflow's to start; unless an earlier attempt of this call wrote
// the close-out (its answer lost) under a policy that named none, which
// the office has changed since: the ledger holds the finding CLOSED at the
// version this close-out writes, and it is closed, as that attempt
// answered. (The event's key does not say so: the round's request is
// written under the same key.)
func (a *Activities) CloseFinding(ctx context.Context, in CloseFindingInput) (CloseFindingResult, error) {
	terms, err := a.SignoffTerms(ctx, SignoffTermsInput{Kind: in.Finding.Kind, Severity: in.Finding.Severity})
	if err != nil {
		return CloseFindingResult{Terms: terms}, err
	}
	if terms.Rule != nil || in.OnlyToSign {
		stored, err := a.Ledger.GetFinding(ctx, in.Finding.ID)
		if err != nil {
			return CloseFindingResult{Terms: terms}, a.ledgerError(ctx, "reading finding "+in.Finding.ID, err)
		}
		closed := stored.Stage == in.Finding.Stage && stored.Version == in.Finding.Version
		return CloseFindingResult{Terms: terms, Closed: closed}, nil
	}
	if err := a.ApplyFindingChange(ctx, FindingChangeInput{Finding: in.Finding, Event: in.Event}); err != nil {
		return CloseFindingResult{Terms: terms}, err
	}
	return CloseFindingResult{Terms: terms, Closed: true}, nil
}
