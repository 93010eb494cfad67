package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The access log (issue 11 item 4): reads of sensitive content and refused
// calls, append-only, on hash chains like the events'. A chain is one day
// (Asia/Shanghai) of one caller, so callers never wait for each other's
// lock and a day closes for good at midnight: retention removes whole
// days, and the anchor that removes them records it. Callers without a
// verified token share anonymous-0 … anonymous-7 by a hash of their
// address, so a flood of refused anonymous calls is spread over eight locks.

// SubjectAccess is the subject type of the access log's chains in
// audit_chain_heads and anchors; their IDs are "<YYYY-MM-DD>/<chain>".
const SubjectAccess = "access"

// Outcomes of access records written by xuncha itself.
const (
	// AccessRead is a read of sensitive content that was served.
	AccessRead = "READ"
	// AccessUnauthenticated is a call refused for its bearer token (401).
	AccessUnauthenticated = "UNAUTHENTICATED"
	// AccessPermissionDenied is a call refused by the authorization table
	// or a role check (403).
	AccessPermissionDenied = "PERMISSION_DENIED"
	// AccessFailed is a permitted caller's request that could not be
	// served (the codec's payloads that do not decrypt, a body that is not
	// payloads).
	AccessFailed = "FAILED"
	// AccessEncoded is the codec's encode of payloads that was served:
	// ciphertext under the ring's key, which a Temporal client could send
	// as if xuncha had.
	AccessEncoded = "ENCODED"
)

// Retention of the access log, in days.
const (
	// MinAccessLogRetentionDays is the shortest retention accepted: six
	// months, the Cybersecurity Law's minimum for network logs (art. 21).
	// The database refuses to delete younger days whatever is configured.
	MinAccessLogRetentionDays = 180
	// DefaultAccessLogRetentionDays is the retention unless configured
	// (XUNCHA_ACCESS_LOG_RETENTION).
	DefaultAccessLogRetentionDays = MinAccessLogRetentionDays
)

// anonymousChains is how many chains a day's anonymous callers share.
const anonymousChains = 8

// AccessRecord is one entry of the access log.
type AccessRecord struct {
	// Actor is who read or was refused; the zero Actor is a caller without
	// a verified token.
	Actor actor.Actor
	// Action is what was called: a gRPC method
	// ("/xuncha.v1.TipService/GetTip"), an HTTP route
	// ("GET /v1/evidence/{id}/content") or another component's operation
	// (the codec server's "temporal.payloads.decode").
	Action string
	// Resource names what was read or asked for: "tips/tip-…",
	// "evidence/ev-…", a workflow ID, a REST path.
	Resource string
	// Outcome is AccessRead, AccessUnauthenticated, AccessPermissionDenied
	// or another upper-case word its writer documents.
	Outcome string
	// Reason says why a call was refused (the answer's message).
	Reason string
	// Remote is the caller's network address, when known.
	Remote string
	// Details is a JSON object of what else matters (the tips a list
	// returned, a byte range); nil means none.
	Details json.RawMessage
}

// StoredAccessRecord is an access record as the log holds it.
type StoredAccessRecord struct {
	AccessRecord
	ID int64
	// Day and Chain name the record's chain, Seq its place in it.
	Day   string
	Chain string
	Seq   int64
	At    time.Time
}

// RecordAccess appends r to the access log, chained, in its own
// transaction; the record's time is the database's now. Call it before
// sensitive content leaves the process: when it fails the content should
// not be served (the API answers UNAVAILABLE). It is the hook the Temporal
// codec server calls for every payload it decodes.
func (s *Store) RecordAccess(ctx context.Context, r AccessRecord) error {
	return s.recordAccess(ctx, r, nil)
}

// recordAccess is RecordAccess at a given time (nil: now); tests write
// records of past days with it.
func (s *Store) recordAccess(ctx context.Context, r AccessRecord, at *time.Time) error {
	// What a caller sent may be anything (a path with %ff or %00 in it):
	// a record PostgreSQL cannot store would leave the call unrecorded.
	// And as long as it likes: a megabyte path of a caller without a
	// token was a megabyte row of a table nothing may delete for 180 days.
	r.Action, r.Resource = clipText(storable(r.Action), MaxAccessText), clipText(storable(r.Resource), MaxAccessText)
	r.Outcome, r.Remote = clipText(storable(r.Outcome), MaxAccessText), clipText(storable(r.Remote), MaxAccessText)
	r.Reason = clipText(storable(r.Reason), MaxAccessReason)
	var v derrors.Violations
	if r.Action == "" {
		v.Add("action", "must not be empty")
	}
	if r.Resource == "" {
		v.Add("resource", "must not be empty")
	}
	if r.Outcome == "" {
		v.Add("outcome", "must not be empty")
	}
	if err := v.Err(); err != nil {
		return err
	}
	actorJSON, err := json.Marshal(r.Actor)
	if err != nil {
		return fmt.Errorf("encoding actor: %w", err)
	}
	details := r.Details
	if details == nil {
		details = json.RawMessage("{}")
	}
	chain := accessChain(r.Actor, r.Remote)
	alg := s.AuditHash.orDefault()
	return s.inTx(ctx, func(q *dbsqlc.Queries) error {
		p, err := q.PrepareAccess(ctx, dbsqlc.PrepareAccessParams{At: at, Actor: actorJSON, Details: details})
		if err != nil {
			return fmt.Errorf("recording access to %s: %w", r.Resource, err)
		}
		day := calendar.DateOf(p.At)
		chainID := day.String() + "/" + chain
		head, err := lockHead(ctx, q, SubjectAccess, chainID)
		if err != nil {
			return err
		}
		c := accessContent{
			ID: p.ID, Day: day.String(), Chain: chain, Seq: head.seq + 1, At: p.At, Actor: p.Actor, Action: r.Action,
			Resource: r.Resource, Outcome: r.Outcome, Reason: r.Reason, Remote: r.Remote, Details: p.Details,
			PrevHash: nonNilBytes(head.hash),
		}
		sum, err := c.hash(alg)
		if err != nil {
			return err
		}
		if err := q.InsertAccess(ctx, dbsqlc.InsertAccessParams{
			ID: c.ID, Day: dateTime(day), Chain: c.Chain, Seq: c.Seq, At: c.At, Actor: c.Actor, Action: c.Action,
			Resource: c.Resource, Outcome: c.Outcome, Reason: c.Reason, Remote: c.Remote, Details: c.Details,
			PrevHash: c.PrevHash, Hash: sum, HashAlg: string(alg),
		}); err != nil {
			return fmt.Errorf("recording access to %s: %w", r.Resource, err)
		}
		return advanceHead(ctx, q, SubjectAccess, chainID, chainHead{seq: c.Seq, hash: sum})
	})
}

