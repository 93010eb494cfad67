// Package ledger is xuncha's PostgreSQL access: the embedded numbered migrations,
// the projection of every lifecycle (written only by activities, idempotently,
// keyed by business IDs), the append-only event log and the calendar versions.
// It maps the case's types (package casework, what the workflows carry) to
// its rows and back, over the statements sqlc generates from queries/ into
// internal/dbsqlc.
package ledger

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	// Secrets seals what the ledger keeps encrypted at rest, webhook secrets
	// and tip content (the server key, XUNCHA_TIP_KEY). Set it once, before
	// use, where the Store is built; without it webhooks cannot be created
	// or read with their secrets, nor tips received or read.
	Secrets SecretSealer
	// AuditHash is the hash of new audit rows: events, access records and
	// anchors (XUNCHA_AUDIT_HASH; default HashSHA256). Set it once, before
	// use, where the Store is built.
	AuditHash HashAlg
	// StatisticsCompactAbove is how many pending changes of the statistics
	// per round a question reads at most: above it, the question folds
	// them first (CompactStatistics). Zero is DefaultStatisticsCompactAbove.
	StatisticsCompactAbove int
}

// Option configures a Store as Open builds it.
type Option func(*pgxpool.Config)

// WithTracer traces every query of the Store's connections (query counting in
// tests; an OpenTelemetry tracer in production).
// A transaction's statements go in batches (pipeline.go): a tracer that
// does not trace batches sees each of their statements as a query.
func WithTracer(t pgx.QueryTracer) Option {
	return func(cfg *pgxpool.Config) {
		if _, ok := t.(pgx.BatchTracer); ok {
			cfg.ConnConfig.Tracer = t
			return
		}
		cfg.ConnConfig.Tracer = batchesAsQueries{t}
	}
}

// batchesAsQueries traces each statement of a batch as a query.
type batchesAsQueries struct{ pgx.QueryTracer }

func (b batchesAsQueries) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (b batchesAsQueries) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	ctx = b.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: data.SQL, Args: data.Args})
	b.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{CommandTag: data.CommandTag, Err: data.Err})
}

func (b batchesAsQueries) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// sessionDefaults are the settings of every connection of a Store, unless
// the database URL sets them (Open says why).
var sessionDefaults = map[string]string{
	"jit": "off",
}

// planPerCall, given as a query's first argument, runs it as an unnamed
// statement, which PostgreSQL plans for the arguments of each call. The
// statements built per filter combination (the finding list, the
// statistics' sums) run so: a generic plan would be blind to how rare a
// filter's value is (findings_list.go). Every other statement is prepared
// once per connection, and PostgreSQL's plan cache (plan_cache_mode auto)
// plans it for its arguments at first and keeps a generic plan once that
// is no costlier; planning every statement anew at each call, as the
// connections did before 2026-11-30 (force_custom_plan), cost about a
// quarter of PostgreSQL's CPU in a finding's lifecycle
// (docs/lifecycle-benchmark-history.md).
const planPerCall = pgx.QueryExecModeCacheDescribe

