package ledger

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Kinds of AuditProblem.
const (
	// ProblemHashMismatch: a row's content does not give its stored hash
	// (the row was edited).
	ProblemHashMismatch = "hash mismatch"
	// ProblemBrokenLink: a row's previous hash is not the hash of the row
	// before it (a row was edited and re-hashed, rows were reordered, or a
	// row was inserted).
	ProblemBrokenLink = "broken link"
	// ProblemSeqGap: a chain skips positions (a row was deleted).
	ProblemSeqGap = "seq gap"
	// ProblemMissingTail: a chain ends before its head row or an anchor
	// says it reached (its last rows were deleted).
	ProblemMissingTail = "missing tail"
	// ProblemHeadMismatch: a chain's head row does not match its last row,
	// or is missing.
	ProblemHeadMismatch = "head mismatch"
	// ProblemAnchorMismatch: an anchor's recorded position differs from the
	// chain's row at that position, or an anchor itself is broken (hash,
	// link, seq, entries, heads).
	ProblemAnchorMismatch = "anchor mismatch"
	// ProblemUnsealed: an event without a hash (written before migration
	// 008 or by an older binary, and not sealed yet: run xuncha migrate).
	ProblemUnsealed = "unsealed"
)

// maxProblems bounds the problems a report lists.
const maxProblems = 100

// verifyPage is how many rows verification reads at a time.
const verifyPage = 5000

// AuditProblem is one thing verification found wrong: the first broken
// row of a chain, or a broken anchor.
type AuditProblem struct {
	// Kind is one of the Problem… constants.
	Kind string
	// Table and RowID name the row (RowID 0: no row, e.g. a chain without
	// rows). For audit_anchors the row is named by Seq.
	Table string
	RowID int64
	// Chain is the chain ("finding/f-1", "access/2026-11-30/sub:…"; empty for
	// the anchors' own chain), Seq the row's position in it.
	Chain string
	Seq   int64
	// Detail says what differs.
	Detail string
}

func (p AuditProblem) String() string {
	var where string
	switch {
	case p.Table == "audit_anchors":
		where = fmt.Sprintf("audit_anchors seq %d", p.Seq)
	case p.RowID != 0:
		where = fmt.Sprintf("%s row %d (%s, seq %d)", p.Table, p.RowID, p.Chain, p.Seq)
	default:
		where = fmt.Sprintf("%s chain %s", p.Table, p.Chain)
	}
	return fmt.Sprintf("%s: %s: %s", p.Kind, where, p.Detail)
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	// Chains, Events, AccessRecords and Anchors count what was checked.
	Chains, Events, AccessRecords, Anchors int64
	// LatestAnchor is the newest anchor, nil before the first.
	LatestAnchor *Anchor
	// Problems in the order found; the first is the first broken row.
	Problems []AuditProblem
	// Truncated is set when more problems were found than listed.
	Truncated bool
}

// OK reports whether nothing was found wrong.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// AnchorRef names an anchor by its seq and hash, as recorded outside the
// database.
type AnchorRef struct {
	Seq  int64
	Hash []byte
}

// ParseAnchorRef reads "SEQ:HEX", as `xuncha audit anchor` prints it.
func ParseAnchorRef(s string) (AnchorRef, error) {
	seq, h, ok := strings.Cut(s, ":")
	var ref AnchorRef
	if _, err := fmt.Sscan(seq, &ref.Seq); !ok || err != nil || ref.Seq <= 0 {
		return AnchorRef{}, derrors.New(derrors.ErrInvalidArgument, "anchor %q: must be SEQ:HEX, e.g. 12:9f86d0…", s)
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return AnchorRef{}, derrors.New(derrors.ErrInvalidArgument, "anchor %q: the hash must be 64 hex digits", s)
	}
	ref.Hash = b
	return ref, nil
}

// VerifyOptions narrows VerifyAudit; the zero value checks everything.
type VerifyOptions struct {
	// Subject checks one chain: "finding/f-1", "access/2026-11-30/sub:x",
	// or a bare subject ID ("f-1"), which checks that ID's chain of every
	// subject type.
	Subject string
	// Since, when set, checks only the chains written to since then (each
	// in full: rows recorded, heads moved or anchored since), with every
	// anchor.
	Since time.Time
	// ExpectAnchor, when set, is an anchor's hash recorded outside the
	// database: the anchor of that seq must still have it.
	ExpectAnchor *AnchorRef
}

