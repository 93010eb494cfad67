package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/devissuer"
)

// TestTokenCommand mints tokens with `xuncha token` from a data directory
// whose dev issuer is served over HTTP, and verifies them through discovery.
func TestTokenCommand(t *testing.T) {
	for _, k := range []string{"XUNCHA_OIDC_ISSUER", "XUNCHA_OIDC_AUDIENCE", "XUNCHA_OIDC_ROLES_CLAIM", "XUNCHA_OIDC_UNITS_CLAIM", "XUNCHA_OIDC_NAME_CLAIM", "XUNCHA_OIDC_ORG_CLAIM", "XUNCHA_DATA_DIR"} {
		t.Setenv(k, "")
	}
	dataDir := filepath.Join(t.TempDir(), ".data")

	// Before any issuer is recorded the command says what to do.
	_, err := run(t, "token", "--data-dir", dataDir, "--role", "office")
	require.ErrorContains(t, err, "no issuer URL: run `xuncha dev` once")

	srv := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + srv.Listener.Addr().String() + "/oidc"
	iss, err := devissuer.New(devissuer.Config{Issuer: issuerURL, Dir: filepath.Join(dataDir, "oidc")})
	require.NoError(t, err)
	require.NoError(t, iss.Record())
	h, err := iss.Handler()
	require.NoError(t, err)
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	v, err := authn.New(authn.Config{Issuer: issuerURL})
	require.NoError(t, err)

	verify := func(v *authn.Verifier, out string) authn.Identity {
		t.Helper()
		require.True(t, strings.HasSuffix(out, "\n"))
		tok := strings.TrimSuffix(out, "\n")
		require.NotContains(t, tok, "\n")
		id, err := v.Verify(context.Background(), tok)
		require.NoError(t, err)
		return id
	}

	out, err := run(t, "token", "--data-dir", dataDir, "--role", "office")
	require.NoError(t, err)
	id := verify(v, out)
	require.Equal(t, devissuer.OfficeClerk.Subject, id.Subject)
	require.Equal(t, []string{"office"}, id.Roles)
	require.Equal(t, devissuer.OfficeClerk.Name, id.Name)
	require.WithinDuration(t, time.Now().Add(time.Hour), id.ExpiresAt, time.Minute)

	out, err = run(t, "token", "--data-dir", dataDir, "--role", "unit")
	require.NoError(t, err)
	require.Equal(t, []string{"430100"}, verify(v, out).Units)

	out, err = run(t, "token", "--data-dir", dataDir, "--role", "unit", "--unit", "430200", "--unit", "430300",
		"--name", "李四", "--org", "株洲市", "--subject", "u-42", "--ttl", "5m")
	require.NoError(t, err)
	id = verify(v, out)
	require.Equal(t, authn.Identity{Subject: "u-42", Name: "李四", Organisation: "株洲市", Roles: []string{"unit"}, Units: []string{"430200", "430300"},
		ClientID: devissuer.DevClientID, Issuer: issuerURL, ExpiresAt: id.ExpiresAt}, id)
	require.WithinDuration(t, time.Now().Add(5*time.Minute), id.ExpiresAt, time.Minute)

	// The claim names and audience follow the XUNCHA_OIDC_* settings, so the
	// token suits a server configured alike.
	t.Setenv("XUNCHA_OIDC_ROLES_CLAIM", "realm_access.roles")
	out, err = run(t, "token", "--data-dir", dataDir, "--role", "auditor", "--oidc-audience", "xuncha-api")
	require.NoError(t, err)
	kc, err := authn.New(authn.Config{Issuer: issuerURL, Audience: "xuncha-api", Claims: authn.Claims{Roles: "realm_access.roles"}})
	require.NoError(t, err)
	require.Equal(t, []string{"auditor"}, verify(kc, out).Roles)
	_, err = v.Verify(context.Background(), strings.TrimSpace(out))
	require.ErrorIs(t, err, authn.ErrWrongAudience)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--role", "boss"}, "--role must be one of office, committee"},
		{[]string{}, `required flag(s) "role" not set`},
		{[]string{"--role", "office", "--ttl", "-1m"}, "lifetime must be positive"},
		{[]string{"--role", "office", "--ttl", "800h"}, "at most 720h"},
		{[]string{"--role", "unit", "--unit", " "}, "--unit must not be blank"},
		{[]string{"--role", "office", "--name", " "}, "--name must not be blank"},
		{[]string{"--role", "office", "--oidc-issuer", "localhost:1"}, "dev issuer URL"},
	} {
		_, err := run(t, append([]string{"token", "--data-dir", dataDir}, tc.args...)...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}
