// Package activities holds xuncha's side effects, run by Temporal on behalf of
// the workflows: ledger writes (idempotent, keyed by business IDs),
// notifications, webhooks and deadline computation.
package activities

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
)

// Activities is the receiver of every activity; its fields are built once in
// cmd and shared by all activity executions.
type Activities struct {
	// Ledger is the PostgreSQL ledger.
	Ledger *ledger.Store
	// Log is the structured logger.
	Log *zap.Logger
}

// CreateInspectionInput writes a new inspection's ledger row.
type CreateInspectionInput struct {
	ID           string      `json:"id"`
	WorkflowID   string      `json:"workflow_id"`
	RequestID    string      `json:"request_id"`
	UnitCode     string      `json:"unit_code"`
	UnitName     string      `json:"unit_name"`
	Kind         string      `json:"kind"`
	Round        string      `json:"round"`
	PlannedStart string      `json:"planned_start"`
	PlannedEnd   string      `json:"planned_end"`
	Stage        string      `json:"stage"`
	Actor        actor.Actor `json:"actor"`
	CreatedAt    time.Time   `json:"created_at"`
}

// CreateInspection writes the inspection's ledger row and its "create" event;
// a retry changes nothing.
func (a *Activities) CreateInspection(ctx context.Context, in CreateInspectionInput) error {
	start, err := calendar.ParseDate(in.PlannedStart)
	if err != nil {
		return fmt.Errorf("planned_start: %w", err)
	}
	end, err := calendar.ParseDate(in.PlannedEnd)
	if err != nil {
		return fmt.Errorf("planned_end: %w", err)
	}
	err = a.Ledger.CreateInspection(ctx, ledger.Inspection{
		ID:           in.ID,
		WorkflowID:   in.WorkflowID,
		RequestID:    in.RequestID,
		UnitCode:     in.UnitCode,
		UnitName:     in.UnitName,
		Kind:         in.Kind,
		Round:        in.Round,
		PlannedStart: dateTime(start),
		PlannedEnd:   dateTime(end),
		Stage:        in.Stage,
		CreatedBy:    in.Actor,
		CreatedAt:    in.CreatedAt,
	}, "create/"+in.RequestID)
	if err != nil {
		return fmt.Errorf("creating inspection %q: %w", in.ID, err)
	}
	a.Log.Info("ledger: inspection created", zap.String("inspection", in.ID), zap.String("unit", in.UnitCode))
	return nil
}

// dateTime is a civil date as the midnight-UTC time pgx stores in a date column.
func dateTime(d calendar.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}
