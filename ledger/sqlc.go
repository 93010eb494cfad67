package ledger

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The ledger's statements live in ledger/queries/*.sql; sqlc (sqlc.yaml,
// `make generate`) turns them into the typed methods of package dbsqlc,
// whose code is committed and checked by `make check-generated`.

// queries returns the generated statements run on db: the pool, or the
// transaction of a change. Build them with it, never with dbsqlc's WithTx,
// which would skip unnamedSQL.
func queries(db dbsqlc.DBTX) *dbsqlc.Queries { return dbsqlc.New(unnamedSQL{db}) }

// inTx runs fn with the statements of one transaction: committed when fn
// returns nil, rolled back otherwise. It is pipelined (inPipeline): BEGIN
// goes with the first statement.
func (s *Store) inTx(ctx context.Context, fn func(q *dbsqlc.Queries) error) error {
	return s.inPipeline(ctx, func(p *pipeline) error { return fn(p.q()) })
}

// unnamedSQL sends sqlc's statements without the "-- name: X :cmd" line
// sqlc puts before each, so that PostgreSQL, its logs and query tracers
// (WithTracer) see each statement as ledger/queries writes it.
type unnamedSQL struct{ db dbsqlc.DBTX }

func (u unnamedSQL) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return u.db.Exec(ctx, withoutName(sql), args...)
}

func (u unnamedSQL) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return u.db.Query(ctx, withoutName(sql), args...)
}

func (u unnamedSQL) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return u.db.QueryRow(ctx, withoutName(sql), args...)
}

// withoutName drops the first line of sql when it is sqlc's name comment.
func withoutName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		if _, stmt, ok := strings.Cut(rest, "\n"); ok {
			return stmt
		}
	}
	return sql
}

// orZero returns what p points to, or the zero value for nil (a NULL column
// the domain type holds as empty).
func orZero[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
