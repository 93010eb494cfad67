package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// appendEvent writes e in the transaction of q, chained (audit_chain.go):
// under its subject's head lock, with the next seq, the previous hash and
// its own. A key already used is a no-op and leaves the chain as it was.
func (s *Store) appendEvent(ctx context.Context, q *dbsqlc.Queries, e casework.Event) error {
	begin, err := beginEventParams(e)
	if err != nil {
		return eventFailed(e, err)
	}
	head, err := q.BeginEvent(ctx, begin)
	if err != nil {
		return eventFailed(e, err)
	}
	insert, err := s.sealEvent(e, head)
	if err != nil {
		return eventFailed(e, err)
	}
	// 0 rows: the key was written before, and the chain stays where it is.
	if _, err := q.InsertEvent(ctx, insert); err != nil {
		return eventFailed(e, err)
	}
	return nil
}

// appendChange appends e, the event of a change to a lifecycle's row that
// moved the row to a newer version (moved) or found it there already. A
// key already recorded with the row not moved is a retry of the change,
// which changes nothing. A key already recorded with the row moved is an
// earlier change sent again into a later run of the same workflow (a
// finding reopened runs anew under its workflow ID, and Temporal tells an
// Update ID apart only within one run): refused, and the row's move with
// it, which used to be written without its event.
//
// A new key with the row not moved is recorded, beside a row it does not
// change: a change the workflow sent again after its ledger write was
// committed but not answered (the workflow one version behind the ledger,
// the request's next send under a new Update ID) heals that way, where a
// refusal would refuse every later change of the lifecycle. The ledger
// cannot tell that resend from another change sent by a workflow still
// one version behind (its write's answer lost past the retries, then a
// different request): that change's event is recorded too, beside a row
// that keeps the first change (README, Known limits).
//
// The key is looked up under the chain head's lock, before the event is
// written (queueEvent): a change that queued both with its row's write
// (applyFindingChange) settles with appendQueued.
func (s *Store) appendChange(p *pipeline, e casework.Event, moved bool) error {
	pending, err := queueEvent(p, e)
	if err != nil {
		return err
	}
	if err := p.flush(); err != nil {
		return eventFailed(e, err)
	}
	return s.appendQueued(p, pending, moved)
}

// replayedKey is appendChange's refusal of e: its key was recorded before
// and the row moved.
func replayedKey(e casework.Event) error {
	return derrors.New(derrors.ErrAlreadyExists, "%s %q: the change %q was recorded before, under event key %q: an earlier change sent again is refused",
		e.SubjectType, e.SubjectID, e.Action, e.Key)
}

// eventFailed says which event err kept from being appended.
func eventFailed(e casework.Event, err error) error {
	return fmt.Errorf("appending %s event %q of %s %q: %w", e.Action, e.Key, e.SubjectType, e.SubjectID, err)
}

// beginEventParams are BeginEvent's arguments for e.
func beginEventParams(e casework.Event) (dbsqlc.BeginEventParams, error) {
	actorJSON, evidence, data, err := eventColumns(e)
	if err != nil {
		return dbsqlc.BeginEventParams{}, err
	}
	return dbsqlc.BeginEventParams{
		SubjectType: e.SubjectType, SubjectID: e.SubjectID,
		OccurredAt: e.OccurredAt, Actor: actorJSON, Evidence: evidence, Data: data,
	}, nil
}

// sealEvent is the row of e that follows head, its chain's locked head
// (BeginEvent), with its hash.
func (s *Store) sealEvent(e casework.Event, head dbsqlc.BeginEventRow) (dbsqlc.InsertEventParams, error) {
	alg := s.AuditHash.orDefault()
	c := eventContent{
		ID: head.ID, SubjectType: e.SubjectType, SubjectID: e.SubjectID, Seq: head.Seq + 1, Key: e.Key, Action: e.Action,
		StageBefore: e.StageBefore, StageAfter: e.StageAfter, Actor: head.Actor, Note: e.Note, Evidence: head.Evidence,
		Data: head.Data, OccurredAt: head.OccurredAt, RecordedAt: head.RecordedAt, PrevHash: nonNilBytes(head.Hash),
	}
	sum, err := c.hash(alg)
	if err != nil {
		return dbsqlc.InsertEventParams{}, err
	}
	algName := string(alg)
	return dbsqlc.InsertEventParams{
		ID: c.ID, SubjectType: c.SubjectType, SubjectID: c.SubjectID, EventKey: c.Key, Action: c.Action,
		StageBefore: c.StageBefore, StageAfter: c.StageAfter, Actor: c.Actor, Note: c.Note,
		Evidence: c.Evidence, Data: c.Data, OccurredAt: c.OccurredAt, RecordedAt: c.RecordedAt,
		Seq: c.Seq, PrevHash: c.PrevHash, Hash: sum, HashAlg: &algName, RequestFingerprint: nilIfEmpty(e.RequestFingerprint),
	}, nil
}

