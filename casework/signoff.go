package casework

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// SignerRoles are the roles that may sign a finding off: the office and the
// committee (a competent department, a member unit of the provincial Safety
// Committee, signs in the committee role for its organisation). The
// workflows' stage machine gives the signOff action exactly these roles.
var SignerRoles = []string{actor.RoleOffice, actor.RoleCommittee}

// Bounds of the sign-off rules.
const (
	// MaxSignoffRules is the most rules a policy may hold: one per kind and
	// severity, with room for kind-wide ones.
	MaxSignoffRules = 20
	// MaxSigners is the most signers one rule may name.
	MaxSigners = 10
	// MaxOrganisationLength bounds a signer's organisation, in characters.
	MaxOrganisationLength = 200
	// DefaultSignoffWorkingDays is how many working days the signers have,
	// from the verification, when a rule sets none (0): two working weeks.
	DefaultSignoffWorkingDays = 10
	// MaxSignoffWorkingDays bounds a rule's working days: about three
	// months of working days.
	MaxSignoffWorkingDays = 60
)

// Signer is one member of a sign-off set: a role (one of SignerRoles), an
// organisation (the caller's token's organisation claim), or both. A
// caller fills the slot when it matches every part given.
type Signer struct {
	Role         string `json:"role,omitempty"`
	Organisation string `json:"organisation,omitempty"`
}

// Matches reports whether a is the signer s names.
func (s Signer) Matches(a actor.Actor) bool {
	return (s.Role == "" || s.Role == a.Role) && (s.Organisation == "" || s.Organisation == a.Organisation) &&
		slices.Contains(SignerRoles, a.Role)
}

// String names the signer in messages: "role office", "省住房和城乡建设厅
// (committee)".
func (s Signer) String() string {
	switch {
	case s.Organisation == "":
		return "role " + s.Role
	case s.Role == "":
		return s.Organisation
	}
	return s.Organisation + " (" + s.Role + ")"
}

// Text names the signer in both languages.
func (s Signer) Text() i18n.Text { return i18n.Text{EN: s.String(), ZH: s.Zh()} }

// Zh names the signer in Chinese: "省安委办", "省住房和城乡建设厅（省安委会成员单位）".
func (s Signer) Zh() string {
	switch {
	case s.Organisation == "":
		return i18n.Role(s.Role)
	case s.Role == "":
		return s.Organisation
	}
	return s.Organisation + "（" + i18n.Role(s.Role) + "）"
}

// SignoffRule says who signs off findings of a kind (and, for hazards, a
// severity) before they close. A rule with a severity is preferred to the
// kind's rule without one.
type SignoffRule struct {
	Kind string `json:"kind"`
	// Severity is GENERAL or MAJOR for a HAZARD rule; empty: every
	// severity of the kind.
	Severity string `json:"severity,omitempty"`
	// Ordered signers sign in the order listed; otherwise in any order.
	Ordered bool     `json:"ordered,omitempty"`
	Signers []Signer `json:"signers"`
	// WorkingDays is how long the signers have, in working days after the
	// verification: the sign-off's deadline, with the office's reminder
	// and overdue steps. 0 means DefaultSignoffWorkingDays.
	WorkingDays int `json:"working_days,omitempty"`
}

// Days is the rule's working days, the default for 0.
func (r SignoffRule) Days() int {
	if r.WorkingDays == 0 {
		return DefaultSignoffWorkingDays
	}
	return r.WorkingDays
}

// SignoffRuleFor is the rule that applies to a finding of kind and severity:
// the one naming both, else the kind's rule without a severity; nil when
// none does (the office's verification closes the finding).
func SignoffRuleFor(rules []SignoffRule, kind, severity string) *SignoffRule {
	var wide *SignoffRule
	for i, r := range rules {
		switch {
		case r.Kind != kind:
		case r.Severity != "" && r.Severity == severity:
			out := rules[i]
			return &out
		case r.Severity == "" && wide == nil:
			out := rules[i]
			wide = &out
		}
	}
	return wide
}

