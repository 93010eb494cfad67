package problemlist

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html/charset"

	"github.com/xuncha/xuncha/internal/derrors"
)

// maxSharedStrings is the most shared strings (<si> entries) a workbook
// may hold: excelize indexes every one as soon as a cell refers to one, and
// 50 million empty ones in a 366 KB upload took minutes and gigabytes. A
// list of DefaultMaxRows rows with every cell distinct holds far fewer.
const maxSharedStrings = 1 << 20

// maxDepth is the deepest a workbook's XML may nest: a spreadsheet program
// writes a dozen levels at most, and a decoder keeps every open element, so
// a 15 KB upload of two million nested elements took 900 MB to read.
const maxDepth = 256

// checkSharedText, run once excelize has opened the workbook (and checked
// what it unpacks to) and before a row is read, refuses a workbook whose
// cells may refer to more shared-string text, counted once per referring
// cell, than most bytes, or that holds more than maxSharedStrings shared
// strings. A cell that refers to a shared string gets its own copy of the
// text as it is read: a few kilobytes of zip holding one long string and
// many cells that refer to it took gigabytes, past every limit on what the
// file unpacks to. most is the most the workbook may unpack to: no more
// text than a workbook of that size could have held written out cell by
// cell.
//
// The check does not try to read the workbook as excelize does (a reading
// of its own, told which parts and cells excelize reads, was got past in a
// dozen ways by parts and cells excelize reads otherwise); it counts more
// than excelize can read:
//   - shared strings from every part named like xl/sharedStrings.xml (case
//     and slashes aside, duplicates too), each index at the largest <si> it
//     may name there (counting the <si> at every depth, or the root's
//     children only), in bytes, markup included, and a third more (a strict
//     workbook's namespaces are rewritten, text included, before it is
//     read);
//   - references from every <v> of every other part, at any depth and
//     whatever its cell's type says, its text as excelize reads an index
//     (not a number: 0).
//
// The same pass refuses rows and cells out of order in any part (scanPart):
// excelize reads them into each other.
//
// ReadTable also counts the text of the cells it reads, against most, as it
// reads them.
func checkSharedText(data []byte, most int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	var charge []int64
	for _, part := range zr.File {
		if normalizedName(part.Name) != "xl/sharedstrings.xml" {
			continue
		}
		sizes, err := sharedStringSizes(part)
		if errors.Is(err, errTooDeep) {
			return tooDeep()
		}
		if errors.Is(err, errTooManyStrings) {
			return derrors.Invalid("file", "holds more than %d shared strings, more than a list of %d rows needs: save it again from Excel or WPS",
				maxSharedStrings, DefaultMaxRows)
		}
		for i, n := range sizes {
			if i == len(charge) {
				charge = append(charge, 0)
			}
			charge[i] = max(charge[i], n+n/3)
		}
	}
	var total int64
	for _, part := range zr.File {
		// Every part, whatever its name ends with: the relationships may
		// name any part as a sheet (what is no XML stops at its first byte).
		if normalizedName(part.Name) == "xl/sharedstrings.xml" {
			continue
		}
		err := scanPart(part, func(v string) bool {
			if len(charge) == 0 {
				return true
			}
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				i = 0 // excelize's index of a <v> that is no number
			}
			if i >= 0 && i < len(charge) {
				total += charge[i]
			}
			return total <= most
		})
		var order *outOfOrder
		switch {
		case errors.Is(err, errTooDeep):
			return tooDeep()
		case errors.Is(err, errTooMuchText):
			return derrors.Invalid("file", "has cells whose text comes to more than %d bytes, the most an import takes: split the list", most)
		case errors.As(err, &order) && order.cell == "":
			return derrors.Invalid("file", "has its rows out of order (row %d stands after row %d), which would be read into each other: open it in Excel or WPS and save it again",
				order.row, order.after)
		case errors.As(err, &order):
			return derrors.Invalid("file", "has the cells of row %d out of order (%s stands after %s), which would be read into the wrong columns: open it in Excel or WPS and save it again",
				order.row, order.cell, order.afterCell)
		}
	}
	return nil
}

// tooDeep is the refusal of a part nested deeper than maxDepth.
func tooDeep() error {
	return derrors.Invalid("file", "nests its XML more than %d elements deep, which no spreadsheet program writes: save it again from Excel or WPS", maxDepth)
}

// normalizedName is a part's name as excelize matches it: slashes forward,
// lower case.
func normalizedName(name string) string { return strings.ToLower(strings.ReplaceAll(name, "\\", "/")) }

var (
	// errTooManyStrings stops reading shared strings past maxSharedStrings.
	errTooManyStrings = errors.New("too many shared strings")
	// errTooMuchText stops reading a part whose values said no more.
	errTooMuchText = errors.New("too much shared text")
	// errTooDeep stops reading a part nested deeper than maxDepth.
	errTooDeep = errors.New("nested too deep")
)

