package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The audit chain (issue 11 item 3): every event is chained within its
// subject. appendEvent locks the subject's head row (audit_chain_heads), asks
// PostgreSQL for the row's ID, recording time and stored forms, computes the
// hash over the canonical content (audit_hash.go) with the previous hash,
// inserts the row and moves the head, all in the writing transaction. A
// retried write whose event key is taken inserts nothing and leaves the head
// where it was. Chains are per subject, so writers of different inspections
// or findings never wait for each other.

// chainHead is the last position of a chain: seq 0 and no hash before its
// first row.
type chainHead struct {
	seq  int64
	hash []byte
}

// lockHead locks the head of chain (typ, id) until the transaction ends,
// creating it at seq 0 when the chain is new.
func lockHead(ctx context.Context, q *dbsqlc.Queries, typ, id string) (chainHead, error) {
	r, err := q.LockChainHead(ctx, dbsqlc.LockChainHeadParams{SubjectType: typ, SubjectID: id})
	if err != nil {
		return chainHead{}, fmt.Errorf("locking the audit chain of %s %q: %w", typ, id, err)
	}
	return chainHead{seq: r.Seq, hash: r.Hash}, nil
}

// advanceHead moves the head of a chain to its new last row.
func advanceHead(ctx context.Context, q *dbsqlc.Queries, typ, id string, head chainHead) error {
	if err := q.AdvanceChainHead(ctx, dbsqlc.AdvanceChainHeadParams{
		SubjectType: typ, SubjectID: id, Seq: head.seq, Hash: head.hash,
	}); err != nil {
		return fmt.Errorf("moving the audit chain head of %s %q: %w", typ, id, err)
	}
	return nil
}

// eventContent is what an event's hash covers (audit_hash.go, "event").
type eventContent struct {
	ID                      int64
	SubjectType, SubjectID  string
	Seq                     int64
	Key, Action             string
	StageBefore, StageAfter string
	Actor                   []byte
	Note                    string
	Evidence, Data          []byte
	OccurredAt, RecordedAt  time.Time
	PrevHash                []byte
}

// hash computes the event's hash with alg.
func (e eventContent) hash(alg HashAlg) ([]byte, error) {
	c := newCanonical(nil, "xuncha/audit/event/v1", alg)
	c.int(e.ID)
	c.str(e.SubjectType)
	c.str(e.SubjectID)
	c.int(e.Seq)
	c.str(e.Key)
	c.str(e.Action)
	c.str(e.StageBefore)
	c.str(e.StageAfter)
	c.json(e.Actor)
	c.str(e.Note)
	c.json(e.Evidence)
	c.json(e.Data)
	c.instant(e.OccurredAt)
	c.instant(e.RecordedAt)
	c.bytes(e.PrevHash)
	if c.err != nil {
		return nil, fmt.Errorf("event %d: %w", e.ID, c.err)
	}
	return alg.sum(c.buf)
}

// contentOfEvent is the content of a stored event, at its stored position.
func contentOfEvent(r dbsqlc.Event, seq int64, prev []byte) eventContent {
	return eventContent{
		ID: r.ID, SubjectType: r.SubjectType, SubjectID: r.SubjectID, Seq: seq, Key: r.EventKey, Action: r.Action,
		StageBefore: r.StageBefore, StageAfter: r.StageAfter, Actor: r.Actor, Note: r.Note, Evidence: r.Evidence,
		Data: r.Data, OccurredAt: r.OccurredAt, RecordedAt: r.RecordedAt, PrevHash: prev,
	}
}

// sealBatch is how many subjects SealAuditChains chains per transaction.
const sealBatch = 200

