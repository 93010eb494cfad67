package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/pgserver"
	"github.com/xuncha/xuncha/internal/temporalcluster"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/workflows"
)

const (
	// namespace is the cluster's namespace, created by `xuncha temporal setup`.
	namespace = "default"
	// ledgerDatabase is the ledger's database on the tier's PostgreSQL.
	ledgerDatabase = "xuncha"
	// appRole and appPassword are the application role's, which `xuncha
	// migrate` creates, named as in the compose stack.
	appRole, appPassword = "xuncha_app", "cluster-tier"
	// workers and servers are how many of each xuncha process run.
	workers, servers = 2, 2
	// setupTimeout bounds starting the whole environment, builds included.
	setupTimeout = 15 * time.Minute
	// restartDelay is how long a process that exited stays down before it is
	// started again, as the compose stack's restart policy does.
	restartDelay = time.Second
)

// env is the tier's environment, shared by its tests: started on first use,
// stopped by TestMain.
type env struct {
	dir    string // everything: data, config, logs
	xuncha string // the binary under test
	log    *zap.Logger

	pgMu sync.Mutex
	pg   *pgserver.Server
	// pgDB is the ledger's URL as its owner (the superuser): migrations
	// and the tests' checks use it; appDB is the application role's,
	// which the server and worker processes connect as.
	pgDB, appDB string

	cluster  *temporalcluster.Cluster
	temporal client.Client // the tests' own client, to check workflows

	issuer    *devissuer.Issuer
	issuerSrv *httptest.Server
	tipKey    string
	// payloadKeys is the payload key ring (XUNCHA_PAYLOAD_KEYS) and codec
	// its codec: the tests' Temporal client reads payloads with it.
	payloadKeys string
	codec       *payloadcrypt.Codec

	workers []*service
	servers []*service
	// summary is the testenv line: what the tier runs on.
	summary string
}

var shared struct {
	once sync.Once
	env  *env
	err  error
}

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests runs the tests and stops what they started. A failed run (or
// any, with XUNCHA_CLUSTER_KEEP_LOGS=1) keeps the directory with every
// process's log and says where it is.
func runTests(m *testing.M) int {
	code := m.Run()
	if e := shared.env; e != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := e.stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "cluster tier: stopping: %v\n", err)
			code = 1
		}
		if code == 0 && os.Getenv("XUNCHA_CLUSTER_KEEP_LOGS") == "" {
			_ = os.RemoveAll(e.dir)
		} else {
			fmt.Fprintf(os.Stderr, "cluster tier: logs of every process kept in %s\n", e.dir)
		}
	}
	return code
}

// environment returns the shared environment, starting it on first use.
func environment(t *testing.T) *env {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		shared.env, shared.err = start(ctx)
	})
	if shared.err != nil {
		t.Fatalf("cluster tier: %v", shared.err)
	}
	t.Log(shared.env.summary)
	return shared.env
}

