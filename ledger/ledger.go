// Package ledger is xuncha's PostgreSQL access: the embedded numbered migrations,
// the projection of every lifecycle (written only by activities, idempotently,
// keyed by business IDs), the append-only event log and the calendar versions.
package ledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records which migrations ran.
const versionTable = "schema_version"

// Store reads and writes the ledger. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// q runs the statements of ledger/queries outside a transaction.
	q *dbsqlc.Queries
	// Secrets seals webhook secrets at rest (the server key,
	// XUNCHA_TIP_KEY). Set it once, before use, where the Store is built;
	// without it webhooks cannot be created or read with their secrets.
	Secrets SecretSealer
	// AuditHash is the hash of new audit rows: events, access records and
	// anchors (XUNCHA_AUDIT_HASH; default HashSHA256). Set it once, before
	// use, where the Store is built.
	AuditHash HashAlg
}

// Option configures a Store as Open builds it.
type Option func(*pgxpool.Config)

// WithTracer traces every query of the Store's connections (query counting in
// tests; an OpenTelemetry tracer in production).
func WithTracer(t pgx.QueryTracer) Option {
	return func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = t }
}

// Open connects to the database at url and checks that it answers. It does
// not migrate; call Migrate (xuncha migrate) first.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error can quote the password: keep only the kind.
		return nil, fmt.Errorf("database URL is not a valid PostgreSQL connection string: %w", derrors.ErrInvalidArgument)
	}
	for _, opt := range opts {
		opt(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, derrors.New(derrors.ErrUnavailable, "PostgreSQL at %s:%d is unreachable (%s): start it or set DATABASE_URL",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, lastLine(err))
	}
	return &Store{pool: pool, q: queries(pool)}, nil
}

// Close releases the connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Migrate applies every embedded migration that has not run yet, under an
// advisory lock so that concurrent starts are safe. It returns the schema
// version reached.
func Migrate(ctx context.Context, url string) (int32, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, fmt.Errorf("connecting to PostgreSQL to migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return 0, fmt.Errorf("preparing migrations: %w", err)
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return 0, fmt.Errorf("reading embedded migrations: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return 0, fmt.Errorf("loading migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("migrating: %w", err)
	}
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}

// notFound maps pgx.ErrNoRows to derrors.ErrNotFound at the boundary, with
// a message fit for clients ("finding \"f-1\" not found"); other errors
// are wrapped with what was read. It is the one place where a missing row
// becomes not found.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return derrors.New(derrors.ErrNotFound, "%s not found", what)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// optional is for the reads where no row is an answer, not an error (no
// policy set yet, a retry whose first write is there or not): found is false
// and err nil when the query found no row.
func optional[T any](row T, err error) (_ T, found bool, _ error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		var zero T
		return zero, false, nil
	case err != nil:
		return row, false, err
	}
	return row, true, nil
}

// lastLine keeps the innermost reason of a multi-line connection error
// (pgx lists every address it tried), so that the message is one line.
func lastLine(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if i := strings.LastIndex(last, ": "); i >= 0 && strings.Contains(last, "dial") {
		last = last[i+2:]
	}
	return strings.TrimSuffix(last, ")")
}
