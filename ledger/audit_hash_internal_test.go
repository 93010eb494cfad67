package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/jsoncanon"
)

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"b": 1, "a": [true, null, "x"]}`, `{"a":[true,null,"x"],"b":1}`},
		// Keys by their bytes: "Z" < "a" < "é" (0xC3 0xA9) < "中".
		{`{"中":1,"é":2,"a":3,"Z":4}`, `{"Z":4,"a":3,"é":2,"中":1}`},
		// Only the short escapes and \u00XX; other characters as UTF-8.
		{`"\u4e2d\n\t\u0001\"\\\/<>&\u2028"`, "\"中\\n\\t\\u0001\\\"\\\\/<>&\u2028\""},
		// Numbers as written (PostgreSQL's jsonb output is what is hashed).
		{`[1.50, 100, -0.5]`, `[1.50,100,-0.5]`},
		{` { } `, `{}`},
	} {
		got, err := canonicalJSON([]byte(c.in))
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, string(got), c.in)
	}
	_, err := canonicalJSON([]byte(`{} {}`))
	require.Error(t, err)
	_, err = canonicalJSON([]byte(`{`))
	require.Error(t, err)
}

func TestCanonicalFieldsAreLengthPrefixed(t *testing.T) {
	t.Parallel()
	a := newCanonical(nil, "t", HashSHA256)
	a.str("ab")
	a.str("c")
	b := newCanonical(nil, "t", HashSHA256)
	b.str("a")
	b.str("bc")
	require.NotEqual(t, a.buf, b.buf, "no two field sequences encode alike")
	require.Equal(t, "\x00\x00\x00\x01t\x00\x00\x00\x06sha256\x00\x00\x00\x02ab\x00\x00\x00\x01c", string(a.buf))
	require.Equal(t, "2026-11-30T01:02:03.000456Z",
		canonicalInstant(time.Date(2026, 11, 30, 9, 2, 3, 456789, time.FixedZone("CST", 8*3600))))
}

func TestHashAlgorithms(t *testing.T) {
	t.Parallel()
	// GB/T 32905-2016 appendix A.1 and FIPS 180-4's "abc".
	for alg, want := range map[HashAlg]string{
		HashSM3:    "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
		HashSHA256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	} {
		sum, err := alg.sum([]byte("abc"))
		require.NoError(t, err)
		require.Equal(t, want, hex.EncodeToString(sum), alg)
	}
	require.Equal(t, HashSHA256, HashAlg("").orDefault())
}

// TestEventHashIsPinned: an event's hash, as the code before the one-pass
// JSON (6b6cecd) computed it, with both algorithms. The hash is stored in
// every chain: if this fails, rows already written no longer verify. The
// actor and the evidence go through jsoncanon, the data (escapes) through
// the definition.
func TestEventHashIsPinned(t *testing.T) {
	t.Parallel()
	e := eventContent{
		ID: 42, SubjectType: "finding", SubjectID: "f-0123456789abcdef", Seq: 3, Key: "diagnose/r-1", Action: "diagnose",
		StageBefore: "LISTED", StageAfter: "DIAGNOSED",
		Actor:    []byte(`{"name": "王五", "role": "team_member", "subject": "dev-team-member", "organisation": "省第一巡查组"}`),
		Note:     "二号厂房消防通道被成品堆放堵塞",
		Evidence: []byte(`[{"id": "ev-0123456789abcdef"}]`),
		Data: []byte(`{"cause": "管理制度落实不到位 <A&B>", "version": 3, "ratio": 1.50, "note": "line\nbreak \"quoted\"", ` +
			`"parties": ["厂长", "安全员"], "empty": {}, "none": null}`),
		OccurredAt: time.Date(2026, 12, 2, 8, 30, 0, 123456789, time.FixedZone("CST", 8*3600)),
		RecordedAt: time.Date(2026, 12, 2, 0, 30, 1, 5000, time.UTC),
		PrevHash:   []byte{0xde, 0xad, 0xbe, 0xef},
	}
	for alg, want := range map[HashAlg]string{
		HashSHA256: "16c65b67c7987a54a6c3ca6ce311a51ce671ad037b2ef848ce9cbe9279935103",
		HashSM3:    "0a2bc19e01d5a694c622755ad6224517f33889d7b26adca66e7633845e13845f",
	} {
		sum, err := e.hash(alg)
		require.NoError(t, err)
		require.Equal(t, want, hex.EncodeToString(sum), alg)
	}
	_, onePass := jsoncanon.Append(nil, e.Actor, jsoncanon.Options{})
	require.True(t, onePass, "the actor is written in one pass")
	_, onePass = jsoncanon.Append(nil, e.Data, jsoncanon.Options{})
	require.False(t, onePass, "the data is decoded")
}

// sameAsDecoded fails t unless canonicalJSON(raw) is, byte for byte, its
// definition's (canonicalJSONDecoded), and reports whether the one-pass
// form (jsoncanon) took raw itself.
func sameAsDecoded(t testing.TB, raw []byte) (onePass bool) {
	t.Helper()
	want, wantErr := canonicalJSONDecoded(raw)
	got, err := canonicalJSON(raw)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, the definition's %v", raw, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%q:\n one pass   %s\n definition %s", raw, got, want)
	}
	_, onePass = jsoncanon.Append(nil, raw, jsoncanon.Options{})
	return onePass
}

// TestCanonicalJSONOnePass: the hash's canonical JSON is the same bytes
// whether jsoncanon writes it in one pass or the document is decoded and
// encoded again: for the examples above, for documents written as
// PostgreSQL writes jsonb (a space after each colon and comma) and
// compacted, and for 20,000 built at random (a fixed seed).
func TestCanonicalJSONOnePass(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"b": 1, "a": [true, null, "x"]}`, `{"中":1,"é":2,"a":3,"Z":4}`, `"\u4e2d\n\t\u0001\"\\\/<>&\u2028"`,
		`[1.50, 100, -0.5]`, ` { } `, `{} {}`, `{`, `{"a": 1, "a": 2}`, `"a` + "\xff" + `"`,
		`{"name": "王五", "role": "team_member", "organisation": "省第一巡查组", "subject": "dev-team-member"}`,
		`[{"id": "ev-0123456789abcdef"}]`,
	} {
		sameAsDecoded(t, []byte(in))
	}
	r := rand.New(rand.NewPCG(11, 2026))
	onePass := 0
	const n = 20000
	for range n {
		raw, err := json.Marshal(randomDocument(r, 4))
		require.NoError(t, err)
		if r.IntN(2) == 0 {
			raw = jsonbSpacing(raw)
		}
		if sameAsDecoded(t, raw) {
			onePass++
		}
	}
	if onePass < n/2 || onePass == n {
		t.Errorf("%d of %d documents taken in one pass", onePass, n)
	}
}

