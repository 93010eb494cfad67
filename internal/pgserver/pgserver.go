// Package pgserver runs a private PostgreSQL server as a child process: the
// embedded database of `xuncha dev` and of the integration tests.
//
// The server listens on 127.0.0.1 only, with trust authentication for
// loopback connections, and no Unix-domain socket (a socket path is limited to
// ~107 bytes and the distribution default, /var/run/postgresql, is often not
// writable). It runs in the foreground as our child, never daemonized, and on
// Linux it receives SIGINT (fast shutdown) if our process dies, so it never
// outlives us. When running as root it runs as the `postgres` system user,
// because PostgreSQL refuses to run as root.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/childproc"
)

const (
	// MajorVersion is the PostgreSQL major version xuncha is built and tested
	// against; the well-known install directories searched for its binaries
	// are this version's.
	MajorVersion = "15"

	// DefaultDatabase is the database Start creates when Config.Database is
	// empty.
	DefaultDatabase = "xuncha"

	// Superuser is the role initdb creates and URLs connect as.
	Superuser = "postgres"

	// LogFile is the file inside the data directory that receives the server
	// output of the latest run.
	LogFile = "postgres.log"

	// startTimeout bounds how long Start waits for connections to succeed.
	startTimeout = 30 * time.Second
	// shutdownTimeout bounds a fast shutdown before the server is killed,
	// when the context passed to Stop has no earlier deadline.
	shutdownTimeout = 30 * time.Second
)

// ErrPortInUse is wrapped by the error Start returns when the port is taken.
var ErrPortInUse = errors.New("port in use")

// wellKnownBinDirs are searched after PATH: where distributions install the
// server binaries without putting them on PATH.
func wellKnownBinDirs() []string {
	return []string{
		"/usr/lib/postgresql/" + MajorVersion + "/bin",          // Debian, Ubuntu
		"/usr/pgsql-" + MajorVersion + "/bin",                   // RHEL, Fedora (PGDG)
		"/opt/homebrew/opt/postgresql@" + MajorVersion + "/bin", // Homebrew, Apple silicon
		"/usr/local/opt/postgresql@" + MajorVersion + "/bin",    // Homebrew, Intel
	}
}

// Config configures Start.
type Config struct {
	// DataDir holds the cluster; required. A missing or empty directory is
	// created and initdb'd; one that already holds a cluster is reused, so
	// data survives restarts.
	DataDir string
	// Port is the TCP port on 127.0.0.1. 0 picks a free port.
	Port int
	// Database is created if missing. Default DefaultDatabase.
	Database string
	// BinDir is the directory holding initdb and postgres. Default: search
	// PATH, then the distributions' install directories for MajorVersion.
	BinDir string
	// Log receives the server's output at debug level and lifecycle events at
	// info level. Default: discard (the output is still in DataDir/LogFile).
	Log *zap.Logger
	// Settings are more server settings (postgres -c name=value), such as
	// shared_preload_libraries for a benchmark that reads
	// pg_stat_statements. The listening settings Start chooses itself may
	// not be among them.
	Settings map[string]string
}

// ownSettings are the settings Start passes itself; Config.Settings may not
// name them.
var ownSettings = []string{"listen_addresses", "unix_socket_directories", "logging_collector", "log_destination", "port"}

// Server is a running PostgreSQL started by Start. Stop it with Stop.
type Server struct {
	dataDir  string
	port     int
	database string
	version  string
	log      *zap.Logger

	cmd  *exec.Cmd
	out  *outputSink
	proc *childproc.Process

	stopOnce sync.Once
	stopErr  error
}

