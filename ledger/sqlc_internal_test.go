package ledger

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

func TestWithoutName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ sql, want string }{
		{"-- name: GetTip :one\nSELECT 1 FROM tips\nWHERE id = $1\n", "SELECT 1 FROM tips\nWHERE id = $1\n"},
		{"SELECT 1", "SELECT 1"},
		{"-- a comment of ours\nSELECT 1", "-- a comment of ours\nSELECT 1"},
		{"-- name: Broken :one", "-- name: Broken :one"},
	} {
		require.Equal(t, c.want, withoutName(c.sql), "%q", c.sql)
	}
}

// statementOf records the SQL of a generated query instead of running it.
type statementOf struct{ sql string }

func (s *statementOf) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	s.sql = sql
	return pgconn.CommandTag{}, nil
}

func (s *statementOf) Query(_ context.Context, sql string, _ ...any) (pgx.Rows, error) {
	s.sql = sql
	return nil, pgx.ErrNoRows
}

func (s *statementOf) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	s.sql = sql
	return errRow{}
}

type errRow struct{}

func (errRow) Scan(...any) error { return pgx.ErrNoRows }

// TestFindingColumnsAreGetFindings: the finding list names the columns
// sqlc's GetFinding selects, in its order (both scan into dbsqlc.Finding by
// position); a migration that adds one, once sqlc is run, fails this test
// until findingColumns names it too.
func TestFindingColumnsAreGetFindings(t *testing.T) {
	t.Parallel()
	var rec statementOf
	_, _ = dbsqlc.New(&rec).GetFinding(t.Context(), "f-1")
	got := strings.Join(strings.Fields(withoutName(rec.sql)), " ")
	require.Equal(t, "SELECT "+findingColumns+" FROM findings WHERE id = $1", got)
	query, _ := findingListQuery(FindingFilter{}, nil, "", 10)
	require.True(t, strings.HasPrefix(query, "SELECT "+findingColumns+" FROM findings"), query)
}
