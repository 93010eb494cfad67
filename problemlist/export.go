package problemlist

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/limit"
	"github.com/xuncha/xuncha/ledger"
)

// Defaults of an Exporter.
const (
	// DefaultPageSize is how many findings are read at a time.
	DefaultPageSize = 1000
	// MaxWorkbookRows is the most findings one worksheet holds: Excel's
	// 1,048,576 rows, less the header.
	MaxWorkbookRows = excelize.TotalRows - 1
)

// Sheet names of the workbook.
const (
	SheetFindings   = "问题清单"
	SheetStatistics = "统计"
)

// Exporter writes problem lists read from a ledger.
type Exporter struct {
	Ledger *ledger.Store
	// PageSize is how many findings are read at a time (default
	// DefaultPageSize).
	PageSize int
	// MaxRows is the most findings a workbook takes (default and at most
	// MaxWorkbookRows); more are refused before anything is written, CSV
	// has no limit.
	MaxRows int
	// TmpDir holds a workbook's rows, past 16 MiB of them, until it is
	// written (default: the system's temporary directory).
	TmpDir string
}

// Selection is what a problem list holds: the findings of a list filter
// (with the caller's reach), as of a time.
type Selection struct {
	Filter ledger.FindingFilter
	// AsOf is when the list was asked for; the statistics sheet says it.
	AsOf time.Time
}

func (e *Exporter) pageSize() int { return limit.Or(e.PageSize, DefaultPageSize) }

func (e *Exporter) maxRows() int {
	if e.MaxRows > 0 && e.MaxRows < MaxWorkbookRows {
		return e.MaxRows
	}
	return MaxWorkbookRows
}

// each calls fn with every finding of the selection in list order
// (created_at, ID), a page at a time (keyset pagination: the ledger's list
// statement, as GET /v1/findings pages), with its inspection's round.
func (e *Exporter) each(ctx context.Context, sel Selection, fn func(r row) error) error {
	rounds := map[string]string{}
	token, seq := "", 0
	for {
		page, err := e.Ledger.ListFindings(ctx, sel.Filter, e.pageSize(), token)
		if err != nil {
			return err
		}
		var unknown []string
		for _, f := range page.Findings {
			if _, ok := rounds[f.InspectionID]; !ok {
				rounds[f.InspectionID] = ""
				unknown = append(unknown, f.InspectionID)
			}
		}
		if len(unknown) > 0 {
			found, err := e.Ledger.InspectionRounds(ctx, unknown)
			if err != nil {
				return err
			}
			for id, round := range found {
				rounds[id] = round
			}
		}
		for _, f := range page.Findings {
			seq++
			if err := fn(row{seq: seq, round: rounds[f.InspectionID], f: f}); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		token = page.NextPageToken
	}
}

// WriteCSV writes the selection as CSV: UTF-8 with a byte order mark, so
// that Excel and WPS read the Chinese, CRLF line ends, dates as
// YYYY-MM-DD. Rows go out a page at a time. A cell that a spreadsheet would
// take for a formula (=, +, -, @ first) is written with a leading
// apostrophe. An error after the first row was written leaves w holding a
// part of the list: the caller must not present it as whole.
func (e *Exporter) WriteCSV(ctx context.Context, sel Selection, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = c.header
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	record := make([]string, len(columns))
	err := e.each(ctx, sel, func(r row) error {
		for i, c := range columns {
			record[i] = csvCell(c.value(r))
		}
		return cw.Write(record)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// csvCell writes one value for CSV.
func csvCell(v any) string {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case *calendar.Date:
		if v == nil {
			return ""
		}
		return v.String()
	case string:
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			return "'" + v
		}
		return v
	}
	return fmt.Sprint(v)
}

// WriteXLSX writes the selection as an Excel workbook: sheet 问题清单
// holds the findings (header frozen, auto filter on, dates as date cells),
// sheet 统计 their statistics by unit. The rows are streamed to a
// temporary file past 16 MiB and the workbook is zipped into w at the end,
// so memory stays bounded; nothing is written to w unless the whole list
// was read. More findings than MaxRows are refused (derrors.Invalid,
// field "format").
func (e *Exporter) WriteXLSX(ctx context.Context, sel Selection, w io.Writer) error {
	f := excelize.NewFile(excelize.Options{TmpDir: e.TmpDir})
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetFindings); err != nil {
		return err
	}
	styles, err := newStyles(f)
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetFindings)
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	for i, c := range columns {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	header := make([]any, len(columns))
	for i, c := range columns {
		header[i] = excelize.Cell{StyleID: styles.header, Value: c.header}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{Height: 24}); err != nil {
		return err
	}
	cells := make([]any, len(columns))
	rows, maxRows := 0, e.maxRows()
	err = e.each(ctx, sel, func(r row) error {
		if rows == maxRows {
			return derrors.Invalid("format", "the selection holds more than %d findings, the most a worksheet holds: narrow the filters or ask for format=csv", maxRows)
		}
		rows++
		for i, c := range columns {
			cells[i] = xlsxCell(c.value(r), styles)
		}
		cell, err := excelize.CoordinatesToCellName(1, rows+1)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, cells)
	})
	if err != nil {
		return err
	}
	last, err := excelize.CoordinatesToCellName(len(columns), rows+1)
	if err != nil {
		return err
	}
	// The filter's range is known only now; it is the worksheet's own
	// element, written when the stream is flushed.
	if err := f.AutoFilter(SheetFindings, "A1:"+last, nil); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := e.statisticsSheet(ctx, f, sel, styles); err != nil {
		return err
	}
	// excelize zips a workbook into a buffer of its own; the zip writer it
	// is given writes to w instead, so the workbook is never held whole.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	_, err = f.WriteToBuffer()
	return err
}

