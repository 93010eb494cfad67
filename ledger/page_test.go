package ledger_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// TestForgedPageTokensAreInvalid: a page token is the client's to send
// back, so to forge; one whose ID PostgreSQL would refuse (a NUL, which
// was an internal error), holds a control character or is longer than any
// ID is the caller's mistake, INVALID_ARGUMENT naming page_token, in every
// list built on it. A token the ledger gave is taken.
func TestForgedPageTokensAreInvalid(t *testing.T) {
	store, _ := testenv.Ledger(t)
	ctx := t.Context()
	forge := func(id string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2026-01-01T00:00:00Z","i":` + id + `}`))
	}
	for _, token := range []string{forge(`"\u0000"`), forge(`"a\nb"`), forge(`"` + strings.Repeat("x", 513) + `"`)} {
		_, err := store.ListEscalations(ctx, ledger.SubjectFilter{}, 10, token)
		require.True(t, errors.Is(err, derrors.ErrInvalidArgument), "%q: %v", token, err)
		require.Contains(t, err.Error(), "page_token")
		_, err = store.ListInterviews(ctx, ledger.SubjectFilter{}, "", 10, token)
		require.True(t, errors.Is(err, derrors.ErrInvalidArgument), "%q: %v", token, err)
	}
	_, err := store.ListEscalations(ctx, ledger.SubjectFilter{}, 10, forge(`"esc-1"`))
	require.NoError(t, err, "a well-formed token is taken")
}
