package problemlist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/xuncha/xuncha/internal/derrors"
)

// Defaults of the import's limits (Limits).
const (
	// DefaultMaxRows is the most findings one import takes.
	DefaultMaxRows = 20000
	// DefaultMaxUnzipBytes is the most a workbook may unpack to: a zip
	// bomb is refused before it is inflated past it.
	DefaultMaxUnzipBytes int64 = 256 << 20
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
}

func (l Limits) maxRows() int {
	if l.MaxRows > 0 {
		return l.MaxRows
	}
	return DefaultMaxRows
}

func (l Limits) maxUnzipBytes() int64 {
	if l.MaxUnzipBytes > 0 {
		return l.MaxUnzipBytes
	}
	return DefaultMaxUnzipBytes
}

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
	// Rule is what the cell must hold.
	Rule string
}

// Error reads "G7: 严重程度 must be one of 一般、重大".
func (p Problem) Error() string { return p.Cell + ": " + p.Header + " " + p.Rule }

// Sheet is a problem list read from a workbook: a Draft per non-empty
// row below the header, and the problems of its cells.
type Sheet struct {
	// Name is the worksheet read.
	Name   string
	Drafts []Draft
	// Problems are in the order found: row by row, left to right.
	Problems []Problem
	// fields maps a RecordFindingRequest field to its column (1-based).
	fields map[string]int
	// invalid holds the rows with a problem.
	invalid map[int]bool
}

// Refuse records that field's cell in row breaks rule. A field the sheet
// has no column for (none of the import's) is named by the row's first
// cell.
func (s *Sheet) Refuse(row int, field, rule string) {
	// A list's element (evidence_ids[1]) is its column's cell.
	if i := strings.IndexByte(field, '['); i > 0 {
		field = field[:i]
	}
	n, ok := s.fields[field]
	header := field
	if ok {
		header = columnFor(field).header
	} else {
		n = 1
	}
	cell, _ := excelize.CoordinatesToCellName(n, row)
	// One problem per cell: the first rule broken is the one to fix.
	if slices.ContainsFunc(s.Problems, func(p Problem) bool { return p.Cell == cell }) {
		return
	}
	s.Problems = append(s.Problems, Problem{Row: row, Cell: cell, Header: header, Rule: rule})
	s.invalid[row] = true
}

// Invalid reports whether a row has a problem.
func (s *Sheet) Invalid(row int) bool { return s.invalid[row] }

// Err is the sheet's problems as field violations, one per cell (the
// cell's name as the field, "严重程度 must be …" as the rule); nil when
// there are none.
func (s *Sheet) Err() error {
	var v derrors.Violations
	slices.SortStableFunc(s.Problems, func(a, b Problem) int { return a.Row - b.Row })
	for _, p := range s.Problems {
		v.Add(p.Cell, "%s %s", p.Header, p.Rule)
	}
	return v.Err()
}

// columnFor is the column the import reads field from.
func columnFor(field string) column {
	for _, c := range columns {
		if c.in != nil && c.in.field == field {
			return c
		}
	}
	panic("problemlist: no column reads " + field)
}

// ReadWorkbook reads a problem list in the layout of the export and the
// template (columns): sheet 问题清单, or the first, with the header in row
// 1; columns are found by their headers, in any order, and those the
// import does not read are passed over, so an exported list reads back. It
// refuses (derrors.Invalid, field "file") what is no workbook, what
// unpacks to more than the limit (a zip bomb is refused while it is read,
// before it is inflated), a header without the import's columns and more
// rows than the limit; the cells' problems are the Sheet's, every row
// read.
func ReadWorkbook(r io.Reader, limits Limits) (*Sheet, error) {
	maxUnzip := limits.maxUnzipBytes()
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: maxUnzip, UnzipXMLSizeLimit: min(unzipInMemory, maxUnzip)})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size") {
			return nil, derrors.Invalid("file", "unpacks to more than %d bytes, the most an import takes: split the list", maxUnzip)
		}
		return nil, derrors.Invalid("file", "is not a workbook that can be read (%s): save it as .xlsx (Excel 2007 or later; WPS: 另存为 .xlsx)", cause(err))
	}
	defer f.Close()
	s := &Sheet{Name: SheetFindings, fields: map[string]int{}, invalid: map[int]bool{}}
	if idx, err := f.GetSheetIndex(SheetFindings); err != nil || idx < 0 {
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, derrors.Invalid("file", "holds no worksheet")
		}
		s.Name = sheets[0]
	}
	rows, err := f.Rows(s.Name)
	if err != nil {
		return nil, derrors.Invalid("file", "sheet %s cannot be read (%s)", s.Name, cause(err))
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, derrors.Invalid("file", "sheet %s is empty: its row 1 must hold the headers (download the template: GET /v1/findings:template)", s.Name)
	}
	header, err := rows.Columns()
	if err != nil {
		return nil, derrors.Invalid("file", "sheet %s cannot be read (%s)", s.Name, cause(err))
	}
	var missing []string
	for _, c := range columns {
		if c.in == nil {
			continue
		}
		i := slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == c.header })
		if i < 0 {
			missing = append(missing, c.header)
			continue
		}
		s.fields[c.in.field] = i + 1
	}
	if len(missing) > 0 {
		return nil, derrors.Invalid("file", "sheet %s: row 1 lacks the column(s) %s; row 1 must hold the headers of the problem list (download the template: GET /v1/findings:template)",
			s.Name, strings.Join(missing, listSeparator))
	}
	maxRows := limits.maxRows()
	for n := 2; rows.Next(); n++ {
		cells, err := rows.Columns()
		if err != nil {
			return nil, derrors.Invalid("file", "sheet %s, row %d cannot be read (%s)", s.Name, n, cause(err))
		}
		if !slices.ContainsFunc(cells, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue
		}
		if len(s.Drafts) == maxRows {
			return nil, derrors.Invalid("file", "sheet %s holds more than %d findings, the most one import takes: split the list", s.Name, maxRows)
		}
		d := Draft{Row: n}
		for _, c := range columns {
			if c.in == nil {
				continue
			}
			text := ""
			if i := s.fields[c.in.field] - 1; i < len(cells) {
				text = strings.TrimSpace(cells[i])
			}
			if rule := c.in.read(text, &d); rule != "" {
				s.Refuse(n, c.in.field, rule)
			}
		}
		s.Drafts = append(s.Drafts, d)
	}
	if err := rows.Error(); err != nil {
		return nil, derrors.Invalid("file", "sheet %s cannot be read (%s)", s.Name, cause(err))
	}
	return s, nil
}

// CheckRepeats adds a problem for each row whose finding repeats an
// earlier row's word for word: its identity in the inspection would be the
// same, and one of them would be lost.
func (s *Sheet) CheckRepeats(inspectionID string) {
	first := map[string]int{}
	for _, d := range s.Drafts {
		id := d.Identity(inspectionID)
		if row, ok := first[id]; ok {
			s.Refuse(d.Row, "title", fmt.Sprintf("repeats row %d word for word: one finding per row", row))
			continue
		}
		first[id] = d.Row
	}
}

// cause is an error's text for a refusal: the library's words, cut short.
func cause(err error) string {
	msg := err.Error()
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}
