package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// inspectionParams is in as the columns of its row: JSON columns encoded,
// NULLs for what is absent, the running deadline's end as due_at.
func inspectionParams(in casework.Inspection) (dbsqlc.InsertInspectionParams, error) {
	createdBy, err := json.Marshal(in.CreatedBy)
	if err != nil {
		return dbsqlc.InsertInspectionParams{}, fmt.Errorf("encoding actor: %w", err)
	}
	team, err := json.Marshal(orEmpty(in.Team))
	if err != nil {
		return dbsqlc.InsertInspectionParams{}, fmt.Errorf("encoding team: %w", err)
	}
	records, err := json.Marshal(orEmptyMap(in.Records))
	if err != nil {
		return dbsqlc.InsertInspectionParams{}, fmt.Errorf("encoding records: %w", err)
	}
	var dueAt *time.Time
	if d := in.RunningDeadline(); d != nil {
		dueAt = &d.DueAt
	}
	var follows *string
	if in.FollowsInspectionID != "" {
		follows = &in.FollowsInspectionID
	}
	return dbsqlc.InsertInspectionParams{
		ID: in.ID, WorkflowID: in.WorkflowID, RequestID: in.RequestID, UnitCode: in.UnitCode, UnitName: in.UnitName,
		Kind: in.Kind, Round: in.Round, PlannedStart: in.PlannedStart, PlannedEnd: in.PlannedEnd,
		CreatedBy: createdBy, CreatedAt: in.CreatedAt,
		Stage: in.Stage, ContentAreas: orEmpty(in.ContentAreas), Team: team, TeamApproved: in.TeamApproved,
		FollowsInspectionID: follows, ReportDeadline: jsonOrNil(in.ReportDeadline),
		RectificationDeadline: jsonOrNil(in.RectificationDeadline), DueAt: dueAt, DeadlineSeq: in.DeadlineSeq,
		Overdue: in.Overdue, MissedDeadlines: in.MissedDeadlines, Summary: jsonOrNil(in.Summary),
		CancelReason: in.CancelReason, Records: records, UpdatedAt: in.UpdatedAt, Version: in.Version,
	}, nil
}

// orEmpty makes an absent list an empty one: the array columns are NOT
// NULL, and a JSON column holds [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nilIfEmpty undoes orEmpty on the way out, so a row reads back as written.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
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

// CreateInspection writes the row and its "create" event in one transaction.
// Retrying it is a no-op: the row is keyed by ID, the event by eventKey.
//
// With notRepeating set (a COMPREHENSIVE inspection of a local government,
// charter 四(二)1) it refuses, in the same transaction and under the unit's
// non-repetition lock, an inspection of a unit the State Council Safety
// Committee inspected in the year it is planned for; a FOLLOW_UP's earlier
// inspection must exist. A retry of the same request is not refused.
func (s *Store) CreateInspection(ctx context.Context, in casework.Inspection, eventKey string, notRepeating bool) error {
	row, err := inspectionParams(in)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q *dbsqlc.Queries) error {
		retry, err := q.InspectionCreated(ctx, dbsqlc.InspectionCreatedParams{ID: in.ID, RequestID: in.RequestID})
		if err != nil {
			return fmt.Errorf("reading inspection %q: %w", in.ID, err)
		}
		if !retry {
			if err := checkPlan(ctx, q, in, notRepeating); err != nil {
				return err
			}
			if err := checkTeamNotBooked(ctx, q, in); err != nil {
				return err
			}
		}
		inserted, err := q.InsertInspection(ctx, row)
		if err != nil {
			return fmt.Errorf("inserting inspection %q: %w", in.ID, err)
		}
		if inserted == 0 && !retry {
			// A row holds the ID or the workflow ID.
			exists, err := q.InspectionExists(ctx, in.ID)
			if err != nil {
				return fmt.Errorf("reading inspection %q: %w", in.ID, err)
			}
			if !exists {
				return derrors.New(derrors.ErrAlreadyExists, "creating inspection %q: workflow ID %q belongs to another inspection", in.ID, in.WorkflowID)
			}
		}
		return s.appendEvent(ctx, q, casework.Event{
			SubjectType: casework.SubjectInspection,
			SubjectID:   in.ID,
			Key:         eventKey,
			Action:      "create",
			StageAfter:  in.Stage,
			Actor:       in.CreatedBy,
			OccurredAt:  in.CreatedAt,
		})
	})
}

