package testenv_test

import (
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestEachTestGetsItsOwnDatabase(t *testing.T) {
	t.Parallel()
	first, second := testenv.PostgresURL(t), testenv.PostgresURL(t)
	require.NotEqual(t, first, second)
	require.True(t, strings.HasPrefix(first, "postgres://postgres@127.0.0.1:"), first)

	a, err := pgx.Connect(t.Context(), first)
	require.NoError(t, err)
	defer a.Close(t.Context())
	b, err := pgx.Connect(t.Context(), second)
	require.NoError(t, err)
	defer b.Close(t.Context())

	_, err = a.Exec(t.Context(), "CREATE TABLE only_here (id int)")
	require.NoError(t, err)
	var visible bool
	require.NoError(t, b.QueryRow(t.Context(), "SELECT to_regclass('only_here') IS NOT NULL").Scan(&visible))
	require.False(t, visible, "a table of one test's database is visible in another's")
}

func TestPostgresIsReal(t *testing.T) {
	t.Parallel()
	conn, err := pgx.Connect(t.Context(), testenv.PostgresURL(t))
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var version string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT version()").Scan(&version))
	require.Contains(t, version, "PostgreSQL 15.")
}

func TestTemporalIsRealWithSearchAttributes(t *testing.T) {
	t.Parallel()
	c, err := client.DialContext(t.Context(), client.Options{HostPort: testenv.TemporalAddress(t), Namespace: testenv.Namespace})
	require.NoError(t, err)
	defer c.Close()
	info, err := c.WorkflowService().GetSystemInfo(t.Context(), &workflowservice.GetSystemInfoRequest{})
	require.NoError(t, err)
	require.NotEmpty(t, info.GetServerVersion())
	t.Logf("Temporal server %s", info.GetServerVersion())

	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: testenv.Namespace})
	require.NoError(t, err)
	for _, d := range searchattr.Definitions() {
		require.Equal(t, d.Type, resp.GetCustomAttributes()[d.Name], d.Name)
	}
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_DATETIME, resp.GetCustomAttributes()["XunchaDueAt"])
}

func TestSameTemporalForEveryTest(t *testing.T) {
	t.Parallel()
	require.Equal(t, testenv.TemporalAddress(t), testenv.TemporalAddress(t))
}

func TestLogger(t *testing.T) {
	t.Parallel()
	log := testenv.Logger(t)
	require.NotNil(t, log)
	log.Info("testenv logger writes to the test log")
}