// dateTime is a civil date as pgx writes a date: midnight UTC.
func dateTime(d calendar.Date) time.Time {
	t, _ := time.Parse(time.DateOnly, d.String()) // a Date always prints YYYY-MM-DD
	return t
}

// accessChain names a caller's chain of the day: its subject at the
// identity provider, else its client or name, else one of the anonymous
// chains by its address.
func accessChain(a actor.Actor, remote string) string {
	switch {
	case a.Subject != "":
		return "sub:" + a.Subject
	case a.Client != "":
		return "client:" + a.Client
	case a.Name != "":
		return "name:" + a.Name
	}
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	f := fnv.New32a()
	f.Write([]byte(host))
	return fmt.Sprintf("anonymous-%d", f.Sum32()%anonymousChains)
}

// accessContent is what an access record's hash covers (audit_hash.go,
// "access").
type accessContent struct {
	ID                        int64
	Day, Chain                string
	Seq                       int64
	At                        time.Time
	Actor                     []byte
	Action, Resource, Outcome string
	Reason, Remote            string
	Details                   []byte
	PrevHash                  []byte
}

func (a accessContent) hash(alg HashAlg) ([]byte, error) {
	c := newCanonical(nil, "xuncha/audit/access/v1", alg)
	c.int(a.ID)
	c.str(a.Day)
	c.str(a.Chain)
	c.int(a.Seq)
	c.instant(a.At)
	c.json(a.Actor)
	c.str(a.Action)
	c.str(a.Resource)
	c.str(a.Outcome)
	c.str(a.Reason)
	c.str(a.Remote)
	c.json(a.Details)
	c.bytes(a.PrevHash)
	if c.err != nil {
		return nil, fmt.Errorf("access record %d: %w", a.ID, c.err)
	}
	return alg.sum(c.buf)
}

func contentOfAccess(r dbsqlc.AccessLog) accessContent {
	return accessContent{
		ID: r.ID, Day: r.Day.Format(time.DateOnly), Chain: r.Chain, Seq: r.Seq, At: r.At, Actor: r.Actor,
		Action: r.Action, Resource: r.Resource, Outcome: r.Outcome, Reason: r.Reason, Remote: r.Remote,
		Details: r.Details, PrevHash: r.PrevHash,
	}
}

// AccessRecords lists the access records from since on, oldest first.
func (s *Store) AccessRecords(ctx context.Context, since time.Time) ([]StoredAccessRecord, error) {
	rows, err := s.q.AccessRecords(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("listing access records: %w", err)
	}
	out := make([]StoredAccessRecord, 0, len(rows))
	for _, r := range rows {
		rec := StoredAccessRecord{
			AccessRecord: AccessRecord{Action: r.Action, Resource: r.Resource, Outcome: r.Outcome, Reason: r.Reason,
				Remote: r.Remote, Details: r.Details},
			ID: r.ID, Day: r.Day.Format(time.DateOnly), Chain: r.Chain, Seq: r.Seq, At: r.At,
		}
		if err := json.Unmarshal(r.Actor, &rec.Actor); err != nil {
			return nil, fmt.Errorf("decoding the actor of access record %d: %w", r.ID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// MaxAccessText and MaxAccessReason bound, in bytes, what an access
// record keeps of its action, resource, outcome and address, and of its
// reason; the rest is cut off, and the record says how much.
const (
	MaxAccessText   = 512
	MaxAccessReason = 2048
)

// clipText is s cut to at most max bytes at a character's boundary, with
// "…[+N bytes]" saying what was cut.
func clipText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…[+%d bytes]", s[:cut], len(s)-cut)
}

// storable is s as a PostgreSQL text column takes it: each byte that is
// not valid UTF-8, and each NUL, written out as \xNN, the rest as it is.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
