package problemlist

import (
	"strings"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/i18n"
)

// row is one finding of the list: its place (序号, from 1) and its
// inspection's round.
type row struct {
	seq   int
	round string
	f     casework.Finding
}

// column is one column of the list: its header, its width in a workbook
// (characters) and its value, a string, an int or a *calendar.Date (nil
// when there is none; a date cell in a workbook). A column the import
// reads (import.go) says so with in.
type column struct {
	header string
	width  float64
	value  func(r row) any
	in     *input
}

// input is how the import reads a column: the RecordFindingRequest field
// its cells fill (a violation of that field names the cell), how a cell's
// text is read into a Draft (the rule the text breaks, or ""), and the
// values the template's drop-down list offers, if any.
type input struct {
	field   string
	read    func(text string, d *Draft) (rule i18n.Text)
	choices []string
}

// HeaderLedgerNumber is the column of a finding's ledger number (问题编号):
// written by the export, read by the import to know a row that is already
// a finding.
const HeaderLedgerNumber = "问题编号"

// columns are the list's columns, in the layout offices keep the problem
// list in (序号, 问题编号, 被巡查单位, 问题类别, 严重程度, 问题描述, 诊断分析,
// 处置方式, 整改要求, 整改时限, 整改情况, 状态, 当前逾期, 逾期次数, 销号日期, …). The
// import (import.go) and the template (template.go) read and offer the
// columns with an input: what a team records of a finding, and its
// evidence; the other columns are the ledger's, written by the export and
// passed over by the import.
var columns = []column{
	{header: "序号", width: 6, value: func(r row) any { return r.seq }},
	{header: HeaderLedgerNumber, width: 20, value: func(r row) any { return r.f.LedgerNumber }},
	{header: "被巡查单位", width: 18, value: func(r row) any { return r.f.UnitName }},
	{header: "单位代码", width: 12, value: func(r row) any { return r.f.UnitCode }},
	{header: "巡查轮次", width: 14, value: func(r row) any { return r.round }},
	{header: "问题类别", width: 14, value: func(r row) any { return KindName(r.f.Kind) },
		in: &input{field: "kind", read: readKind, choices: kindChoices()}},
	{header: "严重程度", width: 8, value: func(r row) any { return SeverityName(r.f.Severity) },
		in: &input{field: "severity", read: readSeverity, choices: severityChoices()}},
	{header: "重要问题", width: 8, value: func(r row) any { return yesNo(r.f.Important) },
		in: &input{field: "important", read: readImportant, choices: []string{yesNo(true), yesNo(false)}}},
	{header: "巡查内容", width: 10, value: func(r row) any { return contentAreaName(r.f.ContentArea) },
		in: &input{field: "content_area", read: readContentArea, choices: contentAreaChoices()}},
	{header: "问题标题", width: 30, value: func(r row) any { return r.f.Title },
		in: &input{field: "title", read: func(t string, d *Draft) i18n.Text { d.Title = t; return i18n.Text{} }}},
	{header: "问题描述", width: 50, value: func(r row) any { return r.f.Description },
		in: &input{field: "description", read: func(t string, d *Draft) i18n.Text { d.Description = t; return i18n.Text{} }}},
	{header: "诊断分析", width: 50, value: func(r row) any { return diagnosis(r.f.Diagnosis) }},
	{header: "处置方式", width: 16, value: func(r row) any { return dispositionList(r.f.Dispositions) }},
	{header: "整改要求", width: 40, value: func(r row) any { return requirement(r.f) },
		in: &input{field: "rectification_opinion", read: func(t string, d *Draft) i18n.Text { d.RectificationOpinion = t; return i18n.Text{} }}},
	{header: "移交单位", width: 18, value: func(r row) any {
		if r.f.Referral == nil {
			return ""
		}
		return r.f.Referral.ReceivingAuthority
	}},
	{header: "整改时限", width: 12, value: func(r row) any {
		if r.f.Deadline == nil || r.f.Deadline.Due.IsZero() {
			return (*calendar.Date)(nil)
		}
		return &r.f.Deadline.Due
	}},
	{header: "整改情况", width: 40, value: func(r row) any { return rectification(r.f.Rectification) }},
	{header: "状态", width: 10, value: func(r row) any { return StageName(r.f.Stage) }},
	// Overdue now, and how often a deadline was missed: a finding closed
	// out late read 逾期 否, while the statistics sheet counted it not
	// closed on time.
	{header: "当前逾期", width: 8, value: func(r row) any { return yesNo(r.f.Overdue) }},
	{header: "逾期次数", width: 8, value: func(r row) any { return r.f.MissedDeadlines }},
	{header: "退回重改次数", width: 8, value: func(r row) any { return r.f.ReopenCount }},
	{header: "发现日期", width: 12, value: func(r row) any { d := calendar.DateOf(r.f.CreatedAt); return &d }},
	{header: "销号日期", width: 12, value: func(r row) any { return ClosedOn(r.f) }},
	{header: "备注", width: 30, value: func(r row) any {
		if r.f.WithdrawReason == "" {
			return ""
		}
		return "撤销原因：" + r.f.WithdrawReason
	}},
	{header: "证据编号", width: 24, value: func(r row) any { return strings.Join(r.f.EvidenceIDs, listSeparator) },
		in: &input{field: "evidence_ids", read: readEvidenceIDs}},
}

// ClosedOn is the day a finding was closed out (Asia/Shanghai), nil for
// one not CLOSED: its last write, since CLOSED is final (as the
// statistics count it, migration 010).
func ClosedOn(f casework.Finding) *calendar.Date {
	if f.Stage != "CLOSED" {
		return nil
	}
	d := calendar.DateOf(f.UpdatedAt)
	return &d
}

// diagnosis writes a diagnosis as one cell.
func diagnosis(d *casework.Diagnosis) string {
	if d == nil {
		return ""
	}
	parts := []string{"原因：" + d.Cause}
	if len(d.ResponsibleParties) > 0 {
		parts = append(parts, "责任方："+strings.Join(d.ResponsibleParties, "、"))
	}
	if d.RiskLevel != "" {
		parts = append(parts, "风险等级："+i18n.RiskLevel(d.RiskLevel))
	}
	if d.LegalBasis != "" {
		parts = append(parts, "依据："+d.LegalBasis)
	}
	return strings.Join(parts, "；")
}

// requirement is the rectification required: the diagnosis's opinion,
// else the one recorded with the finding.
func requirement(f casework.Finding) string {
	if f.Diagnosis != nil && f.Diagnosis.RectificationOpinion != "" {
		return f.Diagnosis.RectificationOpinion
	}
	return f.RectificationOpinion
}

// rectification writes the unit's report as one cell.
func rectification(r *casework.Rectification) string {
	if r == nil {
		return ""
	}
	if r.HandlingOfResponsible == "" {
		return r.Report
	}
	return r.Report + "；责任追究：" + r.HandlingOfResponsible
}