// subjectTypes are the chain types a Subject may name before "/".
var subjectTypes = []string{casework.SubjectInspection, casework.SubjectFinding, casework.SubjectInterview, SubjectTip, casework.SubjectCalendar,
	casework.SubjectEscalationPolicy, casework.SubjectWebhook, SubjectEvidence, SubjectAccess,
	casework.SubjectExpert, casework.SubjectLineup, casework.SubjectInvitation, casework.SubjectReferralRoute}

// VerifyAudit recomputes the audit chains on one snapshot of the database
// and reports every chain's first broken row: events and access records
// (hash, link to the previous row, seq without gaps), each chain's end
// against its head row and against the newest anchor that recorded it, the
// anchor chain itself (hash, link, seq, entries), and the newest anchor's
// hash over all heads against the heads the anchors recorded. It is what
// `xuncha audit verify` and AuditService/VerifyAudit run.
func (s *Store) VerifyAudit(ctx context.Context, opts VerifyOptions) (AuditReport, error) {
	v := &verifier{anchored: map[chainKey]anchoredPos{}, heads: map[chainKey]chainPos{}, seen: map[chainKey]bool{}}
	if opts.Subject != "" {
		typ, id, ok := strings.Cut(opts.Subject, "/")
		if ok && slices.Contains(subjectTypes, typ) {
			v.onlyType, v.onlyID = typ, id
		} else {
			v.onlyID = opts.Subject
		}
	}
	err := s.inSnapshot(ctx, func(q *dbsqlc.Queries) error {
		if err := v.anchors(ctx, q, opts); err != nil {
			return err
		}
		if !opts.Since.IsZero() {
			if err := v.selectSince(ctx, q, opts.Since); err != nil {
				return err
			}
		}
		if err := v.loadHeads(ctx, q); err != nil {
			return err
		}
		if err := v.events(ctx, q); err != nil {
			return err
		}
		if err := v.lostAnchored(ctx, q); err != nil {
			return err
		}
		if err := v.access(ctx, q, opts.Since); err != nil {
			return err
		}
		v.leftovers()
		return v.unsealed(ctx, q)
	})
	if err != nil {
		return AuditReport{}, fmt.Errorf("verifying the audit chains: %w", err)
	}
	if opts.Subject != "" && v.report.Chains == 0 && len(v.report.Problems) == 0 {
		if !opts.Since.IsZero() {
			// Nothing written since: an answer, if the subject names a
			// chain at all (checked whole: one subject's is small).
			whole := opts
			whole.Since = time.Time{}
			if _, err := s.VerifyAudit(ctx, whole); err != nil {
				return AuditReport{}, err
			}
			return v.report, nil
		}
		// Nothing checked is no proof: a subject that names no chain (a
		// typing error, a type this list lacked) is not reported intact.
		return AuditReport{}, derrors.New(derrors.ErrNotFound,
			"subject %q names no audit chain: write it as <type>/<id> (finding/f-1, access/2026-11-30/<chain>) or as a bare ID that a chain has", opts.Subject)
	}
	return v.report, nil
}

// anchoredPos is where the newest anchor that recorded a chain left it.
type anchoredPos struct {
	seq       int64
	hash      []byte
	anchorSeq int64
}

type verifier struct {
	report AuditReport
	// onlyType and onlyID restrict the chains checked (VerifyOptions.Subject).
	onlyType, onlyID string
	// since, when not nil, is the set of chains to check (Since).
	since map[chainKey]bool
	// anchored is where the anchors left each chain; heads are the head
	// rows; seen marks chains that have rows.
	anchored map[chainKey]anchoredPos
	heads    map[chainKey]chainPos
	seen     map[chainKey]bool
	// prunedBefore: access days before it were pruned (nil: none).
	prunedBefore *time.Time
}

func (v *verifier) add(p AuditProblem) {
	if len(v.report.Problems) >= maxProblems {
		v.report.Truncated = true
		return
	}
	v.report.Problems = append(v.report.Problems, p)
}

// selected reports whether chain k is checked.
func (v *verifier) selected(k chainKey) bool {
	if v.onlyType != "" && k.typ != v.onlyType {
		return false
	}
	if v.onlyID != "" && k.id != v.onlyID {
		return false
	}
	return v.since == nil || v.since[k]
}

// pruned reports whether chain k is an access day retention removed.
func (v *verifier) pruned(k chainKey) bool {
	if k.typ != SubjectAccess || v.prunedBefore == nil {
		return false
	}
	return len(k.id) >= len(time.DateOnly) && k.id[:len(time.DateOnly)] < v.prunedBefore.Format(time.DateOnly)
}

