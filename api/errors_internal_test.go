package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/xuncha/xuncha/internal/i18n"
)

// TestDatabaseOutageIsUnavailable: a PostgreSQL restart under a request is
// UNAVAILABLE (503 with Retry-After, retry with the same request_id), not an
// internal error; other database errors stay internal.
func TestDatabaseOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	shutdown := fmt.Errorf("reading inspection %q: %w", "ins-1", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	s := toStatus(shutdown, zap.NewNop(), i18n.English)
	require.Equal(t, codes.Unavailable, s.Code())
	require.NotContains(t, s.Message(), "administrator", "the cause stays in the log")
	require.True(t, unavailable(shutdown), "Retry-After is set")

	other := fmt.Errorf("writing: %w", &pgconn.PgError{Code: "23514"})
	require.Equal(t, codes.Internal, toStatus(other, zap.NewNop(), i18n.English).Code())
	require.False(t, unavailable(errors.New("closed pool")))
}