// checkPlan applies, inside the creating transaction, the rules of a new
// inspection that need the ledger.
func checkPlan(ctx context.Context, q *dbsqlc.Queries, in casework.Inspection, notRepeating bool) error {
	if in.FollowsInspectionID != "" {
		exists, err := q.InspectionExists(ctx, in.FollowsInspectionID)
		if err != nil {
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
	if err := q.LockNonRepetition(ctx, dbsqlc.LockNonRepetitionParams{UnitCode: in.UnitCode, Year: year}); err != nil {
		return fmt.Errorf("locking unit %s for %d: %w", in.UnitCode, year, err)
	}
	inspected, err := q.StateCouncilInspected(ctx, dbsqlc.StateCouncilInspectedParams{UnitCode: in.UnitCode, Year: year})
	if err != nil {
		return fmt.Errorf("reading State Council inspections: %w", err)
	}
	if inspected {
		return derrors.StageError{
			Reason: "STATE_COUNCIL_INSPECTED", Subject: "unit/" + in.UnitCode, Action: "create", Stage: "PLANNING",
		}.Says("the State Council Safety Committee inspected %s in %d: a COMPREHENSIVE inspection of it that year is refused (charter 四(二)1; not repeated)",
			in.UnitCode, year)
	}
	return nil
}

// applyInspectionChange updates the row to in if in.Version is above the
// stored one and appends e if its key is new; a missing row is
// derrors.ErrNotFound. What an inspection was created with (unit, kind,
// round, plan, creator, creation time) never changes.
func (s *Store) applyInspectionChange(ctx context.Context, p *pipeline, in casework.Inspection, e casework.Event, opts InspectionChangeOptions) error {
	q := p.q()
	row, err := inspectionParams(in)
	if err != nil {
		return err
	}
	n, err := q.UpdateInspection(ctx, dbsqlc.UpdateInspectionParams{
		ID: row.ID, Stage: row.Stage, ContentAreas: row.ContentAreas, Team: row.Team,
		TeamApproved: row.TeamApproved, FollowsInspectionID: row.FollowsInspectionID,
		ReportDeadline: row.ReportDeadline, RectificationDeadline: row.RectificationDeadline, DueAt: row.DueAt,
		DeadlineSeq: row.DeadlineSeq, Overdue: row.Overdue, MissedDeadlines: row.MissedDeadlines,
		Summary: row.Summary, CancelReason: row.CancelReason, Records: row.Records, UpdatedAt: row.UpdatedAt,
		Version: row.Version,
	})
	if err != nil {
		return fmt.Errorf("updating inspection %q: %w", in.ID, err)
	}
	if n == 1 && opts.TipsTriaged {
		// The row is locked: a tip received from now on waits for this
		// change and then finds the inspection past the window.
		untriaged, err := q.TipsInStage(ctx, dbsqlc.TipsInStageParams{InspectionID: in.ID, Stage: TipReceived})
		if err != nil {
			return fmt.Errorf("listing untriaged tips of inspection %q: %w", in.ID, err)
		}
		if len(untriaged) > 0 {
			return derrors.StageError{Reason: "TIPS_UNTRIAGED", Subject: in.WorkflowID, Action: e.Action, Stage: e.StageBefore}.
				Says("inspection %q has %d tip(s) not yet triaged (%s): make each a finding or dismiss it first",
					in.ID, len(untriaged), i18n.Listed(untriaged[:min(len(untriaged), 5)], len(untriaged) > 5))
		}
	}
	if n == 0 {
		exists, err := q.InspectionExists(ctx, in.ID)
		if err != nil {
			return fmt.Errorf("checking inspection %q: %w", in.ID, err)
		}
		if !exists {
			return fmt.Errorf("inspection %q: %w", in.ID, derrors.ErrNotFound)
		}
	}
	e.SubjectType, e.SubjectID = casework.SubjectInspection, in.ID
	return s.appendChange(p, e, n == 1)
}

// InspectionChangeOptions are what a change of an inspection asks of the
// ledger besides its row and event.
type InspectionChangeOptions struct {
	// TipsTriaged refuses the change (TIPS_UNTRIAGED) while a tip of the
	// inspection is RECEIVED, checked with the row locked (the team's
	// report: a tip received after it could no longer become a finding).
	TipsTriaged bool
}

// ApplyInspectionChange writes one change: the row becomes in (if its
// version is above the stored one) and e is appended (if its key is new).
func (s *Store) ApplyInspectionChange(ctx context.Context, in casework.Inspection, e casework.Event, opts InspectionChangeOptions) error {
	return s.inPipeline(ctx, func(p *pipeline) error { return s.applyInspectionChange(ctx, p, in, e, opts) })
}

// RecordInspectionEscalation records an escalation step of an inspection's
// deadline with the inspection's new row and its event.
func (s *Store) RecordInspectionEscalation(ctx context.Context, esc casework.Escalation, in casework.Inspection, e casework.Event) (casework.Escalation, error) {
	return s.recordEscalation(ctx, esc, func(p *pipeline) error {
		return s.applyInspectionChange(ctx, p, in, e, InspectionChangeOptions{})
	})
}

// inspectionFromRow is the Inspection a row holds.
func inspectionFromRow(r dbsqlc.Inspection) (casework.Inspection, error) {
	in := casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: r.ID, WorkflowID: r.WorkflowID, RequestID: r.RequestID, UnitCode: r.UnitCode, Stage: r.Stage,
			DeadlineSeq: r.DeadlineSeq, Overdue: r.Overdue, MissedDeadlines: r.MissedDeadlines,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version},
		UnitName: r.UnitName, Kind: r.Kind, Round: r.Round, PlannedStart: r.PlannedStart, PlannedEnd: r.PlannedEnd,
		ContentAreas: r.ContentAreas, TeamApproved: r.TeamApproved, FollowsInspectionID: orZero(r.FollowsInspectionID),
		CancelReason: r.CancelReason,
	}
	for _, f := range []struct {
		data []byte
		into any
	}{
		{r.CreatedBy, &in.CreatedBy}, {r.Team, &in.Team}, {r.Records, &in.Records},
		{r.ReportDeadline, &in.ReportDeadline}, {r.RectificationDeadline, &in.RectificationDeadline}, {r.Summary, &in.Summary},
	} {
		if len(f.data) == 0 {
			continue
		}
		if err := json.Unmarshal(f.data, f.into); err != nil {
			return casework.Inspection{}, fmt.Errorf("decoding inspection %q: %w", in.ID, err)
		}
	}
	return in, nil
}

