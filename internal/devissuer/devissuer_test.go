package devissuer_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/devissuer"
)

func setup(t *testing.T, dir string) (*devissuer.Issuer, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	url := "http://" + srv.Listener.Addr().String() + "/oidc"
	iss, err := devissuer.New(devissuer.Config{Issuer: url, Dir: dir})
	require.NoError(t, err)
	h, err := iss.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/oidc/", h)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return iss, url
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func jwks(t *testing.T, url string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid, Alg, Use, Kty string
			D                  string `json:"d"`
		} `json:"keys"`
	}
	getJSON(t, url+"/keys", &set)
	var kids []string
	for _, k := range set.Keys {
		require.Empty(t, k.D, "the JWKS must hold public keys only")
		require.Equal(t, "sig", k.Use)
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestKeysAreKeptInTheDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	iss, url := setup(t, dir)
	first, err := iss.KeyIDs()
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Equal(t, first, jwks(t, url))
	info, err := os.Stat(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	// A second start reuses the key.
	again, _ := setup(t, dir)
	ids, err := again.KeyIDs()
	require.NoError(t, err)
	require.Equal(t, first, ids)

	// Rotation adds a key that signs from now on; the old one stays published.
	kid, err := iss.Rotate()
	require.NoError(t, err)
	require.Equal(t, []string{first[0], kid}, jwks(t, url))
	tok, err := again.Mint(devissuer.MintRequest{User: devissuer.OfficeClerk})
	require.NoError(t, err)
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"kid":"`+kid+`"`, "another process over the same directory signs with the new key")
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	_, url := setup(t, t.TempDir())
	var d struct {
		Issuer     string   `json:"issuer"`
		JWKSURI    string   `json:"jwks_uri"`
		Token      string   `json:"token_endpoint"`
		Grants     []string `json:"grant_types_supported"`
		SigningAlg []string `json:"id_token_signing_alg_values_supported"`
	}
	getJSON(t, url+"/.well-known/openid-configuration", &d)
	require.Equal(t, url, d.Issuer)
	require.Equal(t, url+"/keys", d.JWKSURI)
	require.Equal(t, url+"/oauth/token", d.Token)
	require.Contains(t, d.Grants, "client_credentials")
	require.Equal(t, []string{"RS256"}, d.SigningAlg)
}

func TestMint(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	iss, err := devissuer.New(devissuer.Config{Issuer: "http://localhost:8080/oidc", Dir: t.TempDir(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	tok, err := iss.Mint(devissuer.MintRequest{User: devissuer.UnitUser, TTL: 2 * time.Hour})
	require.NoError(t, err)
	require.NotContains(t, tok, "\n")
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(raw, &c))
	require.Equal(t, "http://localhost:8080/oidc", c["iss"])
	require.Equal(t, "dev-unit-430100", c["sub"])
	require.Equal(t, []any{"xuncha"}, c["aud"])
	require.Equal(t, devissuer.DevClientID, c["client_id"])
	require.EqualValues(t, now.Unix(), c["iat"])
	require.EqualValues(t, now.Unix(), c["nbf"])
	require.EqualValues(t, now.Add(2*time.Hour).Unix(), c["exp"])
	require.NotEmpty(t, c["jti"])
	require.Equal(t, []any{"unit"}, c["xuncha_roles"])
	require.Equal(t, []any{"430100"}, c["xuncha_units"])
	require.Equal(t, "陈静", c["name"])
	require.Equal(t, "长沙市", c["org"])

	for _, bad := range []devissuer.MintRequest{
		{User: devissuer.User{}},
		{User: devissuer.OfficeClerk, TTL: -time.Second},
		{User: devissuer.OfficeClerk, TTL: devissuer.MaxTTL + time.Second},
	} {
		_, err := iss.Mint(bad)
		require.Error(t, err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []devissuer.Config{
		{Issuer: "", Dir: t.TempDir()},
		{Issuer: "localhost:8080", Dir: t.TempDir()},
		{Issuer: "http://localhost:8080/oidc?x=1", Dir: t.TempDir()},
		{Issuer: "http://localhost:8080/oidc"},
		{Issuer: "http://localhost:8080/oidc", Dir: t.TempDir(), Algorithm: "HS256"},
	} {
		_, err := devissuer.New(cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

func TestUsersCoverEveryRole(t *testing.T) {
	t.Parallel()
	for _, role := range actor.Roles {
		u, err := devissuer.UserForRole(role)
		require.NoError(t, err)
		require.Equal(t, []string{role}, u.Roles)
		require.NotEmpty(t, u.Subject)
		require.NotEmpty(t, u.Name)
	}
	require.Equal(t, []string{"430100"}, devissuer.UnitUser.Units)
	_, err := devissuer.UserForRole("system")
	require.ErrorContains(t, err, "office, committee")
}

func TestClientSecretIsCreatedOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	iss, err := devissuer.New(devissuer.Config{Issuer: "http://localhost:8080/oidc", Dir: dir})
	require.NoError(t, err)
	s1, err := iss.ClientSecret(devissuer.OfficeSystem.ID)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(s1), 40)
	s2, err := iss.ClientSecret(devissuer.OfficeSystem.ID)
	require.NoError(t, err)
	require.Equal(t, s1, s2)
	info, err := os.Stat(filepath.Join(dir, "clients", "office-system.secret"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	_, err = iss.ClientSecret("nobody")
	require.Error(t, err)
}

func TestRecordedIssuer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got, err := devissuer.RecordedIssuer(dir)
	require.NoError(t, err)
	require.Empty(t, got)
	iss, err := devissuer.New(devissuer.Config{Issuer: "http://localhost:8080/oidc", Dir: dir})
	require.NoError(t, err)
	require.NoError(t, iss.Record())
	got, err = devissuer.RecordedIssuer(dir)
	require.NoError(t, err)
	require.Equal(t, "http://localhost:8080/oidc", got)
}
