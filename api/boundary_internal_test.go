package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/xuncha/xuncha/api/openapi"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// requestMessages lists the input message of every RPC of the API.
func requestMessages(t *testing.T) []protoreflect.MessageDescriptor {
	t.Helper()
	var out []protoreflect.MessageDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage("xuncha.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			methods := fd.Services().Get(i).Methods()
			for j := range methods.Len() {
				out = append(out, methods.Get(j).Input())
			}
		}
		return true
	})
	require.Greater(t, len(out), 40, "the API's services are registered")
	return out
}

// TestEveryRequestStringHasARule walks every field reachable from every
// request message: a string field (or a map with string keys) without a rule
// in the boundary table fails, so a new field cannot slip past the checks.
func TestEveryRequestStringHasARule(t *testing.T) {
	t.Parallel()
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] || md.FullName().Parent() != "xuncha.v1" && !md.IsMapEntry() {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := range fields.Len() {
			f := fields.Get(i)
			switch {
			case f.IsMap():
				if f.MapKey().Kind() == protoreflect.StringKind {
					_, ok := mapKeyRules[string(f.Name())]
					require.True(t, ok, "map %s has no rule for its keys in mapKeyRules", f.FullName())
				}
				if f.MapValue().Kind() == protoreflect.StringKind {
					_, ok := stringRules[string(f.Name())]
					require.True(t, ok, "map %s has no rule for its values in stringRules", f.FullName())
				}
				if f.MapValue().Message() != nil {
					walk(f.MapValue().Message())
				}
			case f.Kind() == protoreflect.StringKind:
				_, ok := stringRules[string(f.Name())]
				require.True(t, ok, "string field %s has no rule in stringRules", f.FullName())
			case f.Message() != nil:
				walk(f.Message())
			}
		}
	}
	for _, md := range requestMessages(t) {
		walk(md)
	}
}

func TestStringRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		rule  stringRule
		value string
		want  string // a part of the broken rule; "" when the value keeps it
	}{
		{"plain Chinese title", lineRule, "安全生产责任制落实不到位", ""},
		{"NUL in a title", lineRule, "a\x00b", "must not contain control characters (found U+0000 at character 2)"},
		{"NUL in free text", textRule, "a\x00b", "other than newline and tab (found U+0000"},
		{"newline in free text", textRule, "第一行\n第二行\r\n\t缩进", ""},
		{"newline in a title", lineRule, "a\nb", "must be one line"},
		{"escape character", lineRule, "a\x1bb", "U+001B"},
		{"DEL", lineRule, "a\x7fb", "U+007F"},
		{"C1 control", lineRule, "a\u0085b", "U+0085"},
		{"right-to-left override", lineRule, "invoice\u202Etxt.exe", "bidirectional formatting characters (found U+202E"},
		{"noncharacter", lineRule, "a\uFFFEb", "noncharacters"},
		{"zero-width space in a name", lineRule, "长沙市纪委监委\u200B", "invisible formatting characters (found U+200B at character 8)"},
		{"word joiner", lineRule, "长沙\u2060市", "U+2060"},
		{"byte-order mark", lineRule, "\uFEFF长沙市", "U+FEFF"},
		{"soft hyphen", lineRule, "长沙\u00AD市", "U+00AD"},
		{"zero-width space in an ID", idRule, "f-1\u200B", "U+200B"},
		{"zero-width space in free text, pasted", textRule, "第一段\u200B", ""},
		{"invalid UTF-8", lineRule, "a\xffb", "must be valid UTF-8"},
		{"200 汉字 are 200 characters", lineRule, strings.Repeat("汉", 200), ""},
		{"201 characters", lineRule, strings.Repeat("汉", 201), "must be at most 200 characters (has 201)"},
		{"space in an ID", idRule, "f 1", "must not contain spaces"},
		{"ideographic space in an ID", idRule, "f\u30001", "must not contain spaces"},
		{"long ID", idRule, strings.Repeat("a", maxIDLength+1), "at most 128"},
		{"date", dateRule, "2026-12-01", ""},
		{"empty date is left to the handler", dateRule, "", ""},
		{"year 0001", dateRule, "0001-01-01", "must be between 2000-01-01 and 2100-12-31"},
		{"year 9999", dateRule, "9999-12-31", "must be between 2000-01-01 and 2100-12-31"},
		{"first day of the window", dateRule, "2000-01-01", ""},
		{"last day of the window", dateRule, "2100-12-31", ""},
		{"a malformed date is left to the handler", dateRule, "2026-02-30", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.rule.check(tc.value)
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got.EN, tc.want)
			require.Regexp(t, `\p{Han}`, got.ZH, "the rule in Chinese too")
		})
	}
}

