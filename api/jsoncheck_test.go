package api

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/xuncha/xuncha/internal/derrors"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// TestBodyViolationsAgreeWithProtojson checks the walker against the
// decoder it explains: a body protojson refuses has a violation, a body it
// accepts has none.
func TestBodyViolationsAgreeWithProtojson(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want []derrors.FieldViolation // nil: protojson accepts the body
	}{
		{`{"request_id":"a","inspection":{"kind":"SPECIAL","content_areas":[1,"2"],"team":[{"name":"甲"}],"records":{"a":"b"},"create_time":"2026-11-28T09:30:00Z"}}`, nil},
		{`{"requestId":"a","inspection":{"plannedStart":"2026-12-01","kind":2,"team_approved":true,"overdue":null}}`, nil},
		{`{"inspection":{"kind":"ROUTINE"}}`, []derrors.FieldViolation{{Field: "inspection.kind", Rule: `unknown value "ROUTINE": must be one of COMPREHENSIVE, SPECIAL, FOLLOW_UP`}}},
		{`{"inspection":{"kind":true}}`, []derrors.FieldViolation{{Field: "inspection.kind", Rule: "must be one of COMPREHENSIVE, SPECIAL, FOLLOW_UP"}}},
		{`{"request_id":"a","extra":1}`, []derrors.FieldViolation{{Field: "extra", Rule: "unknown field"}}},
		{`{"request_id":{}}`, []derrors.FieldViolation{{Field: "request_id", Rule: "must be a string"}}},
		{`{"inspection":{"content_areas":[1.5]}}`, []derrors.FieldViolation{{Field: "inspection.content_areas[0]", Rule: "must be an integer"}}},
		{`{"inspection":{"content_areas":[3000000000]}}`, []derrors.FieldViolation{{Field: "inspection.content_areas[0]", Rule: "must be an integer from -2147483648 to 2147483647"}}},
		{`{"inspection":{"unit":"430100"}}`, []derrors.FieldViolation{{Field: "inspection.unit", Rule: "must be an object"}}},
		{`{"inspection":{"overdue":"no"}}`, []derrors.FieldViolation{{Field: "inspection.overdue", Rule: "must be true or false"}}},
		{`{"inspection":{"update_time":"2026-11-28"}}`, []derrors.FieldViolation{{Field: "inspection.update_time", Rule: "must be an instant in RFC 3339, e.g. 2026-11-28T09:30:00+08:00"}}},
		{`{"request_id":"a","requestId":"b"}`, []derrors.FieldViolation{{Field: "request_id", Rule: `must be given once, not as both "requestId" and "request_id"`}}},
		{`{"request_id":"a"} {}`, []derrors.FieldViolation{{Rule: "the request body must hold one JSON object, with nothing after it"}}},
		{`"a"`, []derrors.FieldViolation{{Rule: "the request body must be a JSON object"}}},
		{`{"request_id":`, []derrors.FieldViolation{{Rule: "the request body is not valid JSON (it ends too early)"}}},
	} {
		agreesWithProtojson(t, &xunchav1.CreateInspectionRequest{}, tc.body, tc.want)
	}
}

// agreesWithProtojson checks that body's violations for msg's type are
// want and that protojson accepts body exactly when want is nil.
func agreesWithProtojson(t *testing.T, msg proto.Message, body string, want []derrors.FieldViolation) {
	t.Helper()
	got := bodyViolations([]byte(body), msg.ProtoReflect().Descriptor())
	require.Equal(t, derrors.Violations(want), english(got), body)
	err := protojson.Unmarshal([]byte(body), msg)
	if want == nil {
		require.NoError(t, err, "protojson accepts %s", body)
	} else {
		require.Error(t, err, "protojson refuses %s", body)
	}
}

