// Package testenv gives integration tests real components: a private
// PostgreSQL and a Temporal dev server, each started on first use, once per
// test binary, shared by its tests, and stopped when the tests end.
//
// A package using it declares
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
// and its tests call PostgresURL or TemporalAddress. Nothing is ever skipped:
// a component that cannot start fails the test with the reason.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/pgserver"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/internal/temporaldev"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
)

// Namespace is the Temporal namespace of the shared dev server, with
// xuncha's search attributes registered.
const Namespace = temporaldev.DefaultNamespace

// stopTimeout bounds stopping the shared components at the end of the run.
const stopTimeout = 60 * time.Second

// shared is the per-test-binary state: the components started so far, or
// why they could not start (so later tests fail fast with the same reason).
// Each component has its own mutex so both can start at the same time.
var shared struct {
	running atomic.Bool // inside Run
	dbCount atomic.Int64

	pgMu       sync.Mutex
	pg         *pgserver.Server
	pgDir      string
	pgErr      error
	pgSettings map[string]string // SetPostgresSettings

	temporalMu  sync.Mutex
	temporal    *temporaldev.Server
	temporalErr error
}

// Run runs the tests, then stops the components they started and removes
// their temporary files. Its result is the exit code for os.Exit; a
// component that fails to stop cleanly turns success into failure.
func Run(m *testing.M) int {
	shared.running.Store(true)
	code := m.Run()
	shared.running.Store(false)

	// Run has no caller context: the tests are over and this is the end of
	// the process.
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var errs []error
	shared.temporalMu.Lock()
	if shared.temporal != nil {
		errs = append(errs, shared.temporal.Stop(ctx))
		shared.temporal = nil
	}
	shared.temporalMu.Unlock()
	shared.pgMu.Lock()
	if shared.pg != nil {
		errs = append(errs, shared.pg.Stop(ctx))
		shared.pg = nil
	}
	if shared.pgDir != "" {
		errs = append(errs, os.RemoveAll(shared.pgDir))
		shared.pgDir = ""
	}
	shared.pgMu.Unlock()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping shared components: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// AppRole is the role the tests' ledgers connect as: the application role
// `xuncha migrate` sets up, with exactly the privileges xuncha server and
// worker have, so that every test through a Ledger store proves them
// sufficient. The shared PostgreSQL is one cluster: one role serves every
// test database.
const AppRole = ledger.DefaultAppRole

// Database is a test's own database on the shared PostgreSQL.
type Database struct {
	// URL connects as AppRole, as xuncha server and worker do (DATABASE_URL).
	URL string
	// OwnerURL connects as the superuser that creates the database and, when
	// it migrates it, owns its tables, as xuncha migrate does
	// (MIGRATE_DATABASE_URL); tests read and tamper with rows through it.
	OwnerURL string
}

// NewDatabase creates a fresh, empty database, unique to this test, on the
// shared private PostgreSQL (started on first use in a temporary data
// directory, on a free port), and returns its URLs. The database is
// dropped when the test ends.
func NewDatabase(t testing.TB) Database {
	t.Helper()
	requireRun(t)
	pg, err := sharedPostgres(t.Context())
	if err != nil {
		t.Fatalf("testenv: PostgreSQL is required and could not start: %v", err)
	}
	name := databaseName(shared.dbCount.Add(1), t.Name())
	if err := pg.CreateDatabase(t.Context(), name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		if err := pg.DropDatabase(ctx, name); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	t.Logf("testenv: PostgreSQL %s at 127.0.0.1:%d (initdb in %s), database %s", pg.Version(), pg.Port(), pg.DataDir(), name)
	return Database{URL: pg.DatabaseURLAs(name, AppRole), OwnerURL: pg.DatabaseURL(name)}
}

// PostgresURL returns the superuser's URL of a fresh database (NewDatabase).
func PostgresURL(t testing.TB) string {
	t.Helper()
	return NewDatabase(t).OwnerURL
}

// TemporalAddress returns the host:port of the shared Temporal dev server
// (started on first use: headless, in-memory, free ports, xuncha's search
// attributes registered on Namespace). The binary is the repository's
// bin/temporal, built with temporaldev.EnsureBinary if missing.
func TemporalAddress(t testing.TB) string {
	t.Helper()
	requireRun(t)
	srv, err := sharedTemporal(t.Context())
	if err != nil {
		t.Fatalf("testenv: the Temporal dev server is required and could not start: %v", err)
	}
	t.Logf("testenv: Temporal dev server (temporal CLI %s) at %s, namespace %s", temporaldev.CLIVersion, srv.Address(), Namespace)
	return srv.Address()
}

// Logger returns a logger writing to the test's log (shown on failure or
// with -v).
func Logger(t testing.TB) *zap.Logger {
	if _, fuzz := t.(*testing.F); fuzz {
		// A fuzz target may not log through F once it fuzzes: warnings and
		// errors go to stderr instead.
		return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
			zapcore.Lock(os.Stderr), zapcore.WarnLevel))
	}
	return zaptest.NewLogger(t)
}

