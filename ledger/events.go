package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/internal/actor"
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

const insertEvent = `
INSERT INTO events (subject_type, subject_id, event_key, action, stage_before, stage_after,
                    actor, note, evidence, data, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (subject_type, subject_id, event_key) DO NOTHING`

func appendEvent(ctx context.Context, tx pgx.Tx, e Event) error {
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
	if _, err := tx.Exec(ctx, insertEvent, e.SubjectType, e.SubjectID, e.Key, e.Action, e.StageBefore, e.StageAfter,
		actorJSON, e.Note, evidence, data, e.OccurredAt); err != nil {
		return fmt.Errorf("appending %s event %q of %s %q: %w", e.Action, e.Key, e.SubjectType, e.SubjectID, err)
	}
	return nil
}

// AppendEvent writes one event; retrying with the same key is a no-op.
func (s *Store) AppendEvent(ctx context.Context, e Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return appendEvent(ctx, tx, e) })
}

const listEvents = `
SELECT id, subject_type, subject_id, event_key, action, stage_before, stage_after, actor, note,
       evidence, data, occurred_at, recorded_at
FROM events
WHERE subject_type = $1 AND subject_id = $2
ORDER BY id`

// Events returns a subject's events in the order they were recorded.
func (s *Store) Events(ctx context.Context, subjectType, subjectID string) ([]Event, error) {
	rows, err := s.pool.Query(ctx, listEvents, subjectType, subjectID)
	if err != nil {
		return nil, fmt.Errorf("listing events of %s %q: %w", subjectType, subjectID, err)
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		var actorJSON []byte
		if err := r.Scan(&e.ID, &e.SubjectType, &e.SubjectID, &e.Key, &e.Action, &e.StageBefore, &e.StageAfter,
			&actorJSON, &e.Note, &e.Evidence, &e.Data, &e.OccurredAt, &e.RecordedAt); err != nil {
			return Event{}, err
		}
		return e, json.Unmarshal(actorJSON, &e.Actor)
	})
	if err != nil {
		return nil, fmt.Errorf("listing events of %s %q: %w", subjectType, subjectID, err)
	}
	return events, nil
}