// styles are the workbook's cell styles.
type styles struct {
	header, date, title, percent, days int
}

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	border := []excelize.Border{{Type: "left", Color: "999999", Style: 1}, {Type: "right", Color: "999999", Style: 1},
		{Type: "top", Color: "999999", Style: 1}, {Type: "bottom", Color: "999999", Style: 1}}
	for _, st := range []struct {
		id    *int
		style excelize.Style
	}{
		{&s.header, excelize.Style{Font: &excelize.Font{Bold: true}, Border: border,
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		{&s.date, excelize.Style{CustomNumFmt: new("yyyy-mm-dd")}},
		{&s.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&s.percent, excelize.Style{NumFmt: 10}}, // 0.00%
		{&s.days, excelize.Style{CustomNumFmt: new("0.0")}},
	} {
		if *st.id, err = f.NewStyle(&st.style); err != nil {
			return s, err
		}
	}
	return s, nil
}

// xlsxCell is one value as a workbook cell: a date a real date cell,
// nothing no cell at all, text longer than a cell holds cut short, saying
// so (fitCell).
func xlsxCell(v any, s styles) any {
	switch v := v.(type) {
	case *calendar.Date:
		if v == nil {
			return nil
		}
		return excelize.Cell{StyleID: s.date, Value: time.Date(v.Year, v.Month, v.Day, 0, 0, 0, 0, time.UTC)}
	case string:
		if v == "" {
			return nil
		}
		return fitCell(v)
	}
	return v
}

// cutMark ends a cell's text that was cut short.
const cutMark = "…（超出单元格上限，已截断；全文见系统）"

// fitCell returns text as a cell holds it: a cell holds at most
// excelize.TotalCellChars UTF-16 units (Excel's limit), and excelize cut
// longer text silently; here the text is cut before the limit and ends
// with cutMark. 整改情况 (report and 责任追究, 10,000 characters each) passes
// the limit when most of its characters are outside the Basic Multilingual
// Plane, two units each.
func fitCell(text string) string {
	units := 0
	for _, r := range text {
		units += utf16.RuneLen(r)
	}
	if units <= excelize.TotalCellChars {
		return text
	}
	room := excelize.TotalCellChars
	for _, r := range cutMark {
		room -= utf16.RuneLen(r)
	}
	for i, r := range text {
		if room -= utf16.RuneLen(r); room < 0 {
			return text[:i] + cutMark
		}
	}
	return text
}
