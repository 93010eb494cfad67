package problemlist

import (
	"cmp"
	"context"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
)

// StatisticsFilter is the statistics filter of a list filter: the same
// inspection, unit (without its sub-units: the list's unit_code is exact),
// kind and severity, in the same reach. A list's stage and overdue filters
// have no counterpart: stage and overdue are what the statistics count.
func StatisticsFilter(f ledger.FindingFilter) ledger.StatisticsFilter {
	return ledger.StatisticsFilter{InspectionID: f.InspectionID, UnitCode: f.UnitCode, Kind: f.Kind, Severity: f.Severity, Reach: f.Reach}
}

// statisticsColumn is one column of the statistics table.
type statisticsColumn struct {
	header string
	width  float64
	// value is a count (int), a rate (float64, or nil when none) or days
	// (float64 or nil).
	value func(s ledger.Statistics) any
	style func(s styles) int
}

func rate(r float64, ok bool) any {
	if !ok {
		return nil
	}
	return r
}

func percentile(s ledger.Statistics, p float64) any { return rate(s.DaysToClosePercentile(p)) }

func escalations(step string) func(s ledger.Statistics) any {
	return func(s ledger.Statistics) any { return s.Escalations[step] }
}

var statisticsColumns = []statisticsColumn{
	{"发现问题", 10, func(s ledger.Statistics) any { return s.Found }, nil},
	{"已销号", 10, func(s ledger.Statistics) any { return s.Closed }, nil},
	{"已撤销", 10, func(s ledger.Statistics) any { return s.Withdrawn }, nil},
	{"未销号", 10, func(s ledger.Statistics) any { return s.Open() }, nil},
	{"当前逾期", 10, func(s ledger.Statistics) any { return s.Overdue }, nil},
	{"销号率", 10, func(s ledger.Statistics) any { return rate(s.ClosureRate()) }, func(s styles) int { return s.percent }},
	{"按期整改", 10, func(s ledger.Statistics) any { return s.ClosedOnTime }, nil},
	{"按期整改率", 10, func(s ledger.Statistics) any { return rate(s.OnTimeRate()) }, func(s styles) int { return s.percent }},
	{"整改用时中位数（天）", 12, func(s ledger.Statistics) any { return percentile(s, 0.5) }, func(s styles) int { return s.days }},
	{"整改用时90%分位（天）", 12, func(s ledger.Statistics) any { return percentile(s, 0.9) }, func(s styles) int { return s.days }},
	{"退回重改", 10, func(s ledger.Statistics) any { return s.Reopened }, nil},
	{"提出约谈", 10, func(s ledger.Statistics) any { return s.InterviewsProposed }, nil},
	{"已约谈", 10, func(s ledger.Statistics) any { return s.InterviewsHeld }, nil},
	{i18n.Step(casework.StepReminder), 10, escalations(casework.StepReminder), nil},
	{i18n.Step(casework.StepOverdue), 10, escalations(casework.StepOverdue), nil},
	{i18n.Step(casework.StepInterviewProposed), 10, escalations(casework.StepInterviewProposed), nil},
}

