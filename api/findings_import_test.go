package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/workflows"
)

// importList posts a workbook to POST /v1/inspections/{id}/findings:import
// as who and decodes the JSON answer.
func (s *stack) importList(who actor.Actor, inspectionID, query string, workbook []byte) (int, map[string]any) {
	s.t.Helper()
	return s.importListIn("", who, inspectionID, query, workbook)
}

// importListIn is importList asking for the answer in lang (an
// Accept-Language value; empty: the tests' default).
func (s *stack) importListIn(lang string, who actor.Actor, inspectionID, query string, workbook []byte) (int, map[string]any) {
	s.t.Helper()
	path := s.BaseURL + "/v1/inspections/" + inspectionID + "/findings:import"
	if query != "" {
		path += "?" + query
	}
	req, err := http.NewRequest(http.MethodPost, path, bytes.NewReader(workbook))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	req.Header.Set("Authorization", s.authorization(who))
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	out := map[string]any{}
	require.NoError(s.t, json.Unmarshal(body, &out), "%s", body)
	return resp.StatusCode, out
}

// recorded are the findings of an inspection as the fields the import
// carries over, sorted, for comparing two inspections' lists.
func (s *stack) recorded(inspectionID string) []string {
	s.t.Helper()
	code, body := s.do("GET", "/v1/findings?page_size=500&inspection_id="+inspectionID, &office, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	var out []string
	list, _ := body["findings"].([]any)
	for _, f := range list {
		m := f.(map[string]any)
		carried, err := json.Marshal([]any{m["title"], m["description"], m["kind"], m["severity"], m["important"],
			m["content_area"], m["evidence_ids"], m["rectification_opinion"]})
		require.NoError(s.t, err)
		out = append(out, string(carried))
	}
	slices.Sort(out)
	return out
}

// TestImportFindings: an exported list re-opens with the library (headers,
// rows, date cells) and, imported as a new inspection's list, records the
// same findings; the same file again records nothing twice, for its
// uploader or another team member; a list with three bad cells is refused
// naming exactly those cells and records nothing, or, with partial=true,
// records its valid rows; what is no workbook is refused (issue 13 item 3).
func TestImportFindings(t *testing.T) {
	s := setup(t)
	changsha := s.createInspection()
	zz := s.createInspectionOf("zhuzhou", "430200", nil)
	closed := s.recordFinding(changsha, "closed", "GENERAL")["id"].(string)
	s.closeOut(closed, today().AddDays(-5).String())
	s.recordFinding(changsha, "major", "MAJOR")
	s.recordFinding(changsha, "listed", "GENERAL")
	s.recordFinding(zz, "zhuzhou", "GENERAL")

	// The filtered list, exported and re-opened.
	resp, exported := s.export(office, "format=xlsx&unit_code=430100")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", exported)
	f, err := excelize.OpenReader(bytes.NewReader(exported))
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows("问题清单")
	require.NoError(t, err)
	require.Equal(t, exportHeaders, rows[0])
	require.Len(t, rows, 1+3, "the header and Changsha's three findings")
	found := column(t, "发现日期") + "2"
	typ, err := f.GetCellType("问题清单", found)
	require.NoError(t, err)
	require.NotEqual(t, excelize.CellTypeSharedString, typ, "发现日期 is a date cell")
	require.NotEqual(t, excelize.CellTypeInlineString, typ, "发现日期 is a date cell")
	raw, err := f.GetCellValue("问题清单", found, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	_, err = strconv.ParseFloat(raw, 64)
	require.NoError(t, err, "a serial date number, not %q", raw)

	// Imported as a new inspection's list: the same findings.
	second := s.createInspectionOf("second", "430100", nil)
	code, report := s.importList(member, second, "", exported)
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.Equal(t, float64(3), report["rows"])
	require.Equal(t, float64(3), report["recorded"])
	require.Equal(t, float64(0), report["already_recorded"])
	require.Len(t, report["findings"], 3)
	for i, rf := range report["findings"].([]any) {
		m := rf.(map[string]any)
		require.Equal(t, float64(i+2), m["row"])
		require.Regexp(t, `^\d{4}-430100-\d{4}$`, m["ledger_number"])
		require.Equal(t, true, m["created"])
	}
	original := s.recorded(changsha)
	require.Len(t, original, 3)
	require.Equal(t, original, s.recorded(second))

	// The same file again, by its uploader or another of the team: nothing twice.
	for _, who := range []actor.Actor{member, teamLeader} {
		code, again := s.importList(who, second, "", exported)
		require.Equal(t, http.StatusOK, code, "%v", again)
		require.Equal(t, float64(0), again["recorded"], who.Role)
		require.Equal(t, float64(3), again["already_recorded"], who.Role)
		require.Equal(t, report["findings"].([]any)[0].(map[string]any)["id"], again["findings"].([]any)[0].(map[string]any)["id"])
	}
	require.Len(t, s.recorded(second), 3)

	// Exported, added to and imported back into its own inspection: the
	// rows whose 问题编号 names one of its findings are those findings,
	// the closed one included, and only the new row is recorded. Every
	// exported row was recorded again, as LISTED.
	moreFile := editedWorkbook(t, exported, map[string]string{"问题类别5": "责任落实不力", "巡查内容5": "5",
		"问题标题5": "新增：安全生产责任制未落实", "问题描述5": "未按规定明确各岗位安全生产责任。", "证据编号5": s.evidence("新增问题的记录")})
	code, back := s.importList(member, changsha, "", moreFile)
	require.Equal(t, http.StatusOK, code, "%v", back)
	require.Equal(t, float64(4), back["rows"])
	require.Equal(t, float64(1), back["recorded"])
	require.Equal(t, float64(3), back["already_recorded"])
	var ids []any
	for _, rf := range back["findings"].([]any) {
		ids = append(ids, rf.(map[string]any)["id"])
	}
	require.Len(t, ids, 4)
	require.Contains(t, ids, closed, "the closed finding is that finding, not a new one")
	require.Len(t, s.recorded(changsha), 4)

	// A row copied from an exported one, its 问题编号 kept, is refused (it
	// was answered as that finding, the new problem lost); an exported row
	// with a bad cell is still that finding, not refused for it, and the
	// counts add up to the rows.
	number := cellText(t, exported, "问题编号2")
	require.NotEmpty(t, number)
	copiedFile := editedWorkbook(t, exported, map[string]string{"严重程度3": "很严重", "问题编号5": number, "问题类别5": "责任落实不力",
		"巡查内容5": "5", "问题标题5": "复制的行：应急预案未演练", "问题描述5": "未按规定组织应急演练。", "证据编号5": s.evidence("复制的行的记录")})
	code, refusedCopy := s.importList(member, changsha, "", copiedFile)
	require.Equal(t, http.StatusBadRequest, code, "%v", refusedCopy)
	require.Equal(t, []string{column(t, "问题编号") + "5"}, fieldViolations(refusedCopy))
	require.Contains(t, violationRule(refusedCopy, column(t, "问题编号")+"5"), "repeats the 问题编号 of row 2")
	code, partialCopy := s.importList(member, changsha, "partial=true", copiedFile)
	require.Equal(t, http.StatusOK, code, "%v", partialCopy)
	require.Equal(t, float64(4), partialCopy["rows"])
	require.Equal(t, float64(0), partialCopy["recorded"])
	require.Equal(t, float64(3), partialCopy["already_recorded"])
	require.Equal(t, float64(1), partialCopy["skipped"])
	require.Len(t, s.recorded(changsha), 4)

	// Three bad cells: two read wrong, one breaking the finding's rule
	// (only a HAZARD has a severity). Nothing is recorded.
	bad, err := excelize.OpenReader(bytes.NewReader(exported))
	require.NoError(t, err)
	defer bad.Close()
	sev, area, kind := column(t, "严重程度"), column(t, "巡查内容"), column(t, "问题类别")
	require.NoError(t, bad.SetCellStr("问题清单", sev+"2", "很严重"))
	require.NoError(t, bad.SetCellStr("问题清单", area+"2", "三(一)12"))
	require.NoError(t, bad.SetCellStr("问题清单", kind+"3", "责任落实不力"))
	badFile, err := bad.WriteToBuffer()
	require.NoError(t, err)
	third := s.createInspectionOf("third", "430100", nil)
	code, refused := s.importList(member, third, "", badFile.Bytes())
	require.Equal(t, http.StatusBadRequest, code, "%v", refused)
	require.Equal(t, []string{sev + "2", area + "2", sev + "3"}, fieldViolations(refused))
	require.Equal(t, "严重程度 must be one of 一般、重大 (or be empty when the finding is no 事故隐患)", violationRule(refused, sev+"2"))
	require.Equal(t, "巡查内容 must be the charter's content item 三(一)1 to 三(一)10", violationRule(refused, area+"2"))
	require.Equal(t, "严重程度 only a HAZARD has a severity", violationRule(refused, sev+"3"))
	require.Contains(t, refused["message"], "the workbook has 3 invalid cell(s); nothing was recorded")
	require.Contains(t, refused["message"], sev+"2: 严重程度 must be one of")
	// In Chinese too the answer says that nothing was recorded, and how to
	// record the valid rows; it gave the cells alone.
	code, refusedZH := s.importListIn("zh-CN", member, third, "", badFile.Bytes())
	require.Equal(t, http.StatusBadRequest, code, "%v", refusedZH)
	require.Contains(t, refusedZH["message"], "工作簿有 3 个单元格无效，未登记任何内容（加 ?partial=true 则登记有效的行）：")
	require.Empty(t, s.recorded(third))

	// partial=true records the valid row and reports the others.
	code, partial := s.importList(member, third, "partial=true", badFile.Bytes())
	require.Equal(t, http.StatusOK, code, "%v", partial)
	require.Equal(t, float64(1), partial["recorded"])
	require.Equal(t, float64(2), partial["skipped"])
	require.Len(t, partial["problems"], 3)
	// The same upload again, in Chinese: nothing more is recorded, and the
	// report's rules are in the caller's language, as a refusal's are.
	code, partialZH := s.importListIn("zh-CN", member, third, "partial=true", badFile.Bytes())
	require.Equal(t, http.StatusOK, code, "%v", partialZH)
	require.Equal(t, float64(0), partialZH["recorded"])
	require.Contains(t, fmt.Sprint(partialZH["problems"]), "必须是以下之一：一般、重大（不是事故隐患的问题留空）")
	require.Equal(t, float64(4), partial["findings"].([]any)[0].(map[string]any)["row"])
	require.Len(t, s.recorded(third), 1)

	// What is no workbook, and parameters the import does not take.
	code, notXLSX := s.importList(member, third, "", []byte("序号,问题标题\n1,x\n"))
	require.Equal(t, http.StatusBadRequest, code, "%v", notXLSX)
	require.Equal(t, []string{"file"}, fieldViolations(notXLSX))
	empty, err := s.getAs(office, "/v1/findings:template")
	require.NoError(t, err)
	emptyBody, err := io.ReadAll(empty.Body)
	require.NoError(t, err)
	require.NoError(t, empty.Body.Close())
	code, nothing := s.importList(member, third, "", emptyBody)
	require.Equal(t, http.StatusBadRequest, code, "%v", nothing)
	require.Contains(t, violationRule(nothing, "file"), "holds no finding below its header row")
	code, unknown := s.importList(member, third, "partial=maybe&dry_run=1", exported)
	require.Equal(t, http.StatusBadRequest, code, "%v", unknown)
	require.ElementsMatch(t, []string{"partial", "dry_run"}, fieldViolations(unknown))
	require.Len(t, s.recorded(third), 1)

	// Outside the recording window (the inspection is only planned), the
	// ledger's transaction refuses the rows: the import names the first
	// new row and records nothing.
	b := inspectionBody(rid(t, "planned"))
	code, planned := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(t, http.StatusOK, code, "%v", planned)
	code, closedWindow := s.importList(member, planned["id"].(string), "", exported)
	require.Equal(t, http.StatusConflict, code, "%v", closedWindow)
	require.Equal(t, "STAGE_NOT_ALLOWED", errorInfo(closedWindow)["reason"], "%v", closedWindow)
	require.Regexp(t, `^row 2: .*findings are recorded while the team is on site.*; 0 of 3 rows were recorded before it stopped`, closedWindow["message"])
	require.Empty(t, s.recorded(planned["id"].(string)))

	// Out of the caller's reach: not found, before the file is read.
	code, stranger := s.importList(actor.Actor{Name: "王五", Role: actor.RoleTeamMember, Organisation: "省安全生产巡查第二组"}, third, "", exported)
	require.Equal(t, http.StatusNotFound, code, "%v", stranger)
}

// TestFindingsTemplate: the template has the export's columns, drop-down
// lists on the enumerated ones, and imports once filled in.
func TestFindingsTemplate(t *testing.T) {
	s := setup(t)
	resp, err := s.getAs(unit, "/v1/findings:template")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), "filename*=UTF-8''"+url.PathEscape("问题清单导入模板.xlsx"))
	f, err := excelize.OpenReader(bytes.NewReader(body))
	require.NoError(t, err)
	defer f.Close()
	rows, err := f.GetRows("问题清单")
	require.NoError(t, err)
	require.Equal(t, [][]string{exportHeaders}, rows)
	dvs, err := f.GetDataValidations("问题清单")
	require.NoError(t, err)
	require.Len(t, dvs, 4, "问题类别, 严重程度, 重要问题, 巡查内容")

	inspection := s.createInspection()
	ev := s.evidence("evidence of " + t.Name())
	for header, v := range map[string]string{"问题类别": "系统性安全风险", "巡查内容": "三(一)9", "问题标题": "园区安全风险评估未开展",
		"问题描述": "化工园区未按规定开展整体性安全风险评估。", "证据编号": ev} {
		require.NoError(t, f.SetCellStr("问题清单", column(t, header)+"2", v))
	}
	filled, err := f.WriteToBuffer()
	require.NoError(t, err)
	code, report := s.importList(member, inspection, "", filled.Bytes())
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.Equal(t, float64(1), report["recorded"])
	code, got := s.do("GET", "/v1/findings/"+report["findings"].([]any)[0].(map[string]any)["id"].(string), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "SYSTEMIC_RISK", got["kind"])
	require.Equal(t, float64(9), got["content_area"])
	require.Equal(t, "LISTED", got["stage"])
}

