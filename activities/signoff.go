package activities

import (
	"context"

	"github.com/xuncha/xuncha/ledger"
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
	PolicyVersion int64               `json:"policy_version"`
	Rule          *ledger.SignoffRule `json:"rule,omitempty"`
}

// SignoffTerms reads the escalation policy in force and picks the sign-off
// rule for the finding (ledger.SignoffRuleFor): the reading is this
// activity's, the decision the workflow's.
func (a *Activities) SignoffTerms(ctx context.Context, in SignoffTermsInput) (SignoffTerms, error) {
	p, err := a.Ledger.EscalationPolicy(ctx)
	if err != nil {
		return SignoffTerms{}, a.ledgerError(ctx, "reading the escalation policy", err)
	}
	return SignoffTerms{PolicyVersion: p.Version, Rule: ledger.SignoffRuleFor(p.SignoffRules, in.Kind, in.Severity)}, nil
}
