package workflows

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// imported is a finding as an import leaves it in the ledger: numbered,
// LISTED, at version 2 (its record and list events).
func imported(severity string) casework.Finding {
	f := newFinding(severity)
	f.WorkflowID = FindingWorkflowID(f.ID)
	f.LedgerNumber = "2026-430100-0042"
	f.Stage = FindingListed
	f.Version = 2
	f.CreatedAt = start.UTC()
	f.UpdatedAt = f.CreatedAt
	return f
}

// TestFindingAdoptsAnImportedRow: a workflow started with Adopt records
// nothing and checks no recording window; it takes changes at once (one
// sent with the start comes after the notice), and a major hazard's notice
// is written and announced once.
func TestFindingAdoptsAnImportedRow(t *testing.T) {
	for _, tc := range []struct {
		severity string
		actions  []string
	}{
		{SeverityGeneral, []string{ActionDiagnose, ActionWithdraw}},
		{SeverityMajor, []string{"notify", ActionDiagnose, ActionWithdraw}},
	} {
		t.Run(tc.severity, func(t *testing.T) {
			h := newHarness(t)
			f := imported(tc.severity)
			h.fl.row = f
			diag := h.update(0, ActionDiagnose, "d1", diagnosis())
			wd := h.update(time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "合并到其他问题"})
			h.env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: f, Adopt: true})
			require.True(t, h.env.IsWorkflowCompleted())
			require.NoError(t, h.env.GetWorkflowError())
			requireDone(t, diag, wd)

			h.env.AssertNotCalled(t, "RecordFinding", mock.Anything, mock.Anything)
			require.Equal(t, tc.actions, h.fl.actions())
			require.Equal(t, FindingDiagnosed, diag.state.Finding.Stage)
			require.Equal(t, "2026-430100-0042", diag.state.Finding.LedgerNumber, "the ledger's number is kept")
			require.Equal(t, 2+len(tc.actions), h.fl.row.Version, "one version per change after the import's two")
			if tc.severity == SeverityMajor {
				require.Equal(t, FindingListed, h.fl.events[0].StageBefore)
				require.Equal(t, FindingListed, h.fl.events[0].StageAfter)
				require.Len(t, h.fl.deliveries, 1)
				require.Equal(t, "finding/f-1/major/wh-1", h.fl.deliveries[0].DeliveryID)
			} else {
				require.Empty(t, h.fl.deliveries)
			}
		})
	}
}

// TestAdoptingStart: the start adopts the row with its own stage and
// number, never starts an ID that ran before, and keeps a running one.
func TestAdoptingStart(t *testing.T) {
	f := imported(SeverityMajor)
	opts, in := AdoptingStart(f, "q")
	require.Equal(t, "finding/f-1", opts.ID)
	require.Equal(t, "q", opts.TaskQueue)
	require.True(t, in.Adopt)
	require.Equal(t, f, in.Finding)
	require.Equal(t, "2026-430100-0042 · "+f.Title, opts.StaticSummary)
	stage, ok := opts.TypedSearchAttributes.GetKeyword(searchattr.Stage)
	require.True(t, ok)
	require.Equal(t, FindingListed, stage)
	sev, _ := opts.TypedSearchAttributes.GetKeyword(searchattr.Severity)
	require.Equal(t, SeverityMajor, sev)

	// The input's zero value is the old one: histories from before Adopt
	// decode to a recording run.
	var old FindingInput
	require.NoError(t, json.Unmarshal([]byte(`{"finding":{"id":"f-1"}}`), &old))
	require.False(t, old.Adopt)
}

// TestFindingImportWorkflow: the starter runs once the API says the
// transaction ended, or, without a word (the API stopped in between), once
// the wait is over; a failed attempt is retried with what it heartbeated.
func TestFindingImportWorkflow(t *testing.T) {
	ids := []string{"f-1", "f-2", "f-3"}
	for _, tc := range []struct {
		name   string
		signal bool
		failed int // attempts that fail before one succeeds
	}{
		{"signalled", true, 0},
		{"no word from the API", false, 0},
		{"the starter crashed once", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv()
			env.SetStartTime(start)
			env.RegisterActivity(&activities.Activities{})
			var calls []activities.StartImportedFindingsInput
			var startedAt []time.Time
			env.OnActivity(acts.StartImportedFindings, mock.Anything, mock.Anything).Return(
				func(ctx context.Context, in activities.StartImportedFindingsInput) (activities.StartImportedFindingsResult, error) {
					calls = append(calls, in)
					startedAt = append(startedAt, env.Now())
					if len(calls) <= tc.failed {
						return activities.StartImportedFindingsResult{}, context.DeadlineExceeded
					}
					return activities.StartImportedFindingsResult{Started: 2, Missing: 1}, nil
				})
			if tc.signal {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalImportCommitted, nil) }, 2*time.Second)
			}
			env.ExecuteWorkflow(FindingImportWorkflow, FindingImportInput{InspectionID: "ins-1", FindingIDs: ids, CommitWait: time.Hour, Concurrency: 4})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var res FindingImportResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, FindingImportResult{Started: 2, Missing: 1}, res)
			require.Len(t, calls, tc.failed+1)
			require.Equal(t, ids, calls[0].FindingIDs)
			require.Equal(t, 4, calls[0].Concurrency)
			if tc.signal {
				require.Less(t, startedAt[0].Sub(start), time.Minute, "started on the word")
			} else {
				require.GreaterOrEqual(t, startedAt[0].Sub(start), time.Hour, "started after the wait")
			}
		})
	}
}