// GetInspection reads one row; a missing one is derrors.ErrNotFound.
func (s *Store) GetInspection(ctx context.Context, id string) (casework.Inspection, error) {
	r, err := s.q.GetInspection(ctx, id)
	if err != nil {
		return casework.Inspection{}, notFound(err, "inspection", id)
	}
	return inspectionFromRow(r)
}

// InspectionFilter narrows ListInspections; empty fields match everything.
type InspectionFilter struct {
	UnitCode string
	Kind     string
	Stage    string
	Year     int
	Round    string
	// Reach is the caller's scope.
	Reach Reach
}

// InspectionPage is one page of ListInspections.
type InspectionPage struct {
	Inspections   []casework.Inspection
	NextPageToken string
}

// ListInspections pages through inspections, oldest first. pageSize must come
// from PageSize.
func (s *Store) ListInspections(ctx context.Context, filter InspectionFilter, pageSize int, pageToken string) (InspectionPage, error) {
	list, next, err := listPage("inspections", pageSize, pageToken,
		func(afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.Inspection, error) {
			return s.q.ListInspections(ctx, dbsqlc.ListInspectionsParams{
				UnitCode: filter.UnitCode, Kind: filter.Kind, Stage: filter.Stage, Year: filter.Year, Round: filter.Round,
				ByUnit: filter.Reach.ByUnit, Units: filter.Reach.Units, ByTeam: filter.Reach.ByTeam, TeamSubject: filter.Reach.Subject,
				AfterAt: afterAt, AfterID: afterID, RowLimit: limit,
			})
		},
		inspectionFromRow, func(in casework.Inspection) cursor { return cursor{At: in.CreatedAt, ID: in.ID} })
	return InspectionPage{Inspections: list, NextPageToken: next}, err
}

