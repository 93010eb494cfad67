package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// This file explains, field by field, why a REST request does not decode
// into its request message. The gateway's decoder (protojson) stops at the
// first problem with a message in its own words and camelCase names; clients
// get google.rpc.BadRequest field violations instead, naming fields as the
// API's JSON does (snake_case proto names, e.g. inspection.team[2].role).

// bodyViolations walks a JSON request body against the request message md.
func bodyViolations(body []byte, md protoreflect.MessageDescriptor) derrors.Violations {
	var v derrors.Violations
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			v.Add("", "the request body is not valid JSON (syntax error at byte %d)", syntax.Offset)
		} else {
			v.Add("", "the request body is not valid JSON (it ends too early)")
		}
		return v
	}
	if dec.More() {
		v.Add("", "the request body must hold one JSON object, with nothing after it")
		return v
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		v.Add("", "the request body must be a JSON object")
		return v
	}
	checkMessage(&v, "", obj, md)
	if !utf8.Valid(body) {
		// encoding/json decodes invalid UTF-8 as U+FFFD: name the strings
		// that hold one, as the gRPC boundary does for the bytes themselves.
		invalidUTF8Strings(&v, "", obj, md)
	}
	return v
}

// invalidUTF8Strings names the fields whose decoded value holds U+FFFD, in
// a body that was not valid UTF-8.
func invalidUTF8Strings(v *derrors.Violations, path string, val any, md protoreflect.MessageDescriptor) {
	switch x := val.(type) {
	case string:
		if strings.ContainsRune(x, utf8.RuneError) {
			v.Add(path, "must be valid UTF-8")
		}
	case []any:
		for i, e := range x {
			invalidUTF8Strings(v, fmt.Sprintf("%s[%d]", path, i), e, md)
		}
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			e := x[k]
			name, next := k, protoreflect.MessageDescriptor(nil)
			if md != nil {
				if fd := fieldByJSONKey(md, k); fd != nil {
					name, next = string(fd.Name()), fd.Message()
				}
			}
			if strings.ContainsRune(k, utf8.RuneError) {
				v.Add(join(path, name), "must be valid UTF-8")
				continue
			}
			invalidUTF8Strings(v, join(path, name), e, next)
		}
	}
}

// checkMessage checks the members of a JSON object against md.
func checkMessage(v *derrors.Violations, path string, obj map[string]any, md protoreflect.MessageDescriptor) {
	keys := slices.Sorted(maps.Keys(obj))
	keyOf := map[protoreflect.FieldNumber]string{}
	for _, k := range keys {
		fd := fieldByJSONKey(md, k)
		if fd == nil {
			v.Add(join(path, k), "unknown field")
			continue
		}
		name := join(path, string(fd.Name()))
		if first, dup := keyOf[fd.Number()]; dup {
			v.Add(name, "must be given once, not as both %q and %q", first, k)
			continue
		}
		keyOf[fd.Number()] = k
		if obj[k] == nil {
			continue // null is the field's default
		}
		checkField(v, name, fd, obj[k])
	}
}

// fieldByJSONKey finds a field by its JSON name or its proto name, as
// protojson accepts both.
func fieldByJSONKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(key); fd != nil {
		return fd
	}
	return md.Fields().ByName(protoreflect.Name(key))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkField checks a field's JSON value: a list, a map or a single value.
func checkField(v *derrors.Violations, path string, fd protoreflect.FieldDescriptor, val any) {
	switch {
	case fd.IsList():
		list, ok := val.([]any)
		if !ok {
			v.Add(path, "must be an array")
			return
		}
		for i, x := range list {
			checkValue(v, fmt.Sprintf("%s[%d]", path, i), fd, x)
		}
	case fd.IsMap():
		obj, ok := val.(map[string]any)
		if !ok {
			v.Add(path, "must be an object")
			return
		}
		keys := slices.Sorted(maps.Keys(obj))
		for _, k := range keys {
			checkValue(v, fmt.Sprintf("%s[%q]", path, k), fd.MapValue(), obj[k])
		}
	default:
		checkValue(v, path, fd, val)
	}
}

// checkValue checks one value of fd's kind.
func checkValue(v *derrors.Violations, path string, fd protoreflect.FieldDescriptor, val any) {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		checkMessageValue(v, path, fd.Message(), val)
		return
	}
	if rule := scalarRule(fd, val, false); rule.EN != "" {
		v.AddText(path, rule)
	}
}

