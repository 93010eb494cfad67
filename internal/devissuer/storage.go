package devissuer

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// errNotOffered answers the flows the dev issuer does not offer: interactive
// sign-in (authorization code), refresh tokens, introspection, JWT profile.
var errNotOffered = errors.New("the dev issuer offers the client-credentials grant for its service accounts; people get tokens from `xuncha token`")

// storage is the op.Storage (and op.ClientCredentialsStorage) of the dev
// issuer: its keys come from the key directory, its clients are the dev
// service accounts, and it keeps no tokens (they are self-contained JWTs).
type storage struct {
	i *Issuer
}

var (
	_ op.Storage                  = (*storage)(nil)
	_ op.ClientCredentialsStorage = (*storage)(nil)
)

// Keys.

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.i.keys.current(s.i.alg)
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	keys, err := s.i.keys.load()
	if err != nil {
		return nil, err
	}
	var algs []jose.SignatureAlgorithm
	for _, k := range keys {
		if !containsAlg(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	return algs, nil
}

func containsAlg(algs []jose.SignatureAlgorithm, a jose.SignatureAlgorithm) bool {
	for _, x := range algs {
		if x == a {
			return true
		}
	}
	return false
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	keys, err := s.i.keys.load()
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(keys))
	for n, k := range keys {
		out[n] = publicKey{k}
	}
	return out, nil
}

// Client credentials.

func (s *storage) ClientCredentials(ctx context.Context, clientID, clientSecret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, clientID, clientSecret); err != nil {
		return nil, err
	}
	return &client{id: clientID}, nil
}

func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	if _, ok := serviceAccount(clientID); !ok {
		return nil, errors.New("unknown client")
	}
	// RFC 9068 §2.2: without a resource owner the subject is the client.
	return &oidc.JWTTokenRequest{Subject: clientID, Audience: []string{s.i.cfg.Audience}, Scopes: scopes}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if _, ok := serviceAccount(clientID); !ok {
		return nil, errors.New("unknown client")
	}
	return &client{id: clientID}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	if _, ok := serviceAccount(clientID); !ok {
		return errors.New("wrong client or secret")
	}
	want, err := s.i.ClientSecret(clientID)
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(clientSecret)) != 1 {
		return errors.New("wrong client or secret")
	}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, clientID string, _ []string) (map[string]any, error) {
	sa, ok := serviceAccount(clientID)
	if !ok || userID != clientID {
		return nil, errors.New("unknown client")
	}
	return s.i.privateClaims(User{Subject: sa.ID, Name: sa.Name, Organisation: sa.Organisation, Roles: sa.Roles, Units: sa.Units}), nil
}

func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return newID(), s.i.cfg.Now().Add(DefaultTTL), nil
}

func (s *storage) Health(context.Context) error { return nil }

// Flows not offered.

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, oidc.ErrRequestNotSupported().WithDescription("%s", errNotOffered.Error())
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotOffered
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotOffered
}
func (s *storage) SaveAuthCode(context.Context, string, string) error { return errNotOffered }
func (s *storage) DeleteAuthRequest(context.Context, string) error    { return nil }
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNotOffered
}
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }
func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrRequestNotSupported().WithDescription("%s", errNotOffered.Error())
}
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errNotOffered
}
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNotOffered
}
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotOffered
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotOffered
}

// client is a dev service account as an OAuth client: confidential, client
// secret (basic or post), client-credentials grant only, JWT access tokens.
type client struct{ id string }

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return nil }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (c *client) LoginURL(string) string              { return "" }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return DefaultTTL }
func (c *client) DevMode() bool                       { return true }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