// Open connects to the database at url and checks that it answers. It does
// not migrate; call Migrate (xuncha migrate) first.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error can quote the password: keep only the kind.
		return nil, fmt.Errorf("database URL is not a valid PostgreSQL connection string: %w", derrors.ErrInvalidArgument)
	}
	// Nothing is JIT-compiled. The ledger's statements are short, and
	// PostgreSQL compiles any whose estimated cost passes jit_above_cost,
	// however wrong the estimate: before its tables had been analyzed, the
	// API's evidence check (EvidenceInReach), a lookup of a fraction of a
	// millisecond, was estimated at 142,209 (44 after ANALYZE) and
	// compiled at every call, about 36 ms of CPU each time
	// (pg_stat_statements in `make bench-lifecycle`,
	// docs/lifecycle-benchmark-history.md); the
	// statistics' sums cost less summed than compiled.
	for name, value := range sessionDefaults {
		if _, set := cfg.ConnConfig.RuntimeParams[name]; !set {
			cfg.ConnConfig.RuntimeParams[name] = value
		}
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

// MigrateOptions says what Migrate does beyond applying the migrations.
type MigrateOptions struct {
	// AppRole is the role `xuncha server` and `xuncha worker` connect as
	// (DATABASE_URL's user). When set, Migrate creates it if missing, refuses
	// it when it owns anything of the ledger or holds an attribute that gets
	// around grants, and gives it exactly the application's privileges
	// (mutableTables). Empty: no role is created or granted.
	AppRole string
	// AppPassword is the password a newly created AppRole gets (none when
	// empty). An existing role keeps its own.
	AppPassword string
	// Sealer seals tip content still stored in plaintext (the server key,
	// XUNCHA_TIP_KEY). Without it, such rows make Migrate fail once the
	// migrations and grants are done, saying so.
	Sealer SecretSealer
}

// MigrateResult says what a Migrate run changed; a second run with the same
// options changes nothing.
type MigrateResult struct {
	// SchemaVersion is the schema version reached.
	SchemaVersion int32
	// RoleCreated is true when the run created the application role.
	RoleCreated bool
	// GrantsChanged is true when the run (re)granted its privileges.
	GrantsChanged bool
	// PublicCreateRevoked is true when the run took CREATE on the schema
	// from PUBLIC.
	PublicCreateRevoked bool
	// TipsSealed counts the tips whose plaintext content the run sealed.
	TipsSealed int
	// IndexesRebuilt names the indexes an interrupted migration had left
	// invalid, which the run rebuilt (repairInvalidIndexes).
	IndexesRebuilt []string
}

// Migrate applies every embedded migration that has not run yet, under an
// advisory lock so that concurrent runs are safe, connected to url as the
// role that owns (or is to own) the ledger. Then it takes CREATE on the
// schema from PUBLIC, sets up the application role (opts.AppRole) and seals
// tip content stored in plaintext (opts.Sealer). Running it again changes
// nothing. Indexes an interrupted migration left invalid are rebuilt.
func Migrate(ctx context.Context, url string, opts MigrateOptions) (MigrateResult, error) {
	var out MigrateResult
	// Parsed apart, its error said as Open says it: pgx quotes a
	// connection string it cannot parse, and some forms of one
	// ("password = x", "PASSWORD=x") kept their password in the quote.
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return out, fmt.Errorf("the migration's database URL is not a valid PostgreSQL connection string: %w", derrors.ErrInvalidArgument)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return out, fmt.Errorf("connecting to PostgreSQL to migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return out, fmt.Errorf("preparing migrations: %w", ownerHint(err))
	}
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return out, fmt.Errorf("reading embedded migrations: %w", err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return out, fmt.Errorf("loading migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return out, fmt.Errorf("migrating: %w", ownerHint(err))
	}
	if out.IndexesRebuilt, err = repairInvalidIndexes(ctx, conn); err != nil {
		return out, err
	}
	if out.SchemaVersion, err = m.GetCurrentVersion(ctx); err != nil {
		return out, fmt.Errorf("reading schema version: %w", err)
	}
	if out.PublicCreateRevoked, err = revokePublicCreate(ctx, conn); err != nil {
		return out, err
	}
	if opts.AppRole != "" {
		if err := appRole(ctx, conn, opts.AppRole, opts.AppPassword, &out); err != nil {
			return out, err
		}
	}
	if out.TipsSealed, err = sealTipContent(ctx, conn, opts.Sealer); err != nil {
		return out, err
	}
	return out, nil
}

// repairInvalidIndexes rebuilds, without holding off writes, every index
// of the ledger's schema that PostgreSQL marks invalid: what a migration's
// CREATE INDEX CONCURRENTLY leaves when it is interrupted (a lost
// connection, a cancelled command). Its IF NOT EXISTS would skip the
// index when the migration runs again, and an invalid index is never used.
// The copies an interrupted REINDEX CONCURRENTLY leaves (<name>_ccnew,
// <name>_ccold) are dropped instead: rebuilt, they would be a second index
// every write keeps.
func repairInvalidIndexes(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT i.indisvalid AND n.nspname = current_schema() ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("looking for invalid indexes: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("looking for invalid indexes: %w", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	var rebuilt []string
	for _, name := range names {
		if reindexLeftover.MatchString(name) {
			if _, err := conn.Exec(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
				return nil, fmt.Errorf("dropping index %s, left over by an interrupted rebuild: %w", name, ownerHint(err))
			}
			continue
		}
		if _, err := conn.Exec(ctx, "REINDEX INDEX CONCURRENTLY "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("rebuilding index %s, left invalid by an interrupted migration: %w", name, ownerHint(err))
		}
		rebuilt = append(rebuilt, name)
	}
	return rebuilt, nil
}

// reindexLeftover matches the names PostgreSQL gives the copies a REINDEX
// CONCURRENTLY builds and drops (events_evidence_ccnew, …_ccold1).
var reindexLeftover = regexp.MustCompile(`_cc(new|old)[0-9]*$`)

// ownerHint adds what to do to a migration refused for lack of privilege:
// migrations run as the ledger's owner.
func ownerHint(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgInsufficientPrivilege {
		return fmt.Errorf("%w (xuncha migrate connects as the ledger's owner: set MIGRATE_DATABASE_URL)", err)
	}
	return err
}

// notFound maps pgx.ErrNoRows to derrors.ErrNotFound at the boundary, with
// a message fit for clients in each language (derrors.NotFound: "finding
// \"f-1\" not found", "未找到问题 \"f-1\""); other errors are wrapped with
// what was read. It is the one place where a missing row becomes not found.
func notFound(err error, typ, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return derrors.NotFound(typ, id)
	}
	return fmt.Errorf("reading %s %q: %w", typ, id, err)
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

// optionalRow is a row a query may not find, as optionalOf gives it: a
// pipeline's statement answers with it, since a statement's error fails
// its whole batch.
type optionalRow[T any] struct {
	row   T
	found bool
}

// optionalOf is optional's answer as an optionalRow.
func optionalOf[T any](row T, err error) (optionalRow[T], error) {
	row, found, err := optional(row, err)
	return optionalRow[T]{row: row, found: found}, err
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
