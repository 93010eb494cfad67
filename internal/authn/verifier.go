package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// discoveryRetry is the shortest time between two attempts at the issuer's
// discovery document while it cannot be fetched.
const discoveryRetry = 2 * time.Second

// Verifier checks bearer tokens against one issuer. It is safe for
// concurrent use; build one per process with New and keep it.
type Verifier struct {
	cfg  Config
	jwks *jwksTransport

	mu          sync.Mutex
	verifier    *oidc.IDTokenVerifier // nil until discovery succeeded
	lastAttempt time.Time
	lastErr     error

	// verified remembers tokens that verified (see remembered).
	verifiedMu sync.Mutex
	verified   map[[sha256.Size]byte]verifiedToken
}

// Verified tokens are remembered for at most rememberFor, and at most
// rememberMax of them: a REST call is verified twice (by the gateway and by
// the gRPC service it forwards to, issue 12 item 2), and a client sends the
// same token for every call until it expires. A remembered token is still
// refused once expired; it is accepted no longer than a key the issuer
// withdrew stays in the key set cache.
const (
	rememberFor = time.Minute
	rememberMax = 10000
)

// verifiedToken is a token that verified: the identity it carries, its
// nbf, and until when it may be answered from memory.
type verifiedToken struct {
	id    Identity
	nbf   time.Time
	until time.Time
}

// New checks cfg and returns a Verifier. It does not contact the issuer:
// discovery happens on the first Verify (or Discover), so a server can start
// while its identity provider is briefly away, and `xuncha dev` can serve its
// own issuer from the process that verifies.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Verifier{cfg: cfg, jwks: newJWKSTransport(cfg.HTTPClient, cfg.JWKSRefreshInterval, cfg.Now)}, nil
}

// Config returns the configuration in force, defaults filled in.
func (v *Verifier) Config() Config { return v.cfg }

// Discover fetches the issuer's discovery document now, if not done yet, and
// reports whether it could; Verify calls it by itself.
func (v *Verifier) Discover(ctx context.Context) error {
	_, err := v.idTokenVerifier(ctx)
	return err
}

func (v *Verifier) idTokenVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	now := v.cfg.Now()
	if v.lastErr != nil && now.Sub(v.lastAttempt) < discoveryRetry {
		return nil, v.lastErr
	}
	v.lastAttempt = now
	client := *v.cfg.HTTPClient
	client.Transport = v.jwks
	// Discovery and keys over https, or over http from this machine only
	// (the issuer's rule, Config.Validate): a redirect to plain http
	// elsewhere is not followed.
	next := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if clearElsewhere(req.URL) {
			return fmt.Errorf("redirected to %s, which is not https", req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return fmt.Errorf("stopped after 10 redirects")
		}
		return nil
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, &client), v.cfg.Issuer)
	if err != nil {
		err = refuse(ErrIssuerUnavailable, err, "the identity provider's discovery document could not be fetched; retry later")
		if ctx.Err() == nil {
			// Remembered for a moment, so an outage is not a flood of
			// discovery requests; a caller who gave up is not an outage.
			v.lastErr = err
		}
		return nil, err
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKSURI == "" {
		v.lastErr = refuse(ErrIssuerUnavailable, err, "the identity provider's discovery document names no key set (jwks_uri)")
		return nil, v.lastErr
	}
	if u, err := url.Parse(meta.JWKSURI); err != nil || clearElsewhere(u) {
		// The keys that verify every token, fetched in the clear: anyone
		// on the way could put in their own.
		v.lastErr = refuse(ErrIssuerUnavailable, err, "the identity provider's key set (jwks_uri %s) is not https: its keys would be fetched in the clear", meta.JWKSURI)
		return nil, v.lastErr
	}
	v.jwks.setURL(meta.JWKSURI)
	// The key set keeps this context for its fetches: only its HTTP client
	// matters, not a request's deadline.
	keys := &recordingKeySet{inner: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), &client), meta.JWKSURI)}
	v.verifier = oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: v.cfg.Algorithms,
		// exp and nbf are checked below with the configured leeway: go-oidc
		// allows none on exp and a fixed 5 minutes on nbf.
		SkipExpiryCheck: true,
	})
	v.lastErr = nil
	return v.verifier, nil
}

