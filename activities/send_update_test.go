package activities_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/testenv"
)

// referee answers its Update "refer" as its argument says: refused, the
// ledger unavailable (the first time only), or accepted.
func referee(ctx workflow.Context) error {
	unavailable := 0
	if err := workflow.SetUpdateHandler(ctx, "refer", func(ctx workflow.Context, how string) error {
		switch how {
		case "refuse":
			return derrors.ToTemporal(derrors.New(derrors.ErrFailedPrecondition, "finding is CLOSED"))
		case "unavailable-once":
			if unavailable++; unavailable == 1 {
				return derrors.ToTemporal(derrors.New(derrors.ErrUnavailable, "the ledger could not be written in time; retry later"))
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return false })
}

// TestSendUpdateAnswers: a refusal is the other workflow's answer
// (Refused), and so is a workflow that is not there; the ledger
// unavailable fails the activity, to be retried, and the retry goes
// through, not answered with the failure Temporal kept.
func TestSendUpdateAnswers(t *testing.T) {
	tc, id := testenv.Workflow(t, referee)

	acts := &activities.Activities{Temporal: tc, Log: testenv.Logger(t)}
	send := func(workflowID, updateID, how string) (activities.SendUpdateResult, error) {
		args, err := json.Marshal(how)
		require.NoError(t, err)
		return acts.SendUpdate(t.Context(), activities.SendUpdateInput{WorkflowID: workflowID, UpdateName: "refer", UpdateID: updateID, Args: args})
	}

	res, err := send(id, "refer/r-1", "refuse")
	require.NoError(t, err)
	require.Contains(t, res.Refused, "finding is CLOSED")

	res, err = send("referee-nowhere", "refer/r-2", "")
	require.NoError(t, err)
	require.NotEmpty(t, res.Refused, "a workflow that is not there refuses")

	res, err = send(id, "refer/r-3", "unavailable-once")
	require.ErrorContains(t, err, "retry later", "the ledger unavailable is no answer: the activity fails, to be retried")
	require.Empty(t, res.Refused)
	res, err = send(id, "refer/r-3", "unavailable-once")
	require.NoError(t, err, "the retry goes through")
	require.Empty(t, res.Refused)
}
