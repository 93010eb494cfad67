// Package actor says who makes a change. Until authentication exists, the
// caller names itself in the gRPC metadata / HTTP header x-xuncha-actor as a
// URL query string, percent-encoded: name=%E5%BC%A0%E4%B8%89&role=office&org=...
package actor

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/internal/derrors"
)

// Header is the gRPC metadata key and HTTP header that carries the actor.
const Header = "x-xuncha-actor"

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
	// RoleSystem is xuncha itself (timers, escalation).
	RoleSystem = "system"
)

// Roles lists the roles a caller may claim (not RoleSystem).
var Roles = []string{RoleOffice, RoleCommittee, RoleTeamLeader, RoleTeamMember, RoleUnit, RoleAuditor}

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
}

// System is the actor for what xuncha does by itself.
var System = Actor{Name: "xuncha", Role: RoleSystem, Organisation: "xuncha"}

// String formats the actor for logs and explanations; a system says so:
// "name (role, organisation, system client-id)".
func (a Actor) String() string {
	if a.Client != "" {
		return fmt.Sprintf("%s (%s, %s, system %s)", a.Name, a.Role, a.Organisation, a.Client)
	}
	return fmt.Sprintf("%s (%s, %s)", a.Name, a.Role, a.Organisation)
}

// Encode formats the actor as a header value.
func (a Actor) Encode() string {
	v := url.Values{}
	v.Set("name", a.Name)
	v.Set("role", a.Role)
	v.Set("org", a.Organisation)
	return v.Encode()
}

// Parse reads a header value. Name and role are required; the role must be one
// of Roles.
func Parse(header string) (Actor, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Actor{}, fmt.Errorf("%s header is missing: send name=...&role=...&org=... (percent-encoded): %w", Header, derrors.ErrUnauthenticated)
	}
	v, err := url.ParseQuery(header)
	if err != nil {
		return Actor{}, fmt.Errorf("%s header is not a query string name=...&role=...&org=...: %w", Header, derrors.ErrUnauthenticated)
	}
	a := Actor{Name: strings.TrimSpace(v.Get("name")), Role: strings.TrimSpace(v.Get("role")), Organisation: strings.TrimSpace(v.Get("org"))}
	switch {
	case a.Name == "":
		return Actor{}, fmt.Errorf("%s header: name is required: %w", Header, derrors.ErrUnauthenticated)
	case !slices.Contains(Roles, a.Role):
		return Actor{}, fmt.Errorf("%s header: role must be one of %s: %w", Header, strings.Join(Roles, ", "), derrors.ErrUnauthenticated)
	}
	return a, nil
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
	return Actor{}, fmt.Errorf("%s header is missing: send name=...&role=...&org=... (percent-encoded): %w", Header, derrors.ErrUnauthenticated)
}

// RequireRole returns an ErrPermissionDenied error unless a acts in one of roles.
func (a Actor) RequireRole(action string, roles ...string) error {
	if slices.Contains(roles, a.Role) {
		return nil
	}
	return fmt.Errorf("%s may be done by %s, not by role %q: %w", action, strings.Join(roles, " or "), a.Role, derrors.ErrPermissionDenied)
}
