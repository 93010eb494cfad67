package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

func TestMigrateCommand(t *testing.T) {
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	_, err := run(t, "migrate", "--database-url", url, "--log-level", "warn")
	require.NoError(t, err)
	// Running it again is safe and changes nothing.
	_, err = run(t, "migrate", "--database-url", url, "--log-level", "warn")
	require.NoError(t, err)
	store, err := ledger.Open(ctx, url)
	require.NoError(t, err)
	defer store.Close()
	versions, err := store.CalendarVersions(ctx, 0)
	require.NoError(t, err, "the migrated schema answers")
	require.Empty(t, versions)

	_, err = run(t, "migrate")
	require.ErrorContains(t, err, "set DATABASE_URL")
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