// ValidateSignoffRules checks the office's sign-off rules: at most
// MaxSignoffRules; each names a kind of FindingKinds, a severity only
// for a HAZARD (GENERAL or MAJOR), no kind and severity twice; 1 to
// MaxSigners signers, each a role of SignerRoles, an organisation
// (1 to MaxOrganisationLength characters, no control characters) or both,
// none twice; working days 0 (the default) to MaxSignoffWorkingDays.
// Violations name signoff_rules[i].kind, .severity, .signers,
// .signers[j].role, .signers[j].organisation, .working_days.
func ValidateSignoffRules(rules []SignoffRule) error {
	var v derrors.Violations
	if len(rules) > MaxSignoffRules {
		v.Add("signoff_rules", "must hold at most %d rules", MaxSignoffRules)
		return v.Err()
	}
	for i, r := range rules {
		field := fmt.Sprintf("signoff_rules[%d]", i)
		switch {
		case !slices.Contains(FindingKinds, r.Kind):
			v.Add(field+".kind", "must be one of %s", strings.Join(FindingKinds, ", "))
		case r.Severity != "" && r.Kind != KindHazard:
			v.Add(field+".severity", "only a HAZARD rule names a severity")
		case r.Severity != "" && !slices.Contains(HazardSeverities, r.Severity):
			v.Add(field+".severity", "must be one of %s, or empty for every severity", strings.Join(HazardSeverities, ", "))
		case slices.IndexFunc(rules[:i], func(o SignoffRule) bool { return o.Kind == r.Kind && o.Severity == r.Severity }) >= 0:
			if r.Severity == "" {
				v.Add(field, "a rule for kind %s is given twice", r.Kind)
			} else {
				v.Add(field, "a rule for kind %s and severity %s is given twice", r.Kind, r.Severity)
			}
		}
		if r.WorkingDays < 0 || r.WorkingDays > MaxSignoffWorkingDays {
			v.Add(field+".working_days", "must be 0 to %d working days (0: %d)", MaxSignoffWorkingDays, DefaultSignoffWorkingDays)
		}
		if len(r.Signers) == 0 || len(r.Signers) > MaxSigners {
			v.Add(field+".signers", "must name 1 to %d signers", MaxSigners)
		}
		for j, s := range r.Signers {
			sf := fmt.Sprintf("%s.signers[%d]", field, j)
			switch {
			case s.Role == "" && s.Organisation == "":
				v.Add(sf+".role", "give a role (%s), an organisation or both", strings.Join(SignerRoles, ", "))
				continue
			case s.Role != "" && !slices.Contains(SignerRoles, s.Role):
				v.Add(sf+".role", "must be one of %s (who may sign a finding off)", strings.Join(SignerRoles, ", "))
			}
			if s.Organisation != "" && (strings.TrimSpace(s.Organisation) != s.Organisation ||
				utf8.RuneCountInString(s.Organisation) > MaxOrganisationLength ||
				strings.ContainsFunc(s.Organisation, func(r rune) bool { return r < 0x20 || r == 0x7f })) {
				v.Add(sf+".organisation", "must be at most %d characters, without control characters or surrounding spaces", MaxOrganisationLength)
			}
			if slices.Index(r.Signers, s) < j {
				v.Add(sf, "%s is listed twice", s)
			}
		}
	}
	return v.Err()
}

// Sign-off states.
const (
	// SignoffPending waits for signatures.
	SignoffPending = "PENDING"
	// SignoffComplete: every signer signed; the finding closed.
	SignoffComplete = "COMPLETE"
	// SignoffRefused: a signer refused; the finding went back to REFERRED.
	SignoffRefused = "REFUSED"
	// SignoffLapsed: the finding was withdrawn while it waited.
	SignoffLapsed = "LAPSED"
)

// Signoff is one round of sign-off: requested when the office's
// verification accepted a rectification whose finding's rule names
// signers, ended when the set is complete (CLOSED), a signer refuses
// (REFERRED again) or the finding is withdrawn.
type Signoff struct {
	// Seq numbers the finding's rounds of sign-off: 1, 2, ….
	Seq int `json:"seq"`
	// Round is the rectification round: the finding's ReopenCount when the
	// sign-off was requested.
	Round int `json:"round"`
	// State is SignoffPending, SignoffComplete, SignoffRefused or
	// SignoffLapsed.
	State string `json:"state"`
	// Ordered and Signers are the rule's, as it stood when requested;
	// PolicyVersion is the escalation policy that held it.
	Ordered       bool     `json:"ordered,omitempty"`
	Signers       []Signer `json:"signers"`
	PolicyVersion int64    `json:"policy_version"`
	// RequestedBy verified the rectification, at RequestedAt.
	RequestedBy actor.Actor `json:"requested_by"`
	RequestedAt time.Time   `json:"requested_at"`
	// Signatures are the sign-offs and the refusal given, in order.
	Signatures []Signature `json:"signatures,omitempty"`
	// Deadline is when the signers are due to have signed (the rule's
	// working days after the verification); Overdue is set when it passed
	// with signatures missing. Rounds requested before sign-off had a
	// deadline have none.
	Deadline *calendar.Deadline `json:"deadline,omitempty"`
	Overdue  bool               `json:"overdue,omitempty"`
	// EndedAt is when it completed, was refused or lapsed.
	EndedAt *time.Time `json:"ended_at,omitempty"`
}

// Signature is one signer's sign-off or refusal.
type Signature struct {
	// Signer is the index in Signoff.Signers of the slot it fills.
	Signer int  `json:"signer"`
	Signed bool `json:"signed"`
	// Reason is why it was refused (required), or a note on the sign-off.
	Reason      string      `json:"reason,omitempty"`
	EvidenceIDs []string    `json:"evidence_ids,omitempty"`
	By          actor.Actor `json:"by"`
	At          time.Time   `json:"at"`
}