// anchors checks the anchor chain and rebuilds where it left each chain.
func (v *verifier) anchors(ctx context.Context, q *dbsqlc.Queries, opts VerifyOptions) error {
	rows, err := q.VerifyAnchors(ctx)
	if err != nil {
		return fmt.Errorf("reading anchors: %w", err)
	}
	var prev *Anchor
	expectSeen := false
	for _, r := range rows {
		a := anchorFromRow(r)
		v.report.Anchors++
		fail := func(format string, args ...any) {
			v.add(AuditProblem{Kind: ProblemAnchorMismatch, Table: "audit_anchors", RowID: r.ID, Seq: a.Seq,
				Detail: fmt.Sprintf(format, args...)})
		}
		wantSeq, wantPrev := int64(1), []byte{}
		if prev != nil {
			wantSeq, wantPrev = prev.Seq+1, prev.Hash
		}
		switch {
		case a.Seq != wantSeq:
			fail("anchor seq %d follows seq %d: the anchors between are missing", a.Seq, wantSeq-1)
		case !sameBytes(a.PrevHash, wantPrev):
			fail("prev_hash %x is not the previous anchor's hash %x", a.PrevHash, wantPrev)
		}
		if sum, err := a.hash(); err != nil {
			fail("cannot recompute: %v", err)
		} else if !sameBytes(sum, a.Hash) {
			fail("its content does not give its stored hash (recomputed %x, stored %x)", sum, a.Hash)
		}
		entries, err := q.VerifyAnchorEntries(ctx, r.ID)
		if err != nil {
			return fmt.Errorf("reading the entries of anchor %d: %w", a.Seq, err)
		}
		ps := make([]chainPos, 0, len(entries))
		for _, e := range entries {
			ps = append(ps, chainPos{typ: e.SubjectType, id: e.SubjectID, seq: e.Seq, hash: e.Hash})
		}
		if sum, err := positionsDigest(a.HashAlg, entriesTag, ps); err != nil {
			fail("cannot recompute its entries: %v", err)
		} else if !sameBytes(sum, a.EntriesHash) || int64(len(ps)) != a.EntriesCount {
			fail("its %d entries do not give its entries_hash over %d entries", len(ps), a.EntriesCount)
		}
		for _, p := range ps {
			v.anchored[p.key()] = anchoredPos{seq: p.seq, hash: p.hash, anchorSeq: a.Seq}
		}
		if a.AccessPrunedBefore != nil {
			v.prunedBefore = a.AccessPrunedBefore
			for k := range v.anchored {
				if v.pruned(k) {
					delete(v.anchored, k)
				}
			}
		}
		if opts.ExpectAnchor != nil && opts.ExpectAnchor.Seq == a.Seq {
			expectSeen = true
			if !sameBytes(opts.ExpectAnchor.Hash, a.Hash) {
				fail("its hash %x differs from the one recorded outside the database, %x", a.Hash, opts.ExpectAnchor.Hash)
			}
		}
		prev = &a
	}
	if opts.ExpectAnchor != nil && !expectSeen {
		v.add(AuditProblem{Kind: ProblemAnchorMismatch, Table: "audit_anchors", Seq: opts.ExpectAnchor.Seq,
			Detail: "the anchor recorded outside the database is missing"})
	}
	if prev == nil {
		return nil
	}
	v.report.LatestAnchor = prev
	// The newest anchor's heads_hash covered every head then: the positions
	// the anchors recorded must give it.
	ps := make([]chainPos, 0, len(v.anchored))
	for k, p := range v.anchored {
		ps = append(ps, chainPos{typ: k.typ, id: k.id, seq: p.seq, hash: p.hash})
	}
	if sum, err := positionsDigest(prev.HashAlg, headsTag, ps); err != nil {
		return err
	} else if !sameBytes(sum, prev.HeadsHash) || int64(len(ps)) != prev.HeadsCount {
		v.add(AuditProblem{Kind: ProblemAnchorMismatch, Table: "audit_anchors", Seq: prev.Seq,
			Detail: fmt.Sprintf("the %d chain positions the anchors recorded do not give the newest anchor's hash over its %d heads (entries or heads were removed or edited)",
				len(ps), prev.HeadsCount)})
	}
	return nil
}