// pendingEvent is an event being appended in a pipeline: its chain's head,
// locked, and whether its key was used before, once the batch that asked
// has run.
type pendingEvent struct {
	e    casework.Event
	head dbsqlc.BeginEventRow
	used bool
}

// queueEvent queues what appending e asks first: its chain's head, locked,
// and whether its key was used. appendQueued appends it once they are
// known.
func queueEvent(p *pipeline, e casework.Event) (*pendingEvent, error) {
	begin, err := beginEventParams(e)
	if err != nil {
		return nil, eventFailed(e, err)
	}
	pe := &pendingEvent{e: e}
	queue(p, &pe.head, (*dbsqlc.Queries).BeginEvent, begin)
	queue(p, &pe.used, (*dbsqlc.Queries).EventKeyUsed,
		dbsqlc.EventKeyUsedParams{SubjectType: e.SubjectType, SubjectID: e.SubjectID, EventKey: e.Key})
	return pe, nil
}

// appendQueued settles, by appendChange's rule, an event queueEvent asked
// about, in a batch that has run: refused when its key was used and the row
// moved, left out when its key was used, else queued.
func (s *Store) appendQueued(p *pipeline, pe *pendingEvent, moved bool) error {
	if pe.used {
		if moved {
			return replayedKey(pe.e)
		}
		return nil
	}
	insert, err := s.sealEvent(pe.e, pe.head)
	if err != nil {
		return eventFailed(pe.e, err)
	}
	// It fails with the batch it goes in, COMMIT's or a later one: its
	// error names it there.
	queue(p, nil, func(q *dbsqlc.Queries, ctx context.Context, arg dbsqlc.InsertEventParams) (int64, error) {
		n, err := q.InsertEvent(ctx, arg)
		if err != nil && !errors.Is(err, errQueued) {
			err = eventFailed(pe.e, err)
		}
		return n, err
	}, insert)
	return nil
}

// AppendEvent writes one event; retrying with the same key is a no-op.
func (s *Store) AppendEvent(ctx context.Context, e casework.Event) error {
	return s.inTx(ctx, func(q *dbsqlc.Queries) error { return s.appendEvent(ctx, q, e) })
}

// Events returns a subject's events in the order they were recorded.
func (s *Store) Events(ctx context.Context, subjectType, subjectID string) ([]casework.Event, error) {
	rows, err := s.q.ListEvents(ctx, dbsqlc.ListEventsParams{SubjectType: subjectType, SubjectID: subjectID})
	if err != nil {
		return nil, fmt.Errorf("listing events of %s %q: %w", subjectType, subjectID, err)
	}
	events, err := convertAll(rows, eventFromRow)
	if err != nil {
		return nil, fmt.Errorf("listing events of %s %q: %w", subjectType, subjectID, err)
	}
	return events, nil
}

func eventFromRow(r dbsqlc.Event) (casework.Event, error) {
	e := casework.Event{
		ID: r.ID, SubjectType: r.SubjectType, SubjectID: r.SubjectID, Key: r.EventKey, Action: r.Action,
		StageBefore: r.StageBefore, StageAfter: r.StageAfter, Note: r.Note, Evidence: r.Evidence, Data: r.Data,
		OccurredAt: r.OccurredAt, RecordedAt: r.RecordedAt, RequestFingerprint: r.RequestFingerprint,
	}
	return e, json.Unmarshal(r.Actor, &e.Actor)
}

// eventColumns are e's JSON columns as they are stored: the actor, and the
// evidence and data ("[]" and "{}" when there are none).
func eventColumns(e casework.Event) (actorJSON, evidence, data json.RawMessage, err error) {
	actorJSON, err = json.Marshal(e.Actor)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encoding actor: %w", err)
	}
	evidence, data = e.Evidence, e.Data
	if evidence == nil {
		evidence = json.RawMessage("[]")
	}
	if data == nil {
		data = json.RawMessage("{}")
	}
	return actorJSON, evidence, data, nil
}