// requireRun fails the test unless Run is in charge, because only Run stops
// the shared components.
func requireRun(t testing.TB) {
	t.Helper()
	if !shared.running.Load() {
		t.Fatal("testenv: the package needs func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) } so shared components are stopped")
	}
}

// SetPostgresSettings gives the shared PostgreSQL more server settings
// (pgserver.Config.Settings), such as shared_preload_libraries for a
// benchmark that reads pg_stat_statements. Call it in TestMain, before Run:
// it panics once the server has started.
func SetPostgresSettings(settings map[string]string) {
	shared.pgMu.Lock()
	defer shared.pgMu.Unlock()
	if shared.pg != nil || shared.pgErr != nil {
		panic("testenv: SetPostgresSettings after the shared PostgreSQL started")
	}
	shared.pgSettings = maps.Clone(settings)
}

// sharedPostgres returns the shared PostgreSQL, starting it on first use.
func sharedPostgres(ctx context.Context) (*pgserver.Server, error) {
	shared.pgMu.Lock()
	defer shared.pgMu.Unlock()
	if shared.pg == nil && shared.pgErr == nil {
		shared.pgErr = startPostgres(ctx)
	}
	return shared.pg, shared.pgErr
}

// startPostgres starts the shared PostgreSQL; call with shared.pgMu held.
func startPostgres(ctx context.Context) error {
	// Not t.TempDir(): its parents are private to the user running the tests,
	// and as root the server runs as the postgres user, who must reach it.
	dir, err := os.MkdirTemp("", "xuncha-testenv-pg-")
	if err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	pg, err := pgserver.Start(ctx, pgserver.Config{DataDir: dir, Log: componentLogger(), Settings: shared.pgSettings})
	if err != nil {
		_ = os.RemoveAll(dir)
		return err
	}
	shared.pg, shared.pgDir = pg, dir
	fmt.Fprintf(os.Stderr, "testenv: PostgreSQL %s at 127.0.0.1:%d (initdb in %s)\n", pg.Version(), pg.Port(), pg.DataDir())
	return nil
}

// sharedTemporal returns the shared dev server, starting it on first use.
func sharedTemporal(ctx context.Context) (*temporaldev.Server, error) {
	shared.temporalMu.Lock()
	defer shared.temporalMu.Unlock()
	if shared.temporal == nil && shared.temporalErr == nil {
		shared.temporalErr = startTemporal(ctx)
	}
	return shared.temporal, shared.temporalErr
}

// startTemporal starts the shared dev server; call with shared.temporalMu
// held.
func startTemporal(ctx context.Context) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	log := componentLogger()
	binDir := filepath.Join(root, "bin")
	if _, err := os.Stat(filepath.Join(binDir, "temporal")); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: building the temporal CLI %s into %s; the first build takes several minutes\n", temporaldev.CLIVersion, binDir)
	}
	bin, err := temporaldev.EnsureBinary(ctx, binDir, log)
	if err != nil {
		return err
	}
	srv, err := temporaldev.Start(ctx, temporaldev.Config{
		BinPath:          bin,
		Namespace:        Namespace,
		SearchAttributes: searchattr.DevServerFlags(),
		Log:              log,
	})
	if err != nil {
		return err
	}
	shared.temporal = srv
	fmt.Fprintf(os.Stderr, "testenv: Temporal dev server (temporal CLI %s, %s) at %s\n", temporaldev.CLIVersion, bin, srv.Address())
	return nil
}