// selectSince picks the chains written to since an instant: rows recorded,
// heads moved, or anchored since.
func (v *verifier) selectSince(ctx context.Context, q *dbsqlc.Queries, since time.Time) error {
	rows, err := q.ChainsSince(ctx, since)
	if err != nil {
		return fmt.Errorf("listing chains written since %s: %w", since.Format(time.RFC3339), err)
	}
	v.since = map[chainKey]bool{}
	for _, r := range rows {
		v.since[chainKey{r.SubjectType, r.SubjectID}] = true
	}
	anchors, err := q.VerifyAnchors(ctx)
	if err != nil {
		return fmt.Errorf("reading anchors: %w", err)
	}
	for _, a := range anchors {
		if a.TakenAt.Before(since) {
			continue
		}
		entries, err := q.VerifyAnchorEntries(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("reading the entries of anchor %d: %w", a.Seq, err)
		}
		for _, e := range entries {
			v.since[chainKey{e.SubjectType, e.SubjectID}] = true
		}
	}
	return nil
}

func (v *verifier) loadHeads(ctx context.Context, q *dbsqlc.Queries) error {
	rows, err := q.VerifyHeads(ctx, dbsqlc.VerifyHeadsParams{SubjectType: v.onlyType, SubjectID: v.onlyID})
	if err != nil {
		return fmt.Errorf("reading chain heads: %w", err)
	}
	for _, r := range rows {
		k := chainKey{r.SubjectType, r.SubjectID}
		if v.selected(k) {
			v.heads[k] = chainPos{typ: k.typ, id: k.id, seq: r.Seq, hash: r.Hash}
		}
	}
	return nil
}

// chainCheck follows one chain's rows in seq order.
type chainCheck struct {
	v      *verifier
	table  string
	key    chainKey
	last   int64
	lastID int64
	hash   []byte
	broken bool
}

// row checks the next row of the chain: its seq, its link and its hash
// (sum, recomputed, or the error recomputing it).
func (c *chainCheck) row(id, seq int64, prev, stored, sum []byte, sumErr error) {
	if c.broken {
		return
	}
	fail := func(kind, format string, args ...any) {
		c.v.add(AuditProblem{Kind: kind, Table: c.table, RowID: id, Chain: c.key.String(), Seq: seq,
			Detail: fmt.Sprintf(format, args...)})
		c.broken = true
	}
	switch {
	case seq > c.last+1:
		fail(ProblemSeqGap, "seq %d follows seq %d: %s missing from the chain", seq, c.last, seqRange(c.last+1, seq-1))
	case seq <= c.last:
		fail(ProblemSeqGap, "seq %d repeats or goes back after seq %d", seq, c.last)
	case !sameBytes(prev, c.hash):
		fail(ProblemBrokenLink, "prev_hash %x is not the hash of seq %d, %x (rows reordered, inserted or re-hashed)", prev, c.last, c.hash)
	case sumErr != nil:
		fail(ProblemHashMismatch, "its content cannot be hashed: %v", sumErr)
	case !sameBytes(sum, stored):
		fail(ProblemHashMismatch, "its content does not give its stored hash (recomputed %x, stored %x): the row was edited", sum, stored)
	}
	if c.broken {
		return
	}
	if a, ok := c.v.anchored[c.key]; ok && a.seq == seq && !sameBytes(a.hash, stored) {
		fail(ProblemAnchorMismatch, "anchor %d recorded hash %x at seq %d, the row has %x: the chain was rewritten", a.anchorSeq, a.hash, seq, stored)
		return
	}
	c.last, c.lastID, c.hash = seq, id, stored
}

// end checks the chain's end against its head row and the anchors.
func (c *chainCheck) end() {
	v := c.v
	v.seen[c.key] = true
	v.report.Chains++
	head, hasHead := v.heads[c.key]
	delete(v.heads, c.key)
	if c.broken {
		return
	}
	fail := func(kind, format string, args ...any) {
		v.add(AuditProblem{Kind: kind, Table: c.table, RowID: c.lastID, Chain: c.key.String(), Seq: c.last,
			Detail: fmt.Sprintf(format, args...)})
	}
	switch {
	case !hasHead:
		fail(ProblemHeadMismatch, "the chain has rows up to seq %d but no head row", c.last)
	case head.seq > c.last:
		fail(ProblemMissingTail, "the head row says seq %d, the last row is seq %d: %s missing", head.seq, c.last, seqRange(c.last+1, head.seq))
	case head.seq < c.last:
		fail(ProblemHeadMismatch, "the head row says seq %d, but rows go on to seq %d", head.seq, c.last)
	case !sameBytes(head.hash, c.hash):
		fail(ProblemHeadMismatch, "the head row's hash %x is not the last row's %x", head.hash, c.hash)
	default:
		if a, ok := v.anchored[c.key]; ok && a.seq > c.last {
			fail(ProblemMissingTail, "anchor %d recorded seq %d (hash %x), the chain ends at seq %d: its tail was removed and its head row rewritten",
				a.anchorSeq, a.seq, a.hash, c.last)
		}
	}
}

