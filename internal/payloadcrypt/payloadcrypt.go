// Package payloadcrypt encrypts every Temporal payload xuncha writes: workflow
// and activity inputs and results, Update arguments, query answers, memos,
// the Web UI's summaries and details, and (through FailureConverter) failure
// messages. The Temporal server, its database and its Web UI see ciphertext;
// search attributes stay in the clear for visibility queries and hold no
// personal data.
//
// A Codec holds a key ring: the first key encrypts, every key decrypts, so a
// new key is put first and the old ones stay until no running workflow or
// retained history needs them. Each encrypted payload names its key and
// cipher in its metadata:
//
//	encoding:          binary/encrypted
//	encryption-key-id: <the key's ID>
//	encryption-cipher: aes-256-gcm | sm4-gcm
//
// and its data is a 12-byte random nonce followed by the AEAD ciphertext of
// the whole original payload (metadata and data, protobuf-encoded), with
// the cipher and key ID as associated data, so that neither can be swapped.
// A payload without that encoding (histories recorded before encryption)
// passes through Decode unchanged.
//
// Ciphers: AES-256-GCM (32-byte keys) and, for the national
// commercial-cryptography rules, SM4-GCM (GB/T 32907 SM4 in GCM mode as
// RFC 8998 uses it, 16-byte keys, github.com/emmansun/gmsm).
package payloadcrypt

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/emmansun/gmsm/sm4"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"
)

// Payload metadata of an encrypted payload.
const (
	// Encoding is the metadata "encoding" of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataEncoding is the standard Temporal metadata key of the encoding.
	MetadataEncoding = converter.MetadataEncoding
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
	// MetadataCipher names the cipher (AES256GCM or SM4GCM).
	MetadataCipher = "encryption-cipher"
)

// Ciphers.
const (
	// AES256GCM is AES with a 256-bit key in GCM mode: the default.
	AES256GCM = "aes-256-gcm"
	// SM4GCM is SM4 (GB/T 32907-2016, 128-bit key) in GCM mode, RFC 8998.
	SM4GCM = "sm4-gcm"
)

// DefaultCipher is the cipher of a key entry that names none, unless the
// caller says otherwise (XUNCHA_PAYLOAD_CIPHER).
const DefaultCipher = AES256GCM

// Ciphers lists the supported ciphers.
var Ciphers = []string{AES256GCM, SM4GCM}

// keySizes is each cipher's key length in bytes.
var keySizes = map[string]int{AES256GCM: 32, SM4GCM: 16}

// nonceSize is GCM's standard nonce length.
const nonceSize = 12

// Errors Decode wraps, for errors.Is.
var (
	// ErrUnknownKey: the payload names a key the ring does not hold.
	ErrUnknownKey = errors.New("payloadcrypt: unknown key")
	// ErrDecrypt: authentication failed (wrong key material under that ID,
	// or the ciphertext, key ID or cipher was tampered with), or the
	// payload is malformed.
	ErrDecrypt = errors.New("payloadcrypt: cannot decrypt payload")
)

// keyIDPattern is what a key ID may look like: it is stored in every
// payload's metadata and appears in logs, so it is short and plain.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Key is one key of a ring.
type Key struct {
	// ID names the key in the payloads it encrypts, e.g. "2026-12".
	ID string
	// Cipher is AES256GCM or SM4GCM.
	Cipher string
	// Secret is the key material: 32 bytes for AES256GCM, 16 for SM4GCM.
	Secret []byte
}

// entry is a key ready to use.
type entry struct {
	id, cipher string
	aead       cipher.AEAD
	// mac is the key's derived signing key (signature.go).
	mac []byte
}

