// Package jsoncanon writes a JSON document in a canonical form in one pass
// over its text: no white space, each object's members sorted by key,
// numbers as written, strings as they stand, and, when asked, the members
// whose value is empty left out.
//
// Its callers each define their canonical form by decoding the document
// and encoding it again (the audit hash in ledger, the signatures in
// payloadcrypt); Append gives the same bytes without decoding, for the
// documents it takes, and reports !ok for the rest, which the caller's
// definition then handles: a string holding an escape sequence, a control
// character or bytes that are not UTF-8 (a decoder would change them), a
// key given twice (decoded, the last one wins), anything that is not JSON,
// and, with Options.HTMLEscaped, a string holding a character
// encoding/json escapes (<, >, &, U+2028, U+2029). A caller's tests hold
// Append to its definition.
package jsoncanon

import (
	"bytes"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Options says what a canonical form asks besides sorted keys.
type Options struct {
	// DropEmpty leaves out of every object the members whose value is
	// empty: null, false, a number whose value is 0, "", a string of
	// EmptyStrings, and a list or object without members (an object
	// counted after its own empty members are left out). A list's
	// elements are kept, whatever they are.
	DropEmpty bool
	// EmptyStrings are strings, as written between the quotes, that
	// DropEmpty counts as empty besides "".
	EmptyStrings []string
	// HTMLEscaped refuses strings holding <, >, &, U+2028 or U+2029: a
	// form that encoding/json encodes writes them escaped.
	HTMLEscaped bool
}

// Append appends the canonical form of src, one JSON value with optional
// white space around it, to dst. ok is false when it does not take src
// (the package's doc), dst's appended bytes then being of no use.
func Append(dst, src []byte, opt Options) (out []byte, ok bool) {
	w := writer{src: src, out: dst, opt: opt}
	w.space()
	if _, ok := w.value(); !ok {
		return dst, false
	}
	w.space()
	if w.pos != len(src) {
		return dst, false
	}
	return w.out, true
}

// writer reads src from pos and appends what it reads, canonical, to out.
// Each of its value methods reads one value, appends its canonical form
// and reports whether it is empty (Options.DropEmpty), or reports !ok.
type writer struct {
	src []byte
	pos int
	out []byte
	opt Options
}

// space skips white space.
func (w *writer) space() {
	for w.pos < len(w.src) {
		switch w.src[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// next skips white space and reports the byte there, 0 at the end.
func (w *writer) next() byte {
	w.space()
	if w.pos == len(w.src) {
		return 0
	}
	return w.src[w.pos]
}

func (w *writer) value() (empty, ok bool) {
	switch b := w.next(); {
	case b == '{':
		return w.object()
	case b == '[':
		return w.list()
	case b == '"':
		s, ok := w.str()
		if !ok {
			return false, false
		}
		w.out = append(w.out, s...)
		return w.emptyString(s[1 : len(s)-1]), true
	case b == 't':
		return w.literal("true", false)
	case b == 'f':
		return w.literal("false", true)
	case b == 'n':
		return w.literal("null", true)
	case b == '-' || '0' <= b && b <= '9':
		return w.number()
	}
	return false, false
}

// emptyString reports whether a string, as written between its quotes,
// is "" or one of Options.EmptyStrings.
func (w *writer) emptyString(inner []byte) bool {
	if len(inner) == 0 {
		return true
	}
	for _, e := range w.opt.EmptyStrings {
		if string(inner) == e { // compared without a copy
			return true
		}
	}
	return false
}

// literal reads the word, empty or not.
func (w *writer) literal(word string, empty bool) (bool, bool) {
	if !bytes.HasPrefix(w.src[w.pos:], []byte(word)) {
		return false, false
	}
	w.pos += len(word)
	w.out = append(w.out, word...)
	return empty, true
}

// number reads a number as written (RFC 8259's grammar); it is empty when
// its value is 0, as strconv.ParseFloat reads it (json.Number.Float64).
func (w *writer) number() (bool, bool) {
	start := w.pos
	digits := func() int {
		n := 0
		for w.pos < len(w.src) && '0' <= w.src[w.pos] && w.src[w.pos] <= '9' {
			w.pos++
			n++
		}
		return n
	}
	if w.src[w.pos] == '-' {
		w.pos++
	}
	switch n := digits(); {
	case n == 0, n > 1 && w.src[w.pos-n] == '0':
		return false, false // no digit, or a leading zero
	}
	if w.pos < len(w.src) && w.src[w.pos] == '.' {
		w.pos++
		if digits() == 0 {
			return false, false
		}
	}
	if w.pos < len(w.src) && (w.src[w.pos] == 'e' || w.src[w.pos] == 'E') {
		w.pos++
		if w.pos < len(w.src) && (w.src[w.pos] == '+' || w.src[w.pos] == '-') {
			w.pos++
		}
		if digits() == 0 {
			return false, false
		}
	}
	lit := w.src[start:w.pos]
	w.out = append(w.out, lit...)
	if !w.opt.DropEmpty {
		return false, true // emptiness is asked only to drop
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	return err == nil && f == 0, true
}

// str reads a string that stands as it is written (the package's doc)
// and returns it, quotes included.
func (w *writer) str() ([]byte, bool) {
	start := w.pos
	for i := start + 1; i < len(w.src); i++ {
		switch b := w.src[i]; {
		case b == '"':
			tok := w.src[start : i+1]
			inner := tok[1 : len(tok)-1]
			if !utf8.Valid(inner) ||
				w.opt.HTMLEscaped && (bytes.Contains(inner, []byte("\u2028")) || bytes.Contains(inner, []byte("\u2029"))) {
				return nil, false
			}
			w.pos = i + 1
			return tok, true
		case b == '\\' || b < 0x20:
			return nil, false
		case w.opt.HTMLEscaped && (b == '<' || b == '>' || b == '&'):
			return nil, false
		}
	}
	return nil, false
}

// list reads a list: its elements canonical, none left out.
func (w *writer) list() (bool, bool) {
	w.pos++ // [
	w.out = append(w.out, '[')
	if w.next() == ']' {
		w.pos++
		w.out = append(w.out, ']')
		return true, true
	}
	for {
		if _, ok := w.value(); !ok {
			return false, false
		}
		b := w.next()
		w.pos++
		w.out = append(w.out, b)
		switch b {
		case ',':
		case ']':
			return false, true
		default:
			return false, false
		}
	}
}

// member is one member of an object being read: its key, quotes included,
// and where its canonical value stands in out, from the object's start.
type member struct {
	key        []byte
	start, end int
	empty      bool
}

// object reads an object: its members sorted by key, with
// Options.DropEmpty those whose value is empty left out; empty when none
// is left.
func (w *writer) object() (bool, bool) {
	w.pos++ // {
	base := len(w.out)
	if w.next() == '}' {
		w.pos++
		w.out = append(w.out, "{}"...)
		return true, true
	}
	var members []member
	for {
		if w.next() != '"' {
			return false, false
		}
		key, ok := w.str()
		if !ok || w.next() != ':' {
			return false, false
		}
		w.pos++
		start := len(w.out) - base
		empty, ok := w.value()
		if !ok {
			return false, false
		}
		members = append(members, member{key: key, start: start, end: len(w.out) - base, empty: empty})
		b := w.next()
		w.pos++
		if b == '}' {
			break
		}
		if b != ',' {
			return false, false
		}
	}
	// Keys compare as the strings they are: without escapes, the bytes
	// between their quotes.
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.key[1:len(a.key)-1], b.key[1:len(b.key)-1]) })
	for i := 1; i < len(members); i++ {
		if bytes.Equal(members[i-1].key, members[i].key) {
			return false, false
		}
	}
	values := bytes.Clone(w.out[base:])
	w.out = append(w.out[:base], '{')
	kept := 0
	for _, m := range members {
		if m.empty && w.opt.DropEmpty {
			continue
		}
		if kept > 0 {
			w.out = append(w.out, ',')
		}
		kept++
		w.out = append(w.out, m.key...)
		w.out = append(w.out, ':')
		w.out = append(w.out, values[m.start:m.end]...)
	}
	w.out = append(w.out, '}')
	return kept == 0, true
}
