// Package temporalcluster runs a Temporal server built from its Go module
// (go.temporal.io/server: every service, frontend, history, matching and
// worker, in one process) on a PostgreSQL server, with PostgreSQL persistence
// and SQL visibility: the cluster of make test's cluster tier (e2e/cluster),
// configured as production runs Temporal (docker-compose.yml), where the dev
// server of internal/temporaldev keeps its state in SQLite.
//
// New creates and upgrades the two databases with temporal-sql-tool and
// renders the server's configuration (ports fixed for the cluster's life, so
// clients reconnect to a restarted server); Start, Kill and Stop run the
// server process, as often as a chaos test needs. The namespace and xuncha's
// search attributes are what `xuncha temporal setup` makes, as in production;
// SetUpNamespace does the same in-process, for a benchmark that runs its
// own cluster, and AwaitNamespace waits until a namespace is usable.
package temporalcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/xuncha/xuncha/internal/buildlock"
	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/pgserver"
)

const (
	// ServerVersion is the pinned Temporal server release (the Makefile's
	// TEMPORAL_SERVER_VERSION): the newest that builds with Go 1.26. The
	// compose stack pins a release no older than this one (deploy/compose_test.go).
	ServerVersion = "v1.30.4"

	// ServerModule is the Temporal server's Go module.
	ServerModule = "go.temporal.io/server"

	serverPackage  = ServerModule + "/cmd/server"
	sqlToolPackage = ServerModule + "/cmd/tools/sql"

	// ServerBinary and SQLToolBinary are the names the binaries are kept
	// under in the bin directory (go install calls them server and sql).
	ServerBinary  = "temporal-server"
	SQLToolBinary = "temporal-sql-tool"

	// Persistence says which stores a cluster uses, for logs and test output.
	Persistence = "PostgreSQL persistence and SQL visibility"

	// Database and VisibilityDatabase are the databases New creates, named as
	// in the compose stack (deploy/postgres/init.sh).
	Database           = "temporal"
	VisibilityDatabase = "temporal_visibility"

	// DefaultNumHistoryShards is Config.NumHistoryShards' default: a test
	// cluster needs few, and each is a little work at every start.
	DefaultNumHistoryShards = 4

	// SQLPluginPGX and SQLPluginPQ are the server's persistence plugins
	// for PostgreSQL 12 and later: the same SQL and schemas through pgx
	// (jackc/pgx/v5), which keeps each connection's statements prepared,
	// or through lib/pq, which has PostgreSQL parse and plan every
	// statement anew. The compose stack runs pgx, and so does a cluster
	// by default: on this repository's benchmark it took about a fifth
	// off a finding's lifecycle and a third off PostgreSQL's CPU
	// (README, Benchmarks).
	SQLPluginPQ  = "postgres12"
	SQLPluginPGX = "postgres12_pgx"
	// schemaDir is where ServerModule keeps the plugin's schemas.
	schemaDir = "schema/postgresql/v12"

	// startTimeout bounds how long Start waits for the frontend to answer.
	startTimeout = 90 * time.Second
	// stopTimeout bounds a graceful stop before the server is killed.
	stopTimeout = 20 * time.Second
)

// Postgres is the PostgreSQL server the cluster keeps its state on; User
// must be allowed to create databases.
type Postgres struct {
	// Host is the server's address. Default 127.0.0.1.
	Host string
	// Port is the server's TCP port. Required.
	Port int
	// User and Password authenticate; Password may be empty (trust).
	User, Password string
}

