package api_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/internal/actor"
)

// exportHeaders are the problem list's columns, in order.
var exportHeaders = []string{"序号", "问题编号", "被巡查单位", "单位代码", "巡查轮次", "问题类别", "严重程度", "重要问题", "巡查内容",
	"问题标题", "问题描述", "诊断分析", "处置方式", "整改要求", "移交单位", "整改时限", "整改情况", "状态", "当前逾期", "逾期次数", "退回重改次数",
	"发现日期", "销号日期", "备注", "证据编号"}

// column is the spreadsheet column (A, B, …) of a header.
func column(t testing.TB, header string) string {
	t.Helper()
	for i, h := range exportHeaders {
		if h == header {
			name, err := excelize.ColumnNumberToName(i + 1)
			require.NoError(t, err)
			return name
		}
	}
	t.Fatalf("no column %s", header)
	return ""
}

// export downloads GET /v1/findings:export?query as who.
func (s *stack) export(who actor.Actor, query string) (*http.Response, []byte) {
	s.t.Helper()
	resp, err := s.getAs(who, "/v1/findings:export?"+query)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return resp, body
}

// TestExportFindings: the problem list as a workbook — Chinese headers,
// one row per finding of the filter in the caller's scope, Chinese values,
// date cells, the header frozen, an auto filter, the statistics sheet —
// and as CSV with a byte order mark; refusals name the parameter (issue
// 13 item 2).
func TestExportFindings(t *testing.T) {
	s := setup(t)
	changsha := s.createInspection()
	zz := s.createInspectionOf("zhuzhou", "430200", nil)
	closed := s.recordFinding(changsha, "closed", "GENERAL")["id"].(string)
	s.closeOut(closed, today().AddDays(-5).String())
	s.recordFinding(changsha, "major", "MAJOR")
	s.recordFinding(changsha, "listed", "GENERAL")
	s.recordFinding(zz, "zhuzhou", "GENERAL")

	resp, body := s.export(office, "format=xlsx&unit_code=430100")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", resp.Header.Get("Content-Type"))
	require.Regexp(t, `^attachment; filename="findings-\d{4}-\d{2}-\d{2}\.xlsx"; filename\*=UTF-8''%E9%97%AE`, resp.Header.Get("Content-Disposition"))

	f, err := excelize.OpenReader(bytes.NewReader(body))
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{"问题清单", "统计"}, f.GetSheetList())
	rows, err := f.GetRows("问题清单")
	require.NoError(t, err)
	require.Equal(t, exportHeaders, rows[0])
	require.Len(t, rows, 1+3, "the header and Changsha's three findings")
	byStage := map[string][]string{}
	for i, r := range rows[1:] {
		require.Equal(t, strconv.Itoa(i+1), r[0], "序号")
		require.Regexp(t, `^\d{4}-430100-\d{4}$`, r[1])
		byStage[r[17]] = r
	}
	require.Equal(t, []string{"已建立清单", "已销号"}, sortedKeys(byStage))
	done := byStage["已销号"]
	require.Equal(t, "长沙市", done[2])
	require.Equal(t, "2026年第一轮", done[4])
	require.Equal(t, "事故隐患", done[5])
	require.Equal(t, "一般", done[6])
	require.Equal(t, "三(一)3", done[8])
	require.Contains(t, done[11], "风险等级：较大风险")
	require.Equal(t, "责令整改、挂牌督办", done[12])
	require.Equal(t, "否", done[18])
	require.Equal(t, today().String(), done[21], "销号日期")

	// Dates are date cells: a number with a date format, not text.
	var closedRow int
	for i, r := range rows {
		if r[0] != "" && len(r) > 17 && r[17] == "已销号" {
			closedRow = i + 1
		}
	}
	for _, header := range []string{"整改时限", "发现日期", "销号日期"} {
		cell := column(t, header) + strconv.Itoa(closedRow)
		typ, err := f.GetCellType("问题清单", cell)
		require.NoError(t, err)
		require.NotEqual(t, excelize.CellTypeInlineString, typ, "%s %s", header, cell)
		require.NotEqual(t, excelize.CellTypeSharedString, typ, "%s %s", header, cell)
		raw, err := f.GetCellValue("问题清单", cell, excelize.Options{RawCellValue: true})
		require.NoError(t, err)
		serial, err := strconv.ParseFloat(raw, 64)
		require.NoError(t, err, "%s holds a serial date number, not %q", cell, raw)
		require.Greater(t, serial, 40000.0)
		styleID, err := f.GetCellStyle("问题清单", cell)
		require.NoError(t, err)
		style, err := f.GetStyle(styleID)
		require.NoError(t, err)
		require.NotNil(t, style.CustomNumFmt)
		require.Equal(t, "yyyy-mm-dd", *style.CustomNumFmt)
		shown, err := f.GetCellValue("问题清单", cell)
		require.NoError(t, err)
		require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, shown)
	}

	// The header row is frozen and the auto filter covers the list.
	panes, err := f.GetPanes("问题清单")
	require.NoError(t, err)
	require.True(t, panes.Freeze)
	require.Equal(t, 1, panes.YSplit)
	require.Equal(t, "A2", panes.TopLeftCell)
	lastCell := column(t, "证据编号") + "4"
	require.Regexp(t, `<autoFilter ref="\$?A\$?1:`+absoluteRef(lastCell)+`"`, sheetXML(t, body, "xl/worksheets/sheet1.xml"))
	var filterName bool
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm._FilterDatabase" {
			filterName = true
			require.Equal(t, "'问题清单'!$A$1:$"+column(t, "证据编号")+"$4", d.RefersTo)
		}
	}
	require.True(t, filterName, "the filter's defined name")

	// The statistics of the same filter, by unit and in total.
	stats, err := f.GetRows("统计")
	require.NoError(t, err)
	require.Equal(t, "问题清单统计", stats[0][0])
	require.Contains(t, stats[1][1], "单位代码 430100")
	var total []string
	for _, r := range stats {
		if len(r) > 0 && r[0] == "合计" {
			total = r
		}
	}
	require.NotNil(t, total, "%v", stats)
	require.Equal(t, []string{"合计", "", "3", "1", "0", "2"}, total[:6], "found, closed, withdrawn, open")

	// CSV: a byte order mark, the same columns, dates as text.
	resp, body = s.export(office, "format=csv&unit_code=430100&stage=CLOSED")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")), "UTF-8 BOM")
	records, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
	require.NoError(t, err)
	require.Equal(t, exportHeaders, records[0])
	require.Len(t, records, 2, "the header and the closed finding")
	require.Equal(t, "已销号", records[1][17])
	require.Equal(t, today().String(), records[1][21])
	require.Contains(t, string(body), "\r\n")

	// Scope: each unit its own, a team role its teams' inspections.
	for _, tc := range []struct {
		who  actor.Actor
		rows int
	}{{unit, 3}, {zhuzhou, 1}, {unitless, 0}, {member, 4}, {office, 4}} {
		resp, body := s.export(tc.who, "format=csv")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", tc.who.Name, body)
		records, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
		require.NoError(t, err)
		require.Len(t, records, 1+tc.rows, tc.who.Name)
	}
	resp, body = s.export(zhuzhou, "")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	f2, err := excelize.OpenReader(bytes.NewReader(body))
	require.NoError(t, err)
	defer f2.Close()
	rows, err = f2.GetRows("问题清单")
	require.NoError(t, err)
	require.Len(t, rows, 2, "xlsx is the default; Zhuzhou's one finding")

	// Refusals name the parameter, as GET /v1/findings does.
	for _, tc := range []struct {
		query  string
		fields []string
	}{
		{"format=pdf", []string{"format"}},
		{"page_size=10", []string{"page_size"}},
		{"format=csv&format=xlsx", []string{"format"}},
		{"stage=NOPE", []string{"stage"}},
		{"overdue=maybe", []string{"overdue"}},
		{"unit_code=" + strings.Repeat("4", 40), []string{"unit_code"}},
	} {
		code, body := s.do("GET", "/v1/findings:export?"+tc.query, &office, nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", tc.query, body)
		require.Equal(t, tc.fields, fieldViolations(body), tc.query)
	}
	code, body2 := s.do("GET", "/v1/findings:export", nil, nil)
	require.Equal(t, http.StatusUnauthorized, code, "%v", body2)
}

// sheetXML returns one part of a workbook as text.
func sheetXML(t *testing.T, workbook []byte, name string) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(workbook), int64(len(workbook)))
	require.NoError(t, err)
	for _, zf := range zr.File {
		if zf.Name == name {
			r, err := zf.Open()
			require.NoError(t, err)
			defer r.Close()
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			return string(b)
		}
	}
	t.Fatalf("no %s in the workbook", name)
	return ""
}

// absoluteRef matches a cell reference with or without $ signs (W4, $W$4).
func absoluteRef(cell string) string {
	return `\$?` + strings.TrimRight(cell, "0123456789") + `\$?` + strings.TrimLeft(cell, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// sortedKeys are a map's keys, sorted.
func sortedKeys(m map[string][]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
