package ledger

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