// start builds xuncha and starts PostgreSQL, the Temporal cluster, the
// issuer and the xuncha processes. On error, what started is stopped by
// TestMain (shared.env is set as soon as there is something to stop).
func start(ctx context.Context) (*env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir(): as root PostgreSQL runs as the postgres user, who
	// must reach its data directory; and a failed run keeps the logs.
	dir, err := os.MkdirTemp("", "xuncha-cluster-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	e := &env{dir: dir, log: componentLogger(), tipKey: tipcrypt.GenerateKey()}
	shared.env = e
	if e.payloadKeys, err = payloadcrypt.GenerateEntry("cluster-1", payloadcrypt.AES256GCM); err != nil {
		return nil, err
	}
	keys, err := payloadcrypt.ParseList(e.payloadKeys, payloadcrypt.AES256GCM)
	if err != nil {
		return nil, err
	}
	if e.codec, err = payloadcrypt.New(keys); err != nil {
		return nil, err
	}

	// The binaries first: building them is the slow part of a fresh clone.
	binDir := filepath.Join(root, "bin")
	if _, err := os.Stat(filepath.Join(binDir, temporalcluster.ServerBinary)); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: building the Temporal server %s into %s; the first build takes several minutes\n", temporalcluster.ServerVersion, binDir)
	}
	bins, err := temporalcluster.EnsureBinaries(ctx, binDir, e.log)
	if err != nil {
		return nil, err
	}
	e.xuncha = filepath.Join(dir, "xuncha")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.xuncha, "./cmd/xuncha")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building xuncha: %w: %s", err, out)
	}

	pgDir := filepath.Join(dir, "postgres")
	if e.pg, err = pgserver.Start(ctx, pgserver.Config{DataDir: pgDir, Database: ledgerDatabase, Log: e.log}); err != nil {
		return nil, err
	}
	e.pgDB = e.pg.DatabaseURL(ledgerDatabase)
	app, err := url.Parse(e.pgDB)
	if err != nil {
		return nil, err
	}
	app.User = url.UserPassword(appRole, appPassword)
	e.appDB = app.String()

	e.cluster, err = temporalcluster.New(ctx, temporalcluster.Config{
		Binaries: bins,
		Postgres: temporalcluster.Postgres{Port: e.pg.Port(), User: pgserver.Superuser},
		Dir:      filepath.Join(dir, "temporal"),
		// The compose stack's own dynamic config.
		DynamicConfigFile: filepath.Join(root, "deploy", "temporal", "dynamicconfig.yaml"),
		Log:               e.log,
	})
	if err != nil {
		return nil, err
	}
	if err := e.cluster.Start(ctx); err != nil {
		return nil, err
	}
	e.summary = fmt.Sprintf("testenv: Temporal server %s (cluster: %s built from %s@%s, reports %s; %s on PostgreSQL %s, plugin %s) at %s, namespace %s",
		temporalcluster.ServerVersion, temporalcluster.ServerBinary, temporalcluster.ServerModule, temporalcluster.ServerVersion,
		e.cluster.ReportedVersion(), temporalcluster.Persistence, e.pg.Version(), e.cluster.Plugin(), e.cluster.Address(), namespace)
	fmt.Fprintln(os.Stderr, e.summary)

	// What an operator runs once: the ledger's migrations as its owner,
	// which create the application role, then the namespace and search
	// attributes.
	if out, err := e.run(ctx, "migrate"); err != nil {
		return nil, fmt.Errorf("xuncha migrate: %w: %s", err, out)
	}
	if out, err := e.run(ctx, "temporal", "setup", "--retention", "24h"); err != nil {
		return nil, fmt.Errorf("xuncha temporal setup: %w: %s", err, out)
	}
	if e.temporal, err = client.DialContext(ctx, e.codec.ClientOptions(client.Options{HostPort: e.cluster.Address(), Namespace: namespace,
		Logger: logging.Temporal(e.log.Named("sdk"))})); err != nil {
		return nil, err
	}
	if err := temporalcluster.AwaitNamespace(ctx, e.temporal, namespace); err != nil {
		return nil, err
	}
	if err := e.startIssuer(); err != nil {
		return nil, err
	}

	evidenceDir := filepath.Join(dir, "evidence") // shared, as the README asks of API processes
	// Every process has its own admin port (metrics, health), as each
	// would on its own host; the default :9464 would be taken by the first.
	adminAddr := func() (string, error) {
		port, err := childproc.FreePort()
		return "XUNCHA_ADMIN_ADDR=127.0.0.1:" + strconv.Itoa(port), err
	}
	for i := range workers {
		admin, err := adminAddr()
		if err != nil {
			return nil, err
		}
		e.workers = append(e.workers, &service{name: fmt.Sprintf("worker-%d", i+1), bin: e.xuncha, args: []string{"worker"},
			env: e.processEnv(admin), ready: e.polling})
	}
	for i := range servers {
		grpcPort, err := childproc.FreePort()
		if err != nil {
			return nil, err
		}
		httpPort, err := childproc.FreePort()
		if err != nil {
			return nil, err
		}
		admin, err := adminAddr()
		if err != nil {
			return nil, err
		}
		base := "http://127.0.0.1:" + strconv.Itoa(httpPort)
		e.servers = append(e.servers, &service{name: fmt.Sprintf("api-%d", i+1), bin: e.xuncha, args: []string{"server"}, base: base,
			env: e.processEnv(
				"XUNCHA_GRPC_ADDR=127.0.0.1:"+strconv.Itoa(grpcPort),
				"XUNCHA_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
				"XUNCHA_EVIDENCE_DIR="+evidenceDir,
				admin,
			),
			ready: func(ctx context.Context, _ int) error { return readyz(ctx, base) }})
	}
	for _, s := range e.services() {
		s.logPath = filepath.Join(dir, s.name+".log")
		s.log = e.log
		s.supervise()
	}
	for _, s := range e.services() {
		if err := s.awaitReady(ctx); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// processEnv is the environment of every xuncha process, what an operator
// sets (README, Configuration), plus extra. Nothing of the test's own
// environment that xuncha reads leaks in.
func (e *env) processEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "DATABASE_URL" || strings.HasPrefix(name, "TEMPORAL_") || strings.HasPrefix(name, "XUNCHA_") || strings.HasSuffix(name, "_DATABASE_URL") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"DATABASE_URL="+e.appDB,
		"MIGRATE_DATABASE_URL="+e.pgDB,
		"TEMPORAL_ADDRESS="+e.cluster.Address(),
		"TEMPORAL_NAMESPACE="+namespace,
		"XUNCHA_TIP_KEY="+e.tipKey,
		"XUNCHA_PAYLOAD_KEYS="+e.payloadKeys,
		"XUNCHA_LOG_LEVEL=info",
	)
	if e.issuer != nil {
		env = append(env, "XUNCHA_OIDC_ISSUER="+e.issuer.URL())
	}
	return append(env, extra...)
}

