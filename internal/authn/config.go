// Package authn verifies the OpenID Connect bearer tokens that callers of the
// API present and maps their claims to an Identity: subject, name,
// organisation, roles, unit codes, and whether the caller is a system
// (a service account using the client-credentials grant).
//
// Verification uses github.com/coreos/go-oidc: the issuer's discovery
// document, its JWKS (fetched again when a token names a key not seen yet, so
// keys rotated at the issuer are picked up without a restart), the signature,
// "iss" and "aud"; this package adds an algorithm allow-list checked before
// anything else, "exp" and "nbf" with a small leeway, and errors of a few
// kinds (errors.go) that the API maps to Unauthenticated.
package authn

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xuncha/xuncha/internal/loopback"
)

// Defaults of Config.
const (
	// DefaultAudience is the "aud" a token must carry.
	DefaultAudience = "xuncha"
	// DefaultRolesClaim holds the caller's roles, a list of strings.
	DefaultRolesClaim = "xuncha_roles"
	// DefaultUnitsClaim holds the unit codes a unit user acts for, a list.
	DefaultUnitsClaim = "xuncha_units"
	// DefaultNameClaim holds the caller's display name.
	DefaultNameClaim = "name"
	// DefaultOrgClaim holds the caller's organisation.
	DefaultOrgClaim = "org"
	// DefaultLeeway is the clock skew allowed on "exp" and "nbf".
	DefaultLeeway = 30 * time.Second
	// DefaultJWKSRefreshInterval is the shortest time between two fetches
	// of the issuer's key set.
	DefaultJWKSRefreshInterval = 10 * time.Second
)

// DefaultAlgorithms are the signing algorithms accepted when
// Config.Algorithms is empty: the asymmetric JOSE algorithms. "none" and the
// HMAC algorithms (HS256, …) are never accepted: a key set is public.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Claims names the token claims xuncha reads. Each is a claim name or a
// dotted path into nested objects (Keycloak's realm roles are
// "realm_access.roles"); a claim whose own name contains dots (a URL, as some
// providers namespace custom claims) is found too, the longest name first.
type Claims struct {
	// Roles is a list of strings (XUNCHA_OIDC_ROLES_CLAIM, default
	// "xuncha_roles"); roles xuncha does not know are ignored.
	Roles string
	// Units is a list of unit codes (XUNCHA_OIDC_UNITS_CLAIM, default
	// "xuncha_units").
	Units string
	// Name is the display name (XUNCHA_OIDC_NAME_CLAIM, default "name").
	Name string
	// Org is the organisation (XUNCHA_OIDC_ORG_CLAIM, default "org").
	Org string
}

// DefaultClaims returns the default claim names.
func DefaultClaims() Claims {
	return Claims{Roles: DefaultRolesClaim, Units: DefaultUnitsClaim, Name: DefaultNameClaim, Org: DefaultOrgClaim}
}

func (c Claims) withDefaults() Claims {
	d := DefaultClaims()
	if c.Roles == "" {
		c.Roles = d.Roles
	}
	if c.Units == "" {
		c.Units = d.Units
	}
	if c.Name == "" {
		c.Name = d.Name
	}
	if c.Org == "" {
		c.Org = d.Org
	}
	return c
}

// Config configures a Verifier. Only Issuer is required.
type Config struct {
	// Issuer is the OpenID provider's issuer URL exactly as its discovery
	// document states it (XUNCHA_OIDC_ISSUER; no default). Discovery is
	// fetched from <Issuer>/.well-known/openid-configuration.
	Issuer string
	// Audience must be one of the token's "aud" values (XUNCHA_OIDC_AUDIENCE,
	// default "xuncha").
	Audience string
	// Claims names the claims read into an Identity (defaults: DefaultClaims).
	Claims Claims
	// Algorithms is the signing-algorithm allow-list (default
	// DefaultAlgorithms); "none" and HMAC algorithms are refused.
	Algorithms []string
	// Leeway is the clock skew allowed on "exp" and "nbf" (default 30s).
	Leeway time.Duration
	// JWKSRefreshInterval is the shortest time between two fetches of the
	// key set (default 10s): a token naming an unknown key makes the
	// verifier fetch the key set again, at most this often, so forged tokens
	// cannot make it hammer the issuer. Negative means no limit (tests).
	JWKSRefreshInterval time.Duration
	// HTTPClient fetches discovery and keys (default: a client with a 10s
	// timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Issuer = strings.TrimSpace(c.Issuer)
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	c.Claims = c.Claims.withDefaults()
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.JWKSRefreshInterval == 0 {
		c.JWKSRefreshInterval = DefaultJWKSRefreshInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first setting that cannot work, naming its
// environment variable.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Issuer == "" {
		return fmt.Errorf("no OpenID issuer: set XUNCHA_OIDC_ISSUER or --oidc-issuer to the identity provider's issuer URL")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("XUNCHA_OIDC_ISSUER / --oidc-issuer must be an http(s) URL without query or fragment, such as https://sso.example.gov.cn/realms/xuncha")
	}
	if clearElsewhere(u) {
		// The provider's keys verify every token: fetched in the clear,
		// anyone on the path could put in their own and sign any token.
		return fmt.Errorf("XUNCHA_OIDC_ISSUER / --oidc-issuer: %s is not https: the keys that verify every token would be fetched in the clear, and anyone on the way could replace them and sign tokens of their own; use https (http only for a provider on this machine, such as a local proxy at 127.0.0.1)", c.Issuer)
	}
	if strings.TrimSpace(c.Audience) == "" {
		return fmt.Errorf("XUNCHA_OIDC_AUDIENCE / --oidc-audience must not be blank")
	}
	for _, alg := range c.Algorithms {
		if !slices.Contains(DefaultAlgorithms, alg) {
			return fmt.Errorf("signing algorithm %q cannot be allowed: use asymmetric ones (%s)", alg, strings.Join(DefaultAlgorithms, ", "))
		}
	}
	for _, claim := range []struct{ env, path string }{
		{"XUNCHA_OIDC_ROLES_CLAIM", c.Claims.Roles}, {"XUNCHA_OIDC_UNITS_CLAIM", c.Claims.Units},
		{"XUNCHA_OIDC_NAME_CLAIM", c.Claims.Name}, {"XUNCHA_OIDC_ORG_CLAIM", c.Claims.Org},
	} {
		if strings.TrimSpace(claim.path) != claim.path || strings.HasPrefix(claim.path, ".") || strings.HasSuffix(claim.path, ".") || strings.Contains(claim.path, "..") {
			return fmt.Errorf("%s: %q is not a claim name or dotted path such as realm_access.roles", claim.env, claim.path)
		}
	}
	if c.Leeway < 0 || c.Leeway > 5*time.Minute {
		return fmt.Errorf("the leeway on exp and nbf must be between 0 and 5m, not %s", c.Leeway)
	}
	return nil
}

// clearElsewhere reports whether u is plain http to a host other than
// this machine: what keys may not be fetched from.
func clearElsewhere(u *url.URL) bool {
	return !strings.EqualFold(u.Scheme, "https") && !loopback.Host(u.Hostname())
}
