package calendar

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/internal/i18n"
)

// YearLines returns year's arrangement as text lines, for `xuncha calendar
// show 2026`: a header naming the notice, its document number and the
// calendar version, one line per holiday
//
//	2026-10-01..2026-10-07  National Day (国庆节)  7 days
//
// then one line per make-up working day
//
//	2026-10-10 Saturday  working day (National Day)
//
// It fails with an error matching ErrNoData when c has no data for year.
func (c *Calendar) YearLines(year int) ([]string, error) {
	return c.YearLinesIn(year, i18n.English)
}

// YearLinesIn is YearLines in lang; in Chinese
//
//	2026-10-01..2026-10-07  国庆节  7 天
//	2026-10-10 星期六  上班（国庆节）
func (c *Calendar) YearLinesIn(year int, lang i18n.Lang) ([]string, error) {
	data, err := c.year(year)
	if err != nil {
		return nil, err
	}
	if lang == i18n.Chinese {
		return c.yearLinesZH(data), nil
	}
	n := data.notice
	doc := n.DocNumber
	if doc == "" {
		doc = "document number not recorded"
	}
	if n.DocDate != nil {
		doc += ", issued " + n.DocDate.String()
	}
	holidayDays := 0
	for _, h := range n.Holidays {
		holidayDays += h.Days()
	}
	lines := []string{
		fmt.Sprintf("%d: %s (%s)", n.Year, n.Title(), doc),
		fmt.Sprintf("calendar version: %s (id %d)", data.version.Label, data.version.ID),
		fmt.Sprintf("holidays: %s in %d periods", plural(holidayDays, "day", "days"), len(n.Holidays)),
	}
	const spanWidth = len("2026-10-01..2026-10-07")
	for _, h := range n.Holidays {
		span := h.Start.String()
		if h.End != h.Start {
			span += ".." + h.End.String()
		}
		lines = append(lines, fmt.Sprintf("  %-*s  %s  %s", spanWidth, span, h.DisplayName(), plural(h.Days(), "day", "days")))
	}
	lines = append(lines, fmt.Sprintf("make-up working days: %d", len(n.MakeupDays)))
	for _, m := range n.MakeupDays {
		lines = append(lines, fmt.Sprintf("  %s %-8s  working day (%s)", m.Date, m.Date.Weekday(), m.Name))
	}
	if next, days := c.decemberOf(year); len(days) > 0 {
		lines = append(lines, fmt.Sprintf("days of December %d that the %d notice decides (%s):", year, year+1, next.version.Label))
		for _, d := range days {
			info := next.december[d]
			what := info.name
			if info.kind == makeupWorkday {
				what = "working day (" + info.name + ")"
			}
			lines = append(lines, fmt.Sprintf("  %s %-8s  %s", d, d.Weekday(), what))
		}
	}
	return lines, nil
}

// decemberOf is the next year's data when its notice names days of year's
// December (Notice.covers), and those days in order.
func (c *Calendar) decemberOf(year int) (*yearData, []Date) {
	next, ok := c.years[year+1]
	if !ok || len(next.december) == 0 {
		return nil, nil
	}
	return next, slices.SortedFunc(maps.Keys(next.december), Date.Compare)
}

// WriteYear writes [Calendar.YearLines] for year to w, one line each.
func (c *Calendar) WriteYear(w io.Writer, year int) error {
	lines, err := c.YearLines(year)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, strings.Join(lines, "\n")+"\n"); err != nil {
		return fmt.Errorf("calendar: write year %d: %w", year, err)
	}
	return nil
}

// yearLinesZH is YearLinesIn's Chinese.
func (c *Calendar) yearLinesZH(data *yearData) []string {
	n := data.notice
	doc := n.DocNumber
	if doc == "" {
		doc = "文号未记录"
	}
	if n.DocDate != nil {
		doc += "，" + n.DocDate.String() + " 印发"
	}
	holidayDays := 0
	for _, h := range n.Holidays {
		holidayDays += h.Days()
	}
	lines := []string{
		fmt.Sprintf("%d：%s（%s）", n.Year, n.Title(), doc),
		fmt.Sprintf("日历版本：%s（id %d）", data.version.LabelZH(), data.version.ID),
		fmt.Sprintf("放假：共 %d 天，%d 段", holidayDays, len(n.Holidays)),
	}
	const spanWidth = len("2026-10-01..2026-10-07")
	for _, h := range n.Holidays {
		span := h.Start.String()
		if h.End != h.Start {
			span += ".." + h.End.String()
		}
		lines = append(lines, fmt.Sprintf("  %-*s  %s  %d 天", spanWidth, span, holidayZH(h), h.Days()))
	}
	lines = append(lines, fmt.Sprintf("调休上班：%d 天", len(n.MakeupDays)))
	for _, m := range n.MakeupDays {
		name := m.Name
		if i := slices.IndexFunc(n.Holidays, func(h Holiday) bool { return h.Name == m.Name }); i >= 0 {
			name = holidayZH(n.Holidays[i])
		}
		lines = append(lines, fmt.Sprintf("  %s %s  上班（%s）", m.Date, weekdayZH[m.Date.Weekday()], name))
	}
	if next, days := c.decemberOf(n.Year); len(days) > 0 {
		lines = append(lines, fmt.Sprintf("%d 年 12 月由 %d 年通知确定的日期（%s）：", n.Year, n.Year+1, next.version.LabelZH()))
		for _, d := range days {
			info := next.december[d]
			name := dayInfo{kind: holiday, name: info.name, nameZH: info.nameZH}.reasonZH()
			what := name + "放假"
			if info.kind == makeupWorkday {
				what = "上班（" + name + "）"
			}
			lines = append(lines, fmt.Sprintf("  %s %s  %s", d, weekdayZH[d.Weekday()], what))
		}
	}
	return lines
}

// holidayZH is a holiday's Chinese name: the notice's, or NameZHOf its
// name, or its name.
func holidayZH(h Holiday) string {
	return dayInfo{kind: holiday, name: h.Name, nameZH: h.NameZH}.reasonZH()
}