// violations returns the field → rule pairs of an *derrors.InvalidError.
func violations(t *testing.T, err error) map[string]string {
	t.Helper()
	var invalid *derrors.InvalidError
	require.True(t, errors.As(err, &invalid), "want an *InvalidError, got %v", err)
	out := map[string]string{}
	for _, v := range invalid.Violations {
		out[v.Field] = v.Rule
	}
	return out
}

func TestCheckRequestNamesNestedFields(t *testing.T) {
	t.Parallel()
	req := &xunchav1.CreateInspectionRequest{
		RequestId: "r-1",
		Inspection: &xunchav1.Inspection{
			Unit:         &xunchav1.Unit{Code: "430100", Name: "长沙\x00市"},
			Round:        "2026\u202E",
			PlannedStart: "0001-01-01",
			PlannedEnd:   "2026-12-15",
			Team:         []*xunchav1.TeamMember{{Name: "赵强"}, {Name: strings.Repeat("名", 201)}},
			Records:      map[string]string{"note": "ok", "bad key": "x"},
		},
	}
	got := violations(t, checkRequest(req))
	require.Contains(t, got["inspection.unit.name"], "U+0000")
	require.Contains(t, got["inspection.round"], "bidirectional")
	require.Contains(t, got["inspection.planned_start"], "between 2000-01-01 and 2100-12-31")
	require.Contains(t, got["inspection.team[1].name"], "at most 200 characters")
	require.Contains(t, got["inspection.records"], `key "bad key": must not contain spaces`)
	require.Len(t, got, 5, "only the broken fields are named: %v", got)

	require.NoError(t, checkRequest(&xunchav1.GiveFeedbackRequest{
		Id: "ins-1", RequestId: "r-2", Due: "2027-01-15", FindingDues: map[string]string{"f-1": "2027-01-10"},
	}))
	got = violations(t, checkRequest(&xunchav1.GiveFeedbackRequest{
		Id: "ins-1", RequestId: "r-2", FindingDues: map[string]string{"f-1": "9999-01-10"},
	}))
	require.Contains(t, got[`finding_dues["f-1"]`], "between")
	got = violations(t, checkRequest(&xunchav1.ListInspectionsRequest{Year: 9999}))
	require.Equal(t, "must be a year from 2000 to 2100", got["year"])
	require.NoError(t, checkRequest(&xunchav1.ListInspectionsRequest{}), "year 0 means not set")
}

// TestListsAreBounded: a list or map of a request holds at most its
// field's bound (maxListLength, or listLimits'); one over is refused with
// one violation naming the field and both counts, whatever its elements
// are, and at the bound it passes.
func TestListsAreBounded(t *testing.T) {
	t.Parallel()
	ids := func(n int, id string) []string { return slices.Repeat([]string{id}, n) }
	require.NoError(t, checkRequest(&xunchav1.ReportRectificationRequest{Id: "f-1", RequestId: "r-1", EvidenceIds: ids(maxListLength, "ev-1")}))
	got := violations(t, checkRequest(&xunchav1.ReportRectificationRequest{
		Id: "f-1", RequestId: "r-1", EvidenceIds: ids(maxListLength+1, "bad id\x00"),
	}))
	require.Equal(t, map[string]string{"evidence_ids": fmt.Sprintf("must hold at most %d elements, not %d", maxListLength, maxListLength+1)}, got,
		"one violation for the count, none per element")

	holidays := func(n int) []*xunchav1.Holiday {
		out := make([]*xunchav1.Holiday, n)
		for i := range out {
			out[i] = &xunchav1.Holiday{Name: "元旦", Start: "2026-01-01", End: "2026-01-01"}
		}
		return out
	}
	require.NoError(t, checkRequest(&xunchav1.LoadCalendarYearRequest{RequestId: "r-1", Year: 2026, Holidays: holidays(listLimits["holidays"])}))
	got = violations(t, checkRequest(&xunchav1.LoadCalendarYearRequest{RequestId: "r-1", Year: 2026, Holidays: holidays(listLimits["holidays"] + 1)}))
	require.Contains(t, got["holidays"], "at most 40 elements, not 41")

	dues := map[string]string{}
	for i := range listLimits["finding_dues"] + 1 {
		dues[fmt.Sprintf("f-%d", i)] = "2027-01-10"
	}
	got = violations(t, checkRequest(&xunchav1.GiveFeedbackRequest{Id: "ins-1", RequestId: "r-2", FindingDues: dues}))
	require.Contains(t, got["finding_dues"], "at most 5000 elements, not 5001")
	delete(dues, "f-0")
	require.NoError(t, checkRequest(&xunchav1.GiveFeedbackRequest{Id: "ins-1", RequestId: "r-2", FindingDues: dues}))

	// Nested lists are bounded too, and named by their path.
	team := make([]*xunchav1.TeamMember, maxListLength+1)
	for i := range team {
		team[i] = &xunchav1.TeamMember{Name: "赵强"}
	}
	got = violations(t, checkRequest(&xunchav1.CreateInspectionRequest{RequestId: "r-3", Inspection: &xunchav1.Inspection{Team: team}}))
	require.Contains(t, got["inspection.team"], "at most 100 elements")
}

