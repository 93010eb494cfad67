package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// TestMigrateCommand runs `xuncha migrate` as an operator would: as the
// owner, with the application role named by DATABASE_URL, which it creates
// with that URL's password; twice, the second run changing nothing. The
// application role then reads the ledger and may not rewrite its history.
func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	db := testenv.NewDatabase(t)
	appURL := strings.Replace(db.URL, testenv.AppRole+"@", "lp_migrate_cmd:pw-from-the-url@", 1)
	t.Setenv("XUNCHA_TIP_KEY", "")
	args := []string{"migrate", "--migrate-database-url", db.OwnerURL, "--database-url", appURL, "--log-level", "warn"}
	_, err := run(t, args...)
	require.NoError(t, err)
	var secret string
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	require.NoError(t, conn.QueryRow(ctx, `SELECT rolpassword FROM pg_authid WHERE rolname = 'lp_migrate_cmd'`).Scan(&secret))
	require.True(t, strings.HasPrefix(secret, "SCRAM-SHA-256$"), "the role was created with the URL's password")

	// Running it again is safe and changes nothing.
	res, err := (&config{MigrateDatabaseURL: db.OwnerURL, DatabaseURL: appURL, LogLevel: "warn"}).migrate(ctx, zap.NewNop())
	require.NoError(t, err)
	require.Equal(t, ledger.MigrateResult{SchemaVersion: res.SchemaVersion}, res)
	_, err = run(t, args...)
	require.NoError(t, err)

	store, err := ledger.Open(ctx, appURL)
	require.NoError(t, err)
	defer store.Close()
	versions, err := store.CalendarVersions(ctx, 0)
	require.NoError(t, err, "the migrated schema answers the application role")
	require.Empty(t, versions)
	warnings, err := store.PrivilegeWarnings(ctx)
	require.NoError(t, err)
	require.Empty(t, warnings)
	app, err := pgx.Connect(ctx, appURL)
	require.NoError(t, err)
	defer app.Close(ctx)
	_, err = app.Exec(ctx, `DELETE FROM events`)
	require.ErrorContains(t, err, "permission denied for table events")

	_, err = run(t, "migrate")
	require.ErrorContains(t, err, "no database: set MIGRATE_DATABASE_URL")
}

func TestTemporalSetupCommand(t *testing.T) {
	ctx := context.Background()
	addr := testenv.TemporalAddress(t)
	const ns = "xuncha-setup-test"
	for range 2 { // idempotent
		_, err := run(t, "temporal", "setup", "--temporal-address", addr, "--temporal-namespace", ns, "--log-level", "warn")
		require.NoError(t, err)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: ns})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	require.NoError(t, err, "the namespace was created")
	attrs, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	require.NoError(t, err)
	for _, d := range searchattr.Definitions() {
		require.Equal(t, d.Type, attrs.GetCustomAttributes()[d.Name], d.Name)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	_, err := run(t, "healthcheck", "--url", ok.URL)
	require.NoError(t, err)
	_, err = run(t, "healthcheck", "--url", down.URL)
	require.ErrorContains(t, err, "503")
}
