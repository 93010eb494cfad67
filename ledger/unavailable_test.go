package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/ledger"
)

func TestUnavailable(t *testing.T) {
	t.Parallel()
	// A real failed connection: nothing listens on port 1.
	_, connectErr := pgx.Connect(context.Background(), "postgres://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	require.Error(t, connectErr)
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"failed connection", fmt.Errorf("recording: %w", connectErr), true},
		{"server shutting down", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{"server starting", fmt.Errorf("reading: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"network error", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"no rows", pgx.ErrNoRows, false},
		{"cancelled", context.Canceled, false},
		{"nil", nil, false},
	} {
		require.Equal(t, tt.want, ledger.Unavailable(tt.err), tt.name)
	}
}
