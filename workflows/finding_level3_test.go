package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// levelRun is one finding run to the end of a lifecycle, as the
// time-skipping suite saw it: the search attributes it started with and
// those it upserted, whether it asked versionLocalLedger, and the ledger.
type levelRun struct {
	h       *harness
	start   temporal.SearchAttributes
	upserts []temporal.SearchAttributes
	asked   bool
}

// registerLevelThree registers the level-3 type, which
// levelRun.startAsTheAPI starts, apart from FindingWorkflow's own name,
// which the suite's runs of the function (h.run) go on starting.
func registerLevelThree(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in FindingInput) (LifecycleResult, error) {
		return FindingWorkflow(ctx, in)
	}, workflow.RegisterOptions{Name: FindingWorkflowName})
}

// watchLevel records a run's upserts and whether it asks its level.
func watchLevel(h *harness) *levelRun {
	r := &levelRun{h: h}
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		r.upserts = append(r.upserts, args.Get(0).(temporal.SearchAttributes))
	}).Return(nil)
	h.env.OnGetVersion(versionLocalLedger, workflow.DefaultVersion, levelTwo).Run(func(mock.Arguments) { r.asked = true }).Return(levelTwo)
	return r
}

// startAsTheAPI starts f as the API's create does (CreatingStart): the
// level-3 type, with the listed finding's search attributes.
func (r *levelRun) startAsTheAPI(f casework.Finding) {
	opts, in, workflowType := CreatingStart(f, "xuncha")
	require.NoError(r.h.t, r.h.env.SetTypedSearchAttributesOnStart(opts.TypedSearchAttributes))
	r.start = opts.TypedSearchAttributes
	r.h.env.ExecuteWorkflow(workflowType, in)
	require.True(r.h.t, r.h.env.IsWorkflowCompleted())
}

// TestLevelThreeSparesTheMarkerAndTheFirstUpsert runs one lifecycle twice:
// started as a level-2 run is (by its marker), and as the API starts a
// finding now (CreatingStart, a level-3 type). The level-3 run asks no
// versionLocalLedger and, for a finding listed as it is recorded, upserts
// nothing then: its start already set what the level-2 run upserts there.
// A major hazard is notified between record and list, so both runs start
// FOUND and publish its listing. The ledger is written the same either way.
func TestLevelThreeSparesTheMarkerAndTheFirstUpsert(t *testing.T) {
	for _, severity := range []string{SeverityGeneral, SeverityMajor} {
		t.Run(severity, func(t *testing.T) {
			lifecycle := func() (*levelRun, *result) {
				r := watchLevel(newHarness(t))
				return r, r.h.verifiedAt()
			}
			two, verifiedTwo := lifecycle()
			two.h.run(newFinding(severity))
			three, verifiedThree := lifecycle()
			three.startAsTheAPI(newFinding(severity))
			require.NoError(t, three.h.env.GetWorkflowError())
			requireDone(t, verifiedTwo, verifiedThree)

			require.True(t, two.asked, "a run of the earlier type asks its level")
			require.False(t, three.asked, "a level-3 run's type says its level")
			require.Equal(t, two.h.fl.events, three.h.fl.events)
			require.Equal(t, two.h.fl.row, three.h.fl.row)
			require.Equal(t, verifiedTwo.state.Finding, verifiedThree.state.Finding)

			if severity == SeverityMajor {
				require.Equal(t, two.upserts, three.upserts)
				found, _ := three.start.GetKeyword(searchattr.Stage)
				require.Equal(t, FindingFound, found, "a finding notified at once starts FOUND")
				return
			}
			require.Equal(t, two.upserts[1:], three.upserts, "the level-3 run upserts all but the first")
			listed, _ := two.upserts[0].GetKeyword(searchattr.Stage)
			require.Equal(t, FindingListed, listed)
			// What the start set is what a level-2 run has once its first
			// upsert is done: the start's own attributes, and the listing.
			f := newFinding(severity)
			want := temporal.NewSearchAttributes(findingAttributes(f)...).GetUntypedValues()
			for k, v := range two.upserts[0].GetUntypedValues() {
				want[k] = v
			}
			require.Equal(t, want, three.start.GetUntypedValues())
		})
	}
}

// TestLevelThreeRefusedFindingShowsFound: a level-3 finding the ledger
// refuses fails its run as before, and its search attributes, which the
// start set for the listed finding, say FOUND again, as those of a
// refused run of the earlier type do.
func TestLevelThreeRefusedFindingShowsFound(t *testing.T) {
	h := &harness{t: t, env: newTestEnv()}
	h.env.SetStartTime(start)
	registerLevelThree(h.env)
	h.env.RegisterActivity(&activities.Activities{})
	h.env.OnActivity(acts.RecordFinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordFindingInput) (activities.RecordFindingResult, error) {
			return activities.RecordFindingResult{}, activities.LedgerError("recording finding "+in.Finding.ID, &derrors.StageError{
				Reason: "STAGE_NOT_ALLOWED", Subject: "inspection/ins-1", Action: "recordFinding", Stage: StageReported,
				Allowed: in.InspectionStages, Message: "inspection \"ins-1\" is REPORTED"})
		})
	r := watchLevel(h)
	r.startAsTheAPI(newFinding(SeverityGeneral))

	var app *temporal.ApplicationError
	require.ErrorAs(t, h.env.GetWorkflowError(), &app)
	require.Equal(t, "CREATE_REFUSED", app.Type())
	require.Len(t, r.upserts, 1)
	stage, _ := r.upserts[0].GetKeyword(searchattr.Stage)
	require.Equal(t, FindingFound, stage)
}

// TestCreatingStartNamesTheLevelThreeType: the API's create starts the
// type typeLevels puts at level 3, and marks the start as listed unless
// the finding is notified at once.
func TestCreatingStartNamesTheLevelThreeType(t *testing.T) {
	_, in, workflowType := CreatingStart(newFinding(SeverityGeneral), "xuncha")
	require.Equal(t, levelThree, typeLevels[workflowType])
	require.True(t, in.StartedListed)
	_, in, _ = CreatingStart(newFinding(SeverityMajor), "xuncha")
	require.False(t, in.StartedListed, "a finding notified at once is not listed as it is recorded")
	require.NotEqual(t, FindingWorkflowBefore3Name, workflowType)
}
