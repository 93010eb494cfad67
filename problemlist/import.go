package problemlist

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/limit"
)

// Defaults of the import's limits (Limits).
const (
	// DefaultMaxRows is the most findings one import takes.
	DefaultMaxRows = 20000
	// DefaultMaxUnzipBytes is the most a workbook may unpack to: a zip
	// bomb is refused before it is inflated past it.
	DefaultMaxUnzipBytes int64 = 256 << 20
	// DefaultMaxInMemoryBytes is the most a workbook's parts that are
	// inflated into memory may unpack to, together: every part but the
	// worksheets and shared strings larger than unzipInMemory, which go to
	// temporary files. A list's pictures are stored compressed already, so
	// a real workbook of DefaultMaxImportBytes (api) stays well under it;
	// a part of zeros that deflates a thousandfold does not.
	DefaultMaxInMemoryBytes int64 = 64 << 20
	// unzipInMemory is how much of a worksheet excelize holds in memory;
	// more is inflated to a temporary file (excelize's UnzipXMLSizeLimit).
	unzipInMemory int64 = 16 << 20
)

// Limits bound what ReadWorkbook reads; zero fields take the defaults.
type Limits struct {
	// MaxRows is the most findings a workbook may hold (default
	// DefaultMaxRows).
	MaxRows int
	// MaxUnzipBytes is the most the workbook may unpack to, all its parts
	// together (default DefaultMaxUnzipBytes).
	MaxUnzipBytes int64
	// MaxInMemoryBytes is the most its parts held in memory may unpack to
	// (default DefaultMaxInMemoryBytes).
	MaxInMemoryBytes int64
}

func (l Limits) maxRows() int { return limit.Or(l.MaxRows, DefaultMaxRows) }

func (l Limits) maxInMemoryBytes() int64 {
	return limit.Or(l.MaxInMemoryBytes, DefaultMaxInMemoryBytes)
}

func (l Limits) maxUnzipBytes() int64 { return limit.Or(l.MaxUnzipBytes, DefaultMaxUnzipBytes) }

// Draft is one row of an imported problem list: the finding it asks to
// record, in the domain's values (RecordFindingRequest's fields).
type Draft struct {
	// Row is the worksheet's row number (the header is row 1).
	Row                  int      `json:"-"`
	Kind                 string   `json:"kind"`
	Severity             string   `json:"severity"`
	Important            bool     `json:"important"`
	ContentArea          int      `json:"content_area"`
	Title                string   `json:"title"`
	Description          string   `json:"description"`
	RectificationOpinion string   `json:"rectification_opinion"`
	EvidenceIDs          []string `json:"evidence_ids"`
	// LedgerNumber is the row's 问题编号 when the sheet has that column (a
	// list exported by GET /v1/findings:export): the finding the row
	// already is. Not part of the row's Identity.
	LedgerNumber string `json:"-"`
}

// Identity is the request_id of the row's finding in an inspection: a
// digest of the inspection and the row's content, so that the same row
// imported again into the same inspection is the same request and records
// nothing twice, wherever it stands in the file.
func (d Draft) Identity(inspectionID string) string {
	content, err := json.Marshal(d)
	if err != nil {
		panic(err) // strings, ints and bools always marshal
	}
	sum := sha256.Sum256(append([]byte("problemlist-import-v1\x00"+inspectionID+"\x00"), content...))
	return "import-" + hex.EncodeToString(sum[:16])
}

// Problem is a cell of an imported list that breaks a rule.
type Problem struct {
	// Row is the worksheet's row number.
	Row int
	// Cell is the cell's name (G7) and Header its column's header.
	Cell, Header string
	// Rule is what the cell must hold; RuleZH the same in Chinese (empty:
	// the English stands).
	Rule, RuleZH string
}

// Error reads "G7: 严重程度 must be one of 一般、重大".
func (p Problem) Error() string { return p.Cell + ": " + p.Header + " " + p.Rule }

// Input is how an import reads one column into a draft of type D: its
// header, the request field its cells fill (a violation of that field
// names the cell), how a cell's text is read (the rule the text breaks,
// or the zero Text), the values the template's drop-down list offers, if
// any, and the column's width in the template.
type Input[D any] struct {
	Header string
	Field  string
	// Also are other request fields this column fills (their violations
	// name its cells too).
	Also    []string
	Read    func(text string, d *D) i18n.Text
	Choices []string
	Width   float64
}