// Config configures New.
type Config struct {
	// Binaries are the server, the schema tool and the module directory,
	// from EnsureBinaries. Required.
	Binaries Binaries
	// Postgres holds both databases. Required.
	Postgres Postgres
	// Dir receives the rendered configuration and the server's output
	// (server.log, appended to at every start). Required.
	Dir string
	// DynamicConfigFile is the server's dynamic configuration, such as the
	// compose stack's deploy/temporal/dynamicconfig.yaml. Default: none,
	// every setting at its default.
	DynamicConfigFile string
	// NumHistoryShards is fixed when the databases are first used. Default
	// DefaultNumHistoryShards.
	NumHistoryShards int
	// SQLPlugin is the persistence plugin of the server and the schema
	// tool, SQLPluginPGX or SQLPluginPQ. Default SQLPluginPGX.
	SQLPlugin string
	// Log receives lifecycle events at info level and the server's output
	// at debug level. Default: discard.
	Log *zap.Logger
}

// sqlPlugin is the persistence plugin cfg names, or its default.
func (cfg Config) sqlPlugin() string {
	if cfg.SQLPlugin == "" {
		return SQLPluginPGX
	}
	return cfg.SQLPlugin
}

// Cluster is a Temporal server on PostgreSQL made by New; Start runs it.
type Cluster struct {
	cfg        Config
	configFile string
	logFile    string
	ports      ports

	mu       sync.Mutex
	proc     *childproc.Process // nil before the first Start
	out      *childproc.Tail
	started  bool   // Start has succeeded once: the ports are the cluster's
	reported string // the version the running server reports
}

// ports are the server's listening ports on 127.0.0.1.
type ports struct {
	frontend, frontendHTTP, frontendMembership int
	history, historyMembership                 int
	matching, matchingMembership               int
	worker, workerMembership                   int
}

// New creates the databases if missing, creates or upgrades their schemas to
// the module's latest versions (idempotent, as the compose stack's
// temporal-schema-setup does), and renders the configuration. The server is
// not started.
func New(ctx context.Context, cfg Config) (*Cluster, error) {
	switch {
	case cfg.Binaries.Server == "" || cfg.Binaries.SQLTool == "" || cfg.Binaries.ModuleDir == "":
		return nil, errors.New("temporalcluster: Config.Binaries is incomplete: get it from EnsureBinaries")
	case cfg.Postgres.Port == 0 || cfg.Postgres.User == "":
		return nil, errors.New("temporalcluster: Config.Postgres needs a port and a user")
	case cfg.Dir == "":
		return nil, errors.New("temporalcluster: Config.Dir is empty")
	}
	if cfg.Postgres.Host == "" {
		cfg.Postgres.Host = "127.0.0.1"
	}
	if cfg.NumHistoryShards == 0 {
		cfg.NumHistoryShards = DefaultNumHistoryShards
	}
	switch cfg.SQLPlugin {
	case "", SQLPluginPQ, SQLPluginPGX:
	default:
		return nil, fmt.Errorf("temporalcluster: Config.SQLPlugin %q: want %s or %s", cfg.SQLPlugin, SQLPluginPQ, SQLPluginPGX)
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("temporalcluster: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("temporalcluster: %w", err)
	}
	if cfg.DynamicConfigFile != "" {
		if cfg.DynamicConfigFile, err = filepath.Abs(cfg.DynamicConfigFile); err != nil {
			return nil, fmt.Errorf("temporalcluster: %w", err)
		}
	}
	c := &Cluster{cfg: cfg, configFile: filepath.Join(dir, "config.yaml"), logFile: filepath.Join(dir, "server.log")}
	if err := c.setupSchemas(ctx); err != nil {
		return nil, err
	}
	if err := c.pickPorts(); err != nil {
		return nil, err
	}
	return c, nil
}

// setupSchemas creates both databases if missing and brings their schemas
// to the module's latest version: `setup-schema -v 0.0` records version 0.0
// only in a database without one, and `update-schema` applies the versioned
// migrations above the recorded version.
func (c *Cluster) setupSchemas(ctx context.Context) error {
	for _, db := range []struct{ name, schema string }{
		{Database, "temporal"},
		{VisibilityDatabase, "visibility"},
	} {
		if err := c.createDatabase(ctx, db.name); err != nil {
			return err
		}
		versioned := filepath.Join(c.cfg.Binaries.ModuleDir, schemaDir, db.schema, "versioned")
		if _, err := os.Stat(versioned); err != nil {
			return fmt.Errorf("temporalcluster: the module has no PostgreSQL schema: %w", err)
		}
		if err := c.sqlTool(ctx, db.name, "setup-schema", "--version", "0.0"); err != nil {
			return err
		}
		if err := c.sqlTool(ctx, db.name, "update-schema", "--schema-dir", versioned); err != nil {
			return err
		}
	}
	c.cfg.Log.Info("Temporal schemas ready", zap.String("version", ServerVersion), zap.Strings("databases", []string{Database, VisibilityDatabase}))
	return nil
}

// createDatabase creates the named database unless it exists.
func (c *Cluster) createDatabase(ctx context.Context, name string) error {
	pg := c.cfg.Postgres
	u := url.URL{Scheme: "postgres", User: url.UserPassword(pg.User, pg.Password),
		Host: net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)), Path: "/postgres", RawQuery: "sslmode=disable"}
	if err := pgserver.CreateDatabaseAt(ctx, u.String(), name); err != nil {
		return fmt.Errorf("temporalcluster: %w", err)
	}
	return nil
}

