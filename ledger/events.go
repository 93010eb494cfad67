package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Subject types of events.
const (
	// SubjectInspection marks events of an inspection.
	SubjectInspection = "inspection"
	// SubjectFinding marks events of a finding.
	SubjectFinding = "finding"
	// SubjectCalendar marks events of the calendar.
	SubjectCalendar = "calendar"
)

// Event is one entry of the append-only event log.
type Event struct {
	ID          int64
	SubjectType string
	SubjectID   string
	// Key makes a retried write a no-op; unique per subject.
	Key         string
	Action      string
	StageBefore string
	StageAfter  string
	Actor       actor.Actor
	Note        string
	// Evidence is a JSON array of evidence references; nil means none.
	Evidence json.RawMessage
	// Data is a JSON object of action details; nil means none.
	Data       json.RawMessage
	OccurredAt time.Time
	RecordedAt time.Time
}

// appendEvent writes e in the transaction of q; a key already used is a no-op.
func appendEvent(ctx context.Context, q *dbsqlc.Queries, e Event) error {
	actorJSON, err := json.Marshal(e.Actor)
	if err != nil {
		return fmt.Errorf("encoding actor: %w", err)
	}
	evidence, data := e.Evidence, e.Data
	if evidence == nil {
		evidence = json.RawMessage("[]")
	}
	if data == nil {
		data = json.RawMessage("{}")
	}
	if err := q.InsertEvent(ctx, dbsqlc.InsertEventParams{
		SubjectType: e.SubjectType, SubjectID: e.SubjectID, EventKey: e.Key, Action: e.Action,
		StageBefore: e.StageBefore, StageAfter: e.StageAfter, Actor: actorJSON, Note: e.Note,
		Evidence: evidence, Data: data, OccurredAt: e.OccurredAt,
	}); err != nil {
		return fmt.Errorf("appending %s event %q of %s %q: %w", e.Action, e.Key, e.SubjectType, e.SubjectID, err)
	}
	return nil
}

// AppendEvent writes one event; retrying with the same key is a no-op.
func (s *Store) AppendEvent(ctx context.Context, e Event) error {
	return s.inTx(ctx, func(q *dbsqlc.Queries) error { return appendEvent(ctx, q, e) })
}

// Events returns a subject's events in the order they were recorded.
func (s *Store) Events(ctx context.Context, subjectType, subjectID string) ([]Event, error) {
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

func eventFromRow(r dbsqlc.Event) (Event, error) {
	e := Event{
		ID: r.ID, SubjectType: r.SubjectType, SubjectID: r.SubjectID, Key: r.EventKey, Action: r.Action,
		StageBefore: r.StageBefore, StageAfter: r.StageAfter, Note: r.Note, Evidence: r.Evidence, Data: r.Data,
		OccurredAt: r.OccurredAt, RecordedAt: r.RecordedAt,
	}
	return e, json.Unmarshal(r.Actor, &e.Actor)
}