// TestEveryRequestNamesItsID: every request with an id of its own (the
// resource it reads or changes) is refused at the boundary when the id is
// empty, naming the field; a request that has one and sets it is not.
func TestEveryRequestNamesItsID(t *testing.T) {
	t.Parallel()
	n := 0
	for _, md := range requestMessages(t) {
		fd := md.Fields().ByName("id")
		if fd == nil {
			continue
		}
		n++
		mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
		require.NoError(t, err)
		msg := mt.New()
		got := violations(t, checkRequest(msg.Interface()))
		require.Equal(t, "must not be empty", got["id"], "%s", md.FullName())
		msg.Set(fd, protoreflect.ValueOfString("x-1"))
		err = checkRequest(msg.Interface())
		if err != nil {
			require.NotContains(t, violations(t, err), "id", "%s", md.FullName())
		}
	}
	require.Greater(t, n, 40, "the requests with an id of their own")
}

// TestCodecNamesInvalidUTF8 sends bytes that gRPC's proto codec refuses (it
// would answer Internal): the boundary codec names the field instead.
func TestCodecNamesInvalidUTF8(t *testing.T) {
	t.Parallel()
	good, err := proto.Marshal(&xunchav1.RecordFindingRequest{
		InspectionId: "ins-1", RequestId: "r-1", Title: "TITLE", EvidenceIds: []string{"e-1", "e-2"},
	})
	require.NoError(t, err)
	bad := []byte(strings.Replace(strings.Replace(string(good), "TITLE", "TI\xffLE", 1), "e-2", "e\xfe2", 1))
	codec := newBoundaryCodec()
	req := &xunchav1.RecordFindingRequest{}
	require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(bad)}, req), "the call goes on to the interceptor")
	got := violations(t, decodeFailure(req))
	require.Equal(t, map[string]string{"title": "must be valid UTF-8", "evidence_ids[1]": "must be valid UTF-8"}, got)
	require.NoError(t, decodeFailure(req), "the failure is forgotten once reported")

	broken := protowire.AppendTag(nil, 2, protowire.BytesType)
	broken = append(broken, 0xff) // a length that runs past the end
	req = &xunchav1.RecordFindingRequest{}
	require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(broken)}, req))
	require.Contains(t, decodeFailure(req).Error(), "not a valid protobuf message")

	// A message of another package (the health service's, streamed where no
	// interceptor takes the record) keeps gRPC's own failure.
	health := &healthpb.HealthCheckRequest{}
	require.Error(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(broken)}, health))
	require.NoError(t, decodeFailure(health), "nothing recorded for it")

	req = &xunchav1.RecordFindingRequest{}
	require.NoError(t, codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(good)}, req))
	require.NoError(t, decodeFailure(req))
	require.Equal(t, "TITLE", req.GetTitle())
}

func TestRequestTargets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method string
		req    proto.Message
		target string
	}{
		{"/xuncha.v1.InspectionService/CreateInspection", &xunchav1.CreateInspectionRequest{RequestId: "k"}, "inspections"},
		{"/xuncha.v1.FindingService/RecordFinding", &xunchav1.RecordFindingRequest{InspectionId: "ins-1", RequestId: "k"}, "inspections/ins-1/findings"},
		{"/xuncha.v1.FindingService/ReferFinding", &xunchav1.ReferFindingRequest{Id: "f-1", RequestId: "k"}, "findings/f-1"},
		{"/xuncha.v1.InspectionService/RecheckFinding", &xunchav1.RecheckFindingRequest{Id: "ins-1", RequestId: "k"}, "inspections/ins-1"},
		{"/xuncha.v1.CalendarService/LoadCalendarYear", &xunchav1.LoadCalendarYearRequest{Year: 2028, RequestId: "k"}, "calendar/2028"},
	} {
		k, ok, err := idempotencyKey(tc.method, actor.Actor{}, tc.req)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, tc.target, k.Target, tc.method)
		require.Equal(t, "k", k.RequestID)
	}
	_, ok, err := idempotencyKey("/xuncha.v1.FindingService/GetFinding", actor.Actor{}, &xunchav1.GetFindingRequest{Id: "f-1"})
	require.NoError(t, err)
	require.False(t, ok, "a read has no key")

	// Every method with a request_id has a binding to name its target.
	templates, err := httpTemplates()
	require.NoError(t, err)
	protoregistry.GlobalFiles.RangeFilesByPackage("xuncha.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				if m.Input().Fields().ByName(requestIDField) != nil {
					require.Contains(t, templates, "/"+string(svc.FullName())+"/"+string(m.Name()))
				}
			}
		}
		return true
	})
}