// lostAnchored checks every position any anchor recorded in an event
// chain, not only the newest (which the chain's own check compares): each
// must still be the chain's row at that seq with that hash. Otherwise a tail
// removed or rewritten, its head row made to match, would pass as soon as
// the next anchor had recorded the chain where it now ends.
func (v *verifier) lostAnchored(ctx context.Context, q *dbsqlc.Queries) error {
	var rows []dbsqlc.LostAnchoredPositionsRow
	var err error
	if v.since == nil {
		rows, err = q.LostAnchoredPositions(ctx, dbsqlc.LostAnchoredPositionsParams{OnlyType: v.onlyType, OnlyID: v.onlyID})
	} else {
		// Only the chains written since: each read through its index.
		var of dbsqlc.LostAnchoredPositionsOfParams
		for _, k := range slices.SortedFunc(maps.Keys(v.since), compareKeys) {
			if (v.onlyType == "" || k.typ == v.onlyType) && (v.onlyID == "" || k.id == v.onlyID) {
				of.SubjectTypes, of.SubjectIds = append(of.SubjectTypes, k.typ), append(of.SubjectIds, k.id)
			}
		}
		var found []dbsqlc.LostAnchoredPositionsOfRow
		found, err = q.LostAnchoredPositionsOf(ctx, of)
		for _, r := range found {
			rows = append(rows, dbsqlc.LostAnchoredPositionsRow(r))
		}
	}
	if err != nil {
		return fmt.Errorf("reading the positions anchors recorded: %w", err)
	}
	for _, r := range rows {
		k := chainKey{typ: r.SubjectType, id: r.SubjectID}
		if newest, ok := v.anchored[k]; ok && newest.seq == r.Seq && newest.anchorSeq == r.AnchorSeq {
			continue // the newest: the chain's own check reported it
		}
		p := AuditProblem{Table: "events", Chain: k.String(), Seq: r.Seq}
		if r.RowID == nil {
			p.Kind = ProblemMissingTail
			p.Detail = fmt.Sprintf("anchor %d recorded seq %d (hash %x), the chain has no row there: rows were removed, and a later anchor recorded what was left",
				r.AnchorSeq, r.Seq, r.Hash)
		} else {
			p.Kind, p.RowID = ProblemAnchorMismatch, *r.RowID
			p.Detail = fmt.Sprintf("anchor %d recorded hash %x at seq %d, the row has %x: the chain was rewritten after it was anchored",
				r.AnchorSeq, r.Hash, r.Seq, r.RowHash)
		}
		v.add(p)
	}
	return nil
}

// events checks every selected event chain.
func (v *verifier) events(ctx context.Context, q *dbsqlc.Queries) error {
	var c *chainCheck
	after := dbsqlc.VerifyEventsPageParams{SubjectType: v.onlyType, SubjectID: v.onlyID, RowLimit: verifyPage}
	for {
		rows, err := q.VerifyEventsPage(ctx, after)
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		sums, errs := hashAll(len(rows), func(i int) ([]byte, error) {
			r := rows[i]
			if !v.selected(chainKey{r.SubjectType, r.SubjectID}) {
				return nil, nil
			}
			return contentOfEvent(r, orZero(r.Seq), r.PrevHash).hash(HashAlg(orZero(r.HashAlg)))
		})
		for i, r := range rows {
			k := chainKey{r.SubjectType, r.SubjectID}
			if c = v.chainOf(c, "events", k); c == nil {
				continue
			}
			v.report.Events++
			c.row(r.ID, orZero(r.Seq), r.PrevHash, r.Hash, sums[i], errs[i])
		}
		if len(rows) < verifyPage {
			break
		}
		last := rows[len(rows)-1]
		after.AfterType, after.AfterID, after.AfterSeq = last.SubjectType, last.SubjectID, orZero(last.Seq)
	}
	if c != nil {
		c.end()
	}
	return nil
}

// chainOf is the check of the chain of key k, whose rows come next from
// table: c while k is c's chain; else c ends, and a new check starts, or
// nil when k is not selected.
func (v *verifier) chainOf(c *chainCheck, table string, k chainKey) *chainCheck {
	if c != nil && c.key == k {
		return c
	}
	if c != nil {
		c.end()
	}
	if !v.selected(k) {
		return nil
	}
	return &chainCheck{v: v, table: table, key: k}
}

