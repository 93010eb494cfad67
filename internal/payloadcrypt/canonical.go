package payloadcrypt

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// canonicalJSON is v's JSON with every object's keys sorted, numbers as
// written, and every member whose value is empty left out: the same for a
// value the client sent and the value the worker decoded it into, where a
// field of interface type holds a map on one side and a struct on the
// other, and where one side's type has a field the other's lacks and the
// value leaves it empty (a worker newer than the server: the field it adds
// is absent from the request and empty once decoded, omitempty or not).
// Empty is what a Go field decodes to when the member is absent: null, "",
// false, 0, an empty list or object, the zero time. Elements of a list are
// kept as they stand. (A number in an interface-typed field beyond
// float64's 2^53 would come out otherwise: that request fails the check
// rather than pass it. xuncha's inputs have no such field.)
//
// The definition is canonicalSlow's: v's JSON decoded into maps, lists and
// numbers as written, its empty members dropped, and encoded again. A
// sender and a worker of different releases must agree on it byte for
// byte, so canonicalJSON computes the same bytes in one pass over v's JSON
// (canonicalizer) and hands canonicalSlow what that pass does not take: a
// string with an escape sequence, or with bytes encoding/json would write
// otherwise (not UTF-8, HTML's <, > and &, U+2028, U+2029), a key given
// twice, white space. encoding/json writes those only for a
// json.RawMessage or a string that needs escaping; a request's JSON rarely
// holds either.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	c := canonicalizer{src: raw, out: make([]byte, 0, len(raw))}
	if _, ok := c.value(); ok && c.pos == len(raw) {
		return c.out, nil
	}
	return canonicalSlow(raw)
}

// canonicalSlow is canonicalJSON's definition, applied to raw, a JSON
// value as encoding/json writes it.
func canonicalSlow(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(withoutEmpty(generic))
}

// zeroTime is the JSON of a zero time.Time.
const zeroTime = "0001-01-01T00:00:00Z"

// withoutEmpty drops, recursively, the members of objects whose values are
// empty (canonicalJSON).
func withoutEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, member := range x {
			member = withoutEmpty(member)
			if empty(member) {
				delete(x, k)
				continue
			}
			x[k] = member
		}
		return x
	case []any:
		for i := range x {
			x[i] = withoutEmpty(x[i])
		}
		return x
	}
	return v
}

// empty reports whether a decoded JSON value is one an absent member
// decodes to.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == "" || x == zeroTime
	case bool:
		return !x
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// canonicalizer writes the canonical form of src, JSON as encoding/json
// writes it, to out in one pass. Each method reads the value at pos,
// appends its canonical form to out and reports whether it is empty, or
// reports !ok for what it does not take (canonicalJSON), out then being
// of no use.
type canonicalizer struct {
	src []byte
	pos int
	out []byte
}

func (c *canonicalizer) value() (isEmpty, ok bool) {
	if c.pos >= len(c.src) {
		return false, false
	}
	switch b := c.src[c.pos]; {
	case b == '{':
		return c.object()
	case b == '[':
		return c.array()
	case b == '"':
		s, ok := c.str()
		if !ok {
			return false, false
		}
		c.out = append(c.out, s...)
		inner := s[1 : len(s)-1]
		return len(inner) == 0 || string(inner) == zeroTime, true
	case b == 't':
		return c.literal("true", false)
	case b == 'f':
		return c.literal("false", true)
	case b == 'n':
		return c.literal("null", true)
	case b == '-' || '0' <= b && b <= '9':
		return c.number()
	}
	return false, false
}

// literal takes the literal word, empty or not.
func (c *canonicalizer) literal(word string, isEmpty bool) (bool, bool) {
	if !bytes.HasPrefix(c.src[c.pos:], []byte(word)) {
		return false, false
	}
	c.pos += len(word)
	c.out = append(c.out, word...)
	return isEmpty, true
}

// number takes a number as written; it is empty when its value is zero,
// as json.Number.Float64 reads it.
func (c *canonicalizer) number() (bool, bool) {
	start := c.pos
	for c.pos < len(c.src) {
		b := c.src[c.pos]
		if !('0' <= b && b <= '9' || b == '-' || b == '+' || b == '.' || b == 'e' || b == 'E') {
			break
		}
		c.pos++
	}
	lit := c.src[start:c.pos]
	c.out = append(c.out, lit...)
	f, err := strconv.ParseFloat(string(lit), 64)
	return err == nil && f == 0, true
}

// str takes a string token that encoding/json would write again as it
// stands: no escape sequence, UTF-8, none of the characters it escapes.
// It returns the token, quotes included.
func (c *canonicalizer) str() ([]byte, bool) {
	start := c.pos
	for i := start + 1; i < len(c.src); i++ {
		switch b := c.src[i]; {
		case b == '"':
			tok := c.src[start : i+1]
			inner := tok[1 : len(tok)-1]
			if !utf8.Valid(inner) || bytes.Contains(inner, []byte("\u2028")) || bytes.Contains(inner, []byte("\u2029")) {
				return nil, false
			}
			c.pos = i + 1
			return tok, true
		case b == '\\' || b < 0x20 || b == '<' || b == '>' || b == '&':
			return nil, false
		}
	}
	return nil, false
}

// array takes a list: its elements canonical, none dropped.
func (c *canonicalizer) array() (bool, bool) {
	c.pos++ // [
	c.out = append(c.out, '[')
	if c.pos < len(c.src) && c.src[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		return true, true
	}
	for {
		if _, ok := c.value(); !ok || c.pos >= len(c.src) {
			return false, false
		}
		b := c.src[c.pos]
		c.pos++
		c.out = append(c.out, b)
		switch b {
		case ',':
		case ']':
			return false, true
		default:
			return false, false
		}
	}
}

// member is one member of an object being taken: its key token and where
// its canonical value stands in out, from the object's start.
type member struct {
	key        []byte
	start, end int
	isEmpty    bool
}

// object takes an object: its members sorted by key, those whose value is
// empty left out; empty when none is left.
func (c *canonicalizer) object() (bool, bool) {
	c.pos++ // {
	base := len(c.out)
	if c.pos < len(c.src) && c.src[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, "{}"...)
		return true, true
	}
	var members []member
	for {
		if c.pos >= len(c.src) || c.src[c.pos] != '"' {
			return false, false
		}
		key, ok := c.str()
		if !ok || c.pos >= len(c.src) || c.src[c.pos] != ':' {
			return false, false
		}
		c.pos++
		start := len(c.out) - base
		isEmpty, ok := c.value()
		if !ok || c.pos >= len(c.src) {
			return false, false
		}
		members = append(members, member{key: key, start: start, end: len(c.out) - base, isEmpty: isEmpty})
		b := c.src[c.pos]
		c.pos++
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
			return false, false // decoded, the last would win
		}
	}
	values := bytes.Clone(c.out[base:])
	c.out = append(c.out[:base], '{')
	kept := 0
	for _, m := range members {
		if m.isEmpty {
			continue
		}
		if kept > 0 {
			c.out = append(c.out, ',')
		}
		kept++
		c.out = append(c.out, m.key...)
		c.out = append(c.out, ':')
		c.out = append(c.out, values[m.start:m.end]...)
	}
	c.out = append(c.out, '}')
	return kept == 0, true
}
