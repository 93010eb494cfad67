// Package actor says who makes a change: the person (or office system)
// that a verified bearer token names, acting in one of its roles
// (internal/authn maps a token to an Actor; the API's authorization table
// chooses the role).
package actor

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Roles a caller may act in.
const (
	// RoleOffice is 省安委办 staff: plans, reviews, refers, closes.
	RoleOffice = "office"
	// RoleCommittee is 省安全生产委员会: approves line-ups and reports.
	RoleCommittee = "committee"
	// RoleTeamLeader is 巡查组组长.
	RoleTeamLeader = "team_leader"
	// RoleTeamMember is a member of an inspection team.
	RoleTeamMember = "team_member"
	// RoleUnit is the inspected unit.
	RoleUnit = "unit"
	// RoleAuditor reads everything and changes nothing (discipline
	// inspection, audit; issue 10).
	RoleAuditor = "auditor"
	// RoleReceiver is a body with jurisdiction under cadre-management
	// authority (a discipline inspection and supervision commission, an
	// organisation department, a sector's competent department) that
	// receives referred clues (移交, issue 14 item 2): its token's
	// organisation names the body, and it sees only what was referred to
	// it.
	RoleReceiver = "receiver"
	// RoleExpert is a person of the inspection expert pool (巡查专家库,
	// issue 15) whose token subject is linked to their entry: they see and
	// answer only their own invitations.
	RoleExpert = "expert"
	// RoleSystem is xuncha itself (timers, escalation).
	RoleSystem = "system"
)

// Roles lists the roles a caller may claim (not RoleSystem).
var Roles = []string{RoleOffice, RoleCommittee, RoleTeamLeader, RoleTeamMember, RoleUnit, RoleAuditor, RoleReceiver, RoleExpert}

// Actor is a person acting in a role for an organisation.
type Actor struct {
	// Name of the person.
	Name string `json:"name"`
	// Role, one of Roles or RoleSystem.
	Role string `json:"role"`
	// Organisation the person acts for.
	Organisation string `json:"organisation"`
	// Subject is the caller's stable identifier at the identity provider
	// (the token's "sub"); empty for actors named by the x-xuncha-actor
	// header and for System.
	Subject string `json:"subject,omitempty"`
	// Client is set when a system, not a person, acts: the OAuth client ID
	// of the service account whose client-credentials token it presented.
	Client string `json:"client,omitempty"`
	// OnBehalfOf is the unit code the office acts for when it enters that
	// unit's paper report (on_behalf_of): the event records both.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
}

// System is the actor for what xuncha does by itself.
var System = Actor{Name: "xuncha", Role: RoleSystem, Organisation: "xuncha"}

// String formats the actor for logs and explanations; a system says so:
// "name (role, organisation, system client-id)".
func (a Actor) String() string {
	if a.OnBehalfOf != "" {
		return fmt.Sprintf("%s (%s, %s, on behalf of unit %s)", a.Name, a.Role, a.Organisation, a.OnBehalfOf)
	}
	if a.Client != "" {
		return fmt.Sprintf("%s (%s, %s, system %s)", a.Name, a.Role, a.Organisation, a.Client)
	}
	return fmt.Sprintf("%s (%s, %s)", a.Name, a.Role, a.Organisation)
}

// Text names the actor in both languages, for a client's message: String,
// and in Chinese "刘洋（省安委会成员单位，省住房和城乡建设厅）", its role by its
// Chinese name.
func (a Actor) Text() i18n.Text {
	zh := a.Name + "（" + i18n.Role(a.Role)
	if org := a.Organisation; org != "" && org != i18n.Role(a.Role) {
		// The office's role is 省安委办, often its organisation too: it
		// read 王芳（省安委办，省安委办）.
		zh += "，" + org
	}
	switch {
	case a.OnBehalfOf != "":
		zh += "，代单位 " + a.OnBehalfOf
	case a.Client != "":
		zh += "，系统 " + a.Client
	}
	return i18n.Text{EN: a.String(), ZH: zh + "）"}
}

// Encode formats the actor as a URL query string, subject and client
// included: one string that tells callers apart (the API's idempotency
// fingerprint).
func (a Actor) Encode() string {
	v := url.Values{}
	v.Set("name", a.Name)
	v.Set("role", a.Role)
	v.Set("org", a.Organisation)
	if a.Subject != "" {
		v.Set("sub", a.Subject)
	}
	if a.Client != "" {
		v.Set("client", a.Client)
	}
	return v.Encode()
}

type contextKey struct{}

// NewContext returns ctx carrying a.
func NewContext(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, contextKey{}, a)
}

// FromContext returns the actor in ctx, if any.
func FromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(contextKey{}).(Actor)
	return a, ok
}

// Require returns the actor in ctx or an ErrUnauthenticated error.
func Require(ctx context.Context) (Actor, error) {
	if a, ok := FromContext(ctx); ok {
		return a, nil
	}
	return Actor{}, fmt.Errorf("no bearer token: send Authorization: Bearer <token>: %w", derrors.ErrUnauthenticated)
}

// RequireRole returns an ErrPermissionDenied error unless a acts in one of roles.
func (a Actor) RequireRole(action string, roles ...string) error {
	if slices.Contains(roles, a.Role) {
		return nil
	}
	return fmt.Errorf("%s may be done by %s, not by role %q: %w", action, strings.Join(roles, " or "), a.Role, derrors.ErrPermissionDenied)
}
