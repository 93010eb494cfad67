package payloadcrypt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/xuncha/xuncha/internal/jsoncanon"
)

// sameAsDefinition fails t unless canonicalJSON(v) is, byte for byte,
// canonicalJSONDecoded of v's JSON, and reports whether the one pass
// (jsoncanon) took v's JSON itself.
func sameAsDefinition(t testing.TB, v any) (onePass bool) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want, err := canonicalJSONDecoded(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := canonicalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("JSON %s:\n one pass   %s\n definition %s", raw, got, want)
	}
	_, onePass = jsoncanon.Append(nil, raw, signedForm)
	return onePass
}

// TestCanonicalJSONOnePassIsTheDefinition: for values of every shape the
// one-pass form and the definition give the same bytes, whether the pass
// takes the JSON or hands it on.
func TestCanonicalJSONOnePassIsTheDefinition(t *testing.T) {
	type inner struct {
		B string `json:"b"`
		A int64  `json:"a"`
	}
	type request struct {
		RequestID   string          `json:"request_id"`
		Actor       map[string]any  `json:"actor"`
		Fingerprint []byte          `json:"fingerprint,omitempty"`
		Cause       string          `json:"cause"`
		Parties     []string        `json:"parties"`
		Due         time.Time       `json:"due"`
		Important   bool            `json:"important"`
		Area        int             `json:"area"`
		Ratio       float64         `json:"ratio"`
		Nested      inner           `json:"nested"`
		Ptr         *inner          `json:"ptr"`
		Data        any             `json:"data"`
		Raw         json.RawMessage `json:"raw,omitempty"`
	}
	cases := []struct {
		name     string
		v        any
		onePass  bool
		expected string // "" when only the agreement is checked
	}{
		{"null", nil, true, "null"},
		{"empty string", "", true, `""`},
		{"zero time at the top", time.Time{}, true, `"0001-01-01T00:00:00Z"`},
		{"numbers", []any{0, math.Copysign(0, -1), 1.5, 1e21, int64(9007199254740993), uint8(0)}, true, `[0,-0,1.5,1e+21,9007199254740993,0]`},
		{"empty members dropped, list elements kept", map[string]any{"a": 0, "b": "", "c": false, "d": nil, "e": []int{}, "f": map[string]int{}, "g": []any{0, "", nil, map[string]any{"x": 0}}, "h": "0001-01-01T00:00:00Z"},
			true, `{"g":[0,"",null,{}]}`},
		{"an object all empty inside a list", []any{map[string]any{"a": map[string]any{"b": ""}}}, true, `[{}]`},
		{"keys sorted by their bytes", map[string]int{"b": 1, "a": 2, "B": 3, "中": 4, "aa": 5}, true, `{"B":3,"a":2,"aa":5,"b":1,"中":4}`},
		{"a struct in the order of its fields, sorted", inner{B: "乙", A: 42}, true, `{"a":42,"b":"乙"}`},
		{"a request", request{RequestID: "r-1", Actor: map[string]any{"subject": "u", "roles": []string{"office"}}, Cause: "漏电",
			Parties: []string{"甲", "乙"}, Due: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Area: 3, Ratio: 0.5,
			Nested: inner{A: 1}, Data: map[string]any{"k": []int{1}}}, true, ""},
		{"bytes as base64", request{Fingerprint: []byte{0xfb, 0xff, 0x00}}, true, `{"fingerprint":"+/8A"}`},
		// What the pass hands on.
		{"an escape", "a\"b", false, `"a\"b"`},
		{"a newline", "a\nb", false, `"a\nb"`},
		{"HTML", "<a&b>", false, `"\u003ca\u0026b\u003e"`},
		{"not UTF-8", "a\xffb", false, `"a` + "\ufffd" + `b"`},
		{"line separators", "a\u2028b\u2029", false, `"a\u2028b\u2029"`},
		{"an escaped key", map[string]int{"k\"": 1, "a": 0}, false, `{"k\"":1}`},
		{"a raw message given twice a key, the last empty", request{Raw: json.RawMessage(`{"a":1,"a":""}`)}, false, `{}`},
		{"a raw message given twice a key", request{Raw: json.RawMessage(`{"a":"","a":2}`)}, false, `{"raw":{"a":2}}`},
		// encoding/json compacts a raw message: the pass takes it.
		{"a raw message with white space", request{Raw: json.RawMessage(`{ "b" : [ 1 , 0 ] , "a" : { } }`)}, true, `{"raw":{"b":[1,0]}}`},
		{"a raw message with escapes", request{Raw: json.RawMessage(`{"a":"\u0041\/"}`)}, false, `{"raw":{"a":"A/"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if onePass := sameAsDefinition(t, tc.v); onePass != tc.onePass {
				t.Errorf("taken by the one pass: %v, want %v", onePass, tc.onePass)
			}
			if tc.expected != "" {
				got, err := canonicalJSON(tc.v)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != tc.expected {
					t.Errorf("got %s, want %s", got, tc.expected)
				}
			}
		})
	}
}

// TestCanonicalJSONRandomValues compares the two on 20,000 values built at
// random (a fixed seed) from every kind of JSON value, nested, with the
// strings, keys and numbers that are empty, sort, or need escaping.
func TestCanonicalJSONRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 2026))
	onePass := 0
	const n = 20000
	for range n {
		if sameAsDefinition(t, randomValue(r, 4)) {
			onePass++
		}
	}
	// Both paths are exercised: most values go in one pass, some are
	// handed on.
	if onePass < n/2 || onePass == n {
		t.Errorf("%d of %d values taken in one pass", onePass, n)
	}
}

var randomStrings = []string{"", " ", "!", "a b", "a", "b", "B", "aa", "中文", "0001-01-01T00:00:00Z", "2026-12-02T08:00:00Z", "a\"b", "a\\b", "a\nb", "<x>", "a&b",
	"\u2028", "\xff", "é", "\U0001F600", "request_id", "0"}

func randomString(r *rand.Rand) string { return randomStrings[r.IntN(len(randomStrings))] }

// randomValue is a value of depth at most depth: a map, a list, a string,
// a number of several types, a bool, nil, a time, bytes or a raw message.
func randomValue(r *rand.Rand, depth int) any {
	k := r.IntN(12)
	if depth == 0 && k < 3 {
		k += 3
	}
	switch k {
	case 0, 1:
		m := map[string]any{}
		for range r.IntN(5) {
			m[randomString(r)] = randomValue(r, depth-1)
		}
		return m
	case 2:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randomValue(r, depth-1)
		}
		return l
	case 3:
		return randomString(r)
	case 4:
		return []any{0, 1, -1, 0.0, 2.5, -0.25, 1e-7, 1e300, int64(1) << 62, uint64(0)}[r.IntN(10)]
	case 5:
		return r.IntN(2) == 0
	case 6:
		return nil
	case 7:
		return []time.Time{{}, time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}[r.IntN(2)]
	case 8:
		return []byte(randomString(r))
	case 9:
		return json.RawMessage([]string{`{"a":1,"a":0}`, `{ "x" : 1 }`, `"\u0041"`, `[]`, `{}`, `{"b":{"c":""}}`, `0.0`}[r.IntN(7)])
	default:
		return struct {
			Z string         `json:"z"`
			A any            `json:"a"`
			M map[string]any `json:"m,omitempty"`
		}{Z: randomString(r), A: randomValue(r, depth-1)}
	}
}

// FuzzCanonicalJSON compares the two on any JSON value, given as a raw
// message (encoding/json checks it and writes it compacted).
func FuzzCanonicalJSON(f *testing.F) {
	for _, seed := range []string{`{"b":1,"a":[0,""]}`, `{"a":{"b":null}}`, `[{"k":"\u00e9"}]`, `{"a":1,"a":2}`, `"x"`, `1e400`, `-0.0e5`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !json.Valid([]byte(s)) {
			t.Skip("not JSON")
		}
		sameAsDefinition(t, json.RawMessage(s))
	})
}

// BenchmarkCanonicalJSON: a diagnosis's Update input as the API signs it
// and the worker checks it, in one pass and by the definition; `go test
// -run '^$' -bench CanonicalJSON -v ./internal/payloadcrypt/` prints both and
// onePass/definition, the ratio of their times.
func BenchmarkCanonicalJSON(b *testing.B) {
	type actorArg struct {
		Subject      string   `json:"subject"`
		Name         string   `json:"name"`
		Roles        []string `json:"roles"`
		Organisation string   `json:"organisation"`
		Units        []string `json:"units,omitempty"`
	}
	type diagnosis struct {
		RequestID          string   `json:"request_id"`
		Actor              actorArg `json:"actor"`
		Fingerprint        []byte   `json:"fingerprint,omitempty"`
		Cause              string   `json:"cause"`
		ResponsibleParties []string `json:"responsible_parties"`
		RiskLevel          string   `json:"risk_level"`
		LegalBasis         string   `json:"legal_basis"`
		Opinion            string   `json:"rectification_opinion"`
		EvidenceIDs        []string `json:"evidence_ids"`
	}
	v := diagnosis{RequestID: "bench-finding-l0-c1-r3-7/diagnose", Fingerprint: bytes.Repeat([]byte{7}, 32),
		Actor:              actorArg{Subject: "member-1", Name: "检查组成员", Roles: []string{"team_member"}, Organisation: "省安委办"},
		Cause:              strings.Repeat("配电箱未接地，", 8),
		ResponsibleParties: []string{"设备科", "安全科"}, RiskLevel: "HIGH", LegalBasis: "《安全生产法》第四十一条",
		Opinion: "立即整改，完善接地保护。", EvidenceIDs: []string{"ev-1", "ev-2"}}
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	var onePass, definition time.Duration
	for _, c := range []struct {
		name string
		f    func() ([]byte, error)
		took *time.Duration
	}{
		{"onePass", func() ([]byte, error) { return canonicalJSON(v) }, &onePass},
		{"definition", func() ([]byte, error) {
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			return canonicalJSONDecoded(raw)
		}, &definition},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.f(); err != nil {
					b.Fatal(err)
				}
			}
			*c.took = b.Elapsed() / time.Duration(b.N)
		})
	}
	if onePass > 0 && definition > 0 {
		b.Logf("%d bytes of JSON: one pass %s, definition %s, onePass/definition %s", len(raw), onePass, definition,
			fmt.Sprintf("%.2f", float64(onePass)/float64(definition)))
	}
}