// sqlTool runs temporal-sql-tool on database db; the connection comes from
// the environment the tool reads (SQL_PASSWORD stays off the command line).
func (c *Cluster) sqlTool(ctx context.Context, db string, args ...string) error {
	pg := c.cfg.Postgres
	cmd := exec.CommandContext(ctx, c.cfg.Binaries.SQLTool, append([]string{"--plugin", c.cfg.sqlPlugin(), "--database", db}, args...)...)
	env := []string{"SQL_HOST=" + pg.Host, "SQL_PORT=" + strconv.Itoa(pg.Port), "SQL_USER=" + pg.User, "SQL_PASSWORD=" + pg.Password}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SQL_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("temporalcluster: temporal-sql-tool %s on %s: %w: %s", args[0], db, err, childproc.OneLine(buildlock.LastLines(string(out), 10)))
	}
	return nil
}

// pickPorts chooses free ports and renders the configuration with them.
// Membership ports are stored as a smallint (cluster_membership.rpc_port),
// so they come from below the kernel's ephemeral range, which starts at
// 32768; the others are ephemeral ports (childproc.FreePort).
func (c *Cluster) pickPorts() error {
	var p [9]int
	for i := range p {
		var port int
		var err error
		switch i {
		case 2, 4, 6, 8: // membership
			port, err = lowFreePort(p[:i])
		default:
			port, err = childproc.FreePort()
		}
		if err != nil {
			return err
		}
		p[i] = port
	}
	c.ports = ports{frontend: p[0], frontendHTTP: p[1], frontendMembership: p[2], history: p[3], historyMembership: p[4],
		matching: p[5], matchingMembership: p[6], worker: p[7], workerMembership: p[8]}
	data, err := yaml.Marshal(c.serverConfig())
	if err != nil {
		return fmt.Errorf("temporalcluster: rendering the server config: %w", err)
	}
	if err := os.WriteFile(c.configFile, data, 0o600); err != nil {
		return fmt.Errorf("temporalcluster: writing the server config: %w", err)
	}
	return nil
}

// lowFreePort returns a port below 32768 that 127.0.0.1 can bind now and
// that is not in taken.
func lowFreePort(taken []int) (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(32768-20000)
		if slices.Contains(taken, port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = l.Close()
		return port, nil
	}
	return 0, errors.New("temporalcluster: no free port below 32768 for the membership ring")
}

