package api_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/authn"
)

// keycloakUser is a person as a Keycloak-like provider describes it: realm
// roles under realm_access.roles, the units in a "units" claim, the name in
// preferred_username and the organisation in "department" — none of them
// xuncha's default claim names.
type keycloakUser struct {
	subject, username, department string
	roles, units                  []string
}

func (u keycloakUser) ID() string { return u.subject }

func (u keycloakUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.subject, "preferred_username": u.username})
}

func (u keycloakUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return keycloakClaims{IDTokenClaims: base, Username: u.username, Department: u.department,
		RealmAccess: map[string][]string{"roles": u.roles}, Units: u.units}, nil
}

type keycloakClaims struct {
	*mockoidc.IDTokenClaims
	Username    string              `json:"preferred_username"`
	Department  string              `json:"department"`
	RealmAccess map[string][]string `json:"realm_access"`
	Units       []string            `json:"units"`
}

// signIn runs the provider's authorization-code flow for user and returns
// the ID token it issues.
func signIn(t *testing.T, m *mockoidc.MockOIDC, user keycloakUser) string {
	t.Helper()
	m.QueueUser(user)
	const callback = "https://xuncha.example/callback"
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(m.AuthorizationEndpoint() + "?" + url.Values{
		"client_id": {m.ClientID}, "response_type": {"code"}, "scope": {"openid profile"},
		"redirect_uri": {callback}, "state": {"s"}, "nonce": {"n"},
	}.Encode())
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusFound, resp.StatusCode)
	location, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	resp, err = http.PostForm(m.TokenEndpoint(), url.Values{
		"grant_type": {"authorization_code"}, "code": {location.Query().Get("code")}, "redirect_uri": {callback},
		"client_id": {m.ClientID}, "client_secret": {m.ClientSecret},
	})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tokens struct {
		IDToken string `json:"id_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tokens))
	require.NotEmpty(t, tokens.IDToken)
	return tokens.IDToken
}

// TestThirdPartyIssuer: xuncha's server accepts tokens of an OpenID provider
// that is not its own (github.com/oauth2-proxy/mockoidc, signing RS256),
// configured only by its issuer URL and the claim names it uses, and picks
// up the provider's new signing key after a rotation without a restart.
func TestThirdPartyIssuer(t *testing.T) {
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	m.ClientID = "xuncha" // its tokens' audience
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })

	s := setupConfigured(t, func(srv *api.Server, _ string) {
		v, err := authn.New(authn.Config{Issuer: m.Issuer(), Audience: "xuncha", JWKSRefreshInterval: 100 * time.Millisecond,
			Claims: authn.Claims{Roles: "realm_access.roles", Units: "units", Name: "preferred_username", Org: "department"}})
		require.NoError(t, err)
		srv.Verifier = v
	})
	clerk := keycloakUser{subject: "kc-0001", username: "王芳", department: "省安委办", roles: []string{"office", "offline_access"}}
	unitUser := keycloakUser{subject: "kc-0002", username: "陈静", department: "长沙市应急管理局", roles: []string{"unit"}, units: []string{"430100"}}

	_, code, msg := s.rest(t, http.MethodGet, "/v1/webhooks", "Bearer "+signIn(t, m, clerk))
	require.Equal(t, http.StatusOK, code, msg)
	_, code, msg = s.rest(t, http.MethodGet, "/v1/webhooks", "Bearer "+signIn(t, m, unitUser))
	require.Equal(t, http.StatusForbidden, code, "a unit user does not read the office's webhooks: %s", msg)

	// The recorded actor is the provider's person, by the configured claims.
	data, err := json.Marshal(inspectionBody(rid(t, "third-party")))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.BaseURL+"/v1/inspections", strings.NewReader(string(data)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+signIn(t, m, clerk))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var created struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	events, err := s.Ledger.Events(t.Context(), casework.SubjectInspection, created.ID)
	require.NoError(t, err)
	require.NotEmpty(t, events)
	require.Equal(t, "王芳", events[0].Actor.Name)
	require.Equal(t, "省安委办", events[0].Actor.Organisation)
	require.Equal(t, "kc-0001", events[0].Actor.Subject)

	// The provider rotates its signing key: a token signed with the new key
	// is accepted by the running server; one signed with the old key no
	// longer is, since the provider no longer publishes it.
	old := signIn(t, m, clerk)
	addr := m.Addr()
	require.NoError(t, m.Shutdown())
	m.Server = nil
	m.Keypair, err = mockoidc.RandomKeypair(2048)
	require.NoError(t, err)
	ln, err = net.Listen("tcp", strings.TrimPrefix(addr, "http://"))
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	fresh := signIn(t, m, clerk)
	require.Eventually(t, func() bool {
		_, code, _ := s.rest(t, http.MethodGet, "/v1/webhooks", "Bearer "+fresh)
		return code == http.StatusOK
	}, 5*time.Second, 200*time.Millisecond, "the new key is fetched")
	_, code, msg = s.rest(t, http.MethodGet, "/v1/webhooks", "Bearer "+old)
	require.Equal(t, http.StatusUnauthorized, code, msg)
}