// SealAuditChains chains the events that have no hash yet: those written
// before migration 008, and any an older binary writes during a rolling
// upgrade. Each subject's unsealed events are appended to its chain in ID
// order under its head's lock, a batch of subjects per transaction, so it is
// safe to run from several processes at once; `xuncha migrate`, every
// server and worker start and every anchor call it. Writing the chain
// columns of an existing event needs the ledger's owner: the application
// role may not UPDATE events (roles.go), so for it an unsealed event is an
// error that PermissionDenied recognises, and the events wait for the next
// `xuncha migrate`. It returns how many events it sealed.
func (s *Store) SealAuditChains(ctx context.Context) (int, error) {
	total := 0
	for {
		subjects, err := s.q.UnsealedSubjects(ctx, sealBatch)
		if err != nil {
			return total, fmt.Errorf("listing events to seal: %w", err)
		}
		if len(subjects) == 0 {
			return total, nil
		}
		keys := make([]chainKey, 0, len(subjects))
		for _, sub := range subjects {
			keys = append(keys, chainKey{sub.SubjectType, sub.SubjectID})
		}
		n, err := s.sealSubjects(ctx, keys)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "40P01" /* deadlock_detected */ && len(keys) > 1 {
			// A writer holding two of these heads in another order: take
			// them one at a time.
			n, err = 0, nil
			for _, k := range keys {
				m, err1 := s.sealSubjects(ctx, []chainKey{k})
				if err1 != nil {
					err = err1
					break
				}
				n += m
			}
		}
		if err != nil {
			return total, err
		}
		total += n
	}
}

// sealSubjects chains the unsealed events of the subjects keys in one
// transaction.
func (s *Store) sealSubjects(ctx context.Context, keys []chainKey) (int, error) {
	alg := s.AuditHash.orDefault()
	algName := string(alg)
	sealed := 0
	err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
		sealed = 0
		var types, ids []string
		for _, k := range keys {
			types, ids = append(types, k.typ), append(ids, k.id)
		}
		locked, err := q.LockChainHeads(ctx, dbsqlc.LockChainHeadsParams{SubjectTypes: types, SubjectIds: ids})
		if err != nil {
			return fmt.Errorf("locking audit chains to seal: %w", err)
		}
		heads := make(map[chainKey]chainHead, len(locked))
		for _, h := range locked {
			heads[chainKey{h.SubjectType, h.SubjectID}] = chainHead{seq: h.Seq, hash: h.Hash}
		}
		rows, err := q.UnsealedEventsOf(ctx, dbsqlc.UnsealedEventsOfParams{SubjectTypes: types, SubjectIds: ids})
		if err != nil {
			return fmt.Errorf("reading events to seal: %w", err)
		}
		if len(rows) == 0 {
			return nil // sealed meanwhile by another process
		}
		batch := dbsqlc.SealEventsParams{HashAlg: &algName}
		for _, r := range rows {
			k := chainKey{r.SubjectType, r.SubjectID}
			head := heads[k]
			seq := head.seq + 1
			sum, err := contentOfEvent(r, seq, head.hash).hash(alg)
			if err != nil {
				return err
			}
			batch.Ids = append(batch.Ids, r.ID)
			batch.Seqs = append(batch.Seqs, seq)
			batch.PrevHashes = append(batch.PrevHashes, nonNilBytes(head.hash))
			batch.Hashes = append(batch.Hashes, sum)
			heads[k] = chainHead{seq: seq, hash: sum}
		}
		n, err := q.SealEvents(ctx, batch)
		if err != nil {
			return fmt.Errorf("sealing %d events: %w", len(rows), err)
		}
		if n != int64(len(rows)) {
			return fmt.Errorf("sealing %d events: %d were sealed meanwhile although their chains were locked", len(rows), int64(len(rows))-n)
		}
		advance := dbsqlc.AdvanceChainHeadsParams{}
		for k, h := range heads {
			advance.SubjectTypes = append(advance.SubjectTypes, k.typ)
			advance.SubjectIds = append(advance.SubjectIds, k.id)
			advance.Seqs = append(advance.Seqs, h.seq)
			advance.Hashes = append(advance.Hashes, nonNilBytes(h.hash))
		}
		if err := q.AdvanceChainHeads(ctx, advance); err != nil {
			return fmt.Errorf("moving the heads of sealed chains: %w", err)
		}
		sealed = len(rows)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return sealed, nil
}

// nonNilBytes is b, or an empty slice for nil: a chain's first row has an
// empty previous hash, never NULL.
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// inSnapshot runs fn read-only on one snapshot of the database (REPEATABLE
// READ), so that a long read sees rows and heads as one moment left them.
func (s *Store) inSnapshot(ctx context.Context, fn func(q *dbsqlc.Queries) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(queries(tx)) })
}

// PermissionDenied tells whether err is PostgreSQL refusing a privilege
// the connected role lacks (SQLSTATE 42501), such as the application role
// sealing events (SealAuditChains).
func PermissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}