// Layout is what an import reads from a workbook: the worksheet looked for
// (else the first), the columns read (found by header, in any order;
// others passed over) and the template's route, named when the header row
// is not the template's.
type Layout[D any] struct {
	Sheet    string
	Template string
	Inputs   []Input[D]
	// Optional are columns read when the sheet has them (the export's
	// 问题编号), not asked for by the template.
	Optional []Input[D]
}

// inputs are the layout's columns the sheet has: every Input, and the
// Optional ones its header holds.
func (s *Table[D]) inputs() []Input[D] {
	out := slices.Clone(s.layout.Inputs)
	for _, in := range s.layout.Optional {
		if _, ok := s.fields[in.Field]; ok {
			out = append(out, in)
		}
	}
	return out
}

// Table is a worksheet read with a Layout: a draft per non-empty row below
// the header (Rows[i] is Drafts[i]'s row number), and the problems of its
// cells.
type Table[D any] struct {
	// Name is the worksheet read.
	Name   string
	Drafts []D
	Rows   []int
	// Problems are in the order found: row by row, left to right.
	Problems []Problem
	layout   *Layout[D]
	// fields maps a request field to its column (1-based).
	fields map[string]int
	// invalid holds the rows with a problem; refused the cells that have
	// one (a set, so that a sheet of bad cells is refused in linear time).
	invalid map[int]bool
	refused map[string]bool
}

// Sheet is a problem list read from a workbook (ReadWorkbook).
type Sheet = Table[Draft]

// RefuseText records that field's cell in row breaks rule, in both
// languages. A field the sheet has no column for is named by the row's
// first cell.
func (s *Table[D]) RefuseText(row int, field string, rule i18n.Text) {
	// A list's element (evidence_ids[1]) is its column's cell.
	if i := strings.IndexByte(field, '['); i > 0 {
		field = field[:i]
	}
	n, ok := s.fields[field]
	header := field
	if ok {
		header = s.header(field)
	} else {
		n = 1
	}
	cell, _ := excelize.CoordinatesToCellName(n, row)
	// One problem per cell: the first rule broken is the one to fix.
	if s.refused[cell] {
		return
	}
	s.refused[cell] = true
	// A rule may quote the cell (an affiliation that is not one): a cell
	// of thousands of characters is not sent back a thousand times.
	rule = rule.Clip(maxRuleLength)
	s.Problems = append(s.Problems, Problem{Row: row, Cell: cell, Header: header, Rule: rule.EN, RuleZH: rule.ZH})
	s.invalid[row] = true
}

func (s *Table[D]) header(field string) string {
	for _, in := range append(slices.Clone(s.layout.Inputs), s.layout.Optional...) {
		if in.Field == field || slices.Contains(in.Also, field) {
			return in.Header
		}
	}
	return field
}

// Forget takes back the problems of row: a row the import will not
// record (it is a finding already) is not refused for what it says.
func (s *Table[D]) Forget(row int) {
	if !s.invalid[row] {
		return
	}
	delete(s.invalid, row)
	s.Problems = slices.DeleteFunc(s.Problems, func(p Problem) bool {
		if p.Row == row {
			delete(s.refused, p.Cell)
			return true
		}
		return false
	})
}

// Invalid reports whether a row has a problem.
func (s *Table[D]) Invalid(row int) bool { return s.invalid[row] }

// maxRuleLength is the most characters of a cell's rule the import's
// answer gives.
const maxRuleLength = 300

// MaxProblemsShown is the most invalid cells Err names: a sheet of twenty
// thousand bad rows is refused with the first of them and a count of the
// rest, not with a violation per cell (megabytes the clerk cannot use).
const MaxProblemsShown = 1000

// Err is the sheet's problems as field violations, one per cell (the
// cell's name as the field, "严重程度 must be …" as the rule), the first
// MaxProblemsShown of them and then one on "file" that counts the others;
// nil when there are none.
func (s *Table[D]) Err() error {
	var v derrors.Violations
	slices.SortStableFunc(s.Problems, func(a, b Problem) int { return a.Row - b.Row })
	for _, p := range s.Problems[:min(len(s.Problems), MaxProblemsShown)] {
		zh := p.RuleZH
		if zh == "" {
			zh = p.Rule
		}
		v = append(v, derrors.FieldViolation{Field: p.Cell, Rule: p.Header + " " + p.Rule, RuleZH: p.Header + " " + zh})
	}
	if more := len(s.Problems) - MaxProblemsShown; more > 0 {
		v.Add("file", "%d more invalid cell(s) after row %d are not listed: mend these first", more, s.Problems[MaxProblemsShown-1].Row)
	}
	return v.Err()
}

