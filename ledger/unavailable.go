package ledger

import (
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable tells whether err means that PostgreSQL could not be reached
// or went away, so that the same request may succeed later: a connection
// that could not be made, a connection cut by a server shutting down, starting
// up or crashing (SQLSTATE 57P01–57P03), a broken connection (class 08), or a
// network error. The API answers these UNAVAILABLE, as it does when Temporal
// is down, never as an internal error.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", // admin_shutdown
			pgErr.Code == "57P02", // crash_shutdown
			pgErr.Code == "57P03": // cannot_connect_now
			return true
		}
		return false
	}
	var netErr *net.OpError
	return errors.As(err, &netErr) || pgconn.SafeToRetry(err)
}
