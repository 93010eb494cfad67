package problemlist

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/xuncha/xuncha/internal/derrors"
)

// maxSharedStrings is the most shared strings (<si> entries) a workbook
// may hold: excelize indexes every one as soon as a cell refers to one, and
// 50 million empty ones in a 366 KB upload took minutes and gigabytes. A
// list of DefaultMaxRows rows with every cell distinct holds far fewer.
const maxSharedStrings = 1 << 20

// checkSharedText, run once excelize has opened the workbook (and checked
// what it unpacks to), refuses a workbook whose cells refer to more shared-string
// text, counted once per referring cell, than most bytes, or that holds
// more than maxSharedStrings shared strings. A cell that refers to a shared
// string gets its own copy of the text as it is read: a few kilobytes of
// zip holding one long string and many cells that refer to it took
// gigabytes, past every limit on what the file unpacks to. most is the
// most the workbook may unpack to: no more text than a workbook of that
// size could have held written out cell by cell.
//
// The parts are read as XML by a scanner that knows only tags (their local
// names, prefixes dropped) and the <v> of a cell whose t is "s"; what it
// cannot make sense of is left to excelize to refuse. A shared string's
// size is the bytes of its <si> element, markup included: never less than
// its text.
func checkSharedText(data []byte, most int64) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	var sizes []int64
	for _, part := range xmlParts(zr) {
		s := &xmlScan{}
		if err := s.scan(part); errors.Is(err, errTooManyStrings) {
			return derrors.Invalid("file", "holds more than %d shared strings, more than a list of %d rows needs: save it again from Excel or WPS",
				maxSharedStrings, DefaultMaxRows)
		} else if err != nil {
			continue // a part that does not inflate: excelize refuses it if it reads it
		}
		if len(s.sizes) > len(sizes) {
			sizes = s.sizes
		}
	}
	if len(sizes) == 0 {
		return nil
	}
	var total int64
	for _, part := range xmlParts(zr) {
		s := &xmlScan{refer: func(i int) bool {
			if i >= 0 && i < len(sizes) {
				total += sizes[i]
			}
			return total <= most
		}}
		if err := s.scan(part); errors.Is(err, errTooMuchText) {
			return derrors.Invalid("file", "has cells whose text comes to more than %d bytes, the most an import takes: split the list", most)
		}
	}
	return nil
}

// xmlParts are the workbook's XML parts.
func xmlParts(zr *zip.Reader) []*zip.File {
	var out []*zip.File
	for _, part := range zr.File {
		if strings.HasSuffix(strings.ToLower(part.Name), ".xml") {
			out = append(out, part)
		}
	}
	return out
}

// errTooMuchText stops a scan whose refer said no.
var errTooMuchText = errors.New("too much shared text")

// xmlScan reads one XML part for checkSharedText: the size of each <si>
// (sizes), and, when refer is set, the shared string each cell of type "s"
// refers to (refer returns false to stop).
type xmlScan struct {
	sizes []int64
	refer func(index int) bool

	pos      int64 // bytes read
	siStart  int64 // where the open <si> began, or -1
	inShared bool  // inside a <c t="s">
	inValue  bool  // inside its <v>
	value    []byte
}

func (s *xmlScan) scan(part *zip.File) error {
	rc, err := part.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64<<10)
	s.siStart = -1
	for {
		text, err := r.ReadSlice('<')
		s.pos += int64(len(text))
		if s.inValue && len(s.value) < 32 {
			s.value = append(s.value, bytes.TrimSuffix(text, []byte("<"))...)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		tag, selfClosing, err := s.readTag(r)
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := s.tag(tag, selfClosing); err != nil {
			return err
		}
	}
}

// readTag reads a tag after its '<' up to its '>': the start of it (its
// name and first attributes, which are all that matter here) and whether
// it closes itself ("/>"). Comments and CDATA sections are read whole.
func (s *xmlScan) readTag(r *bufio.Reader) (head []byte, selfClosing bool, _ error) {
	end := ">"
	if peek, _ := r.Peek(8); bytes.HasPrefix(peek, []byte("![CDATA[")) {
		end = "]]>"
	} else if bytes.HasPrefix(peek, []byte("!--")) {
		end = "-->"
	}
	var last [3]byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		s.pos++
		if len(head) < 512 {
			head = append(head, b)
		}
		last = [3]byte{last[1], last[2], b}
		if b == '>' && strings.HasSuffix(string(last[:]), end) {
			return head, last[1] == '/', nil
		}
	}
}

// errTooManyStrings stops a scan past maxSharedStrings.
var errTooManyStrings = errors.New("too many shared strings")

// tag handles one tag (its start, between '<' and '>').
func (s *xmlScan) tag(tag []byte, selfClosing bool) error {
	if len(tag) == 0 || tag[0] == '!' || tag[0] == '?' {
		return nil
	}
	closing := tag[0] == '/'
	body := bytes.TrimPrefix(bytes.TrimSuffix(bytes.TrimSuffix(tag, []byte(">")), []byte("/")), []byte("/"))
	name := body
	if i := bytes.IndexAny(body, " \t\r\n"); i >= 0 {
		name = body[:i]
	}
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	switch string(name) {
	case "si":
		switch {
		case selfClosing:
			s.sizes = append(s.sizes, 0)
		case closing:
			if s.siStart >= 0 {
				s.sizes = append(s.sizes, s.pos-s.siStart)
				s.siStart = -1
			}
		default:
			s.siStart = s.pos
		}
		if len(s.sizes) > maxSharedStrings {
			return errTooManyStrings
		}
	case "c":
		s.inShared = !closing && !selfClosing && sharedType(body)
	case "v":
		switch {
		case closing && s.inValue:
			s.inValue = false
			i, err := strconv.Atoi(string(bytes.TrimSpace(s.value)))
			if err == nil && s.refer != nil && !s.refer(i) {
				return errTooMuchText
			}
		case !closing && !selfClosing && s.inShared:
			s.inValue, s.value = true, s.value[:0]
		}
	}
	return nil
}

// sharedType reports whether a <c> tag's attributes say t="s" (prefix
// dropped, either quote).
func sharedType(body []byte) bool {
	for _, f := range bytes.Fields(body)[1:] {
		name, value, ok := bytes.Cut(f, []byte("="))
		if !ok {
			continue
		}
		if i := bytes.LastIndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		if string(name) == "t" {
			return string(bytes.Trim(value, `"'`)) == "s"
		}
	}
	return false
}
