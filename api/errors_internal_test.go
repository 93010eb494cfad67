package api

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
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

// TestWorkflowNotReadyIsUnavailable: an Update the server could not hand to
// the workflow because its task failed (a restarting worker; a namespace
// whose new search attributes not every Temporal service knows yet) is
// UNAVAILABLE with Retry-After — nothing changed and a retry with the same
// request_id is safe — not an internal error, in the caller's language.
func TestWorkflowNotReadyIsUnavailable(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("failed workflow update: %w",
		serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure."))
	s := toStatus(err, zap.NewNop(), i18n.Chinese)
	require.Equal(t, codes.Unavailable, s.Code())
	require.Contains(t, s.Message(), "request_id 重试")
	require.True(t, unavailable(err), "Retry-After is set")
}

// TestAnotherRequestsInspectionKeepsItsLineup: a create refused because
// another request holds the inspection ID does not free the line-up, which
// that request took; other refusals do, and an unanswered create keeps it
// for its retry.
func TestAnotherRequestsInspectionKeepsItsLineup(t *testing.T) {
	require.False(t, freesLineup(nil))
	require.False(t, freesLineup(derrors.New(derrors.ErrAlreadyExists, "inspection %q was created by another request", "ins-1")))
	require.True(t, freesLineup(derrors.New(derrors.ErrFailedPrecondition, "repeats the State Council's inspection")))
	require.True(t, freesLineup(derrors.Invalid("inspection.round", "must not be empty")))
	require.False(t, freesLineup(derrors.New(derrors.ErrUnavailable, "the ledger could not be written in time")))
}

// TestHTTPMethodLabelIsBounded: a client's invented HTTP method is one
// label value, not a new series each.
func TestHTTPMethodLabelIsBounded(t *testing.T) {
	require.Equal(t, "GET", methodLabel("GET"))
	require.Equal(t, "_OTHER", methodLabel("X0001"))
	require.Equal(t, "_OTHER", methodLabel("get"))
}

// TestReopenedFindingShowsEveryEscalation: a reopened finding's run knows
// only its own escalations; GetFinding adds the earlier ones the ledger
// keeps, each once.
func TestReopenedFindingShowsEveryEscalation(t *testing.T) {
	earlier := []casework.Escalation{{ID: "e-1-REMINDER"}, {ID: "e-1-OVERDUE"}}
	live := []casework.Escalation{{ID: "e-1-OVERDUE"}, {ID: "e-2-REMINDER"}}
	var ids []string
	for _, e := range mergeEscalations(earlier, live) {
		ids = append(ids, e.ID)
	}
	require.Equal(t, []string{"e-1-REMINDER", "e-1-OVERDUE", "e-2-REMINDER"}, ids)
}

// TestAfterWriteKeepsTheKeyAndTheLanguage: a refusal met after a change was
// written is answered UNAVAILABLE (the request_id stays claimed, and a retry
// finishes the change), in the caller's language throughout; the cause was
// quoted in English inside a Chinese answer.
func TestAfterWriteKeepsTheKeyAndTheLanguage(t *testing.T) {
	refusal := derrors.StageError{Reason: "STAGE_NOT_ALLOWED", Subject: "lineup/l-1", Action: "invitation ACCEPTED", Stage: "CANCELLED"}.
		Says("line-up %s was cancelled: invitation %s can no longer be %s", "l-1", "l-1.p-1", "ACCEPTED")
	require.True(t, changedNothing(refusal))
	err := afterWrite(i18n.NewContext(context.Background(), i18n.Chinese), refusal)
	require.False(t, changedNothing(err), "the key is kept")
	st := toStatus(err, zap.NewNop(), i18n.Chinese)
	require.Equal(t, codes.Unavailable, st.Code())
	require.Contains(t, st.Message(), "巡查组名单 l-1 已取消")
	require.Contains(t, st.Message(), "请以同一请求重试")
	require.NoError(t, afterWrite(context.Background(), nil))
}
