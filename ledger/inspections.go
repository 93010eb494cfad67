package ledger

import (
	"context"
	"encoding/json"
	"errors"

	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// Inspection is an inspection's ledger row: the projection of its workflow's
// state. Workflows carry it (JSON) as their state and activities write it
// whole.
type Inspection struct {
	ID                  string       `json:"id"`
	WorkflowID          string       `json:"workflow_id"`
	RequestID           string       `json:"request_id"`
	UnitCode            string       `json:"unit_code"`
	UnitName            string       `json:"unit_name"`
	Kind                string       `json:"kind"`
	Round               string       `json:"round,omitempty"`
	PlannedStart        time.Time    `json:"planned_start"` // a date: midnight UTC
	PlannedEnd          time.Time    `json:"planned_end"`   // a date: midnight UTC
	ContentAreas        []int        `json:"content_areas,omitempty"`
	Team                []TeamMember `json:"team,omitempty"`
	TeamApproved        bool         `json:"team_approved,omitempty"`
	FollowsInspectionID string       `json:"follows_inspection_id,omitempty"`
	Stage               string       `json:"stage"`
	// ReportDeadline runs from ONSITE_ENDED; RectificationDeadline from
	// FEEDBACK_GIVEN.
	ReportDeadline        *calendar.Deadline `json:"report_deadline,omitempty"`
	RectificationDeadline *calendar.Deadline `json:"rectification_deadline,omitempty"`
	DeadlineSeq           int                `json:"deadline_seq,omitempty"`
	Overdue               bool               `json:"overdue,omitempty"`
	MissedDeadlines       int                `json:"missed_deadlines,omitempty"`
	Summary               *InspectionSummary `json:"summary,omitempty"`
	CancelReason          string             `json:"cancel_reason,omitempty"`
	// Records holds what each step recorded, e.g. "notified_on",
	// "report_summary", "feedback_delivered_on".
	Records   map[string]string `json:"records,omitempty"`
	CreatedBy actor.Actor       `json:"created_by"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
	// Version counts the changes applied; a write with a version not above
	// the row's is a retry and changes nothing.
	Version int `json:"version"`
}

// TeamMember is one person of an inspection team.
type TeamMember struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Rank         string `json:"rank"`
	Organisation string `json:"organisation,omitempty"`
}

// InspectionSummary is stored at closure for the results-use record.
type InspectionSummary struct {
	ByKind          map[string]int `json:"by_kind"`
	BySeverity      map[string]int `json:"by_severity"`
	ByContentArea   map[string]int `json:"by_content_area"`
	Findings        int            `json:"findings"`
	Closed          int            `json:"closed"`
	Withdrawn       int            `json:"withdrawn"`
	Open            int            `json:"open"`
	ClosureRate     float64        `json:"closure_rate"`
	DeadlinesMissed int            `json:"deadlines_missed"`
}

// RunningDeadline is the deadline the inspection's stage runs: the team
// report's in ONSITE_ENDED, the unit's rectification report's in
// FEEDBACK_GIVEN; nil in other stages. Its end is the due_at column.
func (in Inspection) RunningDeadline() *calendar.Deadline {
	switch in.Stage {
	case "ONSITE_ENDED":
		return in.ReportDeadline
	case "FEEDBACK_GIVEN":
		return in.RectificationDeadline
	}
	return nil
}

// inspectionArgs are the mutable columns in the order the statements use.
func inspectionArgs(in Inspection) ([]any, error) {
	team, err := json.Marshal(orEmpty(in.Team))
	if err != nil {
		return nil, fmt.Errorf("encoding team: %w", err)
	}
	records, err := json.Marshal(orEmptyMap(in.Records))
	if err != nil {
		return nil, fmt.Errorf("encoding records: %w", err)
	}
	var dueAt *time.Time
	if d := in.RunningDeadline(); d != nil {
		dueAt = &d.DueAt
	}
	var follows *string
	if in.FollowsInspectionID != "" {
		follows = &in.FollowsInspectionID
	}
	areas := in.ContentAreas
	if areas == nil {
		areas = []int{}
	}
	return []any{
		in.Stage, areas, team, in.TeamApproved, follows,
		jsonOrNil(in.ReportDeadline), jsonOrNil(in.RectificationDeadline), dueAt, in.DeadlineSeq,
		in.Overdue, in.MissedDeadlines, jsonOrNil(in.Summary), in.CancelReason, records, in.UpdatedAt, in.Version,
	}, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// jsonOrNil encodes a pointer as JSON, nil as SQL NULL.
func jsonOrNil[T any](v *T) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

const insertInspection = `
INSERT INTO inspections (id, workflow_id, request_id, unit_code, unit_name, kind, round,
                         planned_start, planned_end, created_by, created_at,
                         stage, content_areas, team, team_approved, follows_inspection_id,
                         report_deadline, rectification_deadline, due_at, deadline_seq,
                         overdue, missed_deadlines, summary, cancel_reason, records, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
        $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)
ON CONFLICT (id) DO NOTHING`

// CreateInspection writes the row and its "create" event in one transaction.
// Retrying it is a no-op: the row is keyed by ID, the event by eventKey.
//
// With notRepeating set (a COMPREHENSIVE inspection of a local government,
// charter 四(二)1) it refuses, in the same transaction and under the unit's
// non-repetition lock, an inspection of a unit the State Council Safety
// Committee inspected in the year it is planned for; a FOLLOW_UP's earlier
// inspection must exist. A retry of the same request is not refused.
func (s *Store) CreateInspection(ctx context.Context, in Inspection, eventKey string, notRepeating bool) error {
	createdBy, err := json.Marshal(in.CreatedBy)
	if err != nil {
		return fmt.Errorf("encoding actor: %w", err)
	}
	mutable, err := inspectionArgs(in)
	if err != nil {
		return err
	}
	args := append([]any{in.ID, in.WorkflowID, in.RequestID, in.UnitCode, in.UnitName, in.Kind, in.Round,
		in.PlannedStart, in.PlannedEnd, createdBy, in.CreatedAt}, mutable...)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var retry bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inspections WHERE id = $1 AND request_id = $2)`,
			in.ID, in.RequestID).Scan(&retry); err != nil {
			return fmt.Errorf("reading inspection %q: %w", in.ID, err)
		}
		if !retry {
			if err := checkPlan(ctx, tx, in, notRepeating); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, insertInspection, args...); err != nil {
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

// lockNonRepetition serialises, per unit and year, the creation of
// COMPREHENSIVE inspections and the recording of the State Council's, so
// that of two such requests at once exactly one passes the other's check.
const lockNonRepetition = `SELECT pg_advisory_xact_lock(hashtextextended('non-repetition/' || $1::text || '/' || $2::int::text, 0))`

// checkPlan applies, inside the creating transaction, the rules of a new
// inspection that need the ledger.
func checkPlan(ctx context.Context, tx pgx.Tx, in Inspection, notRepeating bool) error {
	if in.FollowsInspectionID != "" {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inspections WHERE id = $1)`, in.FollowsInspectionID).Scan(&exists); err != nil {
			return fmt.Errorf("reading inspection %q: %w", in.FollowsInspectionID, err)
		}
		if !exists {
			return derrors.Invalid("inspection.follows_inspection_id", "no inspection %q to look back at", in.FollowsInspectionID)
		}
	}
	if !notRepeating {
		return nil
	}
	year := in.PlannedStart.Year()
	if _, err := tx.Exec(ctx, lockNonRepetition, in.UnitCode, year); err != nil {
		return fmt.Errorf("locking unit %s for %d: %w", in.UnitCode, year, err)
	}
	var inspected bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM state_council_inspections WHERE unit_code = $1 AND year = $2)`,
		in.UnitCode, year).Scan(&inspected); err != nil {
		return fmt.Errorf("reading State Council inspections: %w", err)
	}
	if inspected {
		return &derrors.StageError{
			Reason: "STATE_COUNCIL_INSPECTED", Subject: "unit/" + in.UnitCode, Action: "create", Stage: "PLANNING",
			Message: fmt.Sprintf("the State Council Safety Committee inspected %s in %d: a COMPREHENSIVE inspection of it that year is refused (charter 四(二)1; not repeated)",
				in.UnitCode, year),
		}
	}
	return nil
}

const updateInspection = `
UPDATE inspections SET stage = $2, content_areas = $3, team = $4, team_approved = $5,
       follows_inspection_id = $6, report_deadline = $7, rectification_deadline = $8, due_at = $9,
       deadline_seq = $10, overdue = $11, missed_deadlines = $12, summary = $13, cancel_reason = $14,
       records = $15, updated_at = $16, version = $17
WHERE id = $1 AND version < $17`

func applyInspectionChange(ctx context.Context, tx pgx.Tx, in Inspection, e Event) error {
	mutable, err := inspectionArgs(in)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, updateInspection, append([]any{in.ID}, mutable...)...)
	if err != nil {
		return fmt.Errorf("updating inspection %q: %w", in.ID, err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inspections WHERE id = $1)`, in.ID).Scan(&exists); err != nil {
			return fmt.Errorf("checking inspection %q: %w", in.ID, err)
		}
		if !exists {
			return fmt.Errorf("inspection %q: %w", in.ID, derrors.ErrNotFound)
		}
	}
	e.SubjectType, e.SubjectID = SubjectInspection, in.ID
	return appendEvent(ctx, tx, e)
}

// ApplyInspectionChange writes one change: the row becomes in (if its
// version is above the stored one) and e is appended (if its key is new).
func (s *Store) ApplyInspectionChange(ctx context.Context, in Inspection, e Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return applyInspectionChange(ctx, tx, in, e) })
}

// RecordInspectionEscalation records an escalation step of an inspection's
// deadline with the inspection's new row and its event.
func (s *Store) RecordInspectionEscalation(ctx context.Context, esc Escalation, in Inspection, e Event) (Escalation, error) {
	return s.recordEscalation(ctx, esc, func(tx pgx.Tx) error { return applyInspectionChange(ctx, tx, in, e) })
}

const selectInspectionColumns = `
SELECT id, workflow_id, request_id, unit_code, unit_name, kind, round, planned_start, planned_end,
       stage, created_by, created_at, updated_at, content_areas, team, team_approved,
       coalesce(follows_inspection_id, ''), report_deadline, rectification_deadline, deadline_seq, overdue,
       missed_deadlines, summary, cancel_reason, records, version
FROM inspections`

func scanInspection(row pgx.Row) (Inspection, error) {
	var in Inspection
	var createdBy, team, records, reportDeadline, rectDeadline, summary []byte
	err := row.Scan(&in.ID, &in.WorkflowID, &in.RequestID, &in.UnitCode, &in.UnitName, &in.Kind, &in.Round,
		&in.PlannedStart, &in.PlannedEnd, &in.Stage, &createdBy, &in.CreatedAt, &in.UpdatedAt,
		&in.ContentAreas, &team, &in.TeamApproved, &in.FollowsInspectionID, &reportDeadline, &rectDeadline,
		&in.DeadlineSeq, &in.Overdue, &in.MissedDeadlines, &summary, &in.CancelReason, &records, &in.Version)
	if err != nil {
		return Inspection{}, err
	}
	for _, f := range []struct {
		data []byte
		into any
	}{
		{createdBy, &in.CreatedBy}, {team, &in.Team}, {records, &in.Records},
		{reportDeadline, &in.ReportDeadline}, {rectDeadline, &in.RectificationDeadline}, {summary, &in.Summary},
	} {
		if len(f.data) == 0 {
			continue
		}
		if err := json.Unmarshal(f.data, f.into); err != nil {
			return Inspection{}, fmt.Errorf("decoding inspection %q: %w", in.ID, err)
		}
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

// InspectionFilter narrows ListInspections; empty fields match everything.
type InspectionFilter struct {
	UnitCode string
	Kind     string
	Stage    string
	Year     int
	Round    string
}

// InspectionPage is one page of ListInspections.
type InspectionPage struct {
	Inspections   []Inspection
	NextPageToken string
}

const listInspections = selectInspectionColumns + `
WHERE ($1::text = '' OR unit_code = $1)
  AND ($2::text = '' OR kind = $2)
  AND ($3::text = '' OR stage = $3)
  AND ($4::integer = 0 OR extract(year FROM planned_start) = $4)
  AND ($5::text = '' OR round = $5)
  AND ($6::timestamptz IS NULL OR (created_at, id) > ($6, $7::text))
ORDER BY created_at, id
LIMIT $8`

// ListInspections pages through inspections, oldest first. pageSize must come
// from PageSize.
func (s *Store) ListInspections(ctx context.Context, filter InspectionFilter, pageSize int, pageToken string) (InspectionPage, error) {
	list, next, err := listPage(ctx, s.pool, "inspections", listInspections,
		[]any{filter.UnitCode, filter.Kind, filter.Stage, filter.Year, filter.Round},
		pageSize, pageToken, scanInspection, func(in Inspection) cursor { return cursor{At: in.CreatedAt, ID: in.ID} })
	return InspectionPage{Inspections: list, NextPageToken: next}, err
}

// FindingCounts tallies an inspection's findings for closure and its summary.
func (s *Store) FindingCounts(ctx context.Context, inspectionID string) (InspectionSummary, error) {
	rows, err := s.pool.Query(ctx, `
SELECT kind, severity, content_area, stage, missed_deadlines
FROM findings WHERE inspection_id = $1`, inspectionID)
	if err != nil {
		return InspectionSummary{}, fmt.Errorf("counting findings of %q: %w", inspectionID, err)
	}
	defer rows.Close()
	sum := InspectionSummary{ByKind: map[string]int{}, BySeverity: map[string]int{}, ByContentArea: map[string]int{}}
	for rows.Next() {
		var kind, severity, stage string
		var area, missed int
		if err := rows.Scan(&kind, &severity, &area, &stage, &missed); err != nil {
			return InspectionSummary{}, fmt.Errorf("counting findings of %q: %w", inspectionID, err)
		}
		sum.Findings++
		sum.ByKind[kind]++
		if severity != "" {
			sum.BySeverity[severity]++
		}
		sum.ByContentArea[fmt.Sprint(area)]++
		sum.DeadlinesMissed += missed
		switch stage {
		case "CLOSED":
			sum.Closed++
		case "WITHDRAWN":
			sum.Withdrawn++
		default:
			sum.Open++
		}
	}
	if err := rows.Err(); err != nil {
		return InspectionSummary{}, fmt.Errorf("counting findings of %q: %w", inspectionID, err)
	}
	if counted := sum.Findings - sum.Withdrawn; counted > 0 {
		sum.ClosureRate = float64(sum.Closed) / float64(counted)
	}
	return sum, nil
}

// FindingsInStage lists the IDs of an inspection's findings in a stage.
func (s *Store) FindingsInStage(ctx context.Context, inspectionID, stage string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM findings WHERE inspection_id = $1 AND stage = $2 ORDER BY created_at, id`, inspectionID, stage)
	if err != nil {
		return nil, fmt.Errorf("listing findings of %q: %w", inspectionID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing findings of %q: %w", inspectionID, err)
	}
	return ids, nil
}

// StateCouncilInspection records that the State Council Safety Committee
// inspected a local government in a year.
type StateCouncilInspection struct {
	UnitCode   string      `json:"unit_code"`
	Year       int         `json:"year"`
	RequestID  string      `json:"request_id"`
	Note       string      `json:"note"`
	RecordedBy actor.Actor `json:"recorded_by"`
	RecordedAt time.Time   `json:"recorded_at"`
}

// RecordStateCouncilInspection stores one; the same unit and year again (by
// any request) returns the first record.
func (s *Store) RecordStateCouncilInspection(ctx context.Context, sc StateCouncilInspection) (StateCouncilInspection, error) {
	by, err := json.Marshal(sc.RecordedBy)
	if err != nil {
		return StateCouncilInspection{}, fmt.Errorf("encoding actor: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockNonRepetition, sc.UnitCode, sc.Year); err != nil {
			return fmt.Errorf("locking unit %s for %d: %w", sc.UnitCode, sc.Year, err)
		}
		// A COMPREHENSIVE inspection of the unit planned for the year and not
		// yet on site would repeat the State Council's: it is cancelled
		// first, so that the two are never both in the ledger unresolved.
		var planned string
		err := tx.QueryRow(ctx, `
SELECT id FROM inspections
WHERE unit_code = $1 AND kind = 'COMPREHENSIVE' AND extract(year FROM planned_start) = $2
  AND stage IN ('PLANNED', 'NOTIFIED')
  AND NOT EXISTS (SELECT 1 FROM state_council_inspections WHERE request_id = $3)
ORDER BY id LIMIT 1`, sc.UnitCode, sc.Year, sc.RequestID).Scan(&planned)
		switch {
		case err == nil:
			return &derrors.StageError{
				Reason: "COMPREHENSIVE_INSPECTION_PLANNED", Subject: "unit/" + sc.UnitCode, Action: "recordStateCouncilInspection", Stage: "PLANNING",
				Message: fmt.Sprintf("inspection %q, a COMPREHENSIVE inspection of %s in %d, is planned and would repeat the State Council's: cancel it first (charter 四(二)1)",
					planned, sc.UnitCode, sc.Year),
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("reading planned inspections: %w", err)
		}
		if _, err := tx.Exec(ctx, `
INSERT INTO state_council_inspections (unit_code, year, request_id, note, recorded_by)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, sc.UnitCode, sc.Year, sc.RequestID, sc.Note, by); err != nil {
			return fmt.Errorf("recording State Council inspection: %w", err)
		}
		return nil
	})
	if err != nil {
		return StateCouncilInspection{}, err
	}
	list, err := s.StateCouncilInspections(ctx, sc.Year, sc.UnitCode)
	if err != nil {
		return StateCouncilInspection{}, err
	}
	if len(list) == 0 {
		return StateCouncilInspection{}, fmt.Errorf("request_id %q was already used for another record: %w", sc.RequestID, derrors.ErrAlreadyExists)
	}
	return list[0], nil
}

// StateCouncilInspections lists records; year 0 and unit "" match all.
func (s *Store) StateCouncilInspections(ctx context.Context, year int, unitCode string) ([]StateCouncilInspection, error) {
	rows, err := s.pool.Query(ctx, `
SELECT unit_code, year, request_id, note, recorded_by, recorded_at
FROM state_council_inspections
WHERE ($1 = 0 OR year = $1) AND ($2 = '' OR unit_code = $2)
ORDER BY year, unit_code`, year, unitCode)
	if err != nil {
		return nil, fmt.Errorf("listing State Council inspections: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StateCouncilInspection, error) {
		var sc StateCouncilInspection
		var by []byte
		if err := r.Scan(&sc.UnitCode, &sc.Year, &sc.RequestID, &sc.Note, &by, &sc.RecordedAt); err != nil {
			return sc, err
		}
		return sc, json.Unmarshal(by, &sc.RecordedBy)
	})
	if err != nil {
		return nil, fmt.Errorf("listing State Council inspections: %w", err)
	}
	return list, nil
}
