package ledger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Anchors: once a day the worker (and `xuncha audit anchor` by hand) writes
// an anchor: a hash over every chain head, the list of heads that moved
// since the previous anchor, and what retention pruned, chained to the
// previous anchor. Verification rebuilds where the anchors left each chain
// from their entries, so removing a chain's tail — its head row edited to
// match — is found as long as an anchor saw the removed rows. Anything
// written after the last anchor is protected only by the chains and their
// heads; copy each anchor's hash out of the database (see
// VerifyOptions.ExpectAnchor) to protect the anchors themselves.

// Anchor is one row of the anchor chain.
type Anchor struct {
	Seq     int64
	TakenAt time.Time
	TakenBy string
	// HeadsCount and HeadsHash cover every chain head with seq > 0.
	HeadsCount int64
	HeadsHash  []byte
	// EntriesCount and EntriesHash cover the heads that moved since the
	// previous anchor (audit_anchor_entries).
	EntriesCount int64
	EntriesHash  []byte
	// AccessPrunedBefore, when set, says that access days before it were
	// pruned by retention, by this anchor (AccessPrunedRows rows) or an
	// earlier one.
	AccessPrunedBefore *time.Time
	AccessPrunedRows   int64
	PrevHash           []byte
	Hash               []byte
	HashAlg            HashAlg
}

// hash computes the anchor's hash (audit_hash.go, "anchor").
func (a Anchor) hash() ([]byte, error) {
	c := newCanonical(nil, "xuncha/audit/anchor/v1", a.HashAlg)
	c.int(a.Seq)
	c.instant(a.TakenAt)
	c.str(a.TakenBy)
	c.int(a.HeadsCount)
	c.bytes(a.HeadsHash)
	c.int(a.EntriesCount)
	c.bytes(a.EntriesHash)
	c.date(a.AccessPrunedBefore)
	c.int(a.AccessPrunedRows)
	c.bytes(a.PrevHash)
	return a.HashAlg.sum(c.buf)
}

func anchorFromRow(r dbsqlc.AuditAnchor) Anchor {
	return Anchor{
		Seq: r.Seq, TakenAt: r.TakenAt, TakenBy: r.TakenBy, HeadsCount: r.HeadsCount, HeadsHash: r.HeadsHash,
		EntriesCount: r.EntriesCount, EntriesHash: r.EntriesHash, AccessPrunedBefore: r.AccessPrunedBefore,
		AccessPrunedRows: r.AccessPrunedRows, PrevHash: r.PrevHash, Hash: r.Hash, HashAlg: HashAlg(r.HashAlg),
	}
}

// chainPos is a chain's key and a position in it: a head, or an anchor's
// entry.
type chainPos struct {
	typ, id string
	seq     int64
	hash    []byte
}

func (p chainPos) key() chainKey { return chainKey{p.typ, p.id} }

// chainKey names a chain: a subject's events, or a day of a caller's access
// records (SubjectAccess, "<day>/<chain>").
type chainKey struct{ typ, id string }

func (k chainKey) String() string { return k.typ + "/" + k.id }

