package problemlist

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html/charset"

	"github.com/xuncha/xuncha/internal/derrors"
)

// maxSharedStrings is the most shared strings (<si> entries) a workbook
// may hold: excelize indexes every one as soon as a cell refers to one, and
// 50 million empty ones in a 366 KB upload took minutes and gigabytes. A
// list of DefaultMaxRows rows with every cell distinct holds far fewer.
const maxSharedStrings = 1 << 20

// sharedStringsPart is where excelize reads a workbook's shared strings,
// whatever its relationships say.
const sharedStringsPart = "xl/sharedStrings.xml"

// checkSharedText, run once excelize has opened the workbook (and checked
// what it unpacks to) and before a row of sheet is read, refuses a workbook
// whose cells in sheet refer to more shared-string text, counted once per
// referring cell, than most bytes, or that holds more than
// maxSharedStrings shared strings. A cell that refers to a shared string
// gets its own copy of the text as it is read: a few kilobytes of zip
// holding one long string and many cells that refer to it took gigabytes,
// past every limit on what the file unpacks to. most is the most the
// workbook may unpack to: no more text than a workbook of that size could
// have held written out cell by cell.
//
// The parts are read as excelize reads them, with encoding/xml: the shared
// strings from sharedStringsPart, the sheet from the part the workbook's
// relationships name for it, a cell's type from its last t attribute and
// its index from its <v>. A shared string counts as the bytes of its <si>
// element, markup included: never less than its text.
func checkSharedText(data []byte, sheet string, most int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	parts := map[string]*zip.File{}
	for _, f := range zr.File {
		parts[f.Name] = f
	}
	sst, ok := parts[sharedStringsPart]
	if !ok {
		return nil // no shared strings: nothing is multiplied
	}
	// A part that stops parsing is read up to there, as excelize reads it.
	sizes, err := sharedStringSizes(sst)
	if errors.Is(err, errTooManyStrings) {
		return derrors.Invalid("file", "holds more than %d shared strings, more than a list of %d rows needs: save it again from Excel or WPS",
			maxSharedStrings, DefaultMaxRows)
	}
	if len(sizes) == 0 {
		return nil
	}
	sheets := worksheetParts(parts, sheet)
	if len(sheets) == 0 {
		// excelize found the sheet where this reading does not: refused
		// rather than read unchecked.
		return derrors.Invalid("file", "sheet %s cannot be found where the workbook says: save it again from Excel or WPS", sheet)
	}
	for _, name := range sheets {
		ws, ok := parts[name]
		if !ok {
			continue
		}
		var total int64
		if errors.Is(sharedCells(ws, func(i int) bool {
			if i >= 0 && i < len(sizes) {
				total += sizes[i]
			}
			return total <= most
		}), errTooMuchText) {
			return derrors.Invalid("file", "has cells whose text comes to more than %d bytes, the most an import takes: split the list", most)
		}
	}
	return nil
}

var (
	// errTooManyStrings stops reading shared strings past maxSharedStrings.
	errTooManyStrings = errors.New("too many shared strings")
	// errTooMuchText stops reading a sheet whose refer said no.
	errTooMuchText = errors.New("too much shared text")
)

// sharedStringSizes reads the size in bytes of each <si> of the shared
// strings part, in order, as excelize indexes them: every element named si.
func sharedStringSizes(part *zip.File) ([]int64, error) {
	rc, err := part.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	d := newDecoder(rc)
	var sizes []int64
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return sizes, nil
		}
		if err != nil {
			return sizes, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "si" {
			if err := d.Skip(); err != nil {
				return sizes, err
			}
			if sizes = append(sizes, d.InputOffset()-start); len(sizes) > maxSharedStrings {
				return sizes, errTooManyStrings
			}
		}
	}
}

// sharedCells calls refer with the shared string index of each cell of the
// worksheet part whose type is "s", until refer returns false
// (errTooMuchText). A cell is read as excelize reads it: decoded into its
// t attribute (the last one, whatever its prefix) and its <v>.
func sharedCells(part *zip.File, refer func(index int) bool) error {
	rc, err := part.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	d := newDecoder(rc)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "c" {
			continue
		}
		var c struct {
			T string `xml:"t,attr"`
			V string `xml:"v"`
		}
		if err := d.DecodeElement(&c, &se); err != nil {
			return err
		}
		if c.T != "s" || c.V == "" {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSpace(c.V))
		if err == nil && !refer(i) {
			return errTooMuchText
		}
	}
}

// The relationships namespace and the officeDocument relationship type,
// transitional and strict (excelize reads a strict workbook as the
// transitional one).
var (
	relationshipsNS = []string{"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
		"http://purl.oclc.org/ooxml/officeDocument/relationships"}
	officeDocumentTypes = []string{relationshipsNS[0] + "/officeDocument", relationshipsNS[1] + "/officeDocument"}
)

// worksheetParts are the parts the workbook's relationships name for sheet
// (its name compared without case, every sheet so named: excelize reads
// one of them), as excelize finds them: the workbook from the package's
// officeDocument relationship, the sheet's r:id in it, that relationship's
// target beside the workbook.
func worksheetParts(parts map[string]*zip.File, sheet string) []string {
	type relationships struct {
		Relationships []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	var pkg relationships
	if readXML(parts["_rels/.rels"], &pkg) != nil {
		return nil
	}
	workbook := ""
	for _, r := range pkg.Relationships {
		if slices.Contains(officeDocumentTypes, r.Type) {
			workbook = strings.TrimPrefix(r.Target, "/")
			break
		}
	}
	var wb struct {
		Sheets []struct {
			Name  string     `xml:"name,attr"`
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"sheets>sheet"`
	}
	if readXML(parts[workbook], &wb) != nil {
		return nil
	}
	dir := path.Dir(workbook)
	relsPath := strings.TrimPrefix(dir+"/_rels/"+path.Base(workbook)+".rels", "/")
	if dir == "." {
		relsPath = "_rels/" + path.Base(workbook) + ".rels"
	}
	var rels relationships
	if readXML(parts[relsPath], &rels) != nil {
		return nil
	}
	var out []string
	for _, s := range wb.Sheets {
		if !strings.EqualFold(s.Name, sheet) {
			continue
		}
		id := ""
		for _, a := range s.Attrs {
			if a.Name.Local == "id" && slices.Contains(relationshipsNS, a.Name.Space) {
				id = a.Value
			}
		}
		for _, r := range rels.Relationships {
			if r.ID != id {
				continue
			}
			target := strings.ReplaceAll(r.Target, "\\", "/")
			if !strings.HasPrefix(target, "/") {
				target = dir + "/" + target
			}
			out = append(out, strings.TrimPrefix(path.Clean(target), "/"))
		}
	}
	return out
}

// readXML decodes a part into v.
func readXML(part *zip.File, v any) error {
	if part == nil {
		return errors.New("no such part")
	}
	rc, err := part.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return newDecoder(rc).Decode(v)
}

// newDecoder is an XML decoder of r that reads the encodings excelize
// reads (a part declared GBK, say).
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = charset.NewReaderLabel
	return d
}