// TestRoundSummary: the committee's workbook of a round — a row per unit
// and the total, two charts, a sheet by unit and kind — in the caller's
// reach.
func TestRoundSummary(t *testing.T) {
	s := setup(t)
	changsha := s.createInspectionIn("changsha", "430100", "2026年第三轮")
	zz := s.createInspectionIn("zhuzhou", "430200", "2026年第三轮")
	other := s.createInspectionIn("other", "430300", "2026年第四轮")
	closed := s.recordFinding(changsha, "closed", "GENERAL")["id"].(string)
	s.closeOut(closed, today().AddDays(-5).String())
	s.recordFinding(changsha, "open", "MAJOR")
	s.recordFinding(zz, "zhuzhou", "GENERAL")
	s.recordFinding(other, "other", "GENERAL")

	get := func(who actor.Actor, round string) []byte {
		t.Helper()
		resp, err := s.getAs(who, "/v1/rounds/"+url.PathEscape(round)+"/summary.xlsx")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		return body
	}
	body := get(committee, "2026年第三轮")
	f, err := excelize.OpenReader(bytes.NewReader(body))
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{"汇总", "按问题类别"}, f.GetSheetList())
	rows, err := f.GetRows("汇总")
	require.NoError(t, err)
	byUnit := map[string][]string{}
	for _, r := range rows {
		if len(r) > 2 {
			byUnit[r[0]] = r
		}
	}
	require.Equal(t, []string{"单位430100", "430100", "2", "1", "0", "1"}, byUnit["单位430100"][:6])
	require.Equal(t, []string{"单位430200", "430200", "1", "0", "0", "1"}, byUnit["单位430200"][:6])
	require.Equal(t, []string{"合计", "", "3", "1", "0", "2"}, byUnit["合计"][:6])
	require.NotContains(t, byUnit, "单位430300", "another round")
	require.Contains(t, sheetXML(t, body, "xl/charts/chart1.xml"), "<barChart>")
	require.Contains(t, sheetXML(t, body, "xl/charts/chart2.xml"), "<barChart>")
	kinds, err := f.GetRows("按问题类别")
	require.NoError(t, err)
	i := slices.IndexFunc(kinds, func(r []string) bool { return len(r) > 2 && r[0] == "单位430100" && r[2] == "事故隐患" })
	require.GreaterOrEqual(t, i, 0, "%v", kinds)
	require.Equal(t, []string{"单位430100", "430100", "事故隐患", "2", "1", "0", "1"}, kinds[i][:7])

	// A unit user sees its own unit only.
	f2, err := excelize.OpenReader(bytes.NewReader(get(zhuzhou, "2026年第三轮")))
	require.NoError(t, err)
	defer f2.Close()
	rows, err = f2.GetRows("汇总")
	require.NoError(t, err)
	var units []string
	for _, r := range rows {
		if len(r) > 2 && r[0] != "被巡查单位" && r[0] != "统计范围" && r[0] != "统计时间" && r[0] != "说明" {
			units = append(units, r[0])
		}
	}
	require.Equal(t, []string{"单位430200", "合计"}, units)
}

