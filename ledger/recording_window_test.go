package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/ledger"
)

// onSite is the recording window the workflows ask for.
var onSite = []string{"STATIONED", "ONSITE_ENDED"}

// moveInspection writes the inspection's row in stage at version.
func (fx fixture) moveInspection(t *testing.T, id, stage string, version int, opts ...ledger.InspectionChangeOptions) error {
	t.Helper()
	row, err := fx.store.GetInspection(t.Context(), id)
	require.NoError(t, err)
	before := row.Stage
	row.Stage, row.Version = stage, version
	return fx.store.ApplyInspectionChange(t.Context(), row, casework.Event{
		SubjectType: casework.SubjectInspection, SubjectID: id, Key: fmt.Sprintf("move/%s/%d", stage, version),
		Action: "move", StageBefore: before, StageAfter: stage, Actor: office, OccurredAt: time.Now(),
	}, append(opts, ledger.InspectionChangeOptions{})[0])
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
	recorded, refused := 0, 0
	fx.raceTheReport(t, "race", ledger.InspectionChangeOptions{}, func(id string, i int) error {
		fid := fmt.Sprintf("f-race-%d", i)
		_, err := fx.store.RecordFinding(t.Context(), newFinding(fid, id, "430100", time.Now()), "record/"+fid, onSite...)
		return err
	}, func(id string, i int, recordErr, reportErr error) {
		require.NoError(t, reportErr)
		if recordErr != nil {
			require.Equal(t, "STAGE_NOT_ALLOWED", reason(recordErr), "%v", recordErr)
			refused++
			return
		}
		recorded++
		fid := fmt.Sprintf("f-race-%d", i)
		findingEvent := fx.count(t, `SELECT id FROM events WHERE subject_type = 'finding' AND subject_id = $1`, fid)
		reportEvent := fx.count(t, `SELECT id FROM events WHERE subject_type = 'inspection' AND subject_id = $1 AND stage_after = 'REPORTED'`, id)
		require.Less(t, findingEvent, reportEvent, "finding %s was written before the report of %s", fid, id)
	})
	t.Logf("%d findings recorded before the report, %d refused after it", recorded, refused)
}

// raceTheReport, 30 times, has write write something of a new ONSITE_ENDED
// inspection while the inspection's report is written (with opts), and
// hands check the two errors.
func (fx fixture) raceTheReport(t *testing.T, prefix string, opts ledger.InspectionChangeOptions, write func(inspectionID string, i int) error,
	check func(inspectionID string, i int, writeErr, reportErr error),
) {
	t.Helper()
	for i := range 30 {
		id := fmt.Sprintf("ins-%s-%d", prefix, i)
		fx.inspection(t, id, "430100")
		require.NoError(t, fx.moveInspection(t, id, "ONSITE_ENDED", 2))
		var wg sync.WaitGroup
		var writeErr, reportErr error
		wg.Go(func() { writeErr = write(id, i) })
		wg.Go(func() { reportErr = fx.moveInspection(t, id, "REPORTED", 3, opts) })
		wg.Wait()
		check(id, i, writeErr, reportErr)
	}
}

// receivable is the tip window the API asks for (workflows.TipReceivingStages).
var receivable = []string{"NOTIFIED", "STATIONED", "ONSITE_ENDED"}

// tipOf is a tip of inspection id.
func tipOf(id, inspectionID string) ledger.Tip {
	return ledger.Tip{ID: id, RequestID: "req-" + id, InspectionID: inspectionID, Channel: "LETTER", ReceivedOn: "2026-04-02",
		Content: "某化工厂夜间违规生产", ReceivedBy: member}
}

// TestReportWaitsForEveryTip: tips are received from the inspection's
// notice until the team reports, and the report is refused while one is
// not triaged. A tip nobody triaged held nothing back: the inspection went
// on to CLOSED with the tip still RECEIVED, and a tip was received even for
// a cancelled inspection.
func TestReportWaitsForEveryTip(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	fx.inspection(t, "ins-t", "430100")
	reported := ledger.InspectionChangeOptions{TipsTriaged: true}

	_, _, err := fx.store.ReceiveTip(ctx, tipOf("tip-early", "ins-t"), receivable...)
	require.Equal(t, "STAGE_NOT_ALLOWED", reason(err), "%v", err)
	require.Contains(t, err.Error(), "is PLANNED")
	require.NoError(t, fx.moveInspection(t, "ins-t", "ONSITE_ENDED", 2))
	for _, id := range []string{"tip-1", "tip-2"} {
		_, _, err = fx.store.ReceiveTip(ctx, tipOf(id, "ins-t"), receivable...)
		require.NoError(t, err)
	}

	err = fx.moveInspection(t, "ins-t", "REPORTED", 3, reported)
	require.Equal(t, "TIPS_UNTRIAGED", reason(err), "%v", err)
	require.Contains(t, err.Error(), "2 tip(s) not yet triaged (tip-1, tip-2)")
	row, err := fx.store.GetInspection(ctx, "ins-t")
	require.NoError(t, err)
	require.Equal(t, "ONSITE_ENDED", row.Stage, "nothing written")
	require.NoError(t, fx.moveInspection(t, "ins-t", "REPORTED", 3), "a change that does not ask is not held back")
	require.NoError(t, fx.moveInspection(t, "ins-t", "ONSITE_ENDED", 4))

	for i, id := range []string{"tip-1", "tip-2"} {
		_, err = fx.store.TriageTip(ctx, id, ledger.TipTriage{DismissReason: "内容不实", By: office, EventKey: fmt.Sprint("triage/", i)})
		require.NoError(t, err)
	}
	require.NoError(t, fx.moveInspection(t, "ins-t", "REPORTED", 5, reported))
	_, _, err = fx.store.ReceiveTip(ctx, tipOf("tip-late", "ins-t"), receivable...)
	require.Equal(t, "STAGE_NOT_ALLOWED", reason(err), "%v", err)
	again, created, err := fx.store.ReceiveTip(ctx, tipOf("tip-1", "ins-t"), receivable...)
	require.NoError(t, err, "a retry of a tip received is answered whatever the stage is now")
	require.False(t, created)
	require.Equal(t, ledger.TipDismissed, again.Stage)
}