// serverConfig is the server's static configuration (config.Config of the
// server module, as YAML): the module's config/development-postgres12.yaml
// with this cluster's PostgreSQL, ports and dynamic config, and neither
// metrics, pprof nor archival.
func (c *Cluster) serverConfig() map[string]any {
	pg := c.cfg.Postgres
	store := func(db string, conns int) map[string]any {
		return map[string]any{"sql": map[string]any{
			"pluginName":      c.cfg.sqlPlugin(),
			"databaseName":    db,
			"connectAddr":     net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)),
			"connectProtocol": "tcp",
			"user":            pg.User,
			"password":        pg.Password,
			"maxConns":        conns,
			"maxIdleConns":    conns,
			"maxConnLifetime": "1h",
		}}
	}
	rpc := func(grpc, membership, http int) map[string]any {
		r := map[string]any{"grpcPort": grpc, "membershipPort": membership, "bindOnLocalHost": true}
		if http != 0 {
			r["httpPort"] = http
		}
		return map[string]any{"rpc": r}
	}
	p := c.ports
	cfg := map[string]any{
		"log": map[string]any{"stdout": true, "level": "warn"},
		"persistence": map[string]any{
			"defaultStore":     "postgres-default",
			"visibilityStore":  "postgres-visibility",
			"numHistoryShards": c.cfg.NumHistoryShards,
			"datastores": map[string]any{
				"postgres-default":    store(Database, 20),
				"postgres-visibility": store(VisibilityDatabase, 5),
			},
		},
		"global": map[string]any{
			"membership": map[string]any{"maxJoinDuration": "30s", "broadcastAddress": "127.0.0.1"},
		},
		"services": map[string]any{
			"frontend": rpc(p.frontend, p.frontendMembership, p.frontendHTTP),
			"history":  rpc(p.history, p.historyMembership, 0),
			"matching": rpc(p.matching, p.matchingMembership, 0),
			"worker":   rpc(p.worker, p.workerMembership, 0),
		},
		"clusterMetadata": map[string]any{
			"enableGlobalNamespace":    false,
			"failoverVersionIncrement": 10,
			"masterClusterName":        "active",
			"currentClusterName":       "active",
			"clusterInformation": map[string]any{"active": map[string]any{
				"enabled": true, "initialFailoverVersion": 1, "rpcName": "frontend", "rpcAddress": c.Address(),
			}},
		},
		"dcRedirectionPolicy": map[string]any{"policy": "noop"},
	}
	if c.cfg.DynamicConfigFile != "" {
		cfg["dynamicConfigClient"] = map[string]any{"filepath": c.cfg.DynamicConfigFile, "pollInterval": "10s"}
	}
	return cfg
}

// Address is the frontend's host:port, the same across restarts.
func (c *Cluster) Address() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports.frontend))
}

// ReportedVersion is the version the server reported at its latest start
// (GetSystemInfo), e.g. "1.30.4".
func (c *Cluster) ReportedVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reported
}

// Plugin is the persistence plugin the server and the schema tool use
// (SQLPluginPGX or SQLPluginPQ).
func (c *Cluster) Plugin() string { return c.cfg.sqlPlugin() }

// LogFile is the file receiving the server's output, across restarts.
func (c *Cluster) LogFile() string { return c.logFile }