// Codec encrypts and decrypts payloads with a key ring; it implements
// converter.PayloadCodec and is safe for concurrent use.
type Codec struct {
	keys []*entry // keys[0] encrypts
	byID map[string]*entry
	// AcceptUnsigned makes the workers built on c's clients take an Update
	// or a start that carries no signature at all, with a warning, for the
	// rollout that first signs them (README, "Upgrading to signed
	// changes"): a signature a request carries must hold all the same.
	AcceptUnsigned bool
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec over keys; the first encrypts. IDs must be unique.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payloadcrypt: the key ring is empty: give at least one key")
	}
	c := &Codec{byID: map[string]*entry{}}
	for _, k := range keys {
		if !keyIDPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("payloadcrypt: key ID %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", k.ID)
		}
		if _, dup := c.byID[k.ID]; dup {
			return nil, fmt.Errorf("payloadcrypt: key ID %q appears twice in the key ring", k.ID)
		}
		aead, err := NewAEAD(k.Cipher, k.Secret)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: key %q: %w", k.ID, err)
		}
		mac, err := macKey(k)
		if err != nil {
			return nil, fmt.Errorf("payloadcrypt: key %q: deriving its signing key: %w", k.ID, err)
		}
		e := &entry{id: k.ID, cipher: k.Cipher, aead: aead, mac: mac}
		c.keys = append(c.keys, e)
		c.byID[k.ID] = e
	}
	return c, nil
}

// NewAEAD builds cipherName's GCM (12-byte nonces, 16-byte tags) over
// secret: what each key of a Codec encrypts with.
func NewAEAD(cipherName string, secret []byte) (cipher.AEAD, error) {
	size, ok := keySizes[cipherName]
	if !ok {
		return nil, fmt.Errorf("unknown cipher %q: use one of %s", cipherName, strings.Join(Ciphers, ", "))
	}
	if len(secret) != size {
		return nil, fmt.Errorf("%s keys are %d bytes, not %d", cipherName, size, len(secret))
	}
	var block cipher.Block
	var err error
	switch cipherName {
	case AES256GCM:
		block, err = aes.NewCipher(secret)
	case SM4GCM:
		block, err = sm4.NewCipher(secret)
	}
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// EncryptingKey is the ID of the key that encrypts (the ring's first).
func (c *Codec) EncryptingKey() string { return c.keys[0].id }

// KeyIDs lists the ring's key IDs, the encrypting one first.
func (c *Codec) KeyIDs() []string {
	ids := make([]string, len(c.keys))
	for i, k := range c.keys {
		ids[i] = k.id
	}
	return ids
}

// associatedData binds a ciphertext to its cipher and key ID.
func associatedData(cipherName, keyID string) []byte {
	return []byte("xuncha-payload-v1\x00" + cipherName + "\x00" + keyID)
}

// Encode encrypts each payload with the ring's first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.keys[0]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if p == nil {
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("payloadcrypt: encoding a payload: %w", err)
		}
		nonce := make([]byte, nonceSize, nonceSize+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("payloadcrypt: reading a nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(Encoding),
				MetadataKeyID:    []byte(k.id),
				MetadataCipher:   []byte(k.cipher),
			},
			Data: k.aead.Seal(nonce, nonce, plain, associatedData(k.cipher, k.id)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key its metadata names;
// a payload of another encoding passes unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !Encrypted(p) {
			out[i] = p
			continue
		}
		plain, err := c.open(p)
		if err != nil {
			return payloads, err
		}
		out[i] = plain
	}
	return out, nil
}

// Encrypted reports whether p is a payload this package encrypted.
func Encrypted(p *commonpb.Payload) bool {
	return p != nil && string(p.GetMetadata()[MetadataEncoding]) == Encoding
}

