package tipcrypt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/tipcrypt"
)

func newSealer(t *testing.T) (*tipcrypt.Sealer, []byte) {
	t.Helper()
	key, err := tipcrypt.ParseKey(tipcrypt.GenerateKey())
	require.NoError(t, err)
	s, err := tipcrypt.New(key)
	require.NoError(t, err)
	return s, key
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	s, _ := newSealer(t)
	plain := []byte(`{"name":"张三","contact":"13800000000"}`)
	a, err := s.Seal(plain, []byte("tip-1"))
	require.NoError(t, err)
	b, err := s.Seal(plain, []byte("tip-1"))
	require.NoError(t, err)
	require.NotEqual(t, a, b, "a random nonce makes every ciphertext different")
	require.False(t, bytes.Contains(a, plain))
	require.False(t, bytes.Contains(a, []byte("13800000000")))

	got, err := s.Open(a, []byte("tip-1"))
	require.NoError(t, err)
	require.Equal(t, plain, got)

	// Another tip's ID, another key, a flipped bit or a truncation: refused.
	_, err = s.Open(a, []byte("tip-2"))
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	other, _ := newSealer(t)
	_, err = other.Open(a, []byte("tip-1"))
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	flipped := bytes.Clone(a)
	flipped[len(flipped)-1] ^= 1
	_, err = s.Open(flipped, []byte("tip-1"))
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	_, err = s.Open(a[:10], []byte("tip-1"))
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	wrongFormat := bytes.Clone(a)
	wrongFormat[0] = 9
	_, err = s.Open(wrongFormat, []byte("tip-1"))
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("tip key"))
	raw := sum[:]
	for _, tc := range []struct {
		name, in string
		want     []byte
		err      string
	}{
		{"base64", base64.StdEncoding.EncodeToString(raw), raw, ""},
		{"base64 with newline", base64.StdEncoding.EncodeToString(raw) + "\n", raw, ""},
		{"hex", hex.EncodeToString(raw), raw, ""},
		{"upper hex", strings.ToUpper(hex.EncodeToString(raw)), raw, ""},
		{"empty", "  ", nil, "empty"},
		{"short base64", base64.StdEncoding.EncodeToString(raw[:16]), nil, "16 bytes, want 32"},
		{"short hex", hex.EncodeToString(raw[:20]), nil, "40 hex digits, want 64"},
		{"neither", "not a key!", nil, "neither base64 nor hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tipcrypt.ParseKey(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorContains(t, err, "openssl rand -base64 32")
				if in := strings.TrimSpace(tc.in); in != "" {
					require.NotContains(t, err.Error(), in, "the error never quotes the key")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNewRefusesWrongLength(t *testing.T) {
	t.Parallel()
	_, err := tipcrypt.New(make([]byte, 16))
	require.ErrorContains(t, err, "must be 32 bytes, not 16")
}

func TestGenerateKeyIsRandom(t *testing.T) {
	t.Parallel()
	a, b := tipcrypt.GenerateKey(), tipcrypt.GenerateKey()
	require.NotEqual(t, a, b)
	require.Len(t, a, 44)
}

func TestSealerNeverPrintsItsKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0x5a}, 32) // "ZZZZ..." in ASCII
	s, err := tipcrypt.New(key)
	require.NoError(t, err)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, s)
		require.NotContains(t, out, "ZZZZ", format)
		require.NotContains(t, out, base64.StdEncoding.EncodeToString(key), format)
		require.NotContains(t, out, "5a5a5a5a", format)
	}
}

// TestPlaceholder: a key of one byte repeated is a placeholder (the server
// warns of it), a random one is not.
func TestPlaceholder(t *testing.T) {
	require.True(t, tipcrypt.Placeholder(make([]byte, 32)))
	require.True(t, tipcrypt.Placeholder(bytes.Repeat([]byte{0xab}, 32)))
	key, err := tipcrypt.ParseKey(tipcrypt.GenerateKey())
	require.NoError(t, err)
	require.False(t, tipcrypt.Placeholder(key))
}
