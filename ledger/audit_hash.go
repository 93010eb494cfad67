package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/jsoncanon"
)

// The audit chain's canonical content, version 1.
//
// A row's hash is H(canonical content), H its row's hash_alg: SHA-256
// (FIPS 180-4) or SM3 (GB/T 32905-2016), both 32 bytes. The canonical content
// is a sequence of fields, each written as its length in bytes (4 bytes,
// big-endian) followed by the bytes, so that no two different rows encode
// alike. The first field is a tag naming the kind of row and the version,
// the second the algorithm; then, in this order:
//
//	event  "xuncha/audit/event/v1", hash_alg, id, subject_type, subject_id,
//	       seq, event_key, action, stage_before, stage_after, actor, note,
//	       evidence, data, occurred_at, recorded_at, prev_hash
//	access "xuncha/audit/access/v1", hash_alg, id, day, chain, seq, at,
//	       actor, action, resource, outcome, reason, remote, details,
//	       prev_hash
//	anchor "xuncha/audit/anchor/v1", hash_alg, seq, taken_at, taken_by,
//	       heads_count, heads_hash, entries_count, entries_hash,
//	       access_pruned_before, access_pruned_rows, prev_hash
//
// Integers are decimal ASCII; text is its UTF-8 bytes; instants are UTC,
// RFC 3339 with exactly six fractional digits ("2026-11-30T01:02:03.000456Z",
// PostgreSQL keeps microseconds); dates are YYYY-MM-DD (an absent date is
// empty); hashes are their raw bytes, empty before a chain's first row;
// JSON columns (jsonb) are canonical JSON: no insignificant whitespace,
// object keys sorted by their UTF-8 bytes, strings with only the escapes
// \" \\ \b \f \n \r \t and \u00XX for the other control characters (all
// other characters as UTF-8), numbers exactly as PostgreSQL prints the
// jsonb value. The writer computes the hash over the values PostgreSQL
// returns for what it is about to store (BeginEvent), so a later read
// gives the same bytes.
//
// An anchor's heads_hash is H over the fields "xuncha/audit/heads/v1" and,
// for every chain head with seq > 0 in byte order of (subject_type,
// subject_id), subject_type, subject_id, seq, hash; its entries_hash the
// same with the tag "xuncha/audit/anchor-entries/v1" over the heads that
// moved since the previous anchor (audit_anchor_entries).

// HashAlg is the hash function of new audit rows (XUNCHA_AUDIT_HASH). Each
// row records its own, so a chain may change algorithm and verification
// still checks every row with the one it was written with.
type HashAlg string

// Hash algorithms.
const (
	// HashSHA256 is SHA-256, the default.
	HashSHA256 HashAlg = "sha256"
	// HashSM3 is SM3, the national standard (GB/T 32905-2016), for
	// deployments that must use national cryptography.
	HashSM3 HashAlg = "sm3"
)

// HashAlgs lists the algorithms in the order the configuration names them.
var HashAlgs = []HashAlg{HashSHA256, HashSM3}

// ParseHashAlg reads XUNCHA_AUDIT_HASH: "sha256" or "sm3".
func ParseHashAlg(s string) (HashAlg, error) {
	a := HashAlg(s)
	if !slices.Contains(HashAlgs, a) {
		return "", derrors.New(derrors.ErrInvalidArgument, "audit hash %q: must be sha256 or sm3", s)
	}
	return a, nil
}

// orDefault is a, or SHA-256 for the zero value (a Store nobody configured).
func (a HashAlg) orDefault() HashAlg {
	if a == "" {
		return HashSHA256
	}
	return a
}

// newHash returns a fresh hash of the algorithm.
func (a HashAlg) newHash() (hash.Hash, error) {
	switch a {
	case HashSHA256:
		return sha256.New(), nil
	case HashSM3:
		return sm3.New(), nil
	}
	return nil, fmt.Errorf("unknown audit hash algorithm %q", string(a))
}

// sum hashes b.
func (a HashAlg) sum(b []byte) ([]byte, error) {
	h, err := a.newHash()
	if err != nil {
		return nil, err
	}
	h.Write(b)
	return h.Sum(nil), nil
}

// canonical builds a row's canonical content, or feeds it to a hash.
type canonical struct {
	w   io.Writer
	buf []byte
	err error
}

// newCanonical starts the content of a kind of row (its tag) under an
// algorithm, written to w (a hash) or, for a nil w, kept in bytes.
func newCanonical(w io.Writer, tag string, alg HashAlg) *canonical {
	c := &canonical{w: w}
	c.str(tag)
	if alg != "" {
		c.str(string(alg))
	}
	return c
}

func (c *canonical) field(b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	if c.w == nil {
		c.buf = append(append(c.buf, n[:]...), b...)
		return
	}
	c.w.Write(n[:])
	c.w.Write(b)
}

func (c *canonical) str(s string) { c.field([]byte(s)) }

func (c *canonical) int(n int64) { c.field(strconv.AppendInt(nil, n, 10)) }

func (c *canonical) bytes(b []byte) { c.field(b) }

func (c *canonical) instant(t time.Time) { c.str(canonicalInstant(t)) }

// date writes a civil date held as midnight UTC (PostgreSQL date); nil is
// empty.
func (c *canonical) date(d *time.Time) {
	if d == nil {
		c.str("")
		return
	}
	c.str(d.Format(time.DateOnly))
}

// json writes a JSON document in canonical form.
func (c *canonical) json(raw []byte) {
	b, err := canonicalJSON(raw)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.field(b)
}

// canonicalInstant is t in UTC with microseconds.
func canonicalInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// canonicalJSON re-encodes one JSON document: keys sorted by bytes, no
// whitespace, minimal string escapes, numbers as written. The definition
// is canonicalJSONDecoded's, which decodes the document and encodes it
// again; what jsoncanon takes (a document whose strings stand as they are
// written and whose keys are each given once, as PostgreSQL writes most)
// it writes in one pass, the same bytes (TestCanonicalJSONOnePass).
func canonicalJSON(raw []byte) ([]byte, error) {
	if out, ok := jsoncanon.Append(make([]byte, 0, len(raw)), raw, jsoncanon.Options{}); ok {
		return out, nil
	}
	return canonicalJSONDecoded(raw)
}

// canonicalJSONDecoded is canonicalJSON's definition.
func canonicalJSONDecoded(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("canonical JSON: more than one value")
	}
	return appendCanonicalJSON(nil, v), nil
}

func appendCanonicalJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return appendCanonicalString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonicalJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := slices.Sorted(maps.Keys(v)) // Go compares strings by their bytes
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonicalString(b, k)
			b = append(b, ':')
			b = appendCanonicalJSON(b, v[k])
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("canonical JSON: unexpected %T", v))
}

func appendCanonicalString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20:
			b = append(b, `\u00`...)
			b = append(b, hex.EncodeToString([]byte{byte(r)})...)
		default:
			// Decoded JSON is valid UTF-8 (the decoder replaced what was
			// not), so the bytes are the character.
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