// open decrypts one encrypted payload.
func (c *Codec) open(p *commonpb.Payload) (*commonpb.Payload, error) {
	id := string(p.GetMetadata()[MetadataKeyID])
	cipherName := string(p.GetMetadata()[MetadataCipher])
	k, ok := c.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: the payload was encrypted with key %q, which the key ring (%s) does not hold: put that key back into the ring (XUNCHA_PAYLOAD_KEYS or XUNCHA_PAYLOAD_KEY_FILE) after the encrypting key",
			ErrUnknownKey, id, strings.Join(c.KeyIDs(), ", "))
	}
	if cipherName != k.cipher {
		return nil, fmt.Errorf("%w: the payload names cipher %q, but key %q is an %s key", ErrDecrypt, cipherName, id, k.cipher)
	}
	data := p.GetData()
	if len(data) < nonceSize+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: the payload encrypted with key %q is %d bytes, too short to be a ciphertext", ErrDecrypt, id, len(data))
	}
	plain, err := k.aead.Open(nil, data[:nonceSize], data[nonceSize:], associatedData(cipherName, id))
	if err != nil {
		return nil, fmt.Errorf("%w with key %q (%s): authentication failed: the key material under that ID is not the one that encrypted it, or the ciphertext was altered", ErrDecrypt, id, cipherName)
	}
	var out commonpb.Payload
	if err := proto.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("%w: the plaintext under key %q is not a payload: %v", ErrDecrypt, id, err)
	}
	return &out, nil
}

// DataConverter is Temporal's default data converter with c encrypting
// every payload it produces.
func (c *Codec) DataConverter() converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter is Temporal's default failure converter with the
// failures' messages and stack traces moved into an encrypted payload:
// an error's text may quote what a caller sent.
func (c *Codec) FailureConverter() converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          c.DataConverter(),
		EncodeCommonAttributes: true,
	})
}

// ClientOptions returns o with c's data and failure converters: every
// client xuncha dials, and so every worker built on one, encrypts. It
// signs every start and Update the client sends, and a worker built on it
// refuses those not signed with a key of c's ring (signature.go). Its
// requests go uncompressed: the SDK gzips them by default, but what they
// carry is mostly ciphertext, which does not compress, so gzip only cost
// CPU on both ends (about a sixth of a lifecycle's at eight clients,
// docs/lifecycle-benchmark-history.md). With no external payload storage
// configured, the SDK still walks every payload of every workflow task it
// receives and sends, for a storage driver to act on, by default eight at
// a time, each in a goroutine of its own; one at a time does the same walk
// without them (the walk's share of a lifecycle benchmark's CPU profile
// fell from 12% to 7%, docs/lifecycle-benchmark-history.md).
func (c *Codec) ClientOptions(o client.Options) client.Options {
	o.DataConverter = c.DataConverter()
	o.FailureConverter = c.FailureConverter()
	o.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	ns := o.Namespace
	if ns == "" {
		ns = client.DefaultNamespace
	}
	o.Interceptors = append(o.Interceptors, &signer{codec: c, namespace: ns})
	if len(o.ExternalStorage.Drivers) == 0 && o.ExternalStorage.Concurrency.MaxOperationsPerMessage == 0 {
		o.ExternalStorage.Concurrency.MaxOperationsPerMessage = 1
	}
	return o
}

// ReplayerOptions returns o with c's data and failure converters: a
// replayer of histories the workers wrote decodes their payloads as the
// workers did (plaintext ones pass through).
func (c *Codec) ReplayerOptions(o worker.WorkflowReplayerOptions) worker.WorkflowReplayerOptions {
	o.DataConverter = c.DataConverter()
	o.FailureConverter = c.FailureConverter()
	return o
}

// DecodeMessage decrypts, in place, every payload of msg (a history, an
// event, a workflow description) but its search attributes, which are
// never encrypted: what an operator tool does with a history fetched raw.
func (c *Codec) DecodeMessage(ctx context.Context, msg proto.Message) error {
	return c.visit(ctx, msg, c.Decode)
}

// EncodeMessage encrypts, in place, every payload of msg but its search
// attributes, as the workers would have written them.
func (c *Codec) EncodeMessage(ctx context.Context, msg proto.Message) error {
	return c.visit(ctx, msg, c.Encode)
}

func (c *Codec) visit(ctx context.Context, msg proto.Message, f func([]*commonpb.Payload) ([]*commonpb.Payload, error)) error {
	return proxy.VisitPayloads(ctx, msg, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return f(p)
		},
	})
}