// access checks every selected access chain.
func (v *verifier) access(ctx context.Context, q *dbsqlc.Queries, since time.Time) error {
	if v.onlyType != "" && v.onlyType != SubjectAccess {
		return nil
	}
	after := dbsqlc.VerifyAccessPageParams{AfterDay: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), RowLimit: verifyPage}
	if v.onlyID != "" {
		day, chain, ok := strings.Cut(v.onlyID, "/")
		d, err := calendar.ParseDate(day)
		if !ok || err != nil {
			return nil // not an access chain's ID
		}
		t := dateTime(d)
		after.DayFrom, after.Chain = &t, chain
	}
	if !since.IsZero() && after.DayFrom == nil {
		t := dateTime(calendar.DateOf(since))
		after.DayFrom = &t
	}
	var c *chainCheck
	for {
		rows, err := q.VerifyAccessPage(ctx, after)
		if err != nil {
			return fmt.Errorf("reading access records: %w", err)
		}
		sums, errs := hashAll(len(rows), func(i int) ([]byte, error) {
			return contentOfAccess(rows[i]).hash(HashAlg(rows[i].HashAlg))
		})
		for i, r := range rows {
			k := chainKey{SubjectAccess, r.Day.Format(time.DateOnly) + "/" + r.Chain}
			if c = v.chainOf(c, "access_log", k); c == nil {
				continue
			}
			v.report.AccessRecords++
			c.row(r.ID, r.Seq, r.PrevHash, r.Hash, sums[i], errs[i])
		}
		if len(rows) < verifyPage {
			break
		}
		last := rows[len(rows)-1]
		after.AfterDay, after.AfterChain, after.AfterSeq = last.Day, last.Chain, last.Seq
	}
	if c != nil {
		c.end()
	}
	return nil
}

// leftovers reports the chains a head row or an anchor knows but that have
// no rows at all.
func (v *verifier) leftovers() {
	for k, h := range v.heads {
		if h.seq == 0 || v.pruned(k) {
			continue
		}
		v.add(AuditProblem{Kind: ProblemMissingTail, Table: tableOf(k), Chain: k.String(),
			Detail: fmt.Sprintf("the head row says seq %d, but the chain has no rows", h.seq)})
		v.seen[k] = true
	}
	for k, a := range v.anchored {
		if v.seen[k] || !v.selected(k) || v.pruned(k) {
			continue
		}
		v.add(AuditProblem{Kind: ProblemMissingTail, Table: tableOf(k), Chain: k.String(),
			Detail: fmt.Sprintf("anchor %d recorded seq %d (hash %x), but the chain has no rows and no head: it was removed", a.anchorSeq, a.seq, a.hash)})
	}
}

func tableOf(k chainKey) string {
	if k.typ == SubjectAccess {
		return "access_log"
	}
	return "events"
}

// unsealed reports events written without a hash.
func (v *verifier) unsealed(ctx context.Context, q *dbsqlc.Queries) error {
	rows, err := q.VerifyUnsealed(ctx, dbsqlc.VerifyUnsealedParams{SubjectType: v.onlyType, SubjectID: v.onlyID})
	if err != nil {
		return fmt.Errorf("reading unsealed events: %w", err)
	}
	for _, r := range rows {
		k := chainKey{r.SubjectType, r.SubjectID}
		if !v.selected(k) {
			continue
		}
		v.add(AuditProblem{Kind: ProblemUnsealed, Table: "events", RowID: r.ID, Chain: k.String(),
			Detail: "the event has no hash yet: written before migration 008 or by an older binary; xuncha migrate seals it"})
	}
	return nil
}

// seqRange names the positions from a to b: "row 5 is", "rows 3..4 are".
func seqRange(a, b int64) string {
	if a == b {
		return fmt.Sprintf("row %d is", a)
	}
	return fmt.Sprintf("rows %d..%d are", a, b)
}

// hashAll computes hash(0) … hash(n-1) on every processor: each row's hash
// depends on its own columns only (its link is checked afterwards, in
// order).
func hashAll(n int, hash func(i int) ([]byte, error)) ([][]byte, []error) {
	sums, errs := make([][]byte, n), make([]error, n)
	workers := min(runtime.GOMAXPROCS(0), n/256+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				sums[i], errs[i] = hash(i)
			}
		})
	}
	wg.Wait()
	return sums, errs
}