// sharedStringSizes is, for each index a cell may name, the largest size in
// bytes of the <si> it names in the part, as excelize indexes them: every
// <si> not inside another (a part in a temporary file), or the root's
// children only (a part it holds in memory). A part that stops parsing is
// read up to there, as excelize reads it.
func sharedStringSizes(part *zip.File) ([]int64, error) {
	rc, err := part.Open()
	if err != nil {
		return nil, nil
	}
	defer rc.Close()
	d := newDecoder(rc)
	var outer, top []int64
	var begin int64     // where the outermost open <si> began
	depth, open := 0, 0 // elements open, <si> open
	isTop := false      // the outermost open <si> is a child of the root
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return nil, errTooDeep
			}
			if t.Name.Local != "si" {
				continue
			}
			if open == 0 {
				begin, isTop = offset, depth == 2
				if outer = append(outer, 0); len(outer) > maxSharedStrings {
					return nil, errTooManyStrings
				}
				if isTop {
					top = append(top, 0)
				}
			}
			open++
		case xml.EndElement:
			depth--
			if t.Name.Local != "si" || open == 0 {
				continue
			}
			if open--; open == 0 {
				size := d.InputOffset() - begin
				outer[len(outer)-1] = size
				if isTop {
					top[len(top)-1] = size
				}
			}
		}
	}
	if open > 0 { // left open: excelize reads it to where the part stops
		size := d.InputOffset() - begin
		outer[len(outer)-1] = size
		if isTop {
			top[len(top)-1] = size
		}
	}
	for i := range min(len(top), len(outer)) {
		outer[i] = max(outer[i], top[i])
	}
	return outer, nil
}

// outOfOrder is a row whose number is not above the number of the row
// before it in its part (cell empty), or a cell whose column is not right
// of the column of the cell before it in its row.
type outOfOrder struct {
	row, after      int
	cell, afterCell string
}

func (o *outOfOrder) Error() string {
	return fmt.Sprintf("row %d after %d, cell %q after %q", o.row, o.after, o.cell, o.afterCell)
}

// scanPart reads the part's XML once. It calls value with the text of every
// <v>, at any depth, until it returns false (errTooMuchText); and it
// refuses (*outOfOrder) a row of a <sheetData> not numbered above the row
// before it, and a cell of a row not right of the cell before it: a row
// without a number is one past the row before it, a cell without one a
// column right of the cell before it. Excelize reads a row that comes after
// a higher one into that one, its cells over the other's, and a cell that
// comes after one to its right into the next free column: the row a clerk
// moved up was lost. Only rows in a <sheetData> and cells in a row are
// checked: a workbook's calculation chain (xl/calcChain.xml, which Excel
// writes for formulas) lists cells in the order they are calculated.
func scanPart(part *zip.File, value func(string) bool) error {
	rc, err := part.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	d := newDecoder(rc)
	var text []byte
	in := 0          // the <v> open
	row, col := 0, 0 // the last row's number, its last cell's column
	cellName := ""   // the last cell's reference, as written
	depth := 0       // the elements open
	inSheetData, inRow := false, false
	for {
		tok, err := d.Token()
		if err != nil {
			return nil // read up to there, as excelize reads it
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxDepth {
				return errTooDeep
			}
			switch t.Name.Local {
			case "v":
				in++
				text = text[:0]
			case "sheetData":
				inSheetData = true
			case "row":
				if !inSheetData {
					continue
				}
				inRow = true
				n, err := strconv.Atoi(attr(t, "r"))
				if err != nil || n == 0 {
					n = row + 1
				}
				if n <= row {
					return &outOfOrder{row: n, after: row}
				}
				row, col, cellName = n, 0, ""
			case "c":
				if !inRow {
					continue
				}
				r := attr(t, "r")
				c := col + 1
				if r != "" {
					if c, _, err = excelize.CellNameToCoordinates(r); err != nil {
						c = col + 1 // excelize refuses the row as it reads it
					}
				}
				if c <= col {
					return &outOfOrder{row: row, cell: r, afterCell: cellName}
				}
				if r == "" {
					r, _ = excelize.CoordinatesToCellName(c, row)
				}
				col, cellName = c, r
			}
		case xml.CharData:
			if in > 0 {
				if len(text) == 0 { // excelize trims the index's spaces
					t = bytes.TrimLeftFunc(t, unicode.IsSpace)
				}
				text = append(text, t[:min(len(t), 64-min(len(text), 64))]...)
			}
		case xml.EndElement:
			depth--
			switch {
			case t.Name.Local == "v" && in > 0:
				in--
				if !value(string(text)) {
					return errTooMuchText
				}
			case t.Name.Local == "row":
				inRow = false
			case t.Name.Local == "sheetData":
				row, col, cellName, inSheetData, inRow = 0, 0, "", false, false
			}
		}
	}
}

// attr is the value of the start element's attribute named name (any
// namespace), or "".
func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// newDecoder is an XML decoder of r that reads the encodings excelize
// reads (a part declared GBK, say).
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = charset.NewReaderLabel
	d.Strict = false
	return d
}