// run runs a one-shot xuncha command and returns its output.
func (e *env) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.xuncha, args...)
	cmd.Env = e.processEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startIssuer serves xuncha's dev OpenID provider on loopback: the issuer
// the API processes trust.
func (e *env) startIssuer() error {
	srv := httptest.NewUnstartedServer(nil)
	iss, err := devissuer.New(devissuer.Config{Issuer: "http://" + srv.Listener.Addr().String() + "/oidc",
		Dir: filepath.Join(e.dir, "oidc"), Algorithm: "ES256"})
	if err != nil {
		return err
	}
	h, err := iss.Handler()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/oidc/", h)
	srv.Config.Handler = mux
	srv.Start()
	e.issuer, e.issuerSrv = iss, srv
	return nil
}

// polling tells whether the worker process pid polls the task queue: the
// SDK's default identity starts with the process ID.
func (e *env) polling(ctx context.Context, pid int) error {
	resp, err := e.temporal.DescribeTaskQueue(ctx, workflows.DefaultTaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(resp.GetPollers(), func(p *taskqueue.PollerInfo) bool {
		return strings.HasPrefix(p.GetIdentity(), strconv.Itoa(pid)+"@")
	}) {
		return nil
	}
	return fmt.Errorf("worker %d is not polling %s yet", pid, workflows.DefaultTaskQueue)
}

// readyz asks an API process whether it is ready (ledger and Temporal).
func readyz(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/readyz: %s", base, resp.Status)
	}
	return nil
}

func (e *env) services() []*service { return append(slices.Clone(e.workers), e.servers...) }

// bases are the API processes' REST base URLs.
func (e *env) bases() []string {
	var out []string
	for _, s := range e.servers {
		out = append(out, s.base)
	}
	return out
}

// postgres returns the running PostgreSQL (restartPostgres replaces it).
func (e *env) postgres() *pgserver.Server {
	e.pgMu.Lock()
	defer e.pgMu.Unlock()
	return e.pg
}

// restartPostgres stops PostgreSQL (fast shutdown: sessions are cut) and
// starts it again on the same data directory and port.
func (e *env) restartPostgres(ctx context.Context) error {
	e.pgMu.Lock()
	defer e.pgMu.Unlock()
	if err := e.pg.Stop(ctx); err != nil {
		return err
	}
	pg, err := pgserver.Start(ctx, pgserver.Config{DataDir: e.pg.DataDir(), Port: e.pg.Port(), Database: ledgerDatabase, Log: e.log})
	if err != nil {
		return err
	}
	e.pg = pg
	return nil
}

// restartTemporal kills the Temporal server (SIGKILL) and starts it again.
func (e *env) restartTemporal(ctx context.Context) error {
	if err := e.cluster.Kill(); err != nil {
		return err
	}
	time.Sleep(restartDelay)
	return e.cluster.Start(ctx)
}