// statisticsSheet writes the statistics of the selection, by unit and in
// total, on their own sheet.
func (e *Exporter) statisticsSheet(ctx context.Context, f *excelize.File, sel Selection, st styles) error {
	report, err := e.Ledger.Statistics(ctx, StatisticsFilter(sel.Filter), []ledger.Dimension{ledger.DimensionUnit})
	if err != nil {
		return err
	}
	const sheet = SheetStatistics
	if _, err := f.NewSheet(sheet); err != nil {
		return err
	}
	asOf := sel.AsOf.In(calendar.Location()).Format("2006-01-02 15:04")
	lines := [][]any{
		{"问题清单统计"},
		{"统计范围", describe(sel.Filter, e.inspectionName(ctx, sel.Filter))},
		{"统计时间", asOf + "（北京时间）；“当前逾期”为此时的逾期问题"},
		{"说明", "按发现问题计；销号率＝已销号÷（发现问题－已撤销）；按期整改＝销号且未逾期过整改时限；" +
			"整改用时自问题移交（单位收到移交之日）至销号之日；约谈、升级为针对所列问题的约谈和升级步骤"},
	}
	if sel.Filter.Stage != "" || sel.Filter.Overdue != nil {
		lines = append(lines, []any{"注", "清单按状态或逾期筛选；统计不按此筛选，包括所选范围内各状态的问题"})
	}
	row := 1
	for _, l := range lines {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(sheet, cell, &l); err != nil {
			return err
		}
		row++
	}
	if err := f.SetCellStyle(sheet, "A1", "A1", st.title); err != nil {
		return err
	}
	row++
	header := []any{"被巡查单位", "单位代码"}
	for _, c := range statisticsColumns {
		header = append(header, c.header)
	}
	top, _ := excelize.CoordinatesToCellName(1, row)
	if err := f.SetSheetRow(sheet, top, &header); err != nil {
		return err
	}
	headerEnd, _ := excelize.CoordinatesToCellName(len(header), row)
	if err := f.SetCellStyle(sheet, top, headerEnd, st.header); err != nil {
		return err
	}
	write := func(name, code string, s ledger.Statistics) error {
		row++
		values := []any{name, code}
		for _, c := range statisticsColumns {
			values = append(values, c.value(s))
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(sheet, cell, &values); err != nil {
			return err
		}
		for i, c := range statisticsColumns {
			if c.style == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(i+3, row)
			if err := f.SetCellStyle(sheet, cell, cell, c.style(st)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, g := range report.Groups {
		if err := write(g.UnitName, g.UnitCode, g.Statistics); err != nil {
			return err
		}
	}
	if err := write("合计", "", report.Total); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "A", "A", 18); err != nil {
		return err
	}
	if err := f.SetColWidth(sheet, "B", "B", 12); err != nil {
		return err
	}
	for i, c := range statisticsColumns {
		col, _ := excelize.ColumnNumberToName(i + 3)
		if err := f.SetColWidth(sheet, col, col, c.width); err != nil {
			return err
		}
	}
	return nil
}

// describe says in Chinese which findings a list filter selects.
func describe(f ledger.FindingFilter, inspection string) string {
	var parts []string
	if f.InspectionID != "" {
		parts = append(parts, "巡查 "+cmp.Or(inspection, f.InspectionID))
	}
	if f.UnitCode != "" {
		parts = append(parts, "单位代码 "+f.UnitCode)
	}
	if f.Kind != "" {
		parts = append(parts, "问题类别 "+KindName(f.Kind))
	}
	if f.Severity != "" {
		parts = append(parts, "严重程度 "+SeverityName(f.Severity))
	}
	if f.Stage != "" {
		parts = append(parts, "状态 "+StageName(f.Stage))
	}
	if f.Overdue != nil {
		parts = append(parts, "逾期 "+yesNo(*f.Overdue))
	}
	scope := "全省"
	if f.Reach.ByUnit {
		scope = "本单位（" + strings.Join(f.Reach.Units, "、") + "）"
	} else if f.Reach.ByTeam {
		scope = "本巡查组负责的巡查"
	}
	if len(parts) == 0 {
		return scope + "全部问题"
	}
	return scope + "；" + strings.Join(parts, "；")
}

// inspectionName names the inspection f selects as the office does,
// 长沙市（430100）综合巡查（2026年第一轮）, with its ID after it; "" when
// there is none to name, it is out of the caller's reach (a unit's user
// naming another unit's inspection learnt its unit and round), or it
// cannot be read: the scope then names the ID alone, as the caller gave it.
func (e *Exporter) inspectionName(ctx context.Context, f ledger.FindingFilter) string {
	id := f.InspectionID
	if id == "" || e.Ledger.InReach(ctx, f.Reach, casework.SubjectInspection, id) != nil {
		return ""
	}
	in, err := e.Ledger.GetInspection(ctx, id)
	if err != nil {
		return ""
	}
	name := in.UnitName + "（" + in.UnitCode + "）" + i18n.InspectionKind(in.Kind)
	if in.Round != "" {
		name += "（" + in.Round + "）"
	}
	return name + " " + id
}
