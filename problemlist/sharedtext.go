package problemlist

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/html/charset"

	"github.com/xuncha/xuncha/internal/derrors"
)

// maxSharedStrings is the most shared strings (<si> entries) a workbook
// may hold: excelize indexes every one as soon as a cell refers to one, and
// 50 million empty ones in a 366 KB upload took minutes and gigabytes. A
// list of DefaultMaxRows rows with every cell distinct holds far fewer.
const maxSharedStrings = 1 << 20

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
	if len(charge) == 0 {
		return nil
	}
	var total int64
	for _, part := range zr.File {
		// Every part, whatever its name ends with: the relationships may
		// name any part as a sheet (what is no XML stops at its first byte).
		if normalizedName(part.Name) == "xl/sharedstrings.xml" {
			continue
		}
		if errors.Is(values(part, func(v string) bool {
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				i = 0 // excelize's index of a <v> that is no number
			}
			if i >= 0 && i < len(charge) {
				total += charge[i]
			}
			return total <= most
		}), errTooMuchText) {
			return derrors.Invalid("file", "has cells whose text comes to more than %d bytes, the most an import takes: split the list", most)
		}
	}
	return nil
}

// normalizedName is a part's name as excelize matches it: slashes forward,
// lower case.
func normalizedName(name string) string { return strings.ToLower(strings.ReplaceAll(name, "\\", "/")) }

var (
	// errTooManyStrings stops reading shared strings past maxSharedStrings.
	errTooManyStrings = errors.New("too many shared strings")
	// errTooMuchText stops reading a part whose values said no more.
	errTooMuchText = errors.New("too much shared text")
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
			depth++
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

// values calls value with the text of every <v> of the part, at any depth,
// until it returns false (errTooMuchText).
func values(part *zip.File, value func(string) bool) error {
	rc, err := part.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	d := newDecoder(rc)
	var text []byte
	in := 0 // the <v> open
	for {
		tok, err := d.Token()
		if err != nil {
			return nil // read up to there, as excelize reads it
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "v" {
				in++
				text = text[:0]
			}
		case xml.CharData:
			if in > 0 {
				if len(text) == 0 { // excelize trims the index's spaces
					t = bytes.TrimLeftFunc(t, unicode.IsSpace)
				}
				text = append(text, t[:min(len(t), 64-min(len(text), 64))]...)
			}
		case xml.EndElement:
			if t.Name.Local == "v" && in > 0 {
				in--
				if !value(string(text)) {
					return errTooMuchText
				}
			}
		}
	}
}

// newDecoder is an XML decoder of r that reads the encodings excelize
// reads (a part declared GBK, say).
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = charset.NewReaderLabel
	d.Strict = false
	return d
}
