package authn

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// Identity is who a verified token says the caller is.
type Identity struct {
	// Subject is the token's "sub": the caller's stable ID at the issuer.
	Subject string
	// Name is the display name (the name claim); may be empty.
	Name string
	// Organisation is the org claim; may be empty.
	Organisation string
	// Roles are the roles of the roles claim that xuncha knows
	// (actor.Roles), in the token's order; others are dropped.
	Roles []string
	// Units are the unit codes of the units claim.
	Units []string
	// System is true for a service account's client-credentials token: an
	// office system, not a person (see isSystem for how it is told).
	System bool
	// ClientID is the OAuth client the token was issued to ("client_id",
	// else "azp"); for a system, which system it is.
	ClientID string
	// Issuer is the token's "iss".
	Issuer string
	// ExpiresAt is the token's "exp".
	ExpiresAt time.Time
}

// HasRole reports whether the identity holds role.
func (id Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// Actor returns the actor recorded for the identity's changes, acting in its
// first role in the order of actor.Roles (office before committee before
// team_leader …); an identity without a role gets an empty Role, which every
// role check refuses. Use ActorAs to act in a chosen role.
func (id Identity) Actor() actor.Actor {
	role := ""
	for _, r := range actor.Roles {
		if id.HasRole(r) {
			role = r
			break
		}
	}
	return id.actor(role)
}

// ActorAs returns the actor acting in role, or an ErrPermissionDenied error
// when the identity does not hold it.
func (id Identity) ActorAs(role string) (actor.Actor, error) {
	if !id.HasRole(role) {
		return actor.Actor{}, fmt.Errorf("the caller does not hold role %q: %w", role, derrors.ErrPermissionDenied)
	}
	return id.actor(role), nil
}

func (id Identity) actor(role string) actor.Actor {
	a := actor.Actor{Name: id.Name, Role: role, Organisation: id.Organisation, Subject: id.Subject}
	if id.System {
		a.Client = id.ClientID
	}
	if a.Name == "" {
		// The audit trail names someone: a system by its client, a person
		// without a name claim by the subject.
		a.Name = id.Subject
		if id.System && id.ClientID != "" {
			a.Name = id.ClientID
		}
	}
	return a
}

// identity maps verified claims to an Identity.
func (v *Verifier) identity(claims map[string]any) (Identity, error) {
	c := v.cfg.Claims
	sub, _ := claims["sub"].(string)
	if strings.TrimSpace(sub) == "" {
		return Identity{}, refuse(ErrMalformed, nil, "the bearer token has no subject (sub)")
	}
	roles, err := stringList(claims, c.Roles)
	if err != nil {
		return Identity{}, err
	}
	units, err := stringList(claims, c.Units)
	if err != nil {
		return Identity{}, err
	}
	name, err := stringClaim(claims, c.Name)
	if err != nil {
		return Identity{}, err
	}
	org, err := stringClaim(claims, c.Org)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{Subject: sub, Name: name, Organisation: org, Units: units}
	for _, r := range roles {
		if slices.Contains(actor.Roles, r) && !slices.Contains(id.Roles, r) {
			id.Roles = append(id.Roles, r)
		}
	}
	id.ClientID, id.System = isSystem(claims)
	return id, nil
}

// isSystem tells a service account's token (client-credentials grant) from
// a person's and returns the client ID. A token is a system's when
//   - its "sub" is its client ID ("client_id", else "azp"): RFC 9068 §2.2
//     says so for grants without a resource owner, and dex, ZITADEL and
//     xuncha's dev issuer do it;
//   - its "gty" is "client-credentials" (Auth0, whose sub is "<id>@clients");
//   - its "preferred_username" is "service-account-<client ID>" (Keycloak,
//     whose service-account sub is a user UUID).
//
// A person's token without a name is still a person's.
func isSystem(claims map[string]any) (clientID string, system bool) {
	sub, _ := claims["sub"].(string)
	clientID, _ = claims["client_id"].(string)
	if clientID == "" {
		clientID, _ = claims["azp"].(string)
	}
	if clientID == "" {
		return "", false
	}
	gty, _ := claims["gty"].(string)
	username, _ := claims["preferred_username"].(string)
	return clientID, sub == clientID || gty == "client-credentials" || username == "service-account-"+clientID
}

// lookup finds a claim by name or dotted path: at each level the longest
// name present wins, so "https://example.com/roles" is one claim and
// "realm_access.roles" is roles inside realm_access (unless a claim is
// literally named so).
func lookup(claims map[string]any, path string) (any, bool) {
	if v, ok := claims[path]; ok {
		return v, true
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		inner, ok := claims[path[:i]].(map[string]any)
		if !ok {
			continue
		}
		if v, ok := lookup(inner, path[i+1:]); ok {
			return v, true
		}
	}
	return nil, false
}

// stringList reads a list of strings; a single string is a list of one;
// absent or null is empty. Blank entries and repeats are dropped.
func stringList(claims map[string]any, path string) ([]string, error) {
	v, ok := lookup(claims, path)
	if !ok || v == nil {
		return nil, nil
	}
	var raw []any
	switch x := v.(type) {
	case string:
		raw = []any{x}
	case []any:
		raw = x
	default:
		return nil, refuse(ErrMalformed, nil, "the bearer token's claim %s must be a list of strings", path)
	}
	var out []string
	for _, e := range raw {
		s, ok := e.(string)
		if !ok {
			return nil, refuse(ErrMalformed, nil, "the bearer token's claim %s must be a list of strings", path)
		}
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// stringClaim reads a string; absent or null is "".
func stringClaim(claims map[string]any, path string) (string, error) {
	v, ok := lookup(claims, path)
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", refuse(ErrMalformed, nil, "the bearer token's claim %s must be a string", path)
	}
	return strings.TrimSpace(s), nil
}
