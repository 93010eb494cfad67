// Package devissuer is the OpenID provider embedded in `xuncha dev`, built
// on github.com/zitadel/oidc's op package: discovery, the JWKS and a token
// endpoint (client-credentials grant for the dev service accounts), signing
// keys kept in a directory (.data/oidc under `xuncha dev`), created on first
// use and reused, and dev users for every role.
//
// People get tokens without a sign-in page: Mint signs an access token for a
// dev user (or any subject, roles and units) with the issuer's current key,
// exactly as the provider's token endpoint signs its own (zitadel's
// oidc.AccessTokenClaims, op.SignerFromKey). `xuncha token` mints this way
// from the key directory, so it needs no running server; the tokens are
// standard JWT access tokens (RFC 9068 claims: iss, sub, aud, exp, iat, nbf,
// jti, client_id) that any verifier accepts through the issuer's discovery
// document and JWKS.
//
// It is for local use only: anyone who can read the directory can mint any
// identity.
package devissuer

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/xuncha/xuncha/internal/authn"
)

// Defaults of Config.
const (
	// DefaultTTL is the lifetime of a minted token and of a
	// client-credentials token.
	DefaultTTL = time.Hour
	// MaxTTL is the longest lifetime Mint gives.
	MaxTTL = 30 * 24 * time.Hour
	// DevClientID is the "client_id" of tokens minted for people: the dev
	// tooling that asked for them (`xuncha token`).
	DevClientID = "xuncha-dev"
	// IssuerFile is the file in Config.Dir where Record keeps the issuer
	// URL that `xuncha dev` serves, for `xuncha token` to read.
	IssuerFile = "issuer"
)

