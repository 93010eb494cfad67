package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/problemlist"
	"github.com/xuncha/xuncha/workflows"
)

// quietTB is a benchmark's testing.TB whose stack logs nothing
// (setupStackObserved): at debug level the worker writes some ten lines per
// finding, which would be much of the work measured.
type quietTB struct{ testing.TB }

// envInt is an integer from the environment, or def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err, name)
	return n
}

// BenchmarkImport measures POST /v1/inspections/{id}/findings:import of a
// workbook of XUNCHA_BENCH_IMPORT_ROWS rows (default 10,000) into a fresh
// inspection each time, through the whole stack: the API checks every row
// and writes them all to the ledger in one transaction, numbered and
// LISTED, and answers; the import's workflow then starts the findings'
// workflows (XUNCHA_BENCH_IMPORT_CONCURRENCY at a time, default
// api.DefaultImportConcurrency). It reports two times: until the answer
// (s-to-answer, and rows/s of it) and until every finding's workflow
// exists (s-to-workflows: the import's workflow has ended). Run it with
// `make bench-import` (issue 13 item 3: ≤ 60 s).
func BenchmarkImport(b *testing.B) {
	rows := envInt(b, "XUNCHA_BENCH_IMPORT_ROWS", 10_000)
	concurrency := envInt(b, "XUNCHA_BENCH_IMPORT_CONCURRENCY", api.DefaultImportConcurrency)
	s := setupConfigured(quietTB{b}, func(srv *api.Server, _ string) {
		srv.Log = zap.NewNop()
		srv.Import.Concurrency = concurrency
	})
	ev := s.evidence("evidence of " + b.Name())

	var buf bytes.Buffer
	require.NoError(b, problemlist.WriteTemplate(&buf))
	f, err := excelize.OpenReader(&buf)
	require.NoError(b, err)
	header, err := f.GetRows(problemlist.SheetFindings)
	require.NoError(b, err)
	values := map[string]func(n int) any{
		"问题类别": func(int) any { return "事故隐患" }, "严重程度": func(int) any { return "一般" }, "巡查内容": func(n int) any { return n%10 + 1 },
		"问题标题": func(n int) any {
			return fmt.Sprintf("第%d个问题：危化品仓库未设置可燃气体报警装置", n)
		},
		"问题描述": func(int) any {
			return "检查发现某危化品仓库未按规定设置可燃气体检测报警装置。"
		},
		"整改要求": func(int) any { return "限期安装报警装置。" }, "证据编号": func(int) any { return ev },
	}
	for n := 1; n <= rows; n++ {
		row := make([]any, len(header[0]))
		for i, h := range header[0] {
			if v, ok := values[h]; ok {
				row[i] = v(n)
			}
		}
		require.NoError(b, f.SetSheetRow(problemlist.SheetFindings, "A"+strconv.Itoa(n+1), &row))
	}
	workbook, err := f.WriteToBuffer()
	require.NoError(b, err)
	require.NoError(b, f.Close())
	b.Logf("a workbook of %d rows, %d bytes; %d workflows started at a time", rows, workbook.Len(), concurrency)

	var answered, workflowsExist time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		inspection := s.createInspectionOf(fmt.Sprintf("bench-%d", i), "430100", nil)
		b.StartTimer()
		started := time.Now()
		code, report := s.importList(member, inspection, "", workbook.Bytes())
		answered += time.Since(started)
		b.StopTimer()
		require.Equal(b, http.StatusOK, code, "%v", report["message"])
		require.Equal(b, float64(rows), report["recorded"])
		b.StartTimer()
		var res workflows.FindingImportResult
		require.NoError(b, s.Temporal.GetWorkflow(b.Context(), report["import_workflow_id"].(string), "").Get(b.Context(), &res))
		workflowsExist += time.Since(started)
		b.StopTimer()
		require.Equal(b, workflows.FindingImportResult{Started: rows}, res)
		b.Logf("import %d: answered after %s, every finding's workflow started after %s", i, answered, workflowsExist)
		b.StartTimer()
	}
	b.ReportMetric(answered.Seconds()/float64(b.N), "s-to-answer")
	b.ReportMetric(float64(rows)*float64(b.N)/answered.Seconds(), "rows/s")
	b.ReportMetric(workflowsExist.Seconds()/float64(b.N), "s-to-workflows")
	b.ReportMetric(float64(rows), "rows/op")
}
