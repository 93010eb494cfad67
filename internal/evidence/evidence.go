// Package evidence stores uploaded evidence blobs (documents, photos, audio,
// video) content-addressed on the local file system: a blob's name is its
// SHA-256, so an upload is checked against the hash the client announced and
// storing the same content twice keeps one file. The ledger holds the
// metadata (casework.Evidence) and the location this package returns.
//
// Evidence safety (mediatype.go): an upload's declared Content-Type is
// checked against its first bytes and its kind (CheckType) before anything is
// stored, and the checked type is what the ledger keeps. Content a browser
// could run script in (IsActive) is held only by kind DOCUMENT, and every
// blob is served as a download that is never rendered on the API's origin
// (ServedType, ContentDisposition; the API adds nosniff and a sandboxing
// CSP). The sniffing is a consistency check, not the guarantee: it reads the
// first SniffLen bytes only; what keeps stored content from running in a
// browser is how it is served.
package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuncha/xuncha/internal/derrors"
)

// LocationPrefix starts every location Put returns: "local:sha256/<hex>".
const LocationPrefix = "local:sha256/"

// Store keeps blobs under Dir as Dir/<first two hex digits>/<sha256>. The
// directory is created on first use. A Store is safe for concurrent use,
// also by several processes sharing Dir.
type Store struct {
	// Dir is the root directory of the blobs; it must be set.
	Dir string
}

// ValidSHA256 reports whether s is a SHA-256 written as 64 lower-case hex
// digits.
func ValidSHA256(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Location is the location of the blob with the given SHA-256.
func Location(sum string) string { return LocationPrefix + sum }

// path is where the blob with the given (valid) SHA-256 lives.
func (s *Store) path(sum string) string { return filepath.Join(s.Dir, sum[:2], sum) }

// Put streams r into the store while hashing it. It refuses the content
// (derrors.InvalidError, nothing stored) when wantSHA256 is not 64 lower-case
// hex digits, when the content's SHA-256 differs from it, or when it is
// longer than maxBytes (maxBytes <= 0 means no limit). It returns the
// location "local:sha256/<hex>" and the size. Storing content that is
// already there is fine and returns the same location.
func (s *Store) Put(ctx context.Context, r io.Reader, wantSHA256 string, maxBytes int64) (location string, size int64, err error) {
	if !ValidSHA256(wantSHA256) {
		return "", 0, derrors.Invalid("sha256", "must be 64 lower-case hexadecimal digits")
	}
	if s.Dir == "" {
		return "", 0, errors.New("evidence store: Dir is not set")
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return "", 0, fmt.Errorf("creating evidence directory: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("creating evidence upload file: %w", err)
	}
	// Until the rename succeeds the temporary file is removed on every path.
	renamed := false
	defer func() {
		if !renamed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()

	h := sha256.New()
	src := &ctxReader{ctx: ctx, r: r}
	var limited io.Reader = src
	if maxBytes > 0 {
		// One byte more than allowed tells "exactly maxBytes" from "too long".
		limited = io.LimitReader(src, maxBytes+1)
	}
	size, err = io.Copy(io.MultiWriter(tmp, h), limited)
	if err != nil {
		return "", 0, fmt.Errorf("receiving evidence: %w", err)
	}
	if maxBytes > 0 && size > maxBytes {
		return "", 0, derrors.Invalid("file", "must be at most %d bytes", maxBytes)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != wantSHA256 {
		return "", 0, derrors.Invalid("sha256", "does not match the uploaded content (got %s)", got)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("writing evidence %s: %w", got, err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("writing evidence %s: %w", got, err)
	}

	final := s.path(got)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return "", 0, fmt.Errorf("creating evidence directory: %w", err)
	}
	if _, err := os.Stat(final); err == nil {
		// The same content is already stored; its name is its hash.
		return Location(got), size, nil
	}
	// Rename is atomic: readers see the whole blob or none, and a concurrent
	// upload of the same content replaces it with identical bytes.
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", 0, fmt.Errorf("storing evidence %s: %w", got, err)
	}
	renamed = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		return "", 0, fmt.Errorf("storing evidence %s: %w", got, err)
	}
	return Location(got), size, nil
}

// Open returns the blob at a location Put returned. An unknown blob is
// derrors.ErrNotFound; a location that is not "local:sha256/<64 hex>" is an
// *derrors.InvalidError.
func (s *Store) Open(location string) (io.ReadCloser, error) {
	sum, ok := strings.CutPrefix(location, LocationPrefix)
	if !ok || !ValidSHA256(sum) {
		return nil, derrors.Invalid("location", "must be %s<64 lower-case hex digits>", LocationPrefix)
	}
	f, err := os.Open(s.path(sum))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("evidence blob %s: %w", sum, derrors.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("opening evidence blob %s: %w", sum, err)
	}
	return f, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}

// ctxReader stops a long upload when its request ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