// componentLogger is the shared components' logger. It outlives any one
// test, so it cannot be a test logger; it writes warnings and up to stderr.
func componentLogger() *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zapcore.WarnLevel)
	return zap.New(core).Named("testenv")
}

// repoRoot walks up from the working directory (a test's package directory)
// to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// databaseName makes a valid, unique database name from a sequence number
// and a test name: "t3_testledger_append".
func databaseName(seq int64, testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := fmt.Sprintf("t%d_%s", seq, b.String())
	if len(name) > 63 { // PostgreSQL's identifier limit
		name = name[:63]
	}
	return name
}

// Ledger gives the test a fresh ledger in its own database (NewDatabase),
// migrated as its owner with the application role set up as xuncha
// migrate does, and a Store connected as that role (AppRole) with opts,
// closed when the test ends. Its webhook secrets and tip content are sealed
// with a fresh key (Sealer).
func Ledger(t testing.TB, opts ...ledger.Option) (*ledger.Store, Database) {
	t.Helper()
	db := NewDatabase(t)
	ctx := context.WithoutCancel(t.Context())
	sealer := Sealer(t)
	if _, err := ledger.Migrate(ctx, db.OwnerURL, ledger.MigrateOptions{AppRole: AppRole, Sealer: sealer}); err != nil {
		t.Fatalf("testenv: migrating the test ledger: %v", err)
	}
	store, err := ledger.Open(ctx, db.URL, opts...)
	if err != nil {
		t.Fatalf("testenv: opening the test ledger: %v", err)
	}
	t.Cleanup(store.Close)
	store.Secrets = sealer
	return store, db
}

// Sealer returns a sealer with a fresh random key, as the server builds from
// XUNCHA_TIP_KEY.
func Sealer(t testing.TB) *tipcrypt.Sealer {
	t.Helper()
	key, err := tipcrypt.ParseKey(tipcrypt.GenerateKey())
	if err != nil {
		t.Fatalf("testenv: tip key: %v", err)
	}
	sealer, err := tipcrypt.New(key)
	if err != nil {
		t.Fatalf("testenv: sealer: %v", err)
	}
	return sealer
}

// PayloadCodec returns a payload codec over a one-key ring with a fresh
// random key (ID "test-1"), as the server and worker build from
// XUNCHA_PAYLOAD_KEYS: every Temporal client a test dials for xuncha uses
// it (codec.ClientOptions), so its payloads are encrypted as in production.
func PayloadCodec(t testing.TB) *payloadcrypt.Codec {
	t.Helper()
	return PayloadCodecOf(t, PayloadKey(t, "test-1"))
}

// PayloadKey returns a fresh random AES-256-GCM payload key named id.
func PayloadKey(t testing.TB, id string) payloadcrypt.Key {
	t.Helper()
	entry, err := payloadcrypt.GenerateEntry(id, payloadcrypt.AES256GCM)
	if err != nil {
		t.Fatalf("testenv: payload key: %v", err)
	}
	key, err := payloadcrypt.ParseEntry(entry, payloadcrypt.AES256GCM)
	if err != nil {
		t.Fatalf("testenv: payload key: %v", err)
	}
	return key
}

// PayloadCodecOf returns a payload codec over keys, the first encrypting.
func PayloadCodecOf(t testing.TB, keys ...payloadcrypt.Key) *payloadcrypt.Codec {
	t.Helper()
	codec, err := payloadcrypt.New(keys)
	if err != nil {
		t.Fatalf("testenv: payload codec: %v", err)
	}
	return codec
}