// FindingCounts tallies an inspection's findings for closure and its summary.
func (s *Store) FindingCounts(ctx context.Context, inspectionID string) (casework.InspectionSummary, error) {
	rows, err := s.q.InspectionFindings(ctx, inspectionID)
	if err != nil {
		return casework.InspectionSummary{}, fmt.Errorf("counting findings of %q: %w", inspectionID, err)
	}
	sum := casework.InspectionSummary{ByKind: map[string]int{}, BySeverity: map[string]int{}, ByContentArea: map[string]int{}}
	for _, r := range rows {
		sum.Findings++
		sum.ByKind[r.Kind]++
		if r.Severity != "" {
			sum.BySeverity[r.Severity]++
		}
		sum.ByContentArea[fmt.Sprint(r.ContentArea)]++
		sum.DeadlinesMissed += r.MissedDeadlines
		switch r.Stage {
		case "CLOSED":
			sum.Closed++
		case "WITHDRAWN":
			sum.Withdrawn++
		default:
			sum.Open++
			if len(sum.OpenNumbers) < casework.MaxOpenNumbers && r.LedgerNumber != "" {
				sum.OpenNumbers = append(sum.OpenNumbers, r.LedgerNumber)
			}
		}
	}
	if counted := sum.Findings - sum.Withdrawn; counted > 0 {
		sum.ClosureRate = float64(sum.Closed) / float64(counted)
	}
	return sum, nil
}

// FindingsAmong counts an inspection's findings in any of stages and names
// the first of them (casework.MaxOpenNumbers at most) by ledger number.
func (s *Store) FindingsAmong(ctx context.Context, inspectionID string, stages ...string) (count int, numbers []string, _ error) {
	rows, err := s.q.InspectionFindings(ctx, inspectionID)
	if err != nil {
		return 0, nil, fmt.Errorf("counting findings of %q: %w", inspectionID, err)
	}
	for _, r := range rows {
		if !slices.Contains(stages, r.Stage) {
			continue
		}
		count++
		if len(numbers) < casework.MaxOpenNumbers && r.LedgerNumber != "" {
			numbers = append(numbers, r.LedgerNumber)
		}
	}
	return count, numbers, nil
}

// FindingsInStage lists the IDs of an inspection's findings in a stage.
func (s *Store) FindingsInStage(ctx context.Context, inspectionID, stage string) ([]string, error) {
	ids, err := s.q.FindingsInStage(ctx, dbsqlc.FindingsInStageParams{InspectionID: inspectionID, Stage: stage})
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
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.LockNonRepetition(ctx, dbsqlc.LockNonRepetitionParams{UnitCode: sc.UnitCode, Year: sc.Year}); err != nil {
			return fmt.Errorf("locking unit %s for %d: %w", sc.UnitCode, sc.Year, err)
		}
		// A COMPREHENSIVE inspection of the unit planned for the year and not
		// yet on site would repeat the State Council's: it is cancelled
		// first, so that the two are never both in the ledger unresolved.
		planned, found, err := optional(q.PlannedComprehensiveInspection(ctx, dbsqlc.PlannedComprehensiveInspectionParams{
			UnitCode: sc.UnitCode, Year: sc.Year, RequestID: sc.RequestID,
		}))
		switch {
		case err != nil:
			return fmt.Errorf("reading planned inspections: %w", err)
		case found:
			return derrors.StageError{
				Reason: "COMPREHENSIVE_INSPECTION_PLANNED", Subject: "unit/" + sc.UnitCode, Action: "recordStateCouncilInspection", Stage: "PLANNING",
			}.Says("inspection %q, a COMPREHENSIVE inspection of %s in %d, is planned and would repeat the State Council's: cancel it first (charter 四(二)1)",
				planned, sc.UnitCode, sc.Year)
		}
		if err := q.InsertStateCouncilInspection(ctx, dbsqlc.InsertStateCouncilInspectionParams{
			UnitCode: sc.UnitCode, Year: sc.Year, RequestID: sc.RequestID, Note: sc.Note, RecordedBy: by,
		}); err != nil {
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
	rows, err := s.q.StateCouncilInspections(ctx, dbsqlc.StateCouncilInspectionsParams{Year: year, UnitCode: unitCode})
	if err != nil {
		return nil, fmt.Errorf("listing State Council inspections: %w", err)
	}
	list, err := convertAll(rows, func(r dbsqlc.StateCouncilInspection) (StateCouncilInspection, error) {
		sc := StateCouncilInspection{UnitCode: r.UnitCode, Year: r.Year, RequestID: r.RequestID, Note: r.Note,
			RecordedAt: r.RecordedAt}
		return sc, json.Unmarshal(r.RecordedBy, &sc.RecordedBy)
	})
	if err != nil {
		return nil, fmt.Errorf("listing State Council inspections: %w", err)
	}
	return list, nil
}