// checkMessageValue checks a message-typed value. Of the well-known types,
// which have JSON forms of their own, the API uses Timestamp only; a mistake
// in another is left to the generic rule of explainUnreadRequest.
func checkMessageValue(v *derrors.Violations, path string, md protoreflect.MessageDescriptor, val any) {
	switch {
	case val == nil:
	case md.FullName() == "google.protobuf.Timestamp":
		if s, ok := val.(string); !ok || !validTimestamp(s) {
			v.Add(path, "must be an instant in RFC 3339, e.g. 2026-11-28T09:30:00+08:00")
		}
	case md.ParentFile().Package() == "google.protobuf":
	default:
		obj, ok := val.(map[string]any)
		if !ok {
			v.Add(path, "must be an object")
			return
		}
		checkMessage(v, path, obj, md)
	}
}

// scalarRule returns the rule a scalar value breaks, or the zero Text. Query
// parameters (fromQuery) are strings whatever the field's kind.
func scalarRule(fd protoreflect.FieldDescriptor, val any, fromQuery bool) i18n.Text {
	s, isString := val.(string)
	_, isNumber := val.(json.Number)
	if fromQuery {
		isNumber = false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if !isString {
			return i18n.T("must be a string")
		}
	case protoreflect.BoolKind:
		if _, ok := val.(bool); ok {
			return i18n.Text{}
		}
		if fromQuery {
			if _, err := strconv.ParseBool(s); err == nil {
				return i18n.Text{}
			}
		}
		return i18n.T("must be true or false")
	case protoreflect.EnumKind:
		return enumRule(fd.Enum(), val)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return integerRule(val, math.MinInt32, math.MaxInt32)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return integerRule(val, math.MinInt64, math.MaxInt64)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return integerRule(val, 0, math.MaxUint32)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return integerRule(val, 0, math.MaxInt64)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if isNumber {
			return i18n.Text{}
		}
		if isString {
			switch s {
			case "NaN", "Infinity", "-Infinity":
				return i18n.Text{}
			}
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return i18n.Text{}
			}
		}
		return i18n.T("must be a number")
	case protoreflect.BytesKind:
		if isString {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				if _, err := enc.DecodeString(s); err == nil {
					return i18n.Text{}
				}
			}
		}
		return i18n.T("must be bytes in base64")
	}
	return i18n.Text{}
}

// integerRule accepts a JSON number or a string holding an integer within
// [lo, hi], as protojson does.
func integerRule(val any, lo, hi int64) i18n.Text {
	var text string
	switch x := val.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = x
	default:
		return i18n.T("must be an integer")
	}
	// Exactly: as a float64 the bounds of int64 round (MaxInt64 read
	// 9223372036854775808), and so do the numbers near them.
	// Compared as floats, never made an integer first: "1e600000000" is
	// a whole number whose big.Int takes a quarter of a gigabyte.
	f, ok := new(big.Float).SetPrec(0).SetString(strings.TrimSpace(text))
	if !ok || f.IsInf() || !f.IsInt() {
		return i18n.T("must be an integer")
	}
	if f.Cmp(new(big.Float).SetInt64(lo)) < 0 || f.Cmp(new(big.Float).SetInt64(hi)) > 0 {
		return i18n.T("must be an integer from %d to %d", lo, hi)
	}
	return i18n.Text{}
}

// enumRule accepts one of the enum's value names or its numbers.
func enumRule(ed protoreflect.EnumDescriptor, val any) i18n.Text {
	switch x := val.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) != nil {
			return i18n.Text{}
		}
		if n, err := strconv.ParseInt(x, 10, 32); err == nil && ed.Values().ByNumber(protoreflect.EnumNumber(n)) != nil {
			return i18n.Text{} // a number in a query parameter
		}
		return i18n.T("unknown value %q: must be one of %s", x, enumChoices(ed))
	case json.Number:
		if n, err := x.Int64(); err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
			return i18n.Text{} // protojson accepts any number of an open enum
		}
	}
	return i18n.T("must be one of %s", enumChoices(ed))
}

