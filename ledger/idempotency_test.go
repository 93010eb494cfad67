package ledger_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
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
}

// TestRequestFingerprints: the fingerprint of the request whose change an
// event records is stored with the event and read back with it; it is
// outside the event's hash, so the chain verifies with it.
func TestRequestFingerprints(t *testing.T) {
	store, _ := testenv.Ledger(t)
	ctx := t.Context()
	who := actor.Actor{Name: "李四", Role: actor.RoleOffice, Organisation: "省安委办"}
	for _, e := range []casework.Event{
		{Key: "diagnose/r-1", Action: "diagnose", RequestFingerprint: fingerprint("first")},
		{Key: "diagnose/r-1 #2", Action: "diagnose", RequestFingerprint: fingerprint("first, sent again")},
		{Key: "diagnose/r-10", Action: "diagnose", RequestFingerprint: fingerprint("another key")},
		{Key: "classify/r-1", Action: "classify", RequestFingerprint: fingerprint("another action")},
		{Key: "diagnose/r-1/escalation", Action: "escalate"},
	} {
		e.SubjectType, e.SubjectID, e.Actor, e.OccurredAt = casework.SubjectFinding, "f-1", who, time.Now()
		require.NoError(t, store.AppendEvent(ctx, e))
	}
	require.NoError(t, store.AppendEvent(ctx, casework.Event{SubjectType: casework.SubjectFinding, SubjectID: "f-2",
		Key: "diagnose/r-1", Action: "diagnose", Actor: who, OccurredAt: time.Now(), RequestFingerprint: fingerprint("another finding")}))

	events, err := store.Events(ctx, casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 5)
	recorded := map[string][]byte{}
	for _, e := range events {
		recorded[e.Key] = e.RequestFingerprint
	}
	require.Equal(t, map[string][]byte{
		"diagnose/r-1":            fingerprint("first"),
		"diagnose/r-1 #2":         fingerprint("first, sent again"),
		"diagnose/r-10":           fingerprint("another key"),
		"classify/r-1":            fingerprint("another action"),
		"diagnose/r-1/escalation": nil,
	}, recorded)

	r, err := store.VerifyAudit(ctx, ledger.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, r.OK(), "%v", r.Problems)
	require.EqualValues(t, 6, r.Events)
}

// fingerprint is a request's fingerprint as the API makes them (32 bytes).
func fingerprint(body string) []byte {
	sum := sha256.Sum256([]byte(body))
	return sum[:]
}
