package api

import (
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// The input boundary: every request, REST or gRPC, passes checkRequest before
// any handler sees it. The rules are declared once, per field name, in
// stringRules below; a test walks every request message of the API and fails
// when a string field has no rule, so a new field cannot slip past. The same
// table states the limits in the OpenAPI document (annotateOpenAPI).

// stringKind is what a string field holds, and so which characters it may
// contain.
type stringKind int

const (
	// identifier: IDs, request IDs, unit codes, page tokens, enum-like
	// filters. No whitespace, no control characters.
	identifier stringKind = iota + 1
	// line: one line of text such as a name or a title. No control
	// characters at all.
	line
	// text: free text such as a description or a report. Newline, carriage
	// return and tab are allowed; other control characters are not.
	text
	// date: a civil date YYYY-MM-DD within calendar's window.
	date
)

// stringRule is the rule of one string field: its kind and its maximum length
// in characters (Unicode code points, so 200 means 200 汉字).
type stringRule struct {
	kind stringKind
	max  int
}

// Limits shared by many fields (webhook URLs and secrets: api/webhooks.go).
const (
	maxIDLength        = 128
	maxSubjectLength   = 200
	maxPageTokenLength = 1024
	maxLineLength      = 200
	maxTextLength      = 20000
	maxCodeLength      = 32
)

var (
	idRule   = stringRule{identifier, maxIDLength}
	lineRule = stringRule{line, maxLineLength}
	textRule = stringRule{text, maxTextLength}
	dateRule = stringRule{date, len("YYYY-MM-DD")}
)

// stringRules maps a string field's name (the same in every message that has
// it) to its rule. The boundary's limit is never below a domain rule's for a
// field of that name (the domain's RequireText and LimitText calls,
// derrors): the boundary keeps out what no field may hold, and a field's
// own, tighter limit is stated by its domain rule, with the request's other
// mistakes (TestBoundaryKeepsTheDomainLimits). For a map field the rule
// covers its values and mapKeyRules its keys.
var stringRules = map[string]stringRule{
	// Identifiers.
	"id":                    idRule,
	"request_id":            idRule,
	"inspection_id":         idRule,
	"finding_id":            idRule,
	"follows_inspection_id": idRule,
	"lineup_id":             idRule,
	"expert_id":             idRule,
	"replacement_expert_id": idRule,
	"home_region":           {identifier, maxCodeLength},
	"judgement":             {identifier, 64},
	"notice_evidence_id":    idRule,
	"report_evidence_id":    idRule,
	"evidence_ids":          idRule,
	"workflow_id":           {identifier, maxIDLength + len("inspection/")},
	"page_token":            {identifier, maxPageTokenLength},
	"code":                  {identifier, maxCodeLength},
	"unit_code":             {identifier, maxCodeLength},
	"overdue":               {identifier, len("false")},
	"role":                  {identifier, 64},
	"rank":                  {identifier, 64},
	"kind":                  {identifier, 64},
	"channel":               {identifier, 64},
	"step":                  {identifier, 64},
	"stage":                 {identifier, 64},
	"dispositions":          {identifier, 64},
	"event_types":           {identifier, 64},
	// An interview's or exposure's "finding/<id>" or "inspection/<id>",
	// and a team member's sign-in subject (the token's "sub"), at most 200.
	"subject":      {identifier, maxSubjectLength},
	"on_behalf_of": {identifier, maxCodeLength},
	// A statistics period's months, YYYY-MM.
	"from_month": {identifier, len("YYYY-MM")},
	"to_month":   {identifier, len("YYYY-MM")},

	// One line of text.
	"name":                lineRule,
	"name_zh":             lineRule,
	"title":               {line, 500}, // a finding's rules hold its title to 200; an exposure's is 500
	"round":               {line, 100},
	"organisation":        lineRule,
	"unit_name":           lineRule,
	"sectors":             lineRule,
	"outlet":              lineRule,
	"label":               lineRule,
	"doc_number":          {line, 100},
	"contact":             {line, 500}, // a tip reporter's contact
	"contact_phone":       {line, 64},
	"contact_mailbox":     lineRule,
	"receiving_authority": lineRule,
	"receiver":            lineRule, // a receiving body (移交), at most 200 by its domain rule
	"receipt_number":      {line, 100},
	"case_number":         {line, 100},
	"risk_level":          {line, 64},
	"recipients":          lineRule,
	"attendees":           lineRule,
	"responsible_parties": lineRule,
	"rule":                lineRule,
	"secret":              {line, maxSecretLength},
	"url":                 {line, maxURLLength},
	"link":                {line, maxURLLength},

	// Free text.
	"description":             textRule,
	"note":                    {text, 5000},
	"reason":                  {text, 5000},
	"cancel_reason":           {text, 5000},
	"leave_reason":            {text, 5000},
	"dismiss_reason":          {text, 5000},
	"override_reason":         {text, 5000}, // a referral's, at most 2000 by its domain rule
	"cause":                   textRule,
	"content":                 textRule,
	"minutes":                 textRule,
	"report":                  textRule,
	"summary":                 textRule,
	"announcement":            textRule,
	"rectification_opinion":   textRule,
	"requirements":            textRule,
	"handling_of_responsible": textRule,
	"legal_basis":             textRule,
	"message":                 {text, 5000},
	"explanation":             {text, 5000},
	"records":                 textRule,

	// Dates.
	"date":                  dateRule,
	"since":                 dateRule,
	"doc_date":              dateRule,
	"due":                   dateRule,
	"from":                  dateRule,
	"to":                    dateRule,
	"left_on":               dateRule,
	"start":                 dateRule,
	"end":                   dateRule,
	"planned_start":         dateRule,
	"planned_end":           dateRule,
	"notified_on":           dateRule,
	"stationed_on":          dateRule,
	"onsite_ended_on":       dateRule,
	"feedback_delivered_on": dateRule,
	"approved_on":           dateRule,
	"feedback_received_on":  dateRule,
	"held_on":               dateRule,
	"published_on":          dateRule,
	"received_on":           dateRule,
	"finding_dues":          dateRule,
}

// mapKeyRules are the rules of map fields' keys, by the map field's name.
var mapKeyRules = map[string]stringRule{
	"finding_dues":    idRule,
	"records":         {identifier, 64},
	"by_kind":         {identifier, 64},
	"by_severity":     {identifier, 64},
	"by_content_area": {identifier, 64},
}

// maxListLength is how many elements a list or map field of a request may
// hold unless listLimits says otherwise. No request of the API needs more
// (evidence, team members, signers, attendees, content areas: tens at
// most); without a bound, one request of a few MiB could make the API
// check, look up or report hundreds of thousands of them.
const maxListLength = 100

// listLimits are the list and map fields whose bound is not maxListLength,
// by field name: a limit per classified finding of an inspection, and a
// year's holiday notice (a handful of each; the notice's overlap check
// compares every pair).
var listLimits = map[string]int{
	"finding_dues": 5000,
	"holidays":     40,
	"makeup_days":  40,
}

// listLimit is the bound of the list or map field name.
func listLimit(name string) int {
	if n, ok := listLimits[name]; ok {
		return n
	}
	return maxListLength
}

// yearFields are integer fields holding a year: 0 (not set) or a year of the
// date window.
var yearFields = map[string]bool{"year": true}

// checkRequest applies the boundary rules to every populated field of req and
// returns an *derrors.InvalidError naming each field (by its JSON name, with
// list indexes and map keys) and the rule it breaks.
func checkRequest(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	var v derrors.Violations
	checkBoundaryMessage(m.ProtoReflect(), "", &v)
	// A request's own id names what it reads or changes (REST: the path);
	// none may leave it empty, which would otherwise be answered as an
	// unknown ID, after a lookup.
	if fd := m.ProtoReflect().Descriptor().Fields().ByName("id"); fd != nil && fd.Kind() == protoreflect.StringKind &&
		fd.Cardinality() != protoreflect.Repeated && m.ProtoReflect().Get(fd).String() == "" {
		v.Add("id", "must not be empty")
	}
	return v.Err()
}

func checkBoundaryMessage(m protoreflect.Message, prefix string, v *derrors.Violations) {
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		if n, limit := elements(fd, val), listLimit(string(fd.Name())); n > limit {
			// Its elements are not checked one by one: the count is the
			// mistake, and a violation each could be larger still.
			v.Add(name, "must hold at most %d elements, not %d", limit, n)
			return true
		}
		switch {
		case fd.IsMap():
			keyRule, hasKeyRule := mapKeyRules[string(fd.Name())]
			val.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := k.Value()
				path := name + "[" + strconv.Quote(fmt.Sprint(key.Interface())) + "]"
				if fd.MapKey().Kind() == protoreflect.StringKind {
					if !hasKeyRule {
						keyRule = idRule
					}
					if rule := keyRule.check(key.String()); rule.EN != "" {
						v.AddText(name, i18n.T("key %s: %s", strconv.Quote(key.String()), rule))
					}
				}
				checkBoundaryValue(fd.MapValue(), mv, path, v)
				return true
			})
		case fd.IsList():
			list := val.List()
			for i := range list.Len() {
				checkBoundaryValue(fd, list.Get(i), name+"["+strconv.Itoa(i)+"]", v)
			}
		default:
			checkBoundaryValue(fd, val, name, v)
		}
		return true
	})
}

