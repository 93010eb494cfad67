//go:build lifecyclebench

package lifecyclebench

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/temporalcluster"
	"github.com/xuncha/xuncha/internal/temporaldev"
	"github.com/xuncha/xuncha/internal/testenv"
)

var flagServer = flag.String("server", "dev",
	"the Temporal server every kind runs on: dev (the dev server, state in SQLite, as make test and xuncha dev run it) or cluster (Temporal server "+
		temporalcluster.ServerVersion+" on PostgreSQL, as production runs it)")

var flagDevConfig = flag.String("dev-config", "",
	"with -server=dev: comma-separated key=value pairs of the dev server's dynamic config (e.g. history.transferProcessorMaxPollRPS=1000); "+
		"the benchmark then starts a dev server of its own with them in place of the shared one")

var flagClusterPlugin = flag.String("cluster-plugin", temporalcluster.SQLPluginPGX,
	"with -server=cluster: the server's persistence plugin, "+temporalcluster.SQLPluginPGX+" (pgx, statements kept prepared; the default, as deployed) or "+
		temporalcluster.SQLPluginPQ+" (lib/pq, every statement parsed and planned anew)")

// clusterNamespace is the namespace the benchmark creates on its cluster.
const clusterNamespace = "default"

// temporalServer returns the address and namespace of the Temporal server
// -server names, and a line saying what it is. The dev server is testenv's;
// a cluster is started here on testenv's PostgreSQL (beside the ledger, as
// in the cluster tier), its namespace and search attributes set up as
// `xuncha temporal setup` would, and stopped when the test ends.
func temporalServer(t *testing.T, log *zap.Logger) (hostPort, namespace, summary string) {
	t.Helper()
	switch *flagServer {
	case "dev":
		if *flagDevConfig == "" {
			return testenv.TemporalAddress(t), testenv.Namespace, "Temporal dev server (SQLite)"
		}
		return devServer(t, log, strings.Split(*flagDevConfig, ","))
	case "cluster":
	default:
		t.Fatalf("-server=%q: want dev or cluster", *flagServer)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	if *flagDevConfig != "" {
		t.Fatal("-dev-config goes with -server=dev")
	}
	bins, err := temporalcluster.EnsureBinaries(ctx, filepath.Join(root, "bin"), log)
	require.NoError(t, err)

	pg, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	port, err := strconv.Atoi(pg.Port())
	require.NoError(t, err)
	password, _ := pg.User.Password()
	dir, err := os.MkdirTemp("", "xuncha-bench-cluster-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c, err := temporalcluster.New(ctx, temporalcluster.Config{
		Binaries:          bins,
		Postgres:          temporalcluster.Postgres{Host: pg.Hostname(), Port: port, User: pg.User.Username(), Password: password},
		Dir:               dir,
		DynamicConfigFile: filepath.Join(root, "deploy", "temporal", "dynamicconfig.yaml"),
		SQLPlugin:         *flagClusterPlugin,
		Log:               log,
	})
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), time.Minute)
		defer stop()
		if err := c.Stop(stopCtx); err != nil {
			t.Errorf("stopping the Temporal cluster: %v", err)
		}
	})
	tc, err := client.DialContext(ctx, client.Options{HostPort: c.Address(), Namespace: clusterNamespace, Logger: logging.Temporal(log)})
	require.NoError(t, err)
	defer tc.Close()
	require.NoError(t, temporalcluster.SetUpNamespace(ctx, tc, clusterNamespace, 24*time.Hour))
	return c.Address(), clusterNamespace, fmt.Sprintf("Temporal server %s reporting %s (%s, plugin %s, PostgreSQL shared with the ledger)",
		temporalcluster.ServerVersion, c.ReportedVersion(), temporalcluster.Persistence, c.Plugin())
}

// devServer starts a dev server of the benchmark's own, as testenv's but
// with the dynamic config values given, and stops it when the test ends.
func devServer(t *testing.T, log *zap.Logger, dynamicConfig []string) (hostPort, namespace, summary string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	bin, err := temporaldev.EnsureBinary(t.Context(), filepath.Join(root, "bin"), log)
	require.NoError(t, err)
	srv, err := temporaldev.Start(t.Context(), temporaldev.Config{BinPath: bin, Namespace: testenv.Namespace,
		SearchAttributes: searchattr.DevServerFlags(), DynamicConfig: dynamicConfig, Log: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv.Address(), testenv.Namespace, "Temporal dev server (SQLite), dynamic config " + strings.Join(dynamicConfig, ", ")
}
