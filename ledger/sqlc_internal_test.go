package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
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