// TokenFromAuthorization returns the token of an Authorization header value
// "Bearer <token>" (the scheme in any case). An empty value is ErrNoToken.
func TokenFromAuthorization(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", refuse(ErrNoToken, nil, "no bearer token: send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", refuse(ErrMalformed, nil, "the Authorization header must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(token), nil
}

// Verify checks a bearer token (without the "Bearer " prefix) and returns
// the caller's identity. Checks, in order: the token is a compact JWS whose
// "alg" is allowed; its signature verifies with a key of the issuer's key
// set (fetched again for a key ID not seen yet); "iss" is the issuer; "aud"
// holds the audience; "exp" is not past and "nbf" not ahead, each with the
// leeway; "sub" is present; the mapped claims have the right types. A token
// that verified is remembered for up to a minute (rememberFor) and then
// answered from memory, its exp and nbf checked again.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Identity{}, refuse(ErrNoToken, nil, "no bearer token: send Authorization: Bearer <token>")
	}
	key := sha256.Sum256([]byte(raw))
	if id, nbf, ok := v.remembered(key); ok {
		if err := v.checkTimes(id.ExpiresAt, nbf); err != nil {
			return Identity{}, err
		}
		return id, nil
	}
	id, nbf, err := v.verify(ctx, raw)
	if err != nil {
		return Identity{}, err
	}
	v.remember(key, id, nbf)
	return id, nil
}

// remembered returns a token that verified less than rememberFor ago.
func (v *Verifier) remembered(key [sha256.Size]byte) (Identity, time.Time, bool) {
	v.verifiedMu.Lock()
	defer v.verifiedMu.Unlock()
	t, ok := v.verified[key]
	if !ok || v.cfg.Now().After(t.until) {
		return Identity{}, time.Time{}, false
	}
	return t.id, t.nbf, true
}

// remember keeps a verified token, making room by forgetting the stale
// ones, or all of them when none is stale.
func (v *Verifier) remember(key [sha256.Size]byte, id Identity, nbf time.Time) {
	now := v.cfg.Now()
	v.verifiedMu.Lock()
	defer v.verifiedMu.Unlock()
	if v.verified == nil {
		v.verified = map[[sha256.Size]byte]verifiedToken{}
	}
	if len(v.verified) >= rememberMax {
		for k, t := range v.verified {
			if now.After(t.until) {
				delete(v.verified, k)
			}
		}
		if len(v.verified) >= rememberMax {
			clear(v.verified)
		}
	}
	v.verified[key] = verifiedToken{id: id, nbf: nbf, until: now.Add(rememberFor)}
}

// checkTimes refuses a token past its expiry or before its nbf, each with
// the leeway.
func (v *Verifier) checkTimes(exp, nbf time.Time) error {
	now := v.cfg.Now()
	if now.After(exp.Add(v.cfg.Leeway)) {
		return refuse(ErrExpired, nil, "the bearer token has expired: get a new one")
	}
	if !nbf.IsZero() && now.Add(v.cfg.Leeway).Before(nbf) {
		return refuse(ErrNotYetValid, nil, "the bearer token is not valid yet (nbf is ahead; check the clocks)")
	}
	return nil
}

