package pgserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/xuncha/xuncha/internal/pgserver"
)

// newDataDir returns an empty directory for a cluster, removed at the end.
// Not t.TempDir(): as root the server runs as the postgres user, who cannot
// reach t.TempDir()'s private parents.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgserver-test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func start(t *testing.T, cfg pgserver.Config) *pgserver.Server {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = zaptest.NewLogger(t)
	}
	s, err := pgserver.Start(t.Context(), cfg)
	require.NoError(t, err)
	t.Logf("PostgreSQL %s at %s, pid %d, data dir %s", s.Version(), s.URL(), s.PID(), s.DataDir())
	return s
}

func exec1(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	s := start(t, pgserver.Config{DataDir: dir})

	require.Regexp(t, `^postgres://postgres@127\.0\.0\.1:\d+/xuncha\?sslmode=disable$`, s.URL())
	require.True(t, strings.HasPrefix(s.Version(), pgserver.MajorVersion+"."), "version %q", s.Version())
	conn, err := pgx.Connect(t.Context(), s.URL())
	require.NoError(t, err)
	var db, listen string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_database(), current_setting('listen_addresses')").Scan(&db, &listen))
	require.Equal(t, "xuncha", db)
	require.Equal(t, "127.0.0.1", listen)
	require.NoError(t, conn.Close(t.Context()))
	require.FileExists(t, filepath.Join(dir, pgserver.LogFile))

	pid := s.PID()
	require.NoError(t, s.Stop(t.Context()))
	require.NoError(t, s.Stop(t.Context()), "Stop is idempotent")
	requireGone(t, pid)
	require.Empty(t, processesIn(t, s.DataDir()), "no backend survives Stop")
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	_, err = pgx.Connect(t.Context(), s.URL())
	require.Error(t, err, "server still answers after Stop")
}

func TestDataDirIsReused(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	first := start(t, pgserver.Config{DataDir: dir, Database: "ledger"})
	exec1(t, first.URL(), "CREATE TABLE kept (note text)")
	exec1(t, first.URL(), "INSERT INTO kept VALUES ($1)", "from the first run")
	require.NoError(t, first.Stop(t.Context()))

	second := start(t, pgserver.Config{DataDir: dir, Database: "ledger"})
	defer func() { require.NoError(t, second.Stop(t.Context())) }()
	conn, err := pgx.Connect(t.Context(), second.URL())
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var note string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT note FROM kept").Scan(&note))
	require.Equal(t, "from the first run", note)
}

func TestTakenPortIsAOneLineError(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	_, err = pgserver.Start(t.Context(), pgserver.Config{DataDir: newDataDir(t), Port: port, Log: zaptest.NewLogger(t)})
	require.ErrorIs(t, err, pgserver.ErrPortInUse)
	require.Contains(t, err.Error(), fmt.Sprintf("port %d on 127.0.0.1 is already in use", port))
	require.Contains(t, err.Error(), "free it or choose another port")
	require.NotContains(t, err.Error(), "\n")
}

func TestMissingBinaryIsAOneLineError(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	_, err := pgserver.Start(t.Context(), pgserver.Config{DataDir: newDataDir(t), BinDir: empty})
	require.EqualError(t, err, "initdb not found in "+empty+": install the PostgreSQL 15 server binaries (Debian: apt-get install postgresql-15) or set DATABASE_URL")
}

func TestNonClusterDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644))
	_, err := pgserver.Start(t.Context(), pgserver.Config{DataDir: dir})
	require.ErrorContains(t, err, "is not empty and holds no PostgreSQL cluster")
}

