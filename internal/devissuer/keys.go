package devissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keysDir is the subdirectory of Config.Dir that holds the signing keys,
// one PKCS #8 PEM file each, named by creation time so that the newest
// (the one that signs) sorts last.
const keysDir = "keys"

// signingKey is one key of the directory: it signs (op.SigningKey) and its
// public half is published (publicKey, an op.Key).
type signingKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.private }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is a signing key's public half as published in the JWKS.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.private.Public() }

// keyStore keeps the signing keys in a directory. Every call reads the
// directory again: keys are few, and another process (xuncha token, a
// rotation) may have changed them.
type keyStore struct {
	dir string
	now func() time.Time
}

// load returns the keys, oldest first; the last one signs.
func (s *keyStore) load() ([]*signingKey, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the dev issuer's keys: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".pem") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	keys := make([]*signingKey, 0, len(names))
	for _, name := range names {
		k, err := readKey(filepath.Join(s.dir, name))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// current returns the newest key, creating the first one if there is none.
func (s *keyStore) current(alg jose.SignatureAlgorithm) (*signingKey, error) {
	keys, err := s.load()
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		return keys[len(keys)-1], nil
	}
	return s.create(alg)
}

// create makes a new key, which becomes the signing key. The older keys stay
// published until removed, so tokens they signed still verify.
func (s *keyStore) create(alg jose.SignatureAlgorithm) (*signingKey, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the dev issuer's key directory: %w", err)
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("the dev issuer signs with RS256 or ES256, not %s", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generating a signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding a signing key: %w", err)
	}
	// Written to a temporary file and renamed, so a reader never sees half a key.
	tmp, err := os.CreateTemp(s.dir, ".new-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("writing a signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	werr := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("writing a signing key: %w", werr)
	}
	name := s.now().UTC().Format("20060102T150405.000000000Z") + ".pem"
	path := filepath.Join(s.dir, name)
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("a signing key named %s exists already; try again", name)
		}
		return nil, fmt.Errorf("writing a signing key: %w", err)
	}
	return readKey(path)
}

func readKey(path string) (*signingKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %s: %w", path, err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s is not a PEM \"PRIVATE KEY\"", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	k := &signingKey{}
	switch p := parsed.(type) {
	case *rsa.PrivateKey:
		k.private, k.alg = p, jose.RS256
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing key %s: only P-256 EC keys are used", path)
		}
		k.private, k.alg = p, jose.ES256
	default:
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", path, parsed)
	}
	// The key ID is the RFC 7638 thumbprint: stable, and the same in every
	// process that reads the file.
	tp, err := (&jose.JSONWebKey{Key: k.private.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	k.id = base64URL(tp)
	return k, nil
}
