package ledger_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
)

// onSite is the recording window the workflows ask for.
var onSite = []string{"STATIONED", "ONSITE_ENDED"}

// moveInspection writes the inspection's row in stage at version.
func (fx fixture) moveInspection(t *testing.T, id, stage string, version int) error {
	t.Helper()
	row, err := fx.store.GetInspection(t.Context(), id)
	require.NoError(t, err)
	before := row.Stage
	row.Stage, row.Version = stage, version
	return fx.store.ApplyInspectionChange(t.Context(), row, casework.Event{
		SubjectType: casework.SubjectInspection, SubjectID: id, Key: fmt.Sprintf("move/%s/%d", stage, version),
		Action: "move", StageBefore: before, StageAfter: stage, Actor: office, OccurredAt: time.Now(),
	})
}

func TestRecordingWindow(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	fx.inspection(t, "ins-w", "430100")
	now := time.Now()

	_, err := fx.store.RecordFinding(ctx, newFinding("f-early", "ins-w", "430100", now), "record/f-early", onSite...)
	require.Equal(t, "STAGE_NOT_ALLOWED", reason(err), "%v", err)
	require.Contains(t, err.Error(), "is PLANNED")
	require.Zero(t, fx.count(t, `SELECT count(*) FROM findings`), "nothing recorded")

	require.NoError(t, fx.moveInspection(t, "ins-w", "STATIONED", 2))
	number, err := fx.store.RecordFinding(ctx, newFinding("f-1", "ins-w", "430100", now), "record/f-1", onSite...)
	require.NoError(t, err)
	require.NoError(t, fx.moveInspection(t, "ins-w", "REPORTED", 3))
	again, err := fx.store.RecordFinding(ctx, newFinding("f-1", "ins-w", "430100", now), "record/f-1", onSite...)
	require.NoError(t, err, "a retry of a recorded finding is answered whatever the stage is now")
	require.Equal(t, number, again)
	_, err = fx.store.RecordFinding(ctx, newFinding("f-late", "ins-w", "430100", now), "record/f-late", onSite...)
	require.Equal(t, "STAGE_NOT_ALLOWED", reason(err), "%v", err)
}

// TestRecordingWindowRace records a finding while the inspection's report is
// written, many times: the finding is either refused or written before the
// report — never recorded after it.
func TestRecordingWindowRace(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	recorded, refused := 0, 0
	for i := range 30 {
		id := fmt.Sprintf("ins-race-%d", i)
		fx.inspection(t, id, "430100")
		require.NoError(t, fx.moveInspection(t, id, "ONSITE_ENDED", 2))
		fid := fmt.Sprintf("f-race-%d", i)
		var wg sync.WaitGroup
		var recordErr, reportErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, recordErr = fx.store.RecordFinding(ctx, newFinding(fid, id, "430100", time.Now()), "record/"+fid, onSite...)
		}()
		go func() { defer wg.Done(); reportErr = fx.moveInspection(t, id, "REPORTED", 3) }()
		wg.Wait()
		require.NoError(t, reportErr)
		if recordErr != nil {
			require.Equal(t, "STAGE_NOT_ALLOWED", reason(recordErr), "%v", recordErr)
			refused++
			continue
		}
		recorded++
		findingEvent := fx.count(t, `SELECT id FROM events WHERE subject_type = 'finding' AND subject_id = $1`, fid)
		reportEvent := fx.count(t, `SELECT id FROM events WHERE subject_type = 'inspection' AND subject_id = $1 AND stage_after = 'REPORTED'`, id)
		require.Less(t, findingEvent, reportEvent, "finding %s was written before the report of %s", fid, id)
	}
	t.Logf("%d findings recorded before the report, %d refused after it", recorded, refused)
}