// ParseEntry parses one key entry, "ID:KEY" or "ID:CIPHER:KEY", KEY being
// the key material in standard base64; an entry without a cipher has
// defaultCipher.
func ParseEntry(s, defaultCipher string) (Key, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	var k Key
	var material string
	switch len(parts) {
	case 2:
		k.ID, k.Cipher, material = parts[0], defaultCipher, parts[1]
	case 3:
		k.ID, k.Cipher, material = parts[0], parts[1], parts[2]
	default:
		return Key{}, errors.New("a key entry is ID:KEY or ID:CIPHER:KEY (KEY in base64)")
	}
	k.ID, k.Cipher = strings.TrimSpace(k.ID), strings.TrimSpace(k.Cipher)
	if !slices.Contains(Ciphers, k.Cipher) {
		return Key{}, fmt.Errorf("key %q: unknown cipher %q: use one of %s", k.ID, k.Cipher, strings.Join(Ciphers, ", "))
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(material))
	if err != nil {
		return Key{}, fmt.Errorf("key %q: the key material is not standard base64", k.ID)
	}
	if len(secret) != keySizes[k.Cipher] {
		return Key{}, fmt.Errorf("key %q: %s keys are %d bytes, not %d (generate one with: openssl rand -base64 %d)",
			k.ID, k.Cipher, keySizes[k.Cipher], len(secret), keySizes[k.Cipher])
	}
	k.Secret = secret
	return k, nil
}

// ParseList parses comma-separated entries (XUNCHA_PAYLOAD_KEYS).
func ParseList(s, defaultCipher string) ([]Key, error) {
	var keys []Key
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, err := ParseEntry(item, defaultCipher)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return ring(keys)
}

// ParseFile parses a key file (XUNCHA_PAYLOAD_KEY_FILE): one entry per
// line, the first encrypting; blank lines and lines starting with # are
// skipped.
func ParseFile(content, defaultCipher string) ([]Key, error) {
	var keys []Key
	for i, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := ParseEntry(line, defaultCipher)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return ring(keys)
}

// ring checks what the entries of a key ring setting say together: at least
// one, and an encrypting key (the first) of its own: not a placeholder
// ("AAAA…=", one byte repeated, which anyone could guess) and not the
// material of another entry (a rotation that copied the old key under the
// new ID: what is "under the new key" is under the old one). The other
// entries only decrypt and are taken as they are: payloads written under a
// placeholder or a copied key stay readable while a real key takes over.
func ring(keys []Key) ([]Key, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key entry")
	}
	first := keys[0]
	if len(first.Secret) > 0 && bytes.Count(first.Secret, first.Secret[:1]) == len(first.Secret) {
		return nil, fmt.Errorf("key %q, the encrypting (first) one: the key material is one byte repeated, a placeholder rather than a key; put a new key first (generate one with: openssl rand -base64 %d) and keep this one after it to read what it encrypted",
			first.ID, len(first.Secret))
	}
	for _, k := range keys[1:] {
		if bytes.Equal(first.Secret, k.Secret) {
			return nil, fmt.Errorf("keys %q and %q hold the same key material: the encrypting (first) key must be its own; put a new key first (generate one with: openssl rand -base64 %d) and keep both after it",
				first.ID, k.ID, len(first.Secret))
		}
	}
	return keys, nil
}

// GenerateEntry returns a new key entry "ID:CIPHER:KEY" with random key
// material for cipherName.
func GenerateEntry(id, cipherName string) (string, error) {
	size, ok := keySizes[cipherName]
	if !ok {
		return "", fmt.Errorf("payloadcrypt: unknown cipher %q", cipherName)
	}
	secret := make([]byte, size)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("payloadcrypt: generating a key: %w", err)
	}
	return id + ":" + cipherName + ":" + base64.StdEncoding.EncodeToString(secret), nil
}