// TestTipAndReportRace receives a tip while the team's report is written,
// many times: either the tip is received and the report refused, or the
// report is written and the tip refused — never a tip left RECEIVED on a
// reported inspection.
func TestTipAndReportRace(t *testing.T) {
	fx := setup(t)
	received, refused := 0, 0
	fx.raceTheReport(t, "tr", ledger.InspectionChangeOptions{TipsTriaged: true}, func(id string, i int) error {
		_, _, err := fx.store.ReceiveTip(t.Context(), tipOf(fmt.Sprintf("tip-tr-%d", i), id), receivable...)
		return err
	}, func(_ string, _ int, tipErr, reportErr error) {
		if tipErr == nil {
			received++
			require.Equal(t, "TIPS_UNTRIAGED", reason(reportErr), "%v", reportErr)
			return
		}
		refused++
		require.Equal(t, "STAGE_NOT_ALLOWED", reason(tipErr), "%v", tipErr)
		require.NoError(t, reportErr)
	})
	t.Logf("%d tips received before the report (which was refused), %d refused after it", received, refused)
}

// TestRetryBehindItsFirstAttempt is a retry of a finding's record (a tip's
// receipt) that asks whether it is one while its first attempt's
// transaction is still open, and reads the inspection's stage only after
// the team's report, queued behind that attempt, moved it on: the retry
// is answered as the first attempt was, not refused for the stage. The
// report is held open in a transaction of the test's, so that the retry
// waits for it after its first question; the first attempt, written
// meanwhile, is one whose window was checked before (written here without
// the check, which the open report would hold up).
func TestRetryBehindItsFirstAttempt(t *testing.T) {
	fx := setup(t)
	for _, tc := range []struct {
		name   string
		window []string
		write  func(inspectionID string, window []string) (string, error)
	}{
		{"finding", onSite, func(inspectionID string, window []string) (string, error) {
			return fx.store.RecordFinding(t.Context(), newFinding("f-behind", inspectionID, "430100", time.Now()), "record/f-behind", window...)
		}},
		{"tip", receivable, func(inspectionID string, window []string) (string, error) {
			tip, _, err := fx.store.ReceiveTip(t.Context(), tipOf("tip-behind", inspectionID), window...)
			return tip.ID, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			id := "ins-behind-" + tc.name
			fx.inspection(t, id, "430100")
			require.NoError(t, fx.moveInspection(t, id, "STATIONED", 2))

			report, err := pgx.Connect(ctx, fx.ownerURL)
			require.NoError(t, err)
			defer report.Close(context.WithoutCancel(ctx))
			tx, err := report.Begin(ctx)
			require.NoError(t, err)
			// Rolled back only when the test stops before its commit below.
			defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
			_, err = tx.Exec(ctx, `UPDATE inspections SET stage = 'REPORTED', version = 3 WHERE id = $1`, id)
			require.NoError(t, err)

			type result struct {
				answer string
				err    error
			}
			retry := make(chan result, 1)
			go func() {
				answer, err := tc.write(id, tc.window)
				retry <- result{answer, err}
			}()
			require.Eventually(t, func() bool {
				return fx.count(t, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, report.PgConn().PID()) == 1
			}, 10*time.Second, 5*time.Millisecond, "the retry waits for the report after asking whether it is one")

			first, err := tc.write(id, nil)
			require.NoError(t, err, "the first attempt")
			require.NoError(t, tx.Commit(ctx))

			got := <-retry
			require.NoError(t, got.err, "the retry is answered as the first attempt was")
			require.Equal(t, first, got.answer)
		})
	}
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM findings WHERE id = 'f-behind'`))
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM tips WHERE id = 'tip-behind'`))
}
