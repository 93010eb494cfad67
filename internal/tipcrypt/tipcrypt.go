// Package tipcrypt seals the identity of a tip's reporter (举报人) for the
// ledger: AES-256-GCM with a random nonce, the tip's ID as additional data so
// that a ciphertext copied onto another tip does not open. The key comes from
// the operator (XUNCHA_TIP_KEY); nothing here logs, prints or returns it.
package tipcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the key length in bytes (AES-256).
const KeySize = 32

// formatV1 is the first byte of every ciphertext: the layout below, so that
// another algorithm or key can be told apart later.
const formatV1 = 1

// ErrOpen is matched (errors.Is) by every error of Open: the ciphertext is
// damaged, belongs to another tip or was sealed with another key.
var ErrOpen = errors.New("tip reporter ciphertext does not open")

// Sealer seals and opens reporters' identities. It is safe for concurrent
// use. Its String and GoString never show the key.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a KeySize-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("tip key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("tip key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tip key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey reads a key written as standard base64 (what `openssl rand -base64
// 32` prints) or as hex, surrounding white space ignored. The error says what
// is wrong without quoting the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("tip key is empty: generate one with `openssl rand -base64 32`")
	}
	key, b64err := base64.StdEncoding.DecodeString(s)
	if b64err == nil && len(key) == KeySize {
		return key, nil
	}
	if isHex(s) {
		if key, err := hex.DecodeString(s); err == nil && len(key) == KeySize {
			return key, nil
		}
		return nil, fmt.Errorf("tip key is %d hex digits, want %d: generate one with `openssl rand -base64 32`", len(s), 2*KeySize)
	}
	if b64err == nil {
		return nil, fmt.Errorf("tip key decodes (base64) to %d bytes, want %d: generate one with `openssl rand -base64 32`", len(key), KeySize)
	}
	return nil, errors.New("tip key is neither base64 nor hex of 32 bytes: generate one with `openssl rand -base64 32`")
}

// Placeholder reports whether key is one byte repeated ("AAAA…=", zeros):
// a placeholder left in a configuration, which anyone could guess. It is
// not refused: the key cannot be changed once something is sealed with it,
// and a ledger sealed under one must stay readable; the server warns.
func Placeholder(key []byte) bool {
	return len(key) > 0 && bytes.Count(key, key[:1]) == len(key)
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// GenerateKey returns a new random key in standard base64, the form
// ParseKey reads.
func GenerateKey() string {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it crashes instead)
	return base64.StdEncoding.EncodeToString(key)
}

// Seal encrypts plaintext bound to ad (the tip ID): one format byte, a
// random nonce, then the GCM ciphertext with its tag.
func (s *Sealer) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing: drawing a nonce: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, formatV1)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, ad), nil
}

// Open decrypts what Seal returned for the same ad; any mismatch is ErrOpen.
func (s *Sealer) Open(ciphertext, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < 1+n+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	if ciphertext[0] != formatV1 {
		return nil, fmt.Errorf("%w: unknown format %d", ErrOpen, ciphertext[0])
	}
	plain, err := s.aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key, wrong tip or damaged", ErrOpen)
	}
	return plain, nil
}

// String hides the key from logs and %v.
func (s *Sealer) String() string { return "tipcrypt.Sealer{key: redacted}" }

// GoString hides the key from %#v.
func (s *Sealer) GoString() string { return s.String() }