// compareKeys orders chains by the bytes of their type, then of their ID.
func compareKeys(a, b chainKey) int {
	if c := strings.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// positionsDigest hashes positions in key order under tag (heads_hash,
// entries_hash); it sorts ps.
func positionsDigest(alg HashAlg, tag string, ps []chainPos) ([]byte, error) {
	slices.SortFunc(ps, func(a, b chainPos) int { return compareKeys(a.key(), b.key()) })
	h, err := alg.newHash()
	if err != nil {
		return nil, err
	}
	writePositions(h, tag, ps)
	return h.Sum(nil), nil
}

func writePositions(w io.Writer, tag string, ps []chainPos) {
	c := newCanonical(w, tag, "")
	for _, p := range ps {
		c.str(p.typ)
		c.str(p.id)
		c.int(p.seq)
		c.bytes(p.hash)
	}
}

const (
	headsTag   = "xuncha/audit/heads/v1"
	entriesTag = "xuncha/audit/anchor-entries/v1"
)

// AnchorOptions says how to take an anchor.
type AnchorOptions struct {
	// TakenBy is AnchorBySchedule or AnchorByCommand.
	TakenBy string
	// AccessLogRetentionDays, when not zero, first prunes the access log's
	// days older than that many days (at least
	// MinAccessLogRetentionDays); zero prunes nothing.
	AccessLogRetentionDays int
}

// CheckAccessLogRetention refuses a retention shorter than six months.
func CheckAccessLogRetention(days int) error {
	if days < MinAccessLogRetentionDays {
		return derrors.New(derrors.ErrInvalidArgument,
			"access log retention of %d days is refused: network logs are kept at least %d days (Cybersecurity Law art. 21)",
			days, MinAccessLogRetentionDays)
	}
	return nil
}

// WriteAnchor seals any unsealed events, prunes the access log by
// retention, and appends an anchor over every chain head, in one
// transaction (anchors take turns under an advisory lock). It returns the
// anchor written.
func (s *Store) WriteAnchor(ctx context.Context, opts AnchorOptions) (Anchor, error) {
	if opts.AccessLogRetentionDays != 0 {
		if err := CheckAccessLogRetention(opts.AccessLogRetentionDays); err != nil {
			return Anchor{}, err
		}
	}
	if opts.TakenBy == "" {
		return Anchor{}, derrors.Invalid("taken_by", "must not be empty")
	}
	// As the application role, events an older binary wrote wait for
	// `xuncha migrate`: the anchor covers the chains as they stand, and
	// verify names the unsealed events.
	if _, err := s.SealAuditChains(ctx); err != nil && !PermissionDenied(err) {
		return Anchor{}, err
	}
	alg := s.AuditHash.orDefault()
	var out Anchor
	err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.LockAnchors(ctx); err != nil {
			return fmt.Errorf("waiting for other anchors: %w", err)
		}
		clock, err := q.NowAndToday(ctx)
		if err != nil {
			return fmt.Errorf("reading the database clock: %w", err)
		}
		a := Anchor{Seq: 1, TakenAt: clock.Now, TakenBy: opts.TakenBy, HashAlg: alg, PrevHash: []byte{}}
		prev, found, err := optional(q.LastAnchor(ctx))
		if err != nil {
			return fmt.Errorf("reading the last anchor: %w", err)
		}
		if found {
			a.Seq, a.PrevHash, a.AccessPrunedBefore = prev.Seq+1, prev.Hash, prev.AccessPrunedBefore
		}
		if days := opts.AccessLogRetentionDays; days != 0 {
			before := clock.Today.AddDate(0, 0, -days)
			if a.AccessPrunedRows, err = q.PruneAccessLog(ctx, before); err != nil {
				return fmt.Errorf("pruning access records before %s: %w", before.Format(time.DateOnly), err)
			}
			if err := q.PruneAccessHeads(ctx, before); err != nil {
				return fmt.Errorf("pruning access chains before %s: %w", before.Format(time.DateOnly), err)
			}
			if a.AccessPrunedBefore == nil || before.After(*a.AccessPrunedBefore) {
				a.AccessPrunedBefore = &before
			}
		}
		rows, err := q.HeadsToAnchor(ctx)
		if err != nil {
			return fmt.Errorf("reading chain heads: %w", err)
		}
		heads := make([]chainPos, 0, len(rows))
		var moved []chainPos
		for _, r := range rows {
			p := chainPos{typ: r.SubjectType, id: r.SubjectID, seq: r.Seq, hash: r.Hash}
			if r.Seq < r.AnchoredSeq {
				// A chain only grows: a head behind where an anchor left
				// it means rows were removed. Anchoring it would record the
				// shortened chain as the truth.
				return fmt.Errorf("chain %s: its head is at seq %d, behind seq %d where the last anchor left it: rows were removed; run xuncha audit verify (nothing was anchored): %w",
					chainKey{p.typ, p.id}, r.Seq, r.AnchoredSeq, derrors.ErrFailedPrecondition)
			}
			heads = append(heads, p)
			if r.AnchoredSeq != r.Seq {
				moved = append(moved, p)
			}
		}
		if a.HeadsHash, err = positionsDigest(alg, headsTag, heads); err != nil {
			return err
		}
		if a.EntriesHash, err = positionsDigest(alg, entriesTag, moved); err != nil {
			return err
		}
		a.HeadsCount, a.EntriesCount = int64(len(heads)), int64(len(moved))
		if a.Hash, err = a.hash(); err != nil {
			return err
		}
		id, err := q.InsertAnchor(ctx, dbsqlc.InsertAnchorParams{
			Seq: a.Seq, TakenAt: a.TakenAt, TakenBy: a.TakenBy, HeadsCount: a.HeadsCount, HeadsHash: a.HeadsHash,
			EntriesCount: a.EntriesCount, EntriesHash: a.EntriesHash, AccessPrunedBefore: a.AccessPrunedBefore,
			AccessPrunedRows: a.AccessPrunedRows, PrevHash: a.PrevHash, Hash: a.Hash, HashAlg: string(alg),
		})
		if err != nil {
			return fmt.Errorf("inserting anchor %d: %w", a.Seq, err)
		}
		entries := dbsqlc.InsertAnchorEntriesParams{AnchorID: id}
		marks := dbsqlc.MarkAnchoredParams{}
		for _, p := range moved {
			entries.SubjectTypes = append(entries.SubjectTypes, p.typ)
			entries.SubjectIds = append(entries.SubjectIds, p.id)
			entries.Seqs = append(entries.Seqs, p.seq)
			entries.Hashes = append(entries.Hashes, p.hash)
		}
		marks.SubjectTypes, marks.SubjectIds, marks.Seqs = entries.SubjectTypes, entries.SubjectIds, entries.Seqs
		if len(moved) > 0 {
			if err := q.InsertAnchorEntries(ctx, entries); err != nil {
				return fmt.Errorf("inserting the entries of anchor %d: %w", a.Seq, err)
			}
			if err := q.MarkAnchored(ctx, marks); err != nil {
				return fmt.Errorf("marking the heads of anchor %d: %w", a.Seq, err)
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return Anchor{}, err
	}
	return out, nil
}

// LastAnchor returns the newest anchor; found is false before the first.
func (s *Store) LastAnchor(ctx context.Context) (_ Anchor, found bool, _ error) {
	r, found, err := optional(s.q.LastAnchor(ctx))
	if err != nil || !found {
		return Anchor{}, false, err
	}
	return anchorFromRow(r), true, nil
}

// sameBytes treats nil and empty alike.
func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) }
