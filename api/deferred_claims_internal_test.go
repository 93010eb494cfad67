package api

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// TestDeferredClaimsGoThroughSendChange: every change whose request_id's
// claim is deferred (deferredClaims) hands its key to sendChange, which
// vouches for it. Each method's handler is
// called as gRPC would call it, with an empty request: sendChange takes the
// key before it refuses the missing id, which reads nothing (the servers
// here have no ledger and no Temporal client to read).
func TestDeferredClaimsGoThroughSendChange(t *testing.T) {
	servers := map[string]any{
		xunchav1.FindingService_ServiceDesc.ServiceName:    &FindingServer{Log: zap.NewNop()},
		xunchav1.InspectionService_ServiceDesc.ServiceName: &InspectionServer{Log: zap.NewNop()},
		xunchav1.InterviewService_ServiceDesc.ServiceName:  &InterviewServer{Log: zap.NewNop()},
		xunchav1.InvitationService_ServiceDesc.ServiceName: &InvitationServer{Log: zap.NewNop()},
	}
	handlers := map[string]grpc.MethodDesc{}
	for _, desc := range []grpc.ServiceDesc{xunchav1.FindingService_ServiceDesc, xunchav1.InspectionService_ServiceDesc,
		xunchav1.InterviewService_ServiceDesc, xunchav1.InvitationService_ServiceDesc} {
		for _, m := range desc.Methods {
			handlers["/"+desc.ServiceName+"/"+m.MethodName] = m
		}
	}
	office := actor.Actor{Name: "李四", Role: actor.RoleOffice, Organisation: "省安委办"}
	for method := range deferredClaims {
		m, ok := handlers[method]
		require.True(t, ok, "%s is no method of a lifecycle's service", method)
		service := method[1 : len(method)-len(m.MethodName)-1]
		d := &deferredKey{key: ledger.IdempotencyKey{Method: method, RequestID: "r-1"}}
		ctx := context.WithValue(actor.NewContext(t.Context(), office), deferredKeyCtx{}, d)
		_, err := m.Handler(servers[service], ctx, func(any) error { return nil }, nil)
		require.Error(t, err, method)
		require.True(t, changedNothing(err), "%s: %v", method, err)
		require.True(t, d.taken, "%s answered without sending its change through sendChange: %v", method, err)
	}
}

// TestDeferredKeyAnswered: an Update's answer that echoes this request's
// fingerprint is this request's; another's is a reused key; one that echoes
// none (a worker from before the echo) is vouched for by the ledger's claim,
// made then, so that the first request holds the key and a different one is
// refused. The fingerprint recorded with a change's event vouches the same
// way; with none recorded, the key is claimed. settle records the key
// after a change, not after a refusal.
func TestDeferredKeyAnswered(t *testing.T) {
	store, _ := testenv.Ledger(t)
	ctx := actor.NewContext(t.Context(), actor.Actor{Name: "李四", Role: actor.RoleOffice, Organisation: "省安委办"})
	keyOf := func(body string) *deferredKey {
		sum := sha256.Sum256([]byte(body))
		return &deferredKey{store: store, log: zap.NewNop(), key: ledger.IdempotencyKey{
			Method: xunchav1.FindingService_DiagnoseFinding_FullMethodName, Target: "findings/f-1", RequestID: "r-1", Fingerprint: sum[:]}}
	}
	first, second := keyOf("first"), keyOf("second")
	held := func(d *deferredKey) bool {
		_, found, err := store.IdempotencyKeyHolder(ctx, d.key)
		require.NoError(t, err)
		return found
	}

	require.NoError(t, first.answered(ctx, first.key.Fingerprint))
	require.Equal(t, codes.AlreadyExists, status.Code(first.answered(ctx, second.key.Fingerprint)))
	require.NoError(t, first.vouch(ctx, first.key.Fingerprint))
	require.Equal(t, codes.AlreadyExists, status.Code(second.vouch(ctx, first.key.Fingerprint)))
	require.False(t, held(first), "an echoed answer or a recorded fingerprint needs no claim")

	require.NoError(t, first.answered(ctx, nil), "no echo: claimed now")
	require.True(t, held(first))
	require.NoError(t, first.answered(ctx, nil), "its retry")
	require.Equal(t, codes.AlreadyExists, status.Code(second.answered(ctx, nil)))
	require.Equal(t, codes.AlreadyExists, status.Code(second.vouch(ctx, nil)), "nothing recorded: the claim decides")
	require.NoError(t, first.vouch(ctx, nil))

	third := keyOf("third")
	third.key.Target = "findings/f-3"
	third.settle(ctx, status.Error(codes.FailedPrecondition, "not in this stage"))
	require.False(t, held(third), "a refusal holds no key")
	third.settle(ctx, status.Error(codes.Unavailable, "the ledger could not be written in time"))
	holder, found, err := store.IdempotencyKeyHolder(ctx, third.key)
	require.NoError(t, err)
	require.True(t, found, "a failure that may have changed something holds it")
	require.Equal(t, third.key.Fingerprint, holder)
	other := keyOf("other")
	other.key.Target = third.key.Target
	require.Equal(t, codes.AlreadyExists, status.Code(other.claim(ctx)), "another body under the key it holds")
}

// TestChainEvent: the event an Update wrote is found under its ID or a
// resend's under updatechain's next IDs, never under another request_id
// that shares its beginning.
func TestChainEvent(t *testing.T) {
	t.Parallel()
	events := []casework.Event{{Key: "diagnose/r-10"}, {Key: "diagnose/r-1/escalation"}, {Key: "diagnose/r-1 #2"}, {Key: "classify/r-1"}}
	require.Equal(t, &events[2], chainEvent(events, "diagnose/r-1"))
	require.Equal(t, &events[0], chainEvent(events, "diagnose/r-10"))
	require.Nil(t, chainEvent(events, "refer/r-1"))
	require.Nil(t, chainEvent(events[:2], "diagnose/r-1"))
}
