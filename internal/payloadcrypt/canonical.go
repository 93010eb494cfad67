package payloadcrypt

import (
	"bytes"
	"encoding/json"

	"github.com/xuncha/xuncha/internal/jsoncanon"
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
// The definition is canonicalJSONDecoded's: v's JSON decoded into maps,
// lists and numbers as written, its empty members dropped, and encoded
// again. A sender and a worker of different releases must agree on it
// byte for byte, so canonicalJSON computes the same bytes in one pass over
// v's JSON (jsoncanon) and hands canonicalJSONDecoded what that pass does
// not take: a string with an escape sequence, or with bytes encoding/json
// would write otherwise (not UTF-8, HTML's <, > and &, U+2028, U+2029), a
// key given twice. encoding/json writes those only for a json.RawMessage
// or a string that needs escaping; a request's JSON rarely holds either.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if out, ok := jsoncanon.Append(make([]byte, 0, len(raw)), raw, signedForm); ok {
		return out, nil
	}
	return canonicalJSONDecoded(raw)
}

// signedForm is canonicalJSON's form to jsoncanon: empty members left
// out, the zero time counted empty, strings as encoding/json writes them.
var signedForm = jsoncanon.Options{DropEmpty: true, EmptyStrings: []string{zeroTime}, HTMLEscaped: true}

// canonicalJSONDecoded is canonicalJSON's definition, applied to raw, a
// JSON value as encoding/json writes it.
func canonicalJSONDecoded(raw []byte) ([]byte, error) {
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
