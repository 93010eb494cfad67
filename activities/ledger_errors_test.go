package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/testenv"
)

// pgError runs sql on a real PostgreSQL and returns the error it answers.
func pgError(t *testing.T, conn *pgx.Conn, sql string, args ...any) error {
	t.Helper()
	_, err := conn.Exec(t.Context(), sql, args...)
	require.Error(t, err, sql)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, "%s: %v", sql, err)
	return fmt.Errorf("wrapped as the ledger does: %w", err)
}

// refusedConnection dials a port nothing listens on and returns pgx's error.
func refusedConnection(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().(*net.TCPAddr)
	require.NoError(t, l.Close())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://x@127.0.0.1:%d/x?sslmode=disable&connect_timeout=5", addr.Port))
	require.Error(t, err)
	require.Contains(t, err.Error(), "refused")
	return err
}

func TestClassifyLedgerError(t *testing.T) {
	t.Parallel()
	_, db := testenv.Ledger(t)
	conn, err := pgx.Connect(t.Context(), db.URL) // the application role may create temporary tables
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(t.Context())) })
	_, err = conn.Exec(t.Context(), `CREATE TEMP TABLE t (id int PRIMARY KEY, n int CHECK (n > 0))`)
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), `INSERT INTO t VALUES (1, 1)`)
	require.NoError(t, err)

	tests := []struct {
		name     string
		err      error
		retry    bool
		kind     error
		sqlState string
		reason   string // a part of the reason, for permanent failures
	}{
		// Answered by the real PostgreSQL.
		{"NUL byte in text", pgError(t, conn, `SELECT $1::text`, "消防\x00通道"), false, derrors.ErrInvalidArgument, "22021", "NUL byte"},
		{"NUL escape in jsonb", pgError(t, conn, `SELECT $1::jsonb`, `{"cause":"a\u0000b"}`), false, derrors.ErrInvalidArgument, "22P05", "NUL byte"},
		{"division by zero", pgError(t, conn, `SELECT 1/0`), false, derrors.ErrInvalidArgument, "22012", "invalid data"},
		{"unique violation", pgError(t, conn, `INSERT INTO t VALUES (1, 1)`), false, derrors.ErrFailedPrecondition, "23505", "rule of the ledger"},
		{"check violation", pgError(t, conn, `INSERT INTO t VALUES (2, 0)`), false, derrors.ErrFailedPrecondition, "23514", "rule of the ledger"},
		{"undefined table", pgError(t, conn, `SELECT * FROM no_such_table`), false, derrors.ErrFailedPrecondition, "42P01", "defect"},
		{"syntax error", pgError(t, conn, `SELEC 1`), false, derrors.ErrFailedPrecondition, "42601", "defect"},
		{"connection refused", refusedConnection(t), true, nil, "", ""},
		// Codes a test cannot make a healthy server answer, as pgx reports them.
		{"serialization failure", &pgconn.PgError{Code: "40001", Message: "could not serialize access"}, true, nil, "40001", ""},
		{"deadlock", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}, true, nil, "40P01", ""},
		{"too many connections", &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"}, true, nil, "53300", ""},
		{"admin shutdown", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true, nil, "57P01", ""},
		{"starting up", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true, nil, "57P03", ""},
		{"connection failure", &pgconn.PgError{Code: "08006", Message: "connection failure"}, true, nil, "08006", ""},
		{"context deadline", fmt.Errorf("updating finding: %w", context.DeadlineExceeded), true, nil, "", ""},
		// The ledger's own refusals keep their kind.
		{"domain not found", derrors.New(derrors.ErrNotFound, "finding %q not found", "f-9"), false, derrors.ErrNotFound, "", ""},
		{"domain invalid", derrors.Invalid("held_on", "must be a date"), false, derrors.ErrInvalidArgument, "", ""},
		{"calendar without data", fmt.Errorf("computing: %w", calendar.ErrNoData), false, derrors.ErrFailedPrecondition, "", ""},
		// What the ledger holds does not read: never retried.
		{"row that does not decode", fmt.Errorf("decoding deadline of finding %q: %w", "f-1", json.Unmarshal([]byte(`{"due":`), new(map[string]any))),
			false, derrors.ErrFailedPrecondition, "", "cannot read"},
		{"value of another type", fmt.Errorf("decoding: %w", json.Unmarshal([]byte(`{"due":1}`), new(struct{ Due string }))),
			false, derrors.ErrFailedPrecondition, "", "cannot read"},
		{"column that does not scan", scanError(t, conn), false, derrors.ErrFailedPrecondition, "", "cannot read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := activities.ClassifyLedgerError(tt.err)
			require.Equal(t, tt.retry, got.Retry, "%v", tt.err)
			require.Equal(t, tt.kind, got.Kind)
			require.Equal(t, tt.sqlState, got.SQLState)
			require.Contains(t, got.Reason, tt.reason)
			if tt.sqlState != "" && !tt.retry {
				var pgErr *pgconn.PgError
				require.ErrorAs(t, tt.err, &pgErr)
				require.NotContains(t, got.Reason, pgErr.Message, "the database's text is not for clients")
			}
		})
	}
	require.Equal(t, activities.LedgerFailure{}, activities.ClassifyLedgerError(nil))
}

// TestPoisonedChangeIsRefusedNotRetried writes a finding change PostgreSQL
// refuses (a NUL byte in a text column) through the activity: the answer is
// a non-retryable INVALID_ARGUMENT naming what was refused, without the
// database's message, and the row is untouched.
func TestPoisonedChangeIsRefusedNotRetried(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := foundFinding("f-1", "消防通道堵塞", "GENERAL", office)
	at := f.CreatedAt
	_, err := fx.env.ExecuteActivity(fx.acts.RecordFinding, activities.RecordFindingInput{Finding: f, EventKey: "record/req-f-1"})
	require.NoError(t, err)

	poisoned := f
	poisoned.Stage, poisoned.Version = "DIAGNOSED", 2
	poisoned.Diagnosis = &casework.Diagnosis{Cause: "管理\x00缺失", RiskLevel: "HIGH"}
	poisoned.Title = "消防\x00通道"
	_, err = fx.env.ExecuteActivity(fx.acts.ApplyFindingChange, activities.FindingChangeInput{Finding: poisoned,
		Event: casework.Event{Key: "diagnose/d1", Action: "diagnose", Actor: office, OccurredAt: at}})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, "INVALID_ARGUMENT", app.Type())
	require.Contains(t, app.Message(), `applying diagnose to finding "f-1"`)
	require.Contains(t, app.Message(), "NUL byte")
	require.False(t, strings.Contains(app.Message(), "invalid byte sequence") || strings.Contains(app.Message(), "SELECT") ||
		strings.Contains(app.Message(), "UPDATE"), "no database text: %s", app.Message())

	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, "FOUND", got.Stage)
	require.Equal(t, 1, got.Version)
}

// scanError is the error of scanning a text column into an integer, as pgx
// reports it.
func scanError(t *testing.T, conn *pgx.Conn) error {
	t.Helper()
	var n int
	err := conn.QueryRow(t.Context(), `SELECT 'seven'::text`).Scan(&n)
	require.Error(t, err)
	return fmt.Errorf("reading finding %q: %w", "f-1", err)
}
