package problemlist_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/problemlist"
)

// TestExportPagesThroughTheLedger: small pages make one list, in the
// ledger's order, numbered without gaps; the workbook's limit refuses the
// whole before anything is written; CSV writes a cell a spreadsheet would
// take for a formula as text.
func TestExportPagesThroughTheLedger(t *testing.T) {
	t.Parallel()
	store, db := testenv.Ledger(t)
	testenv.SeedLedger(t, db, 1200) // three inspections of 400 … 500 findings
	conn, err := pgx.Connect(t.Context(), db.OwnerURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(t.Context()) })
	_, err = conn.Exec(t.Context(), `UPDATE findings SET title = '=HYPERLINK("http://example.com")'
		WHERE id = (SELECT id FROM findings ORDER BY created_at, id LIMIT 1)`)
	require.NoError(t, err)
	all := problemlist.Selection{AsOf: time.Now()}

	exporter := &problemlist.Exporter{Ledger: store, PageSize: 7, TmpDir: t.TempDir()}
	var out bytes.Buffer
	require.NoError(t, exporter.WriteXLSX(t.Context(), all, &out))
	f, err := excelize.OpenReader(&out)
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows(problemlist.SheetFindings)
	require.NoError(t, err)
	require.Len(t, rows, 1+1200)
	want, err := store.ListFindings(t.Context(), ledger.FindingFilter{}, 1200, "")
	require.NoError(t, err)
	for i, r := range rows[1:] {
		require.Equal(t, strconv.Itoa(i+1), r[0])
		require.Equal(t, want.Findings[i].LedgerNumber, r[1], "row %d", i+1)
	}
	require.Equal(t, `=HYPERLINK("http://example.com")`, rows[1][9], "a workbook cell is text, never a formula")
	formula, err := f.GetCellFormula(problemlist.SheetFindings, "J2")
	require.NoError(t, err)
	require.Empty(t, formula)

	// A unit user's list and statistics hold its own unit's findings only.
	out.Reset()
	unit := ledger.FindingFilter{Reach: ledger.Reach{ByUnit: true, Units: []string{"430102"}}}
	require.NoError(t, exporter.WriteXLSX(t.Context(), problemlist.Selection{Filter: unit, AsOf: time.Now()}, &out))
	f2, err := excelize.OpenReader(&out)
	require.NoError(t, err)
	defer f2.Close()
	rows, err = f2.GetRows(problemlist.SheetFindings)
	require.NoError(t, err)
	require.Len(t, rows, 1+500, "the second inspection, of 430102")
	for _, r := range rows[1:] {
		require.Equal(t, "430102", r[3])
	}
	stats, err := f2.GetRows(problemlist.SheetStatistics)
	require.NoError(t, err)
	require.Contains(t, stats[1][1], "本单位（430102）")
	last := stats[len(stats)-1]
	require.Equal(t, []string{"合计", "", "500"}, last[:3])

	// One inspection's: its statistics name it as the office does (they
	// named its ID alone).
	out.Reset()
	one := ledger.FindingFilter{InspectionID: want.Findings[0].InspectionID}
	in, err := store.GetInspection(t.Context(), one.InspectionID)
	require.NoError(t, err)
	require.NoError(t, exporter.WriteXLSX(t.Context(), problemlist.Selection{Filter: one, AsOf: time.Now()}, &out))
	f3, err := excelize.OpenReader(&out)
	require.NoError(t, err)
	defer f3.Close()
	stats, err = f3.GetRows(problemlist.SheetStatistics)
	require.NoError(t, err)
	require.Contains(t, stats[1][1], "巡查 "+in.UnitName+"（"+in.UnitCode+"）"+i18n.InspectionKind(in.Kind))
	require.Contains(t, stats[1][1], in.ID)

	// Out of the caller's reach: named by the ID the caller gave alone.
	out.Reset()
	other := ledger.FindingFilter{InspectionID: in.ID, Reach: ledger.Reach{ByUnit: true, Units: []string{"999999"}}}
	require.NoError(t, exporter.WriteXLSX(t.Context(), problemlist.Selection{Filter: other, AsOf: time.Now()}, &out))
	f4, err := excelize.OpenReader(&out)
	require.NoError(t, err)
	defer f4.Close()
	stats, err = f4.GetRows(problemlist.SheetStatistics)
	require.NoError(t, err)
	require.Contains(t, stats[1][1], "巡查 "+in.ID)
	require.NotContains(t, stats[1][1], in.UnitName)

	// More than a workbook may hold: refused, nothing written.
	out.Reset()
	small := &problemlist.Exporter{Ledger: store, MaxRows: 1000}
	err = small.WriteXLSX(t.Context(), all, &out)
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
	require.ErrorContains(t, err, "format=csv")
	require.Zero(t, out.Len())

	// CSV has no such limit; a formula-like cell is written as text.
	out.Reset()
	require.NoError(t, small.WriteCSV(t.Context(), all, &out))
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out.Bytes(), []byte("\xEF\xBB\xBF")))).ReadAll()
	require.NoError(t, err)
	require.Len(t, records, 1+1200)
	require.Equal(t, `'=HYPERLINK("http://example.com")`, records[1][9])
}
