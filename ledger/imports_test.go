package ledger_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// importOf is an import of n findings of inspection ins (unit 430100),
// request IDs req-<prefix>-<i>.
func importOf(ins, prefix string, n int, at time.Time) ledger.FindingImport {
	in := ledger.FindingImport{InspectionID: ins, UnitCode: "430100", UnitName: "unit 430100", FoundBy: member,
		InspectionStages: onSite, At: at}
	for i := range n {
		f := newFinding(fmt.Sprintf("f-%s-%d", prefix, i), ins, "430100", at)
		f.Title = fmt.Sprintf("第%d个问题", i+1)
		if i%2 == 1 {
			f.EvidenceIDs = nil
		}
		in.Findings = append(in.Findings, f)
	}
	return in
}

// TestImportFindings: a problem list lands in one transaction at stage
// LISTED, numbered in the rows' order after the findings recorded one by
// one, each with its record and list events chained; the same list again
// writes nothing twice; outside the recording window nothing is written
// and the first new row is named.
func TestImportFindings(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	fx.inspection(t, "ins-i", "430100")
	at := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)

	// Outside the window: refused, the first row named, nothing written.
	_, err := fx.store.ImportFindings(ctx, importOf("ins-i", "a", 3, at))
	require.Equal(t, "STAGE_NOT_ALLOWED", reason(err), "%v", err)
	var rowErr *ledger.RowError
	require.ErrorAs(t, err, &rowErr)
	require.Equal(t, 0, rowErr.Index)
	require.Zero(t, fx.count(t, `SELECT count(*) FROM findings`))
	require.Zero(t, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'finding'`))

	require.NoError(t, fx.moveInspection(t, "ins-i", "STATIONED", 2))
	one, err := fx.store.RecordFinding(ctx, newFinding("f-one", "ins-i", "430100", at), "record/req-f-one", onSite...)
	require.NoError(t, err)
	require.Equal(t, "2026-430100-0001", one)

	rows, err := fx.store.ImportFindings(ctx, importOf("ins-i", "a", 3, at))
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for i, r := range rows {
		require.True(t, r.Created)
		require.Equal(t, fmt.Sprintf("f-a-%d", i), r.ID)
		require.Equal(t, fmt.Sprintf("2026-430100-%04d", i+2), r.LedgerNumber)
		require.Equal(t, at.Truncate(time.Microsecond).Add(time.Duration(i)*time.Microsecond), r.CreatedAt)
		f, err := fx.store.GetFinding(ctx, r.ID)
		require.NoError(t, err)
		require.Equal(t, "LISTED", f.Stage)
		require.Equal(t, r.LedgerNumber, f.LedgerNumber)
		require.Equal(t, 2, f.Version)
		require.Equal(t, member, f.FoundBy)
		require.Equal(t, fmt.Sprintf("第%d个问题", i+1), f.Title)
		if i%2 == 1 {
			require.Empty(t, f.EvidenceIDs)
		} else {
			require.Equal(t, []string{"ev-1", "ev-2"}, f.EvidenceIDs)
		}
		events, err := fx.store.Events(ctx, casework.SubjectFinding, r.ID)
		require.NoError(t, err)
		require.Len(t, events, 2)
		require.Equal(t, "record/req-"+r.ID, events[0].Key)
		require.Equal(t, "record", events[0].Action)
		require.Equal(t, "FOUND", events[0].StageAfter)
		require.Equal(t, member, events[0].Actor)
		require.Equal(t, "list/req-"+r.ID, events[1].Key)
		require.Equal(t, "FOUND", events[1].StageBefore)
		require.Equal(t, "LISTED", events[1].StageAfter)
		require.Equal(t, "entered in the problem ledger as "+r.LedgerNumber, events[1].Note)
		require.Less(t, events[0].ID, events[1].ID)
	}
	report := fx.verify(t, ledger.VerifyOptions{})
	require.True(t, report.OK(), "%v", report.Problems)

	// The same list with a new row, once the team has reported: the rows
	// recorded are answered as they stand, the new one is refused by name.
	require.NoError(t, fx.moveInspection(t, "ins-i", "ONSITE_ENDED", 3))
	more := importOf("ins-i", "a", 4, at.Add(time.Hour))
	again, err := fx.store.ImportFindings(ctx, ledger.FindingImport{InspectionID: more.InspectionID, UnitCode: more.UnitCode,
		UnitName: more.UnitName, FoundBy: office, Findings: more.Findings[:3], InspectionStages: onSite, At: more.At})
	require.NoError(t, err)
	for i, r := range again {
		require.False(t, r.Created)
		require.Equal(t, rows[i].LedgerNumber, r.LedgerNumber)
		require.Equal(t, rows[i].CreatedAt, r.CreatedAt)
	}
	require.NoError(t, fx.moveInspection(t, "ins-i", "REPORTED", 4))
	_, err = fx.store.ImportFindings(ctx, more)
	require.Equal(t, "STAGE_NOT_ALLOWED", reason(err), "%v", err)
	require.ErrorAs(t, err, &rowErr)
	require.Equal(t, 3, rowErr.Index)
	require.Equal(t, 4, fx.count(t, `SELECT count(*) FROM findings`))

	// A finding ID another request holds is refused.
	taken := importOf("ins-i", "a", 1, at)
	taken.Findings[0].RequestID = "someone-else"
	taken.InspectionStages = nil
	_, err = fx.store.ImportFindings(ctx, taken)
	require.True(t, errors.Is(err, derrors.ErrAlreadyExists), "%v", err)
	report = fx.verify(t, ledger.VerifyOptions{})
	require.True(t, report.OK(), "%v", report.Problems)
}

// TestImportFindingsAtOnce: the same list imported twice at the same
// moment is written once; both answer every row.
func TestImportFindingsAtOnce(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	fx.inspection(t, "ins-c", "430100")
	require.NoError(t, fx.moveInspection(t, "ins-c", "STATIONED", 2))
	in := importOf("ins-c", "c", 50, time.Now())
	type answer struct {
		rows []ledger.ImportedRow
		err  error
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			rows, err := fx.store.ImportFindings(ctx, in)
			answers <- answer{rows, err}
		}()
	}
	created := 0
	for range 2 {
		a := <-answers
		require.NoError(t, a.err)
		require.Len(t, a.rows, 50)
		for _, r := range a.rows {
			if r.Created {
				created++
			}
		}
	}
	require.Equal(t, 50, created, "each row created by one of them")
	require.Equal(t, 50, fx.count(t, `SELECT count(*) FROM findings`))
	require.Equal(t, 50, fx.count(t, `SELECT last FROM ledger_sequences WHERE unit_code = '430100'`), "no number lost")
}