func TestFingerprintIgnoresOnlyTheKey(t *testing.T) {
	t.Parallel()
	const method = "/xuncha.v1.FindingService/DiagnoseFinding"
	member := actor.Actor{Name: "张伟", Role: actor.RoleTeamMember, Organisation: "巡查一组"}
	other := actor.Actor{Name: "李四", Role: actor.RoleTeamMember, Organisation: "巡查二组"}
	body := func(key, cause string) *xunchav1.DiagnoseFindingRequest {
		return &xunchav1.DiagnoseFindingRequest{Id: "f-1", RequestId: key, Diagnosis: &xunchav1.Diagnosis{Cause: cause}}
	}
	a, _, err := idempotencyKey(method, member, body("k1", "A"))
	require.NoError(t, err)
	b, _, err := idempotencyKey(method, member, body("k2", "A"))
	require.NoError(t, err)
	c, _, err := idempotencyKey(method, member, body("k1", "B"))
	require.NoError(t, err)
	d, _, err := idempotencyKey(method, other, body("k1", "A"))
	require.NoError(t, err)
	require.Equal(t, a.Fingerprint, b.Fingerprint, "the key is not part of the body")
	require.NotEqual(t, a.Fingerprint, c.Fingerprint)
	require.NotEqual(t, a.Fingerprint, d.Fingerprint, "another caller's same body is another request")
	require.Len(t, a.Fingerprint, 32)
}

func TestGeneratedIDsAreScoped(t *testing.T) {
	t.Parallel()
	require.NotEqual(t, generatedID("f", "inspections/ins-1", "f-001"), generatedID("f", "inspections/ins-2", "f-001"),
		"the same request_id on two inspections gives two findings")
	require.Equal(t, generatedID("f", "inspections/ins-1", "f-001"), generatedID("f", "inspections/ins-1", "f-001"))
	require.Regexp(t, `^ins-[0-9a-f]{16}$`, generatedID("ins", "", "demo-1"))
}

func TestOpenAPIStatesTheLimits(t *testing.T) {
	t.Parallel()
	served, err := openapi.Document()
	require.NoError(t, err)
	doc, err := annotateOpenAPI(served)
	require.NoError(t, err)
	var d struct {
		Info struct {
			Description string `json:"description"`
		} `json:"info"`
		Definitions map[string]struct {
			Properties map[string]map[string]any `json:"properties"`
		} `json:"definitions"`
	}
	require.NoError(t, json.Unmarshal(doc, &d))
	require.Contains(t, d.Info.Description, "between 2000-01-01 and 2100-12-31")
	require.Contains(t, d.Info.Description, fmt.Sprintf("at most %d elements", maxListLength), "the lists' bound")
	for name, limit := range listLimits {
		require.Regexp(t, fmt.Sprintf(`%s[^.]* at most %d`, name, limit), strings.Join(strings.Fields(d.Info.Description), " "), "%s's bound", name)
	}
	unit := d.Definitions["v1Unit"].Properties
	require.EqualValues(t, maxCodeLength, unit["code"]["maxLength"])
	require.EqualValues(t, maxLineLength, unit["name"]["maxLength"])
	ins := d.Definitions["v1Inspection"].Properties
	require.Equal(t, "date", ins["planned_start"]["format"])
	require.EqualValues(t, 100, ins["round"]["maxLength"])
	again, err := annotateOpenAPI(doc)
	require.NoError(t, err)
	require.JSONEq(t, string(doc), string(again), "annotating twice changes nothing")
}

// TestBoundaryKeepsTheDomainLimits: a value as long as a field's domain rule
// allows (workflows' validators, the tips' and exposures' checks) passes the
// boundary, so the boundary never narrows what the API accepted before.
func TestBoundaryKeepsTheDomainLimits(t *testing.T) {
	t.Parallel()
	for field, domainMax := range map[string]int{
		"title": 500, "round": 100, "contact": 500, "name": 200, "outlet": 200, "receiving_authority": 200,
		"recipients": 100, "attendees": 200, "responsible_parties": 200, "link": 2000,
		"note": 5000, "reason": 5000, "dismiss_reason": 5000, "cause": 5000, "legal_basis": 5000,
		"rectification_opinion": 5000, "description": 10000, "announcement": 10000, "requirements": 10000,
		"handling_of_responsible": 10000, "summary": 20000, "report": 20000, "minutes": 20000, "content": 20000,
	} {
		require.Empty(t, ruleOf(field).check(strings.Repeat("字", domainMax)), "%s of %d characters", field, domainMax)
	}
}
