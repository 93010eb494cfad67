package updatechain_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/updatechain"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// gate is a workflow whose Update "pass" is refused (after it was
// accepted, as a change whose ledger write refuses) until the signal "open",
// or fails with an error that is no refusal when its argument says so; the
// query "handled" counts the Updates its handler ran.
func gate(ctx workflow.Context) error {
	open, handled := false, 0
	if err := workflow.SetQueryHandler(ctx, "handled", func() (int, error) { return handled, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, "pass", func(ctx workflow.Context, how string) (string, error) {
		handled++
		switch {
		case how == "broken":
			return "", errors.New("broken")
		case how == "unavailable":
			return "", derrors.ToTemporal(derrors.New(derrors.ErrUnavailable, "the ledger could not be written in time; retry later"))
		case !open:
			return "", derrors.ToTemporal(derrors.New(derrors.ErrFailedPrecondition, "the gate is closed"))
		}
		return "passed " + workflow.GetCurrentUpdateInfo(ctx).ID, nil
	}); err != nil {
		return err
	}
	workflow.Go(ctx, func(ctx workflow.Context) { workflow.GetSignalChannel(ctx, "open").Receive(ctx, nil); open = true })
	return workflow.Await(ctx, func() bool { return false })
}

// TestAStaleFailureDoesNotAnswer: a request refused after its Update was
// accepted is decided anew when sent again, under the next ID of the
// chain, each time; a success answers every retry of it without running
// again; an Update that failed otherwise is answered as Temporal stored it.
func TestAStaleFailureDoesNotAnswer(t *testing.T) {
	tc, id := testenv.Workflow(t, gate)
	ctx := t.Context()

	send := func(updateID, how string) (string, error) {
		var out string
		err := updatechain.Send(ctx, tc, client.UpdateWorkflowOptions{WorkflowID: id, UpdateID: updateID, UpdateName: "pass",
			Args: []any{how}, WaitForStage: client.WorkflowUpdateStageCompleted}, &out)
		return out, err
	}
	handled := func() int { return handledBy(t, tc, id) }

	_, err := send("pass/r-1", "")
	require.ErrorIs(t, derrors.FromTemporal(err), derrors.ErrFailedPrecondition)
	_, err = send("pass/r-1", "")
	require.ErrorIs(t, derrors.FromTemporal(err), derrors.ErrFailedPrecondition)
	require.Equal(t, 2, handled(), "the refusal sent again was decided again (pass/r-1 #2), not answered from the first")

	require.NoError(t, tc.SignalWorkflow(ctx, id, "", "open", nil))
	out, err := send("pass/r-1", "")
	require.NoError(t, err)
	require.Equal(t, "passed pass/r-1 #3", out, "past both stale refusals")
	out, err = send("pass/r-1", "")
	require.NoError(t, err)
	require.Equal(t, "passed pass/r-1 #3", out, "a retry of the success is answered with it")
	require.Equal(t, 3, handled(), "without running it again")

	_, err = send("pass/r-2", "unavailable")
	require.ErrorIs(t, derrors.FromTemporal(err), derrors.ErrUnavailable)
	out, err = send("pass/r-2", "")
	require.NoError(t, err, "the ledger back, the request sent again goes through")
	require.Equal(t, "passed pass/r-2 #2", out)

	_, err = send("pass/r-3", "broken")
	require.ErrorContains(t, err, "broken")
	_, err = send("pass/r-3", "")
	require.ErrorContains(t, err, "broken", "a failure that is no refusal may have changed something: it stands")
	require.Equal(t, 6, handled())
}

// TestGuardDecidesAResend: a guard is asked only before a request is sent
// again under the chain's next ID; its refusal answers, and nothing more is
// sent.
func TestGuardDecidesAResend(t *testing.T) {
	tc, id := testenv.Workflow(t, gate)
	ctx := t.Context()
	asked := 0
	refusal := errors.New("request_id reused")
	send := func(updateID, how string, refuse bool) (string, error) {
		var out string
		err := updatechain.SendGuarded(ctx, tc, client.UpdateWorkflowOptions{WorkflowID: id, UpdateID: updateID, UpdateName: "pass",
			Args: []any{how}, WaitForStage: client.WorkflowUpdateStageCompleted}, &out, func(context.Context) error {
			asked++
			if refuse {
				return refusal
			}
			return nil
		})
		return out, err
	}
	handled := func() int { return handledBy(t, tc, id) }

	_, err := send("pass/r-1", "", true)
	require.ErrorIs(t, derrors.FromTemporal(err), derrors.ErrFailedPrecondition)
	require.Zero(t, asked, "a first send is not a resend")
	require.NoError(t, tc.SignalWorkflow(ctx, id, "", "open", nil))
	_, err = send("pass/r-1", "", true)
	require.ErrorIs(t, err, refusal)
	require.Equal(t, 1, asked)
	require.Equal(t, 1, handled(), "the guard refused: nothing was sent again")
	out, err := send("pass/r-1", "", false)
	require.NoError(t, err)
	require.Equal(t, "passed pass/r-1 #2", out)
	require.Equal(t, 2, asked)
	// A retry of that success passes the stale refusal again, so the guard
	// is asked again: what it lets through is answered with the success.
	out, err = send("pass/r-1", "", false)
	require.NoError(t, err)
	require.Equal(t, "passed pass/r-1 #2", out)
	require.Equal(t, 3, asked)
	require.Equal(t, 2, handled(), "answered, not run again")

	// A request that succeeded at once is answered without the guard.
	out, err = send("pass/r-2", "", true)
	require.NoError(t, err)
	require.Equal(t, "passed pass/r-2", out)
	out, err = send("pass/r-2", "", true)
	require.NoError(t, err)
	require.Equal(t, "passed pass/r-2", out)
	require.Equal(t, 3, asked)
}

// handledBy is how many Updates the gate id's handler ran.
func handledBy(t *testing.T, tc client.Client, id string) int {
	v, err := tc.QueryWorkflow(t.Context(), id, "", "handled")
	require.NoError(t, err)
	var n int
	require.NoError(t, v.Get(&n))
	return n
}

func TestInChain(t *testing.T) {
	for id, want := range map[string]bool{
		"refer/r-1": true, "refer/r-1 #2": true, "refer/r-1 #16": true,
		"refer/r-1 #1": false, "refer/r-1 #02": false, "refer/r-1 #x": false, "refer/r-10": false, "refer/r-1/2": false,
		"refer/r-1 #2 #3": false,
	} {
		require.Equal(t, want, updatechain.InChain("refer/r-1", id), id)
	}
	require.Equal(t, "refer/r-1", updatechain.ID("refer/r-1", 1))
	require.Equal(t, "refer/r-1 #3", updatechain.ID("refer/r-1", 3))
}
