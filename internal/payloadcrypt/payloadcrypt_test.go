package payloadcrypt_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm4"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/xuncha/xuncha/internal/payloadcrypt"
)

// key makes a key of cipherName whose material is b repeated.
func key(id, cipherName string, b byte) payloadcrypt.Key {
	size := 32
	if cipherName == payloadcrypt.SM4GCM {
		size = 16
	}
	return payloadcrypt.Key{ID: id, Cipher: cipherName, Secret: bytes.Repeat([]byte{b}, size)}
}

func ring(t *testing.T, keys ...payloadcrypt.Key) *payloadcrypt.Codec {
	t.Helper()
	c, err := payloadcrypt.New(keys)
	require.NoError(t, err)
	return c
}

// finding is a payload full of what must never be in the clear.
func finding(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{
		"title": "危化品仓库未设置可燃气体报警装置", "contact": "王芳 13800138000",
	})
	require.NoError(t, err)
	return p
}

func hide(t *testing.T, c *payloadcrypt.Codec, p *commonpb.Payload) *commonpb.Payload {
	t.Helper()
	out, err := c.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	require.Len(t, out, 1)
	return out[0]
}

func reveal(c *payloadcrypt.Codec, p *commonpb.Payload) (*commonpb.Payload, error) {
	out, err := c.Decode([]*commonpb.Payload{p})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, cipherName := range payloadcrypt.Ciphers {
		t.Run(cipherName, func(t *testing.T) {
			t.Parallel()
			c := ring(t, key("k1", cipherName, 7))
			plain := finding(t)
			sealed := hide(t, c, plain)

			require.Equal(t, payloadcrypt.Encoding, string(sealed.Metadata[payloadcrypt.MetadataEncoding]))
			require.Equal(t, "k1", string(sealed.Metadata[payloadcrypt.MetadataKeyID]))
			require.Equal(t, cipherName, string(sealed.Metadata[payloadcrypt.MetadataCipher]))
			require.Len(t, sealed.Metadata, 3, "the original encoding is inside the ciphertext")
			for _, clear := range []string{"危化品", "王芳", "13800138000", "json/plain"} {
				require.NotContains(t, string(sealed.Data), clear)
			}
			require.True(t, payloadcrypt.Encrypted(sealed))

			got, err := reveal(c, sealed)
			require.NoError(t, err)
			require.True(t, proto.Equal(plain, got), "decoded %v", got)

			// Two encryptions of the same payload differ (random nonces).
			require.NotEqual(t, sealed.Data, hide(t, c, plain).Data)
		})
	}
}

func TestDataConverterRoundTrip(t *testing.T) {
	t.Parallel()
	dc := ring(t, key("k1", payloadcrypt.AES256GCM, 1)).DataConverter()
	in := map[string]any{"title": "危化品仓库", "n": 3.0}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.True(t, payloadcrypt.Encrypted(p))
	var out map[string]any
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, in, out)
}

func TestRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := key("k1", payloadcrypt.AES256GCM, 1), key("k2", payloadcrypt.SM4GCM, 2)
	before := ring(t, k1)
	after := ring(t, k2, k1) // the new key first, the old one kept
	require.Equal(t, "k2", after.EncryptingKey())
	require.Equal(t, []string{"k2", "k1"}, after.KeyIDs())

	old := hide(t, before, finding(t))
	got, err := reveal(after, old)
	require.NoError(t, err, "the old key still decrypts what it encrypted")
	require.True(t, proto.Equal(finding(t), got))

	fresh := hide(t, after, finding(t))
	require.Equal(t, "k2", string(fresh.Metadata[payloadcrypt.MetadataKeyID]), "the first key encrypts")
	require.Equal(t, payloadcrypt.SM4GCM, string(fresh.Metadata[payloadcrypt.MetadataCipher]))

	// A process still on the old ring cannot read the new key's payloads,
	// and says which key it lacks.
	_, err = reveal(before, fresh)
	require.ErrorIs(t, err, payloadcrypt.ErrUnknownKey)
	require.ErrorContains(t, err, `key "k2"`)
	require.ErrorContains(t, err, "(k1)")

	// Dropping the old key too early is the same clear error.
	_, err = reveal(ring(t, k2), old)
	require.ErrorIs(t, err, payloadcrypt.ErrUnknownKey)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	c := ring(t, key("k1", payloadcrypt.AES256GCM, 1))
	sealed := hide(t, c, finding(t))
	tamper := func(change func(p *commonpb.Payload)) *commonpb.Payload {
		p := proto.Clone(sealed).(*commonpb.Payload)
		change(p)
		return p
	}
	cases := []struct {
		name    string
		codec   *payloadcrypt.Codec
		payload *commonpb.Payload
		want    error
		text    string
	}{
		{"wrong key material under the same ID", ring(t, key("k1", payloadcrypt.AES256GCM, 9)), sealed, payloadcrypt.ErrDecrypt, "authentication failed"},
		{"a flipped ciphertext byte", c, tamper(func(p *commonpb.Payload) { p.Data[len(p.Data)-20] ^= 1 }), payloadcrypt.ErrDecrypt, "authentication failed"},
		{"a flipped nonce byte", c, tamper(func(p *commonpb.Payload) { p.Data[0] ^= 1 }), payloadcrypt.ErrDecrypt, "authentication failed"},
		{"truncated", c, tamper(func(p *commonpb.Payload) { p.Data = p.Data[:10] }), payloadcrypt.ErrDecrypt, "too short"},
		{"another key's ID written in", ring(t, key("k1", payloadcrypt.AES256GCM, 1), key("k0", payloadcrypt.AES256GCM, 1)),
			tamper(func(p *commonpb.Payload) { p.Metadata[payloadcrypt.MetadataKeyID] = []byte("k0") }), payloadcrypt.ErrDecrypt, "authentication failed"},
		{"the cipher changed", c, tamper(func(p *commonpb.Payload) { p.Metadata[payloadcrypt.MetadataCipher] = []byte(payloadcrypt.SM4GCM) }), payloadcrypt.ErrDecrypt, "names cipher"},
		{"an unknown key", c, tamper(func(p *commonpb.Payload) { p.Metadata[payloadcrypt.MetadataKeyID] = []byte("k7") }), payloadcrypt.ErrUnknownKey, `"k7"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := reveal(tc.codec, tc.payload)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.text)
			require.NotContains(t, err.Error(), "危化品", "an error never quotes the plaintext")
		})
	}
}

func TestPlaintextPassesThrough(t *testing.T) {
	t.Parallel()
	c := ring(t, key("k1", payloadcrypt.AES256GCM, 1))
	plain := finding(t)
	binary := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
	sealed := hide(t, c, plain)
	out, err := c.Decode([]*commonpb.Payload{plain, nil, binary, sealed})
	require.NoError(t, err)
	require.Same(t, plain, out[0], "a recorded plaintext payload is returned as it is")
	require.Nil(t, out[1])
	require.Same(t, binary, out[2])
	require.True(t, proto.Equal(plain, out[3]))
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	t.Parallel()
	fc := ring(t, key("k1", payloadcrypt.AES256GCM, 1)).FailureConverter()
	f := fc.ErrorToFailure(temporal.NewApplicationError("title 危化品仓库 is a duplicate", "DUPLICATE"))
	require.NotContains(t, f.GetMessage(), "危化品")
	require.True(t, payloadcrypt.Encrypted(f.GetEncodedAttributes()))
	err := fc.FailureToError(f)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, "DUPLICATE", app.Type())
	require.Contains(t, app.Error(), "title 危化品仓库 is a duplicate")
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		keys []payloadcrypt.Key
		want string
	}{
		{"no key", nil, "empty"},
		{"duplicate ID", []payloadcrypt.Key{key("a", payloadcrypt.AES256GCM, 1), key("a", payloadcrypt.SM4GCM, 2)}, "twice"},
		{"bad ID", []payloadcrypt.Key{key("a:b", payloadcrypt.AES256GCM, 1)}, "key ID"},
		{"short AES key", []payloadcrypt.Key{{ID: "a", Cipher: payloadcrypt.AES256GCM, Secret: make([]byte, 16)}}, "32 bytes, not 16"},
		{"long SM4 key", []payloadcrypt.Key{{ID: "a", Cipher: payloadcrypt.SM4GCM, Secret: make([]byte, 32)}}, "16 bytes, not 32"},
		{"unknown cipher", []payloadcrypt.Key{{ID: "a", Cipher: "des", Secret: make([]byte, 8)}}, "unknown cipher"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := payloadcrypt.New(tc.keys)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	aesKey, smKey := sha256.Sum256([]byte("new")), sha256.Sum256([]byte("old"))
	aes := base64.StdEncoding.EncodeToString(aesKey[:])
	sm := base64.StdEncoding.EncodeToString(smKey[:16])

	keys, err := payloadcrypt.ParseList(" new:"+aes+" , old:sm4-gcm:"+sm+",", payloadcrypt.AES256GCM)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, payloadcrypt.Key{ID: "new", Cipher: payloadcrypt.AES256GCM, Secret: aesKey[:]}, keys[0])
	require.Equal(t, payloadcrypt.Key{ID: "old", Cipher: payloadcrypt.SM4GCM, Secret: smKey[:16]}, keys[1])

	// The default cipher applies to entries that name none.
	keys, err = payloadcrypt.ParseFile("# rotated 2026-12\n\nnew:"+sm+"\nold:aes-256-gcm:"+aes+"\n", payloadcrypt.SM4GCM)
	require.NoError(t, err)
	require.Equal(t, []string{"new", "old"}, []string{keys[0].ID, keys[1].ID})
	require.Equal(t, []string{payloadcrypt.SM4GCM, payloadcrypt.AES256GCM}, []string{keys[0].Cipher, keys[1].Cipher})

	for _, bad := range []struct{ in, want string }{
		{"", "no key entry"},
		{"justakey", "ID:KEY"},
		{"a:b:c:d", "ID:KEY"},
		{"a:not base64!", "base64"},
		{"a:" + sm, "32 bytes, not 16"},
		{"a:rot13:" + aes, "unknown cipher"},
		// Placeholders to encrypt with: 32 zero bytes, 16 bytes of 0xff.
		{"a:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), `key "a", the encrypting (first) one: the key material is one byte repeated, a placeholder`},
		{"a:sm4-gcm:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 16)), "one byte repeated"},
		// A rotation that copied the old key under the new ID.
		{"new:" + aes + ",old:" + aes, `keys "new" and "old" hold the same key material: the encrypting (first) key must be its own`},
	} {
		_, err := payloadcrypt.ParseList(bad.in, payloadcrypt.AES256GCM)
		require.ErrorContains(t, err, bad.want, "%q", bad.in)
		require.NotContains(t, err.Error(), aes, "an error never quotes key material")
	}
	_, err = payloadcrypt.ParseFile("ok:"+aes+"\nbroken\n", payloadcrypt.AES256GCM)
	require.ErrorContains(t, err, "line 2")
	_, err = payloadcrypt.ParseFile("new:"+aes+"\n# the old key\nold:"+aes+"\n", payloadcrypt.AES256GCM)
	require.ErrorContains(t, err, `keys "new" and "old" hold the same key material`)
	// The way out of a ring that had them: a new key first, the old
	// entries kept after it to read what they encrypted.
	zeros := base64.StdEncoding.EncodeToString(make([]byte, 32))
	keys, err = payloadcrypt.ParseList("newer:"+sm+",new:aes-256-gcm:"+aes+",old:aes-256-gcm:"+aes+",first:aes-256-gcm:"+zeros, payloadcrypt.SM4GCM)
	require.NoError(t, err, "copies and placeholders among the decrypting keys are read as they are")
	require.Len(t, keys, 4)

	entry, err := payloadcrypt.GenerateEntry("dev-1", payloadcrypt.SM4GCM)
	require.NoError(t, err)
	keys, err = payloadcrypt.ParseList(entry, payloadcrypt.AES256GCM)
	require.NoError(t, err)
	require.Equal(t, payloadcrypt.SM4GCM, keys[0].Cipher)
	require.Len(t, keys[0].Secret, 16)
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

// TestSM4StandardVectors checks the SM4 block cipher against the examples
// of GB/T 32907-2016 (appendix A): one encryption, and the same block
// encrypted 1,000,000 times.
func TestSM4StandardVectors(t *testing.T) {
	t.Parallel()
	k := unhex(t, "0123456789abcdeffedcba9876543210")
	block, err := sm4.NewCipher(k)
	require.NoError(t, err)
	buf := unhex(t, "0123456789abcdeffedcba9876543210")
	block.Encrypt(buf, buf)
	require.Equal(t, unhex(t, "681edf34d206965e86b3e94f536e4246"), buf)
	block.Decrypt(buf, buf)
	require.Equal(t, k, buf)

	buf = unhex(t, "0123456789abcdeffedcba9876543210")
	for range 1_000_000 {
		block.Encrypt(buf, buf)
	}
	require.Equal(t, unhex(t, "595298c7c6fd271f0402f804c33d3f66"), buf)
}

// TestGCMVectors checks the AEADs every key of a codec encrypts with
// against published vectors: RFC 8998 appendix A.1 for SM4-GCM, and the
// GCM specification's (McGrew and Viega) test case 14 for AES-256-GCM.
func TestGCMVectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cipher, key, nonce, aad, plain, ciphertext, tag string
	}{
		{
			name: "RFC 8998 A.1 SM4-GCM", cipher: payloadcrypt.SM4GCM,
			key:   "0123456789ABCDEFFEDCBA9876543210",
			nonce: "00001234567800000000ABCD",
			aad:   "FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2",
			plain: `AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD
			        EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFF EEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA`,
			ciphertext: `17F399F08C67D5EE19D0DC9969C4BB7D 5FD46FD3756489069157B282BB200735
			             D82710CA5C22F0CCFA7CBF93D496AC15 A56834CBCF98C397B4024A2691233B8D`,
			tag: "83DE3541E4C2B58177E065A9BF7B62EC",
		},
		{
			name: "GCM test case 14 AES-256", cipher: payloadcrypt.AES256GCM,
			key:        "0000000000000000000000000000000000000000000000000000000000000000",
			nonce:      "000000000000000000000000",
			plain:      "00000000000000000000000000000000",
			ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
			tag:        "d0d1c8a799996bf0265b98b5d48ab919",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			aead, err := payloadcrypt.NewAEAD(tc.cipher, unhex(t, tc.key))
			require.NoError(t, err)
			nonce, aad := unhex(t, tc.nonce), unhex(t, tc.aad)
			want := append(unhex(t, tc.ciphertext), unhex(t, tc.tag)...)
			require.Equal(t, want, aead.Seal(nil, nonce, unhex(t, tc.plain), aad))
			plain, err := aead.Open(nil, nonce, want, aad)
			require.NoError(t, err)
			require.Equal(t, unhex(t, tc.plain), plain)
			want[0] ^= 1
			_, err = aead.Open(nil, nonce, want, aad)
			require.Error(t, err)
		})
	}
}

// TestMessagesKeepSearchAttributes: a whole event is encrypted and
// decrypted in place, its search attributes left in the clear for
// visibility, as the SDK leaves them.
func TestMessagesKeepSearchAttributes(t *testing.T) {
	t.Parallel()
	c := ring(t, key("k1", payloadcrypt.SM4GCM, 3))
	stage, err := converter.GetDefaultDataConverter().ToPayload("LISTED")
	require.NoError(t, err)
	started := &historypb.WorkflowExecutionStartedEventAttributes{
		Input:            &commonpb.Payloads{Payloads: []*commonpb.Payload{finding(t)}},
		Memo:             &commonpb.Memo{Fields: map[string]*commonpb.Payload{"note": finding(t)}},
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"XunchaStage": stage}},
	}
	original := proto.Clone(started)
	require.NoError(t, c.EncodeMessage(t.Context(), started))
	require.True(t, payloadcrypt.Encrypted(started.GetInput().GetPayloads()[0]))
	require.True(t, payloadcrypt.Encrypted(started.GetMemo().GetFields()["note"]))
	require.True(t, proto.Equal(stage, started.GetSearchAttributes().GetIndexedFields()["XunchaStage"]))
	require.NoError(t, c.DecodeMessage(t.Context(), started))
	require.True(t, proto.Equal(original, started))
}

// TestClientOptionsSendUncompressed: a client's requests carry encrypted
// payloads, which gzip cannot shrink (a compressible payload compresses in
// the clear and not once encrypted), so ClientOptions turns the SDK's gzip
// off and keeps the converters.
func TestClientOptionsSendUncompressed(t *testing.T) {
	t.Parallel()
	c := ring(t, key("k1", payloadcrypt.AES256GCM, 1))
	p, err := converter.GetDefaultDataConverter().ToPayload(strings.Repeat("整改报告：危化品仓库已设置可燃气体报警装置。", 200))
	require.NoError(t, err)
	gz := func(b []byte) int {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, err := w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Len()
	}
	require.Less(t, gz(p.GetData()), len(p.GetData())/10, "the plaintext compresses")
	sealed := hide(t, c, p)
	require.GreaterOrEqual(t, gz(sealed.GetData()), len(sealed.GetData()), "the ciphertext does not")

	opts := c.ClientOptions(client.Options{HostPort: "temporal:7233"})
	require.IsType(t, &client.GrpcCompressionNone{}, opts.ConnectionOptions.GrpcCompression)
	require.NotNil(t, opts.DataConverter)
	require.NotNil(t, opts.FailureConverter)
	require.Equal(t, "temporal:7233", opts.HostPort)
}

// With no storage driver, the SDK's walk over each task's payloads has
// nothing to store or fetch: it goes one payload at a time, without a
// goroutine for each; a limit the caller set is kept.
func TestClientOptionsWalkPayloadsInline(t *testing.T) {
	t.Parallel()
	c := ring(t, key("k1", payloadcrypt.AES256GCM, 1))
	require.Equal(t, 1, c.ClientOptions(client.Options{}).ExternalStorage.Concurrency.MaxOperationsPerMessage)
	var set client.Options
	set.ExternalStorage.Concurrency.MaxOperationsPerMessage = 4
	require.Equal(t, 4, c.ClientOptions(set).ExternalStorage.Concurrency.MaxOperationsPerMessage)
}
