package activities_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/ledger"
)

// TestStartImportedFindings: the starter starts every finding of the list
// the ledger holds, once, in chunks; IDs the ledger does not hold are
// counted, not started; an attempt after a crash goes on from the progress
// it heartbeated; a start that fails fails the attempt, to be retried.
func TestStartImportedFindings(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	fx.inspection(t, "ins-1", "430100")
	in := ledger.FindingImport{InspectionID: "ins-1", UnitCode: "430100", UnitName: "长沙市", FoundBy: office, At: time.Now()}
	for i := range 450 {
		id := fmt.Sprintf("f-%03d", i)
		in.Findings = append(in.Findings, casework.Finding{Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "finding/" + id, RequestID: "import-" + id},
			Title: "问题" + id, Kind: "RESPONSIBILITY", ContentArea: 5})
	}
	_, err := fx.store.ImportFindings(ctx, in)
	require.NoError(t, err)
	var ids []string
	for i, f := range in.Findings {
		ids = append(ids, f.ID)
		if i == 10 || i == 420 {
			ids = append(ids, fmt.Sprintf("f-missing-%d", i)) // a row whose transaction was refused
		}
	}

	var mu sync.Mutex
	var started []string
	var fail string
	fx.acts.AdoptFinding = func(_ context.Context, f casework.Finding) error {
		mu.Lock()
		defer mu.Unlock()
		if f.ID == fail {
			return errors.New("temporal: unavailable")
		}
		require.Equal(t, "LISTED", f.Stage)
		require.NotEmpty(t, f.LedgerNumber)
		started = append(started, f.ID)
		return nil
	}
	run := func(env *testsuite.TestActivityEnvironment) (activities.StartImportedFindingsResult, error) {
		v, err := env.ExecuteActivity(fx.acts.StartImportedFindings,
			activities.StartImportedFindingsInput{InspectionID: "ins-1", FindingIDs: ids, Concurrency: 8})
		var res activities.StartImportedFindingsResult
		if err == nil {
			require.NoError(t, v.Get(&res))
		}
		return res, err
	}

	res, err := run(fx.env)
	require.NoError(t, err)
	require.Equal(t, activities.StartImportedFindingsResult{Started: 450, Missing: 2}, res)
	slices.Sort(started)
	require.Equal(t, slices.Compact(slices.Clone(started)), started, "each started once")
	require.Len(t, started, 450)

	// An attempt after a crash: the heartbeat says 300 of the IDs are done.
	started = nil
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(fx.acts)
	env.SetHeartbeatDetails(map[string]int{"done": 300, "started": 299, "missing": 1})
	res, err = run(env)
	require.NoError(t, err)
	require.Equal(t, activities.StartImportedFindingsResult{Started: 450, Missing: 2}, res)
	require.Len(t, started, len(ids)-300-1, "only the IDs after the progress, less the missing one")
	require.NotContains(t, started, "f-000")

	// A start that fails fails the attempt.
	fail = "f-200"
	_, err = run(fx.env)
	require.ErrorContains(t, err, `starting the workflow of finding "f-200"`)
}