// stop stops everything, in the order an operator would: xuncha's
// processes, the issuer, Temporal, PostgreSQL.
func (e *env) stop(ctx context.Context) error {
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range e.services() {
		wg.Go(func() {
			if err := s.stop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if e.issuerSrv != nil {
		e.issuerSrv.Close()
	}
	if e.temporal != nil {
		e.temporal.Close()
	}
	if e.cluster != nil {
		errs = append(errs, e.cluster.Stop(ctx))
	}
	if pg := e.postgres(); pg != nil {
		errs = append(errs, pg.Stop(ctx))
	}
	return errors.Join(errs...)
}

// service is one xuncha process (a worker or an API server), run as a child
// and started again restartDelay after it exits, for whatever reason, as
// the compose stack's restart policy does.
type service struct {
	name    string
	bin     string
	args    []string
	env     []string
	base    string // an API process's REST base URL
	logPath string
	log     *zap.Logger
	// ready tells whether the process with this PID is ready.
	ready func(ctx context.Context, pid int) error

	mu         sync.Mutex
	proc       *childproc.Process
	out        *childproc.Tail
	killed     bool // the running process's exit is ours (kill)
	stopping   bool // no more restarts
	done       chan struct{}
	starts     int
	kills      int
	unexpected []string // why each unexpected exit happened
}

// supervise starts the process and keeps it running until stop.
func (s *service) supervise() {
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		for {
			proc, err := s.launch()
			if err != nil {
				s.log.Warn("starting a xuncha process", zap.String("name", s.name), zap.Error(err))
			} else {
				<-proc.Done()
				s.mu.Lock()
				if !s.killed && !s.stopping {
					s.unexpected = append(s.unexpected, fmt.Sprintf("%v: %s", proc.Err(), childproc.OneLine(s.out.String())))
					s.log.Warn("a xuncha process exited on its own", zap.String("name", s.name), zap.Error(proc.Err()))
				}
				s.killed = false
				s.mu.Unlock()
			}
			s.mu.Lock()
			stopping := s.stopping
			s.mu.Unlock()
			if stopping {
				return
			}
			time.Sleep(restartDelay)
		}
	}()
}

// launch starts one incarnation, its output appended to logPath.
func (s *service) launch() (*childproc.Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil, errors.New("stopping")
	}
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "---- %s start %d\n", time.Now().Format(time.RFC3339Nano), s.starts+1)
	s.out = &childproc.Tail{N: 30}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = s.env
	cmd.Stdout = f
	cmd.Stderr = &teeFile{f: f, tail: s.out}
	cmd.WaitDelay = 5 * time.Second
	proc, err := childproc.Start(cmd, syscall.SIGKILL)
	if err != nil {
		f.Close()
		return nil, err
	}
	go func() { <-proc.Done(); f.Close() }()
	s.proc = proc
	s.starts++
	return proc, nil
}

// teeFile writes to a file and keeps a tail for error messages.
type teeFile struct {
	f    *os.File
	tail *childproc.Tail
}

func (t *teeFile) Write(p []byte) (int, error) {
	_, _ = t.tail.Write(p)
	return t.f.Write(p)
}

// kill kills the running process with SIGKILL; the supervisor starts it
// again after restartDelay.
func (s *service) kill() error {
	s.mu.Lock()
	proc := s.proc
	if proc == nil {
		s.mu.Unlock()
		return fmt.Errorf("%s is not running", s.name)
	}
	s.killed = true
	s.kills++
	s.mu.Unlock()
	return proc.Kill()
}

// pid is the current incarnation's process ID.
func (s *service) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.PID()
}

// awaitReady waits until the current incarnation is ready.
func (s *service) awaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var lastErr error
	for {
		if pid := s.pid(); pid != 0 {
			probe, cancelProbe := context.WithTimeout(ctx, 5*time.Second)
			lastErr = s.ready(probe, pid)
			cancelProbe()
			if lastErr == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			tail := ""
			if s.out != nil {
				tail = childproc.OneLine(s.out.String())
			}
			s.mu.Unlock()
			return fmt.Errorf("%s not ready: %v (log %s): %s", s.name, lastErr, s.logPath, tail)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop stops the process with SIGTERM, as an orchestrator does, and ends
// its supervision. A clean stop exits 0.
func (s *service) stop(ctx context.Context) error {
	if s.done == nil {
		return nil
	}
	s.mu.Lock()
	s.stopping = true
	proc := s.proc
	s.mu.Unlock()
	var err error
	if proc != nil {
		select {
		case <-proc.Done():
		default:
			if err = proc.Stop(ctx, syscall.SIGTERM, 30*time.Second); err != nil {
				err = fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	<-s.done
	return err
}

// stats reports how often the process was started and killed, and its
// unexpected exits.
func (s *service) stats() (starts, kills int, unexpected []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts, s.kills, slices.Clone(s.unexpected)
}

// componentLogger writes the environment's warnings to stderr: it outlives
// any one test.
func componentLogger() *zap.Logger {
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.Lock(os.Stderr), zapcore.WarnLevel)
	return zap.New(core).Named("cluster")
}

// repoRoot walks up from the package directory to the one holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