// jsonbSpacing puts a space after each colon and comma outside strings, as
// PostgreSQL writes jsonb.
func jsonbSpacing(raw []byte) []byte {
	var out []byte
	inString, escaped := false, false
	for _, b := range raw {
		out = append(out, b)
		switch {
		case escaped:
			escaped = false
		case inString && b == '\\':
			escaped = true
		case b == '"':
			inString = !inString
		case !inString && (b == ':' || b == ','):
			out = append(out, ' ')
		}
	}
	return out
}

var documentStrings = []string{"", " ", "!", "a", "B", "aa", "中文", "王五", "a\"b", "a\\b", "a\nb", "<x>&", "\u2028", "é", "\U0001F600", "\x01"}

// randomDocument is a value of depth at most depth built from every kind
// of JSON value, with keys and strings that sort, repeat or need escaping.
func randomDocument(r *rand.Rand, depth int) any {
	k := r.IntN(8)
	if depth == 0 && k < 2 {
		k += 2
	}
	switch k {
	case 0:
		m := map[string]any{}
		for range r.IntN(5) {
			m[documentStrings[r.IntN(len(documentStrings))]] = randomDocument(r, depth-1)
		}
		return m
	case 1:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randomDocument(r, depth-1)
		}
		return l
	case 2, 3:
		return documentStrings[r.IntN(len(documentStrings))]
	case 4:
		return []any{0, 1, -1, 2.5, 1e-7, 1e300, int64(1) << 62}[r.IntN(7)]
	case 5:
		return r.IntN(2) == 0
	case 6:
		return nil
	default:
		return json.RawMessage([]string{`{"a":1,"a":0}`, `1.50`, `"\u0041"`, `[]`, `{"b":{"c":""}}`}[r.IntN(5)])
	}
}

// FuzzCanonicalJSONOnePass compares the two on any input, JSON or not.
func FuzzCanonicalJSONOnePass(f *testing.F) {
	for _, seed := range []string{`{"b": 1, "a": [0, ""]}`, `{" ":1,"":1}`, `[1.50, -0]`, `{"a":1,"a":2}`, `"x"`, `1e400`, ` {} `, `[01]`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) { sameAsDecoded(t, []byte(s)) })
}

// BenchmarkCanonicalJSON: an event's three JSON columns as PostgreSQL
// returns them (its actor, evidence and data), in one pass and by the
// definition; `go test -run '^$' -bench CanonicalJSON -v ./ledger/`
// prints both and onePass/definition, the ratio of their times.
func BenchmarkCanonicalJSON(b *testing.B) {
	columns := [][]byte{
		[]byte(`{"name": "王五", "role": "team_member", "subject": "dev-team-member", "organisation": "省第一巡查组"}`),
		[]byte(`[{"id": "ev-0123456789abcdef"}]`),
		[]byte(`{"cause": "管理制度落实不到位", "version": 3, "risk_level": "较大", "responsible_parties": ["厂长", "安全员"]}`),
	}
	var onePass, definition time.Duration
	for _, c := range []struct {
		name string
		f    func([]byte) ([]byte, error)
		took *time.Duration
	}{{"onePass", canonicalJSON, &onePass}, {"definition", canonicalJSONDecoded, &definition}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for _, col := range columns {
					if _, err := c.f(col); err != nil {
						b.Fatal(err)
					}
				}
			}
			*c.took = b.Elapsed() / time.Duration(b.N)
		})
	}
	if onePass > 0 && definition > 0 {
		b.Logf("an event's JSON columns: one pass %s, definition %s, onePass/definition %.2f", onePass, definition, float64(onePass)/float64(definition))
	}
}
