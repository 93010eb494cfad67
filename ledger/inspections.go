package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/internal/actor"
)

// Inspection is an inspection's ledger row.
type Inspection struct {
	ID           string
	WorkflowID   string
	RequestID    string
	UnitCode     string
	UnitName     string
	Kind         string
	Round        string
	PlannedStart time.Time // a date: midnight UTC
	PlannedEnd   time.Time // a date: midnight UTC
	Stage        string
	CreatedBy    actor.Actor
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const insertInspection = `
INSERT INTO inspections (id, workflow_id, request_id, unit_code, unit_name, kind, round,
                         planned_start, planned_end, stage, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
ON CONFLICT (id) DO NOTHING`

// CreateInspection writes the row and its "created" event in one transaction.
// Retrying it is a no-op: the row is keyed by ID, the event by eventKey.
func (s *Store) CreateInspection(ctx context.Context, in Inspection, eventKey string) error {
	createdBy, err := json.Marshal(in.CreatedBy)
	if err != nil {
		return fmt.Errorf("encoding actor: %w", err)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertInspection, in.ID, in.WorkflowID, in.RequestID, in.UnitCode, in.UnitName,
			in.Kind, in.Round, in.PlannedStart, in.PlannedEnd, in.Stage, createdBy, in.CreatedAt); err != nil {
			return fmt.Errorf("inserting inspection %q: %w", in.ID, err)
		}
		return appendEvent(ctx, tx, Event{
			SubjectType: SubjectInspection,
			SubjectID:   in.ID,
			Key:         eventKey,
			Action:      "create",
			StageAfter:  in.Stage,
			Actor:       in.CreatedBy,
			OccurredAt:  in.CreatedAt,
		})
	})
}

const selectInspectionColumns = `
SELECT id, workflow_id, request_id, unit_code, unit_name, kind, round, planned_start, planned_end,
       stage, created_by, created_at, updated_at
FROM inspections`

func scanInspection(row pgx.Row) (Inspection, error) {
	var in Inspection
	var createdBy []byte
	err := row.Scan(&in.ID, &in.WorkflowID, &in.RequestID, &in.UnitCode, &in.UnitName, &in.Kind, &in.Round,
		&in.PlannedStart, &in.PlannedEnd, &in.Stage, &createdBy, &in.CreatedAt, &in.UpdatedAt)
	if err != nil {
		return Inspection{}, err
	}
	if err := json.Unmarshal(createdBy, &in.CreatedBy); err != nil {
		return Inspection{}, fmt.Errorf("decoding created_by of inspection %q: %w", in.ID, err)
	}
	return in, nil
}

// GetInspection reads one row; a missing one is derrors.ErrNotFound.
func (s *Store) GetInspection(ctx context.Context, id string) (Inspection, error) {
	in, err := scanInspection(s.pool.QueryRow(ctx, selectInspectionColumns+` WHERE id = $1`, id))
	if err != nil {
		return Inspection{}, notFound(err, fmt.Sprintf("inspection %q", id))
	}
	return in, nil
}

// InspectionPage is one page of ListInspections.
type InspectionPage struct {
	Inspections   []Inspection
	NextPageToken string
}

const listInspections = selectInspectionColumns + `
WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2))
ORDER BY created_at, id
LIMIT $3`

// ListInspections pages through inspections, oldest first. pageSize must come
// from PageSize.
func (s *Store) ListInspections(ctx context.Context, pageSize int, pageToken string) (InspectionPage, error) {
	after, err := decodeCursor(pageToken)
	if err != nil {
		return InspectionPage{}, err
	}
	var afterAt *time.Time
	var afterID string
	if after != nil {
		afterAt, afterID = &after.At, after.ID
	}
	rows, err := s.pool.Query(ctx, listInspections, afterAt, afterID, pageSize+1)
	if err != nil {
		return InspectionPage{}, fmt.Errorf("listing inspections: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Inspection, error) { return scanInspection(r) })
	if err != nil {
		return InspectionPage{}, fmt.Errorf("listing inspections: %w", err)
	}
	var page InspectionPage
	if len(list) > pageSize {
		list = list[:pageSize]
		last := list[len(list)-1]
		page.NextPageToken = encodeCursor(cursor{At: last.CreatedAt, ID: last.ID})
	}
	page.Inspections = list
	return page, nil
}