// Start starts PostgreSQL on cfg.DataDir (running initdb first when the
// directory holds no cluster), waits until it accepts connections, and creates
// cfg.Database if missing. Errors are one line saying what to do; when the
// server itself failed, they end with the tail of its output.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("pgserver: Config.DataDir is empty")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: resolving data dir: %w", err)
	}
	for name := range cfg.Settings {
		if name == "" || strings.ContainsAny(name, "= ") || slices.Contains(ownSettings, strings.ToLower(name)) {
			return nil, fmt.Errorf("pgserver: Config.Settings may not set %q", name)
		}
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	database := cfg.Database
	if database == "" {
		database = DefaultDatabase
	}

	initdb, err := findBinary("initdb", cfg.BinDir, os.Getenv("PATH"), wellKnownBinDirs())
	if err != nil {
		return nil, err
	}
	postgres, err := findBinary("postgres", cfg.BinDir, os.Getenv("PATH"), wellKnownBinDirs())
	if err != nil {
		return nil, err
	}
	if cfg.Port != 0 { // fail before initdb's seconds of work
		if err := checkPortFree(cfg.Port); err != nil {
			return nil, err
		}
	}
	cred, err := runAsCredential()
	if err != nil {
		return nil, err
	}
	fresh, err := prepareDataDir(dataDir, cred)
	if err != nil {
		return nil, err
	}
	if fresh {
		log.Info("initializing PostgreSQL data directory", zap.String("dataDir", dataDir), zap.String("initdb", initdb))
		if err := runInitdb(ctx, initdb, dataDir, cred); err != nil {
			return nil, err
		}
	} else if err := checkMajorVersion(ctx, postgres, dataDir); err != nil {
		return nil, err
	}
	if err := clearStalePID(ctx, dataDir, log); err != nil {
		return nil, err
	}

	port := cfg.Port
	// A port picked here can be taken by another process before postgres
	// binds it (parallel test binaries do this); then pick another one.
	for attempt := 1; ; attempt++ {
		if port == 0 || cfg.Port == 0 && attempt > 1 {
			if port, err = childproc.FreePort(); err != nil {
				return nil, err
			}
		} else if err := checkPortFree(port); err != nil {
			return nil, err
		}
		s, err := launch(ctx, postgres, dataDir, port, database, cfg.Settings, cred, log)
		if errors.Is(err, ErrPortInUse) && cfg.Port == 0 && attempt < 3 {
			log.Info("picked port was taken meanwhile, retrying", zap.Int("port", port))
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.CreateDatabase(ctx, database); err != nil {
			_ = s.Stop(ctx)
			return nil, err
		}
		log.Info("PostgreSQL ready", zap.String("version", s.version), zap.Int("port", port), zap.String("dataDir", dataDir))
		return s, nil
	}
}

// launch starts the postmaster on port and waits until it accepts connections.
func launch(ctx context.Context, postgres, dataDir string, port int, database string, settings map[string]string, cred *syscall.Credential,
	log *zap.Logger,
) (*Server, error) {
	logFile, err := os.OpenFile(filepath.Join(dataDir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgserver: opening server log: %w", err)
	}
	out := newOutputSink(logFile, log.Named("postgres"))
	args := []string{
		"-D", dataDir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "logging_collector=off",
		"-c", "log_destination=stderr",
	}
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", name+"="+settings[name])
	}
	cmd := exec.Command(postgres, args...)
	cmd.Dir = dataDir
	cmd.Stdout = out
	cmd.Stderr = out
	// Backends inherit stderr; after a crash they may hold it open briefly.
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	s := &Server{
		dataDir:  dataDir,
		port:     port,
		database: database,
		log:      log,
		cmd:      cmd,
		out:      out,
	}
	// SIGINT is PostgreSQL's fast shutdown: unlike SIGTERM (smart shutdown)
	// it does not wait for other clients, such as a developer's psql, to
	// disconnect.
	proc, err := childproc.Start(cmd, syscall.SIGINT)
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("pgserver: starting %s: %w", postgres, err)
	}
	s.proc = proc
	if err := s.waitReady(ctx); err != nil {
		_ = proc.Kill()
		out.Close()
		return nil, err
	}
	return s, nil
}

// waitReady polls until a connection succeeds, the server exits, or the
// start timeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	return s.proc.AwaitReady(ctx, startTimeout, 100*time.Millisecond, func(ctx context.Context) error {
		version, err := s.serverVersion(ctx)
		if err == nil {
			s.version = version
		}
		return err
	}, func(exitErr error) error {
		return s.startFailure(fmt.Errorf("postgres exited during startup: %v", exitErr))
	}, func(ctxErr, lastErr error) error {
		return s.startFailure(fmt.Errorf("postgres did not accept connections within %s (%w): last attempt: %v", startTimeout, ctxErr, lastErr))
	})
}

// startFailure turns a startup failure into a one-line error: a taken port
// is reported as such, anything else carries the server's output tail.
func (s *Server) startFailure(err error) error {
	tail := s.out.String()
	if strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use") {
		return portInUseError(s.port)
	}
	return fmt.Errorf("pgserver: %w; server output (%s): %s", err, filepath.Join(s.dataDir, LogFile), childproc.OneLine(tail))
}

func (s *Server) serverVersion(ctx context.Context) (string, error) {
	attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(attemptCtx, s.DatabaseURL("postgres"))
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close(ctx) }()
	var version string
	if err := conn.QueryRow(attemptCtx, "SHOW server_version").Scan(&version); err != nil {
		return "", err
	}
	return version, nil
}

// URL is the connection URL of the configured database, e.g.
// postgres://postgres@127.0.0.1:54321/xuncha?sslmode=disable.
func (s *Server) URL() string { return s.DatabaseURL(s.database) }