// elements is how many elements val, the value of list or map field fd,
// holds; 0 for any other field.
func elements(fd protoreflect.FieldDescriptor, val protoreflect.Value) int {
	switch {
	case fd.IsMap():
		return val.Map().Len()
	case fd.IsList():
		return val.List().Len()
	}
	return 0
}

// checkValue checks one value of field fd (a list element, a map value or the
// field itself) found at path.
func checkBoundaryValue(fd protoreflect.FieldDescriptor, val protoreflect.Value, path string, v *derrors.Violations) {
	name := string(fd.Name())
	if fd.ContainingMessage().IsMapEntry() {
		// A map value: its rule is the map field's.
		name = mapFieldName(fd)
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if rule := ruleOf(name).check(val.String()); rule.EN != "" {
			v.AddText(path, rule)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		checkBoundaryMessage(val.Message(), path+".", v)
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		if yearFields[name] {
			if y := val.Int(); y != 0 && (y < int64(calendar.EarliestDate.Year) || y > int64(calendar.LatestDate.Year)) {
				v.Add(path, "must be a year from %d to %d", calendar.EarliestDate.Year, calendar.LatestDate.Year)
			}
		}
	}
}

// mapFieldName is the name of the map field whose entry's value fd is.
func mapFieldName(fd protoreflect.FieldDescriptor) string {
	entry := fd.ContainingMessage()
	parent, ok := entry.Parent().(protoreflect.MessageDescriptor)
	if !ok {
		return string(fd.Name())
	}
	fields := parent.Fields()
	for i := range fields.Len() {
		if f := fields.Get(i); f.IsMap() && f.Message() == entry {
			return string(f.Name())
		}
	}
	return string(fd.Name())
}

// ruleOf returns the rule of the string field name. A field missing from the
// table (TestEveryRequestStringHasARule keeps that from happening) gets the
// strictest text rule: one line of at most maxLineLength characters.
func ruleOf(name string) stringRule {
	if r, ok := stringRules[name]; ok {
		return r
	}
	return lineRule
}

// check returns the rule s breaks, or the zero Text when it keeps it.
func (r stringRule) check(s string) i18n.Text {
	if !utf8.ValidString(s) {
		return i18n.T("must be valid UTF-8")
	}
	n := 0
	for _, c := range s {
		n++
		switch {
		case c == '\n' || c == '\r' || c == '\t':
			if r.kind != text {
				return i18n.T("must be one line without tabs (found %s at character %d)", codePoint(c), n)
			}
		case unicode.IsControl(c):
			if r.kind == text {
				return i18n.T("must not contain control characters other than newline and tab (found %s at character %d)", codePoint(c), n)
			}
			return i18n.T("must not contain control characters (found %s at character %d)", codePoint(c), n)
		case isBidiControl(c):
			return i18n.T("must not contain bidirectional formatting characters (found %s at character %d)", codePoint(c), n)
		case r.kind != text && unicode.Is(unicode.Cf, c):
			// Zero-width spaces and joiners, soft hyphens, byte-order
			// marks: "长沙市纪委监委\u200B" shows as the commission's name
			// and matches no token's organisation.
			return i18n.T("must not contain invisible formatting characters (found %s at character %d)", codePoint(c), n)
		case c == 0xFFFE || c == 0xFFFF:
			return i18n.T("must not contain Unicode noncharacters (found %s at character %d)", codePoint(c), n)
		case r.kind == identifier && unicode.IsSpace(c):
			return i18n.T("must not contain spaces (found %s at character %d)", codePoint(c), n)
		}
	}
	if n > r.max {
		return i18n.T("must be at most %d characters (has %d)", r.max, n)
	}
	if r.kind == date {
		// A malformed date is left to the handler, which names it among the
		// request's other mistakes; a well-formed one must lie in the window.
		if d, err := calendar.ParseDate(s); err == nil && !d.InWindow() {
			return i18n.T("must be between %s and %s", calendar.EarliestDate, calendar.LatestDate)
		}
	}
	return i18n.Text{}
}

// isBidiControl reports the explicit bidirectional formatting characters, with
// which a name can be made to display as something else.
func isBidiControl(c rune) bool {
	return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F || c == 0x061C
}

func codePoint(c rune) string { return fmt.Sprintf("U+%04X", c) }