// Start starts the server and waits until its frontend answers. A port
// taken by another process before the first start picks new ones; later
// starts (restarts) keep the cluster's ports, so clients find it again.
func (c *Cluster) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.Done():
		default:
			return errors.New("temporalcluster: the server is already running")
		}
	}
	for attempt := 1; ; attempt++ {
		err := c.launch(ctx)
		if err == nil {
			c.started = true
			c.cfg.Log.Info("Temporal server ready", zap.String("address", c.Address()), zap.String("version", c.reported), zap.Int("pid", c.proc.PID()))
			return nil
		}
		if c.proc != nil {
			_ = c.proc.Kill()
		}
		if !c.started && attempt < 3 && strings.Contains(c.out.String(), "address already in use") {
			c.cfg.Log.Info("a port was taken meanwhile, picking others", zap.Error(err))
			if err := c.pickPorts(); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// launch starts the process and waits until it is ready; call with c.mu held.
func (c *Cluster) launch(ctx context.Context) error {
	logFile, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("temporalcluster: opening the server log: %w", err)
	}
	fmt.Fprintf(logFile, "---- %s starting %s %s\n", time.Now().Format(time.RFC3339Nano), ServerBinary, ServerVersion)
	log := c.cfg.Log
	tail := &childproc.Tail{N: 20}
	c.out = tail
	// The server logs JSON with a stack trace per error: the tail for
	// error messages keeps level, message and error only.
	lines := &childproc.Tail{N: 1, OnLine: func(line string) {
		log.Debug(line)
		_, _ = fmt.Fprintln(tail, condense(line))
	}}
	out := io.MultiWriter(logFile, lines)
	cmd := exec.Command(c.cfg.Binaries.Server, "--config-file", c.configFile, "--allow-no-auth", "start")
	cmd.Dir = filepath.Dir(c.configFile)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	proc, err := childproc.Start(cmd, syscall.SIGTERM)
	if err != nil {
		_ = logFile.Close()
		return fmt.Errorf("temporalcluster: starting %s: %w", c.cfg.Binaries.Server, err)
	}
	c.proc = proc
	go func() { <-proc.Done(); _ = logFile.Close() }()
	return c.waitReady(ctx)
}

// condense shortens one of the server's JSON log lines to its level,
// message and error.
func condense(line string) string {
	var entry struct{ Level, Msg, Error string }
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Msg == "" {
		return line
	}
	if entry.Error != "" {
		return entry.Level + " " + entry.Msg + ": " + entry.Error
	}
	return entry.Level + " " + entry.Msg
}

// waitReady polls until the frontend is healthy and reads the system
// namespace from persistence; call with c.mu held.
func (c *Cluster) waitReady(ctx context.Context) error {
	return c.proc.AwaitReady(ctx, startTimeout, 250*time.Millisecond, c.probe, func(exitErr error) error {
		return fmt.Errorf("temporalcluster: %s exited during startup (%v); output (%s): %s", ServerBinary, exitErr, c.logFile, childproc.OneLine(c.out.String()))
	}, func(ctxErr, lastErr error) error {
		return fmt.Errorf("temporalcluster: the server at %s was not ready within %s (%w): last attempt: %v; output (%s): %s",
			c.Address(), startTimeout, ctxErr, lastErr, c.logFile, childproc.OneLine(c.out.String()))
	})
}

// probe checks readiness once and records the version the server reports.
func (c *Cluster) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tc, err := client.DialContext(ctx, client.Options{
		HostPort:  c.Address(),
		Namespace: "temporal-system",
		Logger:    logging.Temporal(zap.NewNop()),
	})
	if err != nil {
		return err
	}
	defer tc.Close()
	if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	info, err := tc.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
	if err != nil {
		return err
	}
	if _, err := tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "temporal-system"}); err != nil {
		return err
	}
	c.reported = info.GetServerVersion()
	return nil
}

// PID is the server's process ID (0 before the first Start).
func (c *Cluster) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return 0
	}
	return c.proc.PID()
}

// Kill kills the server with SIGKILL, as a crash would, and waits until it
// is gone. Killing a server that is not running does nothing.
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	if err := c.proc.Kill(); err != nil {
		return fmt.Errorf("temporalcluster: killing the server: %w", err)
	}
	c.cfg.Log.Info("Temporal server killed", zap.Int("pid", c.proc.PID()))
	return nil
}

// Stop stops the server with SIGTERM and waits, killing it if ctx ends or
// 20 seconds pass first. Stopping a server that is not running (never
// started, killed, exited) does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	select {
	case <-c.proc.Done():
		return nil
	default:
	}
	if err := c.proc.Stop(ctx, syscall.SIGTERM, stopTimeout); err != nil {
		return fmt.Errorf("temporalcluster: stopping the server: %w: %s", err, childproc.OneLine(c.out.String()))
	}
	c.cfg.Log.Info("Temporal server stopped", zap.String("address", c.Address()))
	return nil
}
