package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/internal/derrors"
)

// migrationName is an embedded migration's file name: its number, then
// what it does ("021_month_tallies_follow.sql").
var migrationName = regexp.MustCompile(`^(\d+)_.+\.sql$`)

// LatestSchema is the schema version this release's migrations reach: the
// highest number among them, as the version table counts.
var LatestSchema = sync.OnceValue(func() int32 {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(fmt.Sprintf("reading the embedded migrations: %v", err))
	}
	var latest int32
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, err := strconv.ParseInt(m[1], 10, 32)
		if err != nil {
			panic(fmt.Sprintf("migration %s: %v", e.Name(), err))
		}
		latest = max(latest, int32(n))
	}
	return latest
})

// SchemaState is what CheckSchema found.
type SchemaState struct {
	// Version is the ledger's schema version (0: never migrated).
	Version int32
	// Latest is this release's (LatestSchema).
	Latest int32
}

// Ahead reports whether a newer release migrated the ledger: this one
// runs on it (a rolling upgrade migrates first, then replaces the servers
// and workers), but its operator should know.
func (s SchemaState) Ahead() bool { return s.Version > s.Latest }

// CheckSchema reads the ledger's schema version and refuses one behind this
// release's, saying to run `xuncha migrate`: a server or worker started on
// a ledger not migrated, or migrated by an older release, would otherwise
// fail at its first statement that needs a missing table or column, with
// PostgreSQL's words and no hint of the cause. A ledger a newer release
// migrated is not refused (SchemaState.Ahead).
func (s *Store) CheckSchema(ctx context.Context) (SchemaState, error) {
	state := SchemaState{Latest: LatestSchema()}
	err := s.pool.QueryRow(ctx, "SELECT version FROM "+versionTable).Scan(&state.Version)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42P01": // undefined_table
		return state, derrors.New(derrors.ErrFailedPrecondition,
			"the ledger has no schema: run `xuncha migrate` (MIGRATE_DATABASE_URL) before starting the server or the worker")
	case err != nil:
		return state, fmt.Errorf("reading the ledger's schema version: %w", err)
	}
	if state.Version < state.Latest {
		return state, derrors.New(derrors.ErrFailedPrecondition,
			"the ledger's schema is at version %d and this release needs %d: run this release's `xuncha migrate` (MIGRATE_DATABASE_URL) first",
			state.Version, state.Latest)
	}
	return state, nil
}
