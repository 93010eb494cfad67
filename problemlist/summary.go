package problemlist

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/ledger"
)

// Sheet names of the round's summary.
const (
	SheetSummary       = "汇总"
	SheetSummaryByKind = "按问题类别"
)

// RoundSummary is what a round's summary holds: the findings of the
// inspections of Round in the caller's Reach, as of a time.
type RoundSummary struct {
	Round string
	Reach ledger.Reach
	AsOf  time.Time
}

// WriteRoundSummary writes the committee's summary of a round (issue 13
// item 2): sheet 汇总 holds the statistics of item 1 by unit, one row per
// unit and the total, with a column chart of found, closed, open and
// overdue findings per unit and a bar chart of the closure and on-time
// rates; sheet 按问题类别 the same counts by unit and kind. The statistics
// are the ledger's (ledger.Store.Statistics), with the caller's reach.
func (e *Exporter) WriteRoundSummary(ctx context.Context, sum RoundSummary, w io.Writer) error {
	filter := ledger.StatisticsFilter{Round: sum.Round, Reach: sum.Reach}
	byUnit, err := e.Ledger.Statistics(ctx, filter, []ledger.Dimension{ledger.DimensionUnit})
	if err != nil {
		return err
	}
	byKind, err := e.Ledger.Statistics(ctx, filter, []ledger.Dimension{ledger.DimensionUnit, ledger.DimensionKind})
	if err != nil {
		return err
	}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	asOf := sum.AsOf.In(calendar.Location()).Format("2006-01-02 15:04")
	scope := "全省"
	if sum.Reach.ByUnit || sum.Reach.ByTeam {
		scope = describe(ledger.FindingFilter{Reach: sum.Reach}, "")
	}
	intro := [][]any{
		{sum.Round + " 巡查发现问题整改情况汇总"},
		{"统计范围", scope + "；巡查轮次 " + sum.Round},
		{"统计时间", asOf + "（北京时间）；“当前逾期”为此时的逾期问题"},
		{"说明", "按发现问题计；销号率＝已销号÷（发现问题－已撤销）；按期整改＝销号且未逾期过整改时限；整改用时自问题移交至销号"},
	}

	// 汇总: a row per unit, the total, the charts.
	units := make([]table, 0, len(byUnit.Groups))
	for _, g := range byUnit.Groups {
		units = append(units, table{lead: []any{g.UnitName, g.UnitCode}, s: g.Statistics})
	}
	first, last, err := writeTable(f, SheetSummary, st, intro, []string{"被巡查单位", "单位代码"}, units, byUnit.Total)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		cell, _ := excelize.CoordinatesToCellName(1, last+2)
		if err := f.SetCellStr(SheetSummary, cell, "本轮次（统计范围内）尚无发现问题。"); err != nil {
			return err
		}
	} else if err := summaryCharts(f, first, last, last+3); err != nil {
		return err
	}

	// 按问题类别: a row per unit and kind.
	if _, err := f.NewSheet(SheetSummaryByKind); err != nil {
		return err
	}
	kinds := make([]table, 0, len(byKind.Groups))
	for _, g := range byKind.Groups {
		kinds = append(kinds, table{lead: []any{g.UnitName, g.UnitCode, KindName(g.Kind)}, s: g.Statistics})
	}
	intro[0] = []any{sum.Round + " 巡查发现问题整改情况（按单位和问题类别）"}
	if _, _, err := writeTable(f, SheetSummaryByKind, st, intro, []string{"被巡查单位", "单位代码", "问题类别"}, kinds, byKind.Total); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// table is one row of a statistics table: its leading cells and counts.
type table struct {
	lead []any
	s    ledger.Statistics
}

