package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/deadline"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// (api.TestInspectionProcedureREST with XUNCHA_RECORD_HISTORIES=1) against the
// current workflow code. A change that would break running workflows fails
// here: guard it with workflow.GetVersion, then record again.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "replay", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			replayer := worker.NewWorkflowReplayer()
			RegisterWorkflows(replayer)
			require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, file))
		})
	}
}

// TestDeadlineRulesMatchRecordedHistories checks that the deadline package's
// rule constructors build exactly the ResolveDeadline inputs that recorded
// workflows sent, so the rules moved out of the workflows without changing
// what running workflows compute.
func TestDeadlineRulesMatchRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "replay", "*.json"))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, file := range files {
		f, err := os.Open(file)
		require.NoError(t, err)
		history, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
		require.NoError(t, f.Close())
		require.NoError(t, err, file)
		for _, e := range history.GetEvents() {
			attrs := e.GetActivityTaskScheduledEventAttributes()
			if attrs.GetActivityType().GetName() != "ResolveDeadline" {
				continue
			}
			var in activities.ResolveDeadlineInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in))
			r := in.Rule
			var rebuilt deadline.Rule
			switch r.Field {
			case "onsite_ended_on":
				rebuilt = deadline.TeamReport(r.From)
			case "feedback_received_on", "feedback_delivered_on":
				rebuilt = deadline.Rectification(r.Field, r.From, r.Due)
			case "due":
				rebuilt = deadline.RectificationAgain(r.From, r.Due)
			case "held_on":
				rebuilt = deadline.FollowUp(r.From, r.WorkingDays)
			default:
				t.Fatalf("%s: no deadline constructor for the recorded rule %+v", file, r)
			}
			// Rule.Steps came after these histories: their rules take every
			// step of the ladder, and the lifecycle leaves out what it does
			// not take (core.steps), as it still does for them.
			require.Empty(t, r.Steps, "%s event %d", file, e.GetEventId())
			rebuilt.Steps = nil
			require.Equal(t, r, rebuilt, "%s event %d", file, e.GetEventId())
			seen[r.Field] = true
		}
	}
	require.Len(t, seen, 5, "the recorded histories cover every rule, seen: %v", seen)
}