// A run killed hard leaves postmaster.pid behind; the next start must not
// be blocked by it, even when its PID now belongs to a live process.
func TestStalePostmasterPIDDoesNotBlock(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	s := start(t, pgserver.Config{DataDir: dir})
	exec1(t, s.URL(), "CREATE TABLE survived (id int)")
	require.NoError(t, syscall.Kill(s.PID(), syscall.SIGKILL))
	<-s.Done()
	require.Error(t, s.Stop(t.Context()), "Stop reports that the server had died")
	require.FileExists(t, filepath.Join(dir, "postmaster.pid"))

	// Reuse the dead PID's slot for a live, unrelated process.
	sleeper := exec.Command("sleep", "60")
	require.NoError(t, sleeper.Start())
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	pidFile := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	_, rest, _ := strings.Cut(string(b), "\n")
	require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"+rest), 0o600))

	again := start(t, pgserver.Config{DataDir: dir})
	defer func() { require.NoError(t, again.Stop(t.Context())) }()
	exec1(t, again.URL(), "INSERT INTO survived VALUES (1)")
}

// If our process dies (here: SIGKILL), the parent-death signal shuts
// PostgreSQL down: it never outlives us.
func TestServerDiesWithItsParent(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	helper.Env = append(os.Environ(), "PGSERVER_HELPER_DATADIR="+dir)
	helper.Stderr = os.Stderr
	stdout, err := helper.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, helper.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper output")
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "PID "))
	require.NoError(t, err, "helper said %q", line)
	require.NoError(t, syscall.Kill(pid, 0), "postgres runs")

	require.NoError(t, helper.Process.Kill())
	_ = helper.Wait()

	// A run started right away (a restarted `xuncha dev`) waits for the old
	// server to finish shutting down, then uses the data dir.
	again := start(t, pgserver.Config{DataDir: dir})
	requireGone(t, pid)
	exec1(t, again.URL(), "SELECT 1")
	require.NoError(t, again.Stop(t.Context()))
	require.Empty(t, processesIn(t, dir), "no backend of either run survives")
}

// TestHelperProcess is TestServerDiesWithItsParent's child: it starts a
// server, prints its PID, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("PGSERVER_HELPER_DATADIR")
	if dir == "" {
		t.Skip("helper process for TestServerDiesWithItsParent")
	}
	s, err := pgserver.Start(t.Context(), pgserver.Config{DataDir: dir})
	require.NoError(t, err)
	fmt.Printf("PID %d\n", s.PID())
	time.Sleep(time.Minute)
}

// requireGone waits until pid has exited (a zombie counts as exited: PID 1
// of a container may not reap orphans).
func requireGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		_, after, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(after, "Z")
	}, 15*time.Second, 50*time.Millisecond, "process %d still running", pid)
}

// processesIn lists live processes whose working directory is dir: a
// postmaster and its backends run in their data directory.
func processesIn(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestStartupFailureQuotesTheServerOutput(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	s := start(t, pgserver.Config{DataDir: dir})
	require.NoError(t, s.Stop(t.Context()))
	conf, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = conf.WriteString("shared_buffers = 'plenty'\n")
	require.NoError(t, err)
	require.NoError(t, conf.Close())

	_, err = pgserver.Start(t.Context(), pgserver.Config{DataDir: dir, Log: zaptest.NewLogger(t)})
	require.ErrorContains(t, err, "postgres exited during startup")
	require.ErrorContains(t, err, `invalid value for parameter "shared_buffers": "plenty"`)
	require.ErrorContains(t, err, filepath.Join(dir, pgserver.LogFile))
	require.NotContains(t, err.Error(), "\n")
	t.Log(err)
}

// TestSettings: Config.Settings reach the server, and a setting Start
// chooses itself is refused before anything starts.
func TestSettings(t *testing.T) {
	t.Parallel()
	s := start(t, pgserver.Config{DataDir: newDataDir(t), Settings: map[string]string{"work_mem": "7MB", "application_name": "pgserver-test"}})
	conn, err := pgx.Connect(t.Context(), s.URL())
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var workMem string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_setting('work_mem')").Scan(&workMem))
	require.Equal(t, "7MB", workMem)

	for _, name := range []string{"listen_addresses", "Port", "", "a=b"} {
		_, err := pgserver.Start(t.Context(), pgserver.Config{DataDir: newDataDir(t), Settings: map[string]string{name: "x"}})
		require.ErrorContains(t, err, "Config.Settings may not set", name)
	}
}