// findingsLayout is the problem list's: the columns with an input, and the
// export's 问题编号 when the sheet has it.
var findingsLayout = func() *Layout[Draft] {
	l := &Layout[Draft]{Sheet: SheetFindings, Template: "GET /v1/findings:template",
		Optional: []Input[Draft]{{Header: HeaderLedgerNumber, Field: "ledger_number",
			Read: func(t string, d *Draft) i18n.Text { d.LedgerNumber = t; return i18n.Text{} }}}}
	for _, c := range columns {
		if c.in == nil {
			continue
		}
		read := c.in.read
		l.Inputs = append(l.Inputs, Input[Draft]{Header: c.header, Field: c.in.field, Choices: c.in.choices, Width: c.width,
			Read: read})
	}
	return l
}()

// ReadWorkbook reads a problem list in the layout of the export and the
// template (columns): sheet 问题清单, or the first, with the header in row
// 1 (ReadTable with the list's layout); each draft knows its row.
func ReadWorkbook(r io.Reader, limits Limits) (*Sheet, error) {
	s, err := ReadTable(r, limits, findingsLayout)
	if err != nil {
		return nil, err
	}
	for i := range s.Drafts {
		s.Drafts[i].Row = s.Rows[i]
	}
	return s, nil
}

// ReadTable reads a workbook in layout l: its sheet, or the first, with
// the header in row 1; columns are found by their headers, in any order,
// and those the import does not read are passed over. It refuses
// (derrors.Invalid, field "file") what is no workbook, what unpacks to
// more than the limit (a zip bomb is refused while it is read, before it
// is inflated), a header without the layout's columns and more rows than
// the limit; the cells' problems are the Table's, every row read.
func ReadTable[D any](r io.Reader, limits Limits, l *Layout[D]) (*Table[D], error) {
	maxUnzip := limits.maxUnzipBytes()
	toTemp := min(unzipInMemory, maxUnzip)
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the workbook: %w", err)
	}
	if err := checkInMemory(data, toTemp, limits.maxInMemoryBytes()); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzip, UnzipXMLSizeLimit: toTemp})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size") {
			return nil, derrors.Invalid("file", "unpacks to more than %d bytes, the most an import takes: split the list", maxUnzip)
		}
		return nil, derrors.Invalid("file", "is not a workbook that can be read (%s): save it as .xlsx (Excel 2007 or later; WPS: 另存为 .xlsx)", cause(err))
	}
	defer f.Close()
	s := &Table[D]{Name: l.Sheet, layout: l, fields: map[string]int{}, invalid: map[int]bool{}, refused: map[string]bool{}}
	// The layout's sheet when the clerk sees it, else the sheet the clerk
	// was on, else the first one the clerk sees: a hidden sheet (an old
	// version kept in the file) was read in the visible one's place.
	sheets := slices.DeleteFunc(f.GetSheetList(), func(name string) bool {
		visible, err := f.GetSheetVisible(name)
		return err != nil || !visible
	})
	if len(sheets) == 0 {
		return nil, derrors.Invalid("file", "holds no worksheet")
	}
	if !slices.Contains(sheets, l.Sheet) {
		s.Name = sheets[0]
		if active := f.GetSheetName(f.GetActiveSheetIndex()); slices.Contains(sheets, active) {
			s.Name = active
		}
	}
	if err := checkSharedText(data, maxUnzip); err != nil {
		return nil, err
	}
	rows, err := f.Rows(s.Name)
	if err != nil {
		return nil, derrors.Invalid("file", "sheet %s cannot be read (%s)", s.Name, cause(err))
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, derrors.Invalid("file", "sheet %s is empty: its row 1 must hold the headers (download the template: %s)", s.Name, l.Template)
	}
	// Raw values: a cell's text as stored, not formatted (a number format
	// of many @ repeats the text once for each, past every limit).
	raw := excelize.Options{RawCellValue: true}
	header, err := rows.Columns(raw)
	if err != nil {
		return nil, derrors.Invalid("file", "sheet %s cannot be read (%s)", s.Name, cause(err))
	}
	var missing, twice []string
	for _, in := range append(slices.Clone(l.Inputs), l.Optional...) {
		if n := len(slices.DeleteFunc(slices.Clone(header), func(h string) bool { return strings.TrimSpace(h) != in.Header })); n > 1 {
			twice = append(twice, in.Header)
		}
	}
	if len(twice) > 0 {
		// Which of two 问题标题 columns is the list's? The first was taken,
		// and the other's cells were dropped unread.
		return nil, derrors.Invalid("file", "sheet %s: row 1 holds the column(s) %s more than once; keep one of each", s.Name,
			strings.Join(twice, listSeparator))
	}
	for _, in := range l.Inputs {
		i := slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == in.Header })
		if i < 0 {
			missing = append(missing, in.Header)
			continue
		}
		s.fields[in.Field] = i + 1
		for _, also := range in.Also {
			s.fields[also] = i + 1
		}
	}
	if len(missing) > 0 {
		return nil, derrors.Invalid("file", "sheet %s: row 1 lacks the column(s) %s; row 1 must hold the template's headers (download the template: %s)",
			s.Name, strings.Join(missing, listSeparator), l.Template)
	}
	for _, in := range l.Optional {
		if i := slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == in.Header }); i >= 0 {
			s.fields[in.Field] = i + 1
		}
	}
	read := s.inputs()
	maxRows := limits.maxRows()
	var text int64 // the text of the cells read so far, as checkSharedText counts it
	for n := 2; rows.Next(); n++ {
		cells, err := rows.Columns(raw)
		if err != nil {
			return nil, derrors.Invalid("file", "sheet %s, row %d cannot be read (%s)", s.Name, n, cause(err))
		}
		for _, c := range cells {
			text += int64(len(c))
		}
		if text > maxUnzip {
			return nil, derrors.Invalid("file", "has cells whose text comes to more than %d bytes, the most an import takes: split the list", maxUnzip)
		}
		if !slices.ContainsFunc(cells, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue
		}
		if len(s.Drafts) == maxRows {
			return nil, derrors.Invalid("file", "sheet %s holds more than %d rows, the most one import takes: split the list", s.Name, maxRows)
		}
		var d D
		for _, in := range read {
			text := ""
			if i := s.fields[in.Field] - 1; i < len(cells) {
				text = strings.TrimSpace(cells[i])
			}
			if rule := in.Read(text, &d); rule.EN != "" {
				s.RefuseText(n, in.Field, rule)
			}
		}
		s.Drafts = append(s.Drafts, d)
		s.Rows = append(s.Rows, n)
	}
	if err := rows.Error(); err != nil {
		return nil, derrors.Invalid("file", "sheet %s cannot be read (%s)", s.Name, cause(err))
	}
	return s, nil
}