// enumNamesZH names the values of the domain's enums in Chinese, for a
// refusal that lists them: the codes are what a client sends, their names
// what a clerk reads ("COMPREHENSIVE（综合巡查）").
var enumNamesZH = map[protoreflect.FullName]func(string) string{
	"xuncha.v1.Finding.Kind":            i18n.FindingKind,
	"xuncha.v1.Finding.Severity":        i18n.Severity,
	"xuncha.v1.Finding.Stage":           i18n.FindingStage,
	"xuncha.v1.Inspection.Kind":         i18n.InspectionKind,
	"xuncha.v1.Inspection.Stage":        i18n.InspectionStage,
	"xuncha.v1.ClueReferral.UnitLevel":  i18n.UnitLevel,
	"xuncha.v1.ClueReferral.ClueKind":   i18n.ClueKind,
	"xuncha.v1.ClueReferral.CadreRank":  i18n.CadreRank,
	"xuncha.v1.ClueReferral.State":      i18n.ReferralState,
	"xuncha.v1.ReferralOutcome.Outcome": i18n.ReferralState,
}

// enumChoices are the values a client may send of ed, as a Text: the
// codes in English, each with its Chinese name where it has one in
// Chinese.
func enumChoices(ed protoreflect.EnumDescriptor) i18n.Text {
	codes := enumValueNames(ed)
	name, ok := enumNamesZH[ed.FullName()]
	if !ok {
		joined := strings.Join(codes, ", ")
		return i18n.Text{EN: joined, ZH: joined}
	}
	zh := make([]string, len(codes))
	for i, c := range codes {
		zh[i] = c
		if n := name(c); n != c {
			zh[i] += "（" + n + "）"
		}
	}
	return i18n.Text{EN: strings.Join(codes, ", "), ZH: strings.Join(zh, "、")}
}

// enumValueNames lists an enum's values a client may send: all but the zero
// value, which means "not given".
func enumValueNames(ed protoreflect.EnumDescriptor) []string {
	var names []string
	for i := range ed.Values().Len() {
		if ev := ed.Values().Get(i); ev.Number() != 0 {
			names = append(names, string(ev.Name()))
		}
	}
	return names
}

func validTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// queryViolations checks the query parameters of a REST request against its
// request message md. Parameters naming no field are left alone, as the
// gateway ignores them; pathParams are the names bound by the URL path.
func queryViolations(query map[string][]string, md protoreflect.MessageDescriptor, pathParams []string) derrors.Violations {
	var v derrors.Violations
	keys := slices.Sorted(maps.Keys(query))
	for _, key := range keys {
		if slices.Contains(pathParams, key) {
			continue
		}
		fd, name := fieldByQueryKey(md, key)
		if fd == nil {
			continue
		}
		values := query[key]
		if !fd.IsList() && len(values) > 1 {
			v.Add(name, "must be given once")
			continue
		}
		for _, s := range values {
			if fd.Kind() == protoreflect.MessageKind {
				checkMessageValue(&v, name, fd.Message(), s)
				continue
			}
			if rule := scalarRule(fd, s, true); rule.EN != "" {
				v.AddText(name, rule)
			}
		}
	}
	return v
}

// fieldByQueryKey resolves a dotted query key (unit.code) to its field and
// the field's name in snake_case, or nil.
func fieldByQueryKey(md protoreflect.MessageDescriptor, key string) (protoreflect.FieldDescriptor, string) {
	var fd protoreflect.FieldDescriptor
	var names []string
	for i, part := range strings.Split(key, ".") {
		if i > 0 {
			if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
				return nil, ""
			}
			md = fd.Message()
		}
		if fd = fieldByJSONKey(md, part); fd == nil {
			return nil, ""
		}
		names = append(names, string(fd.Name()))
	}
	return fd, strings.Join(names, ".")
}

// kindRule says in general what a field's value must be, for a path
// parameter the gateway could not convert.
func kindRule(fd protoreflect.FieldDescriptor) i18n.Text {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return i18n.T("must be one of %s", enumChoices(fd.Enum()))
	case protoreflect.BoolKind:
		return i18n.T("must be true or false")
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return i18n.T("must be a number")
	case protoreflect.StringKind:
		return i18n.T("must be a string")
	case protoreflect.BytesKind:
		return i18n.T("must be bytes in base64")
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return i18n.T("must be a value of type %s", fd.Message().Name())
	default:
		return i18n.T("must be an integer")
	}
}