// Config configures an Issuer.
type Config struct {
	// Issuer is the issuer URL the provider is served at, e.g.
	// http://localhost:8080/oidc (required; http is allowed, it is local).
	Issuer string
	// Dir keeps the signing keys (Dir/keys) and the service accounts'
	// secrets (Dir/clients); created if missing (required).
	Dir string
	// Audience is the "aud" of every token (default "xuncha", the
	// verifier's default).
	Audience string
	// Claims names the claims roles, units, name and org are written to,
	// dotted paths as nested objects (default authn.DefaultClaims), so a dev
	// setup can mimic a provider that puts roles in realm_access.roles.
	Claims authn.Claims
	// Algorithm of keys created: RS256 (default) or ES256.
	Algorithm string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Issuer is the dev OpenID provider.
type Issuer struct {
	cfg    Config
	issuer *url.URL
	keys   *keyStore
	alg    jose.SignatureAlgorithm
}

// New checks cfg, makes sure a signing key exists in cfg.Dir and returns the
// issuer. It listens nowhere: serve Handler.
func New(cfg Config) (*Issuer, error) {
	if cfg.Audience == "" {
		cfg.Audience = authn.DefaultAudience
	}
	d := authn.DefaultClaims()
	for _, c := range []struct {
		v   *string
		def string
	}{{&cfg.Claims.Roles, d.Roles}, {&cfg.Claims.Units, d.Units}, {&cfg.Claims.Name, d.Name}, {&cfg.Claims.Org, d.Org}} {
		if *c.v == "" {
			*c.v = c.def
		}
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = string(jose.RS256)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := op.ValidateIssuer(cfg.Issuer, true); err != nil {
		return nil, fmt.Errorf("dev issuer URL %q: %w", cfg.Issuer, err)
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("dev issuer URL %q: %w", cfg.Issuer, err)
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("the dev issuer needs a directory for its keys")
	}
	alg := jose.SignatureAlgorithm(cfg.Algorithm)
	if alg != jose.RS256 && alg != jose.ES256 {
		return nil, fmt.Errorf("the dev issuer signs with RS256 or ES256, not %s", cfg.Algorithm)
	}
	// The directory is private; its parents (the dev data directory, which
	// PostgreSQL's system user must traverse) are not made so.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(cfg.Dir)), 0o755); err != nil {
		return nil, fmt.Errorf("creating the dev issuer's directory: %w", err)
	}
	if err := os.Mkdir(cfg.Dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("creating the dev issuer's directory: %w", err)
	}
	i := &Issuer{cfg: cfg, issuer: u, keys: &keyStore{dir: filepath.Join(cfg.Dir, keysDir), now: cfg.Now}, alg: alg}
	if _, err := i.keys.current(alg); err != nil {
		return nil, err
	}
	return i, nil
}

// URL returns the issuer URL.
func (i *Issuer) URL() string { return i.cfg.Issuer }

// Handler serves the provider: <issuer>/.well-known/openid-configuration,
// <issuer>/keys (JWKS), <issuer>/oauth/token and the op package's other
// endpoints. It expects the issuer URL's full path, so mount it at that
// path (e.g. mux.Handle("/oidc/", h) for http://host/oidc) or at the root
// when the issuer has none.
func (i *Issuer) Handler() (http.Handler, error) {
	var key [32]byte // encrypts opaque tokens, which this issuer never hands out
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	opts := []op.Option{}
	if i.issuer.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(&op.Config{CryptoKey: key, AuthMethodPost: true, CodeMethodS256: true},
		&storage{i: i}, op.StaticIssuer(i.cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the dev OpenID provider: %w", err)
	}
	prefix := strings.TrimSuffix(i.issuer.Path, "/")
	if prefix == "" {
		return p, nil
	}
	return http.StripPrefix(prefix, p), nil
}

// Rotate creates a new signing key: tokens minted from now on carry its key
// ID; the old keys stay in the JWKS, so the tokens they signed still verify.
// It returns the new key's ID.
func (i *Issuer) Rotate() (string, error) {
	k, err := i.keys.create(i.alg)
	if err != nil {
		return "", err
	}
	return k.id, nil
}

// KeyIDs returns the IDs of the published keys, oldest first; the last one
// signs.
func (i *Issuer) KeyIDs() ([]string, error) {
	keys, err := i.keys.load()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(keys))
	for n, k := range keys {
		ids[n] = k.id
	}
	return ids, nil
}

// MintRequest says whom a minted token names.
type MintRequest struct {
	// User gives the subject (required), name, organisation, roles and units.
	User User
	// ClientID is the token's "client_id" (default DevClientID). A token
	// whose ClientID equals its subject is a system's (RFC 9068), as a
	// client-credentials token of a ServiceAccount is.
	ClientID string
	// TTL is the token's lifetime (default DefaultTTL, at most MaxTTL).
	TTL time.Duration
}

// Mint signs an access token for r with the current signing key.
func (i *Issuer) Mint(r MintRequest) (string, error) {
	if strings.TrimSpace(r.User.Subject) == "" {
		return "", fmt.Errorf("a token needs a subject")
	}
	if r.TTL == 0 {
		r.TTL = DefaultTTL
	}
	if r.TTL < 0 || r.TTL > MaxTTL {
		return "", fmt.Errorf("a token's lifetime must be positive and at most %s, not %s", MaxTTL, r.TTL)
	}
	if r.ClientID == "" {
		r.ClientID = DevClientID
	}
	now := i.cfg.Now().UTC()
	claims := oidc.NewAccessTokenClaims(i.cfg.Issuer, r.User.Subject, []string{i.cfg.Audience}, now.Add(r.TTL), newID(), r.ClientID, 0)
	claims.IssuedAt, claims.NotBefore = oidc.FromTime(now), oidc.FromTime(now)
	claims.Claims = i.privateClaims(r.User)
	key, err := i.keys.current(i.alg)
	if err != nil {
		return "", err
	}
	signer, err := op.SignerFromKey(key)
	if err != nil {
		return "", err
	}
	return crypto.Sign(claims, signer)
}

// privateClaims writes u's roles, units, name and org at the configured
// claim paths.
func (i *Issuer) privateClaims(u User) map[string]any {
	out := map[string]any{}
	c := i.cfg.Claims
	setPath(out, c.Roles, nonNil(u.Roles))
	if len(u.Units) > 0 {
		setPath(out, c.Units, u.Units)
	}
	if u.Name != "" {
		setPath(out, c.Name, u.Name)
	}
	if u.Organisation != "" {
		setPath(out, c.Org, u.Organisation)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// setPath sets a dotted path, making the objects on the way.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// Record writes the issuer URL to Dir/issuer, where `xuncha token` finds
// the issuer that `xuncha dev` serves.
func (i *Issuer) Record() error {
	if err := os.WriteFile(filepath.Join(i.cfg.Dir, IssuerFile), []byte(i.cfg.Issuer+"\n"), 0o600); err != nil {
		return fmt.Errorf("recording the dev issuer URL: %w", err)
	}
	return nil
}

// RecordedIssuer returns the issuer URL recorded in dir by Record, or ""
// when none is.
func RecordedIssuer(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, IssuerFile))
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the dev issuer URL: %w", err)
	}
	return strings.TrimSpace(string(raw)), nil
}

// ClientSecret returns the secret of a dev service account, creating it
// (Dir/clients/<id>.secret, mode 0600) on first use.
func (i *Issuer) ClientSecret(clientID string) (string, error) {
	if _, ok := serviceAccount(clientID); !ok {
		return "", fmt.Errorf("no dev service account %q", clientID)
	}
	dir := filepath.Join(i.cfg.Dir, "clients")
	path := filepath.Join(dir, clientID+".secret")
	if raw, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(raw)), nil
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("reading the secret of %s: %w", clientID, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, werr := f.WriteString(newID() + newID() + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", fmt.Errorf("writing the secret of %s: %w", clientID, werr)
		}
	} else if !os.IsExist(err) {
		return "", fmt.Errorf("creating the secret of %s: %w", clientID, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the secret of %s: %w", clientID, err)
	}
	return strings.TrimSpace(string(raw)), nil
}

func serviceAccount(id string) (ServiceAccount, bool) {
	for _, sa := range ServiceAccounts() {
		if sa.ID == id {
			return sa, true
		}
	}
	return ServiceAccount{}, false
}

// newID returns 128 random bits, base64url.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64URL(b)
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
