package calendar

import (
	"fmt"
	"io"
	"strings"
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
	data, err := c.year(year)
	if err != nil {
		return nil, err
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
	return lines, nil
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
