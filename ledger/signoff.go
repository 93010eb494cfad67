package ledger

import (
	"slices"

	"github.com/xuncha/xuncha/casework"
)

// Sign-off before close-out (销号, issue 14 item 3). The office's escalation
// policy may name, per kind of finding (and hazard severity), a set of
// signers whose sign-off a finding needs after the office's verification
// before it closes: for a MAJOR hazard, say, the competent department's and
// the office's. The set is ordered (each signs in turn) or not (any order).
// A finding keeps every round of sign-off it went through (Finding.Signoffs);
// the workflow (workflows/finding_signoff.go) decides.

// normalizeSignoffRules leaves no empty slice (JSON null and [] read back
// alike).
func normalizeSignoffRules(rules []casework.SignoffRule) []casework.SignoffRule {
	if len(rules) == 0 {
		return nil
	}
	return rules
}

// sameSignoffRules compares two normalized rule lists.
func sameSignoffRules(a, b []casework.SignoffRule) bool {
	return slices.EqualFunc(a, b, func(x, y casework.SignoffRule) bool {
		return x.Kind == y.Kind && x.Severity == y.Severity && x.Ordered == y.Ordered && slices.Equal(x.Signers, y.Signers) &&
			x.WorkingDays == y.WorkingDays
	})
}