// TestInt64BoundsExactly: an int64 just past its bound is refused with the
// bound as it is (read as a float64 both rounded: 2^63 passed, and the
// refusal named 9223372036854775808 as the largest), and the bound
// itself is taken, as protojson takes it.
func TestInt64BoundsExactly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		want []derrors.FieldViolation
	}{
		{`{"seed":"9223372036854775807"}`, nil},
		{`{"seed":-9223372036854775808}`, nil},
		{`{"seed":"9223372036854775808"}`, []derrors.FieldViolation{{Field: "seed", Rule: "must be an integer from -9223372036854775808 to 9223372036854775807"}}},
		{`{"seed":"1e30"}`, []derrors.FieldViolation{{Field: "seed", Rule: "must be an integer from -9223372036854775808 to 9223372036854775807"}}},
		// Whole, and huge: refused without making it an integer (a quarter
		// of a gigabyte for these 25 bytes).
		{`{"seed":"1e600000000"}`, []derrors.FieldViolation{{Field: "seed", Rule: "must be an integer from -9223372036854775808 to 9223372036854775807"}}},
		{`{"seed":"9223372036854775806.5"}`, []derrors.FieldViolation{{Field: "seed", Rule: "must be an integer"}}},
	} {
		agreesWithProtojson(t, &xunchav1.DrawLineupRequest{}, tc.body, tc.want)
	}
}

func TestQueryViolations(t *testing.T) {
	t.Parallel()
	md := (&xunchav1.ListInspectionsRequest{}).ProtoReflect().Descriptor()
	got := queryViolations(map[string][]string{
		"stage": {"BOGUS"}, "kind": {"SPECIAL"}, "year": {"2026", "2027"}, "page_size": {"ten"}, "unknown": {"x"},
	}, md, nil)
	require.Equal(t, derrors.Violations{
		{Field: "page_size", Rule: "must be an integer"},
		{Field: "stage", Rule: `unknown value "BOGUS": must be one of PLANNED, NOTIFIED, STATIONED, ONSITE_ENDED, REPORTED, REVIEWED, APPROVED, FEEDBACK_GIVEN, RECTIFICATION_REPORTED, CLOSED, CANCELLED`},
		{Field: "year", Rule: "must be given once"},
	}, english(got))
	require.Empty(t, queryViolations(map[string][]string{"stage": {"PLANNED"}, "kind": {"2"}, "pageSize": {"10"}}, md, nil))
}

// english is violations without their Chinese (internal/i18n's tests
// check the catalogue).
func english(violations derrors.Violations) derrors.Violations {
	if violations == nil {
		return nil
	}
	out := make(derrors.Violations, len(violations))
	for i, v := range violations {
		out[i] = derrors.FieldViolation{Field: v.Field, Rule: v.Rule}
	}
	return out
}

// BenchmarkHugeWholeNumber: a whole number of 600 million digits, written
// in 11 bytes, is refused cheaply (it took 237 MB when it was made an
// integer to be compared).
func BenchmarkHugeWholeNumber(b *testing.B) {
	md := (&xunchav1.DrawLineupRequest{}).ProtoReflect().Descriptor()
	body := []byte(`{"seed":"1e600000000"}`)
	b.ReportAllocs()
	for b.Loop() {
		_ = bodyViolations(body, md)
	}
}

// TestHugeWholeNumberIsCheap: the 11 bytes "1e600000000" are refused
// without a quarter of a gigabyte allocated (it was made a big.Int to be
// compared with the bounds).
func TestHugeWholeNumberIsCheap(t *testing.T) {
	md := (&xunchav1.DrawLineupRequest{}).ProtoReflect().Descriptor()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := bodyViolations([]byte(`{"seed":"1e600000000"}`), md)
	runtime.ReadMemStats(&after)
	require.Len(t, got, 1)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated")
}

// TestEveryEnumNameIsKnown: each enum named in Chinese exists, and each of
// its values a client may send has a Chinese name (a renamed enum or a new
// value would fall back to the bare code).
func TestEveryEnumNameIsKnown(t *testing.T) {
	for full, name := range enumNamesZH {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(full)
		require.NoError(t, err, full)
		ed, ok := d.(protoreflect.EnumDescriptor)
		require.True(t, ok, "%s is an enum", full)
		for _, v := range enumValueNames(ed) {
			require.NotEqual(t, v, name(v), "%s.%s has no Chinese name", full, v)
		}
	}
}