// CheckRepeats adds a problem (in field's cell) for each row whose draft
// has the identity of an earlier row's: it would be the same request, and
// one of them would be lost.
func (s *Table[D]) CheckRepeats(identity func(D) string, field string) {
	first := map[string]int{}
	for i, d := range s.Drafts {
		id := identity(d)
		if row, ok := first[id]; ok {
			s.RefuseText(s.Rows[i], field, i18n.T("repeats row %d word for word: one entry per row", row))
			continue
		}
		first[id] = s.Rows[i]
	}
}

// checkInMemory refuses a workbook whose parts that excelize inflates into
// memory (ReadZipReader: all but the worksheets and shared strings larger
// than toTemp) unpack to more than most bytes, by the sizes its zip
// directory declares (archive/zip fails a part that inflates past its
// size). What is no zip is left to excelize to refuse.
func checkInMemory(data []byte, toTemp, most int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	var inMemory int64
	for _, part := range zr.File {
		size := part.FileInfo().Size()
		name := strings.ToLower(strings.ReplaceAll(part.Name, "\\", "/"))
		sheet := name == "xl/sharedstrings.xml" || strings.HasPrefix(name, "xl/worksheets/sheet")
		if sheet && size > toTemp {
			continue
		}
		if inMemory += size; inMemory > most || inMemory < 0 {
			return derrors.Invalid("file", "holds parts besides its worksheets (pictures, objects) that unpack to more than %d bytes, the most an import holds: remove them, or split the list", most)
		}
	}
	return nil
}

// cause is an error's text for a refusal: the library's words, cut short.
func cause(err error) i18n.Text {
	msg := i18n.Clip(err.Error(), 201)
	// The reader's own words are English and technical: a Chinese clerk
	// is told what they mean ("zip: not a valid zip file" was quoted).
	zh := "文件内容无法解析"
	if errors.Is(err, zip.ErrFormat) {
		zh = "不是 .xlsx 文件：.xlsx 文件是一个 zip 压缩包，这个不是"
	}
	return i18n.Text{EN: msg, ZH: zh}
}
