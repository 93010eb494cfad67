package problemlist

import (
	"strings"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/ledger"
)

// row is one finding of the list: its place (序号, from 1) and its
// inspection's round.
type row struct {
	seq   int
	round string
	f     ledger.Finding
}

// column is one column of the list: its header, its width in a workbook
// (characters) and its value, a string, an int or a *calendar.Date (nil
// when there is none; a date cell in a workbook).
type column struct {
	header string
	width  float64
	value  func(r row) any
}

// columns are the list's columns, in the layout offices keep the problem
// list in (序号, 问题编号, 被巡查单位, 问题类别, 严重程度, 问题描述, 诊断分析,
// 处置方式, 整改要求, 整改时限, 整改情况, 状态, 逾期, 销号日期, …).
var columns = []column{
	{"序号", 6, func(r row) any { return r.seq }},
	{"问题编号", 20, func(r row) any { return r.f.LedgerNumber }},
	{"被巡查单位", 18, func(r row) any { return r.f.UnitName }},
	{"单位代码", 12, func(r row) any { return r.f.UnitCode }},
	{"巡查轮次", 14, func(r row) any { return r.round }},
	{"问题类别", 14, func(r row) any { return KindName(r.f.Kind) }},
	{"严重程度", 8, func(r row) any { return SeverityName(r.f.Severity) }},
	{"重要问题", 8, func(r row) any { return yesNo(r.f.Important) }},
	{"巡查内容", 10, func(r row) any { return contentAreaName(r.f.ContentArea) }},
	{"问题标题", 30, func(r row) any { return r.f.Title }},
	{"问题描述", 50, func(r row) any { return r.f.Description }},
	{"诊断分析", 50, func(r row) any { return diagnosis(r.f.Diagnosis) }},
	{"处置方式", 16, func(r row) any { return dispositionList(r.f.Dispositions) }},
	{"整改要求", 40, func(r row) any { return requirement(r.f) }},
	{"移交单位", 18, func(r row) any {
		if r.f.Referral == nil {
			return ""
		}
		return r.f.Referral.ReceivingAuthority
	}},
	{"整改时限", 12, func(r row) any {
		if r.f.Deadline == nil || r.f.Deadline.Due.IsZero() {
			return (*calendar.Date)(nil)
		}
		return &r.f.Deadline.Due
	}},
	{"整改情况", 40, func(r row) any { return rectification(r.f.Rectification) }},
	{"状态", 10, func(r row) any { return StageName(r.f.Stage) }},
	{"逾期", 6, func(r row) any { return yesNo(r.f.Overdue) }},
	{"退回重改次数", 8, func(r row) any { return r.f.ReopenCount }},
	{"发现日期", 12, func(r row) any { d := calendar.DateOf(r.f.CreatedAt); return &d }},
	{"销号日期", 12, func(r row) any { return ClosedOn(r.f) }},
	{"备注", 30, func(r row) any {
		if r.f.WithdrawReason == "" {
			return ""
		}
		return "撤销原因：" + r.f.WithdrawReason
	}},
}

// ClosedOn is the day a finding was closed out (Asia/Shanghai), nil for
// one not CLOSED: its last write, since CLOSED is final (as the
// statistics count it, migration 010).
func ClosedOn(f ledger.Finding) *calendar.Date {
	if f.Stage != "CLOSED" {
		return nil
	}
	d := calendar.DateOf(f.UpdatedAt)
	return &d
}

// diagnosis writes a diagnosis as one cell.
func diagnosis(d *ledger.Diagnosis) string {
	if d == nil {
		return ""
	}
	parts := []string{"原因：" + d.Cause}
	if len(d.ResponsibleParties) > 0 {
		parts = append(parts, "责任方："+strings.Join(d.ResponsibleParties, "、"))
	}
	if d.RiskLevel != "" {
		parts = append(parts, "风险等级："+term(riskLevelNames, d.RiskLevel))
	}
	if d.LegalBasis != "" {
		parts = append(parts, "依据："+d.LegalBasis)
	}
	return strings.Join(parts, "；")
}

// requirement is the rectification required: the diagnosis's opinion,
// else the one recorded with the finding.
func requirement(f ledger.Finding) string {
	if f.Diagnosis != nil && f.Diagnosis.RectificationOpinion != "" {
		return f.Diagnosis.RectificationOpinion
	}
	return f.RectificationOpinion
}

// rectification writes the unit's report as one cell.
func rectification(r *ledger.Rectification) string {
	if r == nil {
		return ""
	}
	if r.HandlingOfResponsible == "" {
		return r.Report
	}
	return r.Report + "；责任追究：" + r.HandlingOfResponsible
}