// RoleURL is the connection URL of the configured database as role (no
// password: loopback connections are trusted).
func (s *Server) RoleURL(role string) string { return s.DatabaseURLAs(s.database, role) }

// DatabaseURL is the connection URL of the named database on this server,
// as Superuser.
func (s *Server) DatabaseURL(name string) string { return s.DatabaseURLAs(name, Superuser) }

// DatabaseURLAs is the connection URL of the named database as role.
func (s *Server) DatabaseURLAs(name, role string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(role),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DataDir is the absolute path of the cluster's data directory.
func (s *Server) DataDir() string { return s.dataDir }

// Version is the server's version string, e.g. "15.18 (Debian 15.18-0+deb12u1)".
func (s *Server) Version() string { return s.version }

// PID is the process ID of the postmaster.
func (s *Server) PID() int { return s.proc.PID() }

// Done is closed when the postmaster has exited, whether by Stop or not.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// CreateDatabase creates the named database unless it exists.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	if err := CreateDatabaseAt(ctx, s.DatabaseURL("postgres"), name); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

// CreateDatabaseAt creates the named database unless it exists, connected
// by adminURL as a role that may create databases: a database another
// client created meanwhile is taken as it is.
func CreateDatabaseAt(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to create database %q: %w", name, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("looking up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	// Identifiers cannot be bind parameters; Sanitize quotes the name.
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops the named database if it exists, disconnecting its
// remaining sessions.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.DatabaseURL("postgres"))
	if err != nil {
		return fmt.Errorf("pgserver: connecting to drop database %q: %w", name, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgserver: dropping database %q: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: sessions are disconnected,
// data is checkpointed) and waits for it to exit. If ctx ends first, or after
// 30 seconds, the server is killed. Stop is idempotent: later calls return the
// first call's result. It reports an error if the server had died on its own.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	defer s.out.Close()
	if err := s.proc.Stop(ctx, syscall.SIGINT, shutdownTimeout); err != nil {
		return fmt.Errorf("pgserver: postgres: %w: %s", err, childproc.OneLine(s.out.String()))
	}
	s.log.Info("PostgreSQL stopped", zap.Int("port", s.port))
	return nil
}

// findBinary looks name up in binDir if set, else on pathEnv, then in the
// fallback directories.
func findBinary(name, binDir, pathEnv string, fallbacks []string) (string, error) {
	hint := "install the PostgreSQL " + MajorVersion + " server binaries (Debian: apt-get install postgresql-" + MajorVersion + ") or set DATABASE_URL"
	if binDir != "" {
		p := filepath.Join(binDir, name)
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s not found in %s: %s", name, binDir, hint)
	}
	for _, dir := range append(filepath.SplitList(pathEnv), fallbacks...) {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH: %s", name, hint)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// runAsCredential returns the credential to run the server binaries with:
// nil normally, the `postgres` system user's when running as root.
func runAsCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgserver: running as root, which PostgreSQL refuses, and there is no postgres system user to run it as (%v): create one (useradd --system postgres) or run as a normal user", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: uid of user postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgserver: gid of user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDataDir makes sure dataDir exists and belongs to the user the server
// runs as, and reports whether it still needs initdb.
func prepareDataDir(dataDir string, cred *syscall.Credential) (fresh bool, err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return false, fmt.Errorf("pgserver: creating data dir: %w", err)
	}
	if cred != nil {
		if err := checkTraversable(dataDir, cred); err != nil {
			return false, err
		}
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return false, fmt.Errorf("pgserver: reading data dir: %w", err)
	}
	if len(entries) == 0 {
		if cred != nil {
			if err := os.Chown(dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
				return false, fmt.Errorf("pgserver: handing data dir to user postgres: %w", err)
			}
		}
		return true, nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err != nil {
		return false, fmt.Errorf("pgserver: data dir %s is not empty and holds no PostgreSQL cluster (no PG_VERSION): empty it or choose another", dataDir)
	}
	want, who := os.Geteuid(), "us"
	if cred != nil {
		want, who = int(cred.Uid), "user postgres"
	}
	if owner, ok := ownerOf(dataDir); ok && owner != want {
		return false, fmt.Errorf("pgserver: data dir %s belongs to uid %d but the server runs as %s (uid %d): chown -R it or choose another data dir", dataDir, owner, who, want)
	}
	return false, nil
}

// checkTraversable reports an error unless the server's user can reach dir
// through all of its parents.
func checkTraversable(dir string, cred *syscall.Credential) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgserver: checking data dir parent: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		if ok {
			canSearch := mode&0o001 != 0 ||
				st.Uid == cred.Uid && mode&0o100 != 0 ||
				st.Gid == cred.Gid && mode&0o010 != 0
			if !canSearch {
				return fmt.Errorf("pgserver: user postgres (uid %d) cannot reach data dir %s: %s has mode %04o and owner uid %d; make it traversable (chmod o+x %s) or choose a data dir whose parents are", cred.Uid, dir, p, mode, st.Uid, p)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func ownerOf(path string) (int, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// runInitdb creates a cluster in the empty dataDir: superuser Superuser,
// trust authentication (initdb's pg_hba.conf only admits loopback
// connections), UTF-8, C collation.
func runInitdb(ctx context.Context, initdb, dataDir string, cred *syscall.Credential) error {
	var out childproc.Tail
	cmd := exec.CommandContext(ctx, initdb,
		"-D", dataDir,
		"-U", Superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--no-locale",
		// Skipping the final fsync saves seconds; a crash in that instant
		// only loses a cluster that holds no data yet.
		"--no-sync",
	)
	cmd.Dir = dataDir
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	// On SIGTERM initdb removes what it created, so a retry starts clean.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	proc, err := childproc.Start(cmd, syscall.SIGTERM)
	if err != nil {
		return fmt.Errorf("pgserver: starting initdb: %w", err)
	}
	if waitErr := proc.Err(); waitErr != nil {
		return fmt.Errorf("pgserver: initdb %s failed (%w): %s", dataDir, waitErr, childproc.OneLine(out.String()))
	}
	return nil
}

// checkMajorVersion refuses a data dir made by another major version, which
// postgres would refuse with a less helpful message.
func checkMajorVersion(ctx context.Context, postgres, dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return fmt.Errorf("pgserver: reading cluster version: %w", err)
	}
	dirMajor := strings.TrimSpace(string(b))
	// `postgres --version` is answered before the refusal to run as root.
	out, err := exec.CommandContext(ctx, postgres, "--version").Output()
	if err != nil {
		return fmt.Errorf("pgserver: %s --version: %w", postgres, err)
	}
	// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
	fields := strings.Fields(string(out))
	if len(fields) < 3 {
		return fmt.Errorf("pgserver: unexpected %s --version output %q", postgres, out)
	}
	binMajor, _, _ := strings.Cut(fields[2], ".")
	if binMajor != dirMajor {
		return fmt.Errorf("pgserver: data dir %s holds a PostgreSQL %s cluster but %s is PostgreSQL %s: use PostgreSQL %s binaries (Config.BinDir) or choose another data dir", dataDir, dirMajor, postgres, binMajor, dirMajor)
	}
	return nil
}

// clearStalePID removes a postmaster.pid left by a killed run whose process
// is gone or is no postgres. postgres ignores a lock file whose PID is dead,
// but in containers PIDs are reused quickly and a live unrelated process (or
// one of ours) with that PID makes postgres refuse to start. A postgres that
// is still shutting down (e.g. after our previous run was killed and it got
// its parent-death signal) is waited for, briefly.
func clearStalePID(ctx context.Context, dataDir string, log *zap.Logger) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(pidFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pgserver: reading %s: %w", pidFile, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		pid, _ := strconv.Atoi(strings.TrimSpace(line))
		switch postmasterState(pid, dataDir) {
		case stateUnknown:
			return nil // let postgres judge
		case stateGone:
			log.Info("removing stale postmaster.pid", zap.Int("pid", pid))
			if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("pgserver: removing stale %s: %w", pidFile, err)
			}
			return nil
		case stateRunning:
			if time.Now().After(deadline) {
				return fmt.Errorf("pgserver: PostgreSQL (pid %d) is already running on data dir %s: stop it or choose another data dir", pid, dataDir)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("pgserver: waiting for PostgreSQL (pid %d) on %s to exit: %w", pid, dataDir, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

type postmaster int

const (
	stateGone postmaster = iota
	stateRunning
	stateUnknown
)

// postmasterState tells whether pid is a live postmaster of dataDir.
func postmasterState(pid int, dataDir string) postmaster {
	if pid <= 0 {
		return stateGone
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return stateGone
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return stateUnknown // no /proc: cannot tell
	}
	if strings.TrimSpace(string(comm)) != "postgres" {
		return stateGone // the PID now belongs to another program
	}
	// The postmaster's working directory is its data directory.
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && cwd != dataDir {
		return stateGone
	}
	return stateRunning
}

// checkPortFree reports ErrPortInUse if 127.0.0.1:port cannot be bound.
func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return portInUseError(port)
	}
	return l.Close()
}

func portInUseError(port int) error {
	return fmt.Errorf("pgserver: port %d on 127.0.0.1 is already in use (%w): free it or choose another port", port, ErrPortInUse)
}