// verify checks a token in full (see Verify) and returns its identity and
// nbf.
func (v *Verifier) verify(ctx context.Context, raw string) (Identity, time.Time, error) {
	head, err := parseHeader(raw)
	if err != nil {
		return Identity{}, time.Time{}, refuse(ErrMalformed, err, "the bearer token is not a signed JWT")
	}
	if !slices.Contains(v.cfg.Algorithms, head.Alg) {
		return Identity{}, time.Time{}, refuse(ErrAlgorithmNotAllowed, nil,
			"the bearer token's signing algorithm is not accepted (accepted: %s)", strings.Join(v.cfg.Algorithms, ", "))
	}
	verifier, err := v.idTokenVerifier(ctx)
	if err != nil {
		return Identity{}, time.Time{}, err
	}
	out := &signatureOutcome{}
	tok, err := verifier.Verify(context.WithValue(ctx, outcomeKey{}, out), raw)
	if err != nil {
		return Identity{}, time.Time{}, v.classify(err, out, head)
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(out.payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return Identity{}, time.Time{}, refuse(ErrMalformed, err, "the bearer token's claims are not a JSON object")
	}
	if tok.Expiry.IsZero() {
		return Identity{}, time.Time{}, refuse(ErrMalformed, nil, "the bearer token has no expiry (exp)")
	}
	nbf, err := numericDate(claims, "nbf")
	if err != nil {
		return Identity{}, time.Time{}, refuse(ErrMalformed, err, "the bearer token's nbf is not a number")
	}
	if err := v.checkTimes(tok.Expiry, nbf); err != nil {
		return Identity{}, time.Time{}, err
	}
	id, err := v.identity(claims)
	if err != nil {
		return Identity{}, time.Time{}, err
	}
	id.Issuer = tok.Issuer
	id.ExpiresAt = tok.Expiry
	return id, nbf, nil
}

// classify turns go-oidc's error into a kind. go-oidc checks, in order: the
// JWS structure and algorithm, the signature (through recordingKeySet, which
// records the outcome), the issuer, the audience; its errors are plain text,
// so the kind is read from what was recorded and from the verified claims.
func (v *Verifier) classify(err error, out *signatureOutcome, head jwtHeader) error {
	switch {
	case !out.called:
		return refuse(ErrMalformed, err, "the bearer token is not a signed JWT")
	case out.err != nil:
		known, fetchErr := v.jwks.knownKeys()
		switch {
		case head.Kid != "" && known != nil && !known[head.Kid] && fetchErr == nil:
			return refuse(ErrUnknownKey, err, "the bearer token is signed with a key the identity provider does not publish")
		case fetchErr != nil && (known == nil || (head.Kid != "" && !known[head.Kid])):
			return refuse(ErrIssuerUnavailable, err, "the identity provider's keys could not be fetched; retry later")
		default:
			return refuse(ErrBadSignature, err, "the bearer token's signature does not verify")
		}
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(out.payload, &claims) != nil {
		return refuse(ErrMalformed, err, "the bearer token's claims are not a JSON object")
	}
	if claims.Issuer != v.cfg.Issuer {
		return refuse(ErrWrongIssuer, err, "the bearer token was issued by another identity provider (expected %s)", v.cfg.Issuer)
	}
	var aud []string
	if json.Unmarshal(claims.Audience, &aud) != nil {
		var one string
		_ = json.Unmarshal(claims.Audience, &one)
		aud = []string{one}
	}
	if !slices.Contains(aud, v.cfg.Audience) {
		return refuse(ErrWrongAudience, err, "the bearer token is not meant for this service (its audience must include %s)", v.cfg.Audience)
	}
	return refuse(ErrMalformed, err, "the bearer token is not acceptable")
}

// jwtHeader is the part of a JOSE header read before verification, to
// refuse a disallowed algorithm early and to classify a failed signature.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

func parseHeader(raw string) (jwtHeader, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return jwtHeader{}, fmt.Errorf("a compact JWS has 3 parts, this has %d", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return jwtHeader{}, fmt.Errorf("header: %w", err)
	}
	var h jwtHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return jwtHeader{}, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

// numericDate reads a NumericDate claim (seconds since the epoch); absent is
// the zero time.
func numericDate(claims map[string]any, name string) (time.Time, error) {
	v, ok := claims[name]
	if !ok || v == nil {
		return time.Time{}, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("%s is %T", name, v)
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, err
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
}

// signatureOutcome records what the key set said about one token.
type signatureOutcome struct {
	called  bool
	err     error
	payload []byte
}

type outcomeKey struct{}

// recordingKeySet is go-oidc's remote key set, recording each verification's
// outcome in the signatureOutcome of its context: go-oidc wraps the key
// set's error as text, so the verifier could not tell a bad signature from a
// failed issuer or audience check otherwise.
type recordingKeySet struct {
	inner oidc.KeySet
}

func (k *recordingKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if out, ok := ctx.Value(outcomeKey{}).(*signatureOutcome); ok {
		out.called, out.err, out.payload = true, err, payload
	}
	return payload, err
}