// filledTemplate downloads the template and fills n rows, each naming the
// evidence ev.
func (s *stack) filledTemplate(n int, ev string) []byte {
	s.t.Helper()
	resp, err := s.getAs(office, "/v1/findings:template")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	f, err := excelize.OpenReader(resp.Body)
	require.NoError(s.t, err)
	defer f.Close()
	for i := 1; i <= n; i++ {
		for header, v := range map[string]string{"问题类别": "责任落实不力", "巡查内容": "5", "问题标题": "安全生产责任制未落实" + strconv.Itoa(i),
			"问题描述": "未按规定明确各岗位安全生产责任。", "证据编号": ev} {
			require.NoError(s.t, f.SetCellStr("问题清单", column(s.t, header)+strconv.Itoa(i+1), v))
		}
	}
	buf, err := f.WriteToBuffer()
	require.NoError(s.t, err)
	return buf.Bytes()
}

// TestImportRecordsFirstAndStartsWorkflowsAfter: the import answers from
// the ledger alone, every row numbered and LISTED, while no worker runs;
// a finding whose workflow the import's starter has not reached (here the
// starter is lost: its workflow terminated, as if it crashed for good)
// still takes a change through the API, which starts its workflow adopting
// the row; uploading the same file again starts the rest, and every finding
// ends with exactly one workflow, its record, list and notice written once.
func TestImportRecordsFirstAndStartsWorkflowsAfter(t *testing.T) {
	s := setup(t)
	ctx := t.Context()
	inspection := s.createInspection()
	workbook := s.filledTemplate(3, s.evidence("evidence of "+t.Name()))
	f, err := excelize.OpenReader(bytes.NewReader(workbook))
	require.NoError(t, err)
	require.NoError(t, f.SetCellStr("问题清单", column(t, "重要问题")+"3", "是"))
	require.NoError(t, f.SetCellStr("问题清单", column(t, "整改要求")+"3", "立即明确岗位责任。"))
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	require.NoError(t, f.Close())
	workbook = buf.Bytes()

	// No worker: the ledger holds every row, numbered in row order.
	s.StopWorker()
	code, report := s.importList(member, inspection, "", workbook)
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.Equal(t, float64(3), report["recorded"])
	starter := report["import_workflow_id"].(string)
	require.Regexp(t, `^finding-import/`+inspection+`/[0-9a-f]{24}$`, starter)
	var ids, numbers []string
	for _, rf := range report["findings"].([]any) {
		m := rf.(map[string]any)
		ids = append(ids, m["id"].(string))
		numbers = append(numbers, m["ledger_number"].(string))
	}
	require.True(t, slices.IsSorted(numbers), "numbered in row order: %v", numbers)
	require.Len(t, s.recorded(inspection), 3)

	// The starter is lost before it started anything.
	require.NoError(t, s.Temporal.TerminateWorkflow(ctx, starter, "", "test: the starter crashed for good"))
	s.StartWorker()
	_, err = s.describeWorkflow(ctx, "finding/"+ids[0], "")
	var notFound *serviceerror.NotFound
	require.ErrorAs(t, err, &notFound, "no workflow yet")

	// A change to a finding without its workflow: adopted, then changed.
	s.step(ids[0], "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	first, err := s.describeWorkflow(ctx, "finding/"+ids[0], "")
	require.NoError(t, err)
	code, again := s.do("POST", "/v1/findings/"+ids[0]+":diagnose", &member, diagnosis(rid(t, "diagnose")))
	require.Equal(t, http.StatusOK, code, "a retry is answered: %v", again)
	require.Equal(t, "DIAGNOSED", again["stage"])

	// The same file again: nothing recorded twice, the starter runs again
	// and starts the rest; the adopted one keeps its run.
	code, report = s.importList(member, inspection, "", workbook)
	require.Equal(t, http.StatusOK, code, "%v", report)
	require.Equal(t, float64(3), report["already_recorded"])
	require.Equal(t, starter, report["import_workflow_id"])
	var res workflows.FindingImportResult
	require.NoError(t, s.Temporal.GetWorkflow(ctx, starter, "").Get(ctx, &res))
	require.Equal(t, workflows.FindingImportResult{Started: 3}, res)
	for i, id := range ids {
		d, err := s.describeWorkflow(ctx, "finding/"+id, "")
		require.NoError(t, err, id)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus(), id)
		if i == 0 {
			require.Equal(t, first.GetWorkflowExecutionInfo().GetExecution().GetRunId(), d.GetWorkflowExecutionInfo().GetExecution().GetRunId(),
				"the adopted finding kept its one run")
		}
	}
	// Row 3 is an important problem: its notice is written once, by its
	// workflow, after the list.
	require.Eventually(t, func() bool {
		actions, _ := s.events(ids[1])
		return slices.Contains(actions, "notify")
	}, 30*time.Second, 100*time.Millisecond, "the important problem's notice")
	for i, id := range ids {
		actions, _ := s.events(id)
		want := []string{"record", "list"}
		switch i {
		case 0:
			want = append(want, "diagnose")
		case 1:
			want = append(want, "notify")
		}
		require.Equal(t, want, actions, id)
	}
	code, got := s.do("GET", "/v1/findings/"+ids[2], &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "LISTED", got["stage"])
	require.Equal(t, numbers[2], got["ledger_number"])

	// A finding whose workflow ran and ended while its row is open is not
	// adopted again: the change is refused as before.
	require.NoError(t, s.Temporal.TerminateWorkflow(ctx, "finding/"+ids[2], "", "test: an operator ended it"))
	code, refused := s.do("POST", "/v1/findings/"+ids[2]+":diagnose", &member, diagnosis(rid(t, "after-terminate")))
	require.Equal(t, http.StatusConflict, code, "%v", refused)
	require.Equal(t, "WORKFLOW_NOT_RUNNING", errorInfo(refused)["reason"], "%v", refused)
	d, err := s.describeWorkflow(ctx, "finding/"+ids[2], "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, d.GetWorkflowExecutionInfo().GetStatus())
}

// editedWorkbook is workbook with the cells of sheet 问题清单 set, each
// named by its column's header and its row ("问题类别5").
func editedWorkbook(t *testing.T, workbook []byte, cells map[string]string) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(workbook))
	require.NoError(t, err)
	defer f.Close()
	for name, v := range cells {
		require.NoError(t, f.SetCellStr("问题清单", headerCell(t, name), v))
	}
	buf, err := f.WriteToBuffer()
	require.NoError(t, err)
	return buf.Bytes()
}

// cellText is a cell of workbook's sheet 问题清单, named as editedWorkbook
// names it.
func cellText(t *testing.T, workbook []byte, name string) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(workbook))
	require.NoError(t, err)
	defer f.Close()
	v, err := f.GetCellValue("问题清单", headerCell(t, name))
	require.NoError(t, err)
	return v
}

// headerCell turns "问题类别5" into the cell of column 问题类别, row 5.
func headerCell(t *testing.T, name string) string {
	t.Helper()
	i := strings.IndexFunc(name, func(r rune) bool { return r >= '0' && r <= '9' })
	require.Positive(t, i, "%q names no row", name)
	return column(t, name[:i]) + name[i:]
}
