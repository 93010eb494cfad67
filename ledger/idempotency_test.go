package ledger_test

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// TestIdempotencyKeys: a key is held by the first fingerprint that claims
// it, read back as it is stored, and freed only by that fingerprint.
func TestIdempotencyKeys(t *testing.T) {
	store, _ := testenv.Ledger(t)
	ctx := t.Context()
	k := ledger.IdempotencyKey{Method: "/xuncha.v1.FindingService/DiagnoseFinding", Target: "findings/f-1", RequestID: "r-1",
		Fingerprint: fingerprint("first")}
	other := k
	other.Fingerprint = fingerprint("second")

	_, found, err := store.IdempotencyKeyHolder(ctx, k)
	require.NoError(t, err)
	require.False(t, found, "nobody holds it yet")

	stored, claimed, err := store.ClaimIdempotencyKey(ctx, k)
	require.NoError(t, err)
	require.True(t, claimed)
	require.Equal(t, k.Fingerprint, stored)
	stored, claimed, err = store.ClaimIdempotencyKey(ctx, other)
	require.NoError(t, err)
	require.False(t, claimed)
	require.Equal(t, k.Fingerprint, stored, "the first holds it")

	held, found, err := store.IdempotencyKeyHolder(ctx, other)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, k.Fingerprint, held)
	elsewhere := k
	elsewhere.Target = "findings/f-2"
	_, found, err = store.IdempotencyKeyHolder(ctx, elsewhere)
	require.NoError(t, err)
	require.False(t, found, "a key is its method's and target's")

	require.NoError(t, store.ReleaseIdempotencyKey(ctx, other))
	_, found, err = store.IdempotencyKeyHolder(ctx, k)
	require.NoError(t, err)
	require.True(t, found, "another fingerprint frees nothing")
	require.NoError(t, store.ReleaseIdempotencyKey(ctx, k))
	_, found, err = store.IdempotencyKeyHolder(ctx, k)
	require.NoError(t, err)
	require.False(t, found)

	// Recorded after a request went through: the first record holds.
	require.NoError(t, store.RecordIdempotencyKey(ctx, other))
	require.NoError(t, store.RecordIdempotencyKey(ctx, k))
	held, found, err = store.IdempotencyKeyHolder(ctx, k)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, other.Fingerprint, held)
}

// fingerprint is a request's fingerprint as the API makes them (32 bytes).
func fingerprint(body string) []byte {
	sum := sha256.Sum256([]byte(body))
	return sum[:]
}