// writeTable writes the intro lines, then a table of statisticsColumns
// led by the lead headers, its rows and the total; it returns the rows
// (1-based) of the first and last of rows (the total's row is last+1).
func writeTable(f *excelize.File, sheet string, st styles, intro [][]any, lead []string, rows []table, total ledger.Statistics) (first, last int, err error) {
	row := 1
	for _, l := range intro {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(sheet, cell, &l); err != nil {
			return 0, 0, err
		}
		row++
	}
	if err := f.SetCellStyle(sheet, "A1", "A1", st.title); err != nil {
		return 0, 0, err
	}
	row++
	header := make([]any, 0, len(lead)+len(statisticsColumns))
	for _, h := range lead {
		header = append(header, h)
	}
	for _, c := range statisticsColumns {
		header = append(header, c.header)
	}
	top, _ := excelize.CoordinatesToCellName(1, row)
	if err := f.SetSheetRow(sheet, top, &header); err != nil {
		return 0, 0, err
	}
	end, _ := excelize.CoordinatesToCellName(len(header), row)
	if err := f.SetCellStyle(sheet, top, end, st.header); err != nil {
		return 0, 0, err
	}
	first = row + 1
	totalLead := make([]any, len(lead))
	totalLead[0] = "合计"
	for _, r := range append(rows, table{lead: totalLead, s: total}) {
		row++
		values := append([]any{}, r.lead...)
		for _, c := range statisticsColumns {
			values = append(values, c.value(r.s))
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(sheet, cell, &values); err != nil {
			return 0, 0, err
		}
		for i, c := range statisticsColumns {
			if c.style == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(len(lead)+i+1, row)
			if err := f.SetCellStyle(sheet, cell, cell, c.style(st)); err != nil {
				return 0, 0, err
			}
		}
	}
	for i := range header {
		col, _ := excelize.ColumnNumberToName(i + 1)
		width := 12.0
		switch {
		case i == 0:
			width = 18
		case i >= len(lead):
			width = statisticsColumns[i-len(lead)].width
		}
		if err := f.SetColWidth(sheet, col, col, width); err != nil {
			return 0, 0, err
		}
	}
	return first, row - 1, nil
}

// summaryCharts adds the charts of sheet 汇总 below its table (rows first
// to last, one per unit), from row at on.
func summaryCharts(f *excelize.File, first, last, at int) error {
	const sheet = SheetSummary
	ref := func(header string) string {
		for i, c := range statisticsColumns {
			if c.header == header {
				col, _ := excelize.ColumnNumberToName(i + 3)
				return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", sheet, col, first, col, last)
			}
		}
		panic("problemlist: no statistics column " + header)
	}
	name := func(header string) string {
		for i, c := range statisticsColumns {
			if c.header == header {
				col, _ := excelize.ColumnNumberToName(i + 3)
				return fmt.Sprintf("'%s'!$%s$%d", sheet, col, first-1)
			}
		}
		panic("problemlist: no statistics column " + header)
	}
	units := fmt.Sprintf("'%s'!$A$%d:$A$%d", sheet, first, last)
	series := func(headers ...string) []excelize.ChartSeries {
		out := make([]excelize.ChartSeries, len(headers))
		for i, h := range headers {
			out[i] = excelize.ChartSeries{Name: name(h), Categories: units, Values: ref(h)}
		}
		return out
	}
	width := uint(max(720, 90*(last-first+1)))
	counts := &excelize.Chart{
		Type:      excelize.Col,
		Series:    series("发现问题", "已销号", "未销号", "当前逾期"),
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "各单位发现问题及整改情况"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: width, Height: 360},
		PlotArea:  excelize.ChartPlotArea{ShowVal: true},
	}
	cell, _ := excelize.CoordinatesToCellName(1, at)
	if err := f.AddChart(sheet, cell, counts); err != nil {
		return err
	}
	rates := &excelize.Chart{
		Type:      excelize.Col,
		Series:    series("销号率", "按期整改率"),
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "各单位销号率和按期整改率"}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: width, Height: 360},
		YAxis:     excelize.ChartAxis{NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0%"}},
	}
	cell, _ = excelize.CoordinatesToCellName(1, at+20)
	return f.AddChart(sheet, cell, rates)
}
