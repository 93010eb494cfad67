package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// findingStageReferred is the stage in which a finding's rectification
// deadline runs (DESIGN §2); the workflows own the full list of stages.
const findingStageReferred = "REFERRED"

// PostgreSQL SQLSTATE codes the ledger maps to domain errors.
const (
	pgForeignKeyViolation = "23503"
	pgUniqueViolation     = "23505"
	// pgDuplicateObject is CREATE ROLE's answer for a role that exists.
	pgDuplicateObject       = "42710"
	pgInsufficientPrivilege = "42501"
)

// jsonOrNull encodes v, or returns nil (SQL NULL) when isNil.
func jsonOrNull(v any, isNil bool) ([]byte, error) {
	if isNil {
		return nil, nil
	}
	return json.Marshal(v)
}

// findingParams is f as the columns of its row: JSON columns encoded, NULLs
// for what is absent, the derived due date and instant.
func findingParams(f casework.Finding) (dbsqlc.InsertFindingParams, error) {
	p := dbsqlc.InsertFindingParams{
		ID: f.ID, WorkflowID: f.WorkflowID, InspectionID: f.InspectionID, RequestID: f.RequestID,
		UnitCode: f.UnitCode, UnitName: f.UnitName, Title: f.Title, Description: f.Description, Kind: f.Kind,
		Severity: f.Severity, Important: f.Important, ContentArea: f.ContentArea,
		EvidenceIDs: orEmpty(f.EvidenceIDs), RectificationOpinion: f.RectificationOpinion, Stage: f.Stage,
		Dispositions: orEmpty(f.Dispositions), DeadlineSeq: f.DeadlineSeq, Overdue: f.Overdue,
		MissedDeadlines: f.MissedDeadlines, ReopenCount: f.ReopenCount, WithdrawReason: f.WithdrawReason,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Version: f.Version,
	}
	var err error
	if p.Diagnosis, err = jsonOrNull(f.Diagnosis, f.Diagnosis == nil); err != nil {
		return p, fmt.Errorf("encoding diagnosis of finding %q: %w", f.ID, err)
	}
	if p.Referral, err = jsonOrNull(f.Referral, f.Referral == nil); err != nil {
		return p, fmt.Errorf("encoding referral of finding %q: %w", f.ID, err)
	}
	if p.Rectification, err = jsonOrNull(f.Rectification, f.Rectification == nil); err != nil {
		return p, fmt.Errorf("encoding rectification of finding %q: %w", f.ID, err)
	}
	if p.Deadline, err = jsonOrNull(f.Deadline, f.Deadline == nil); err != nil {
		return p, fmt.Errorf("encoding deadline of finding %q: %w", f.ID, err)
	}
	if p.Extensions, err = jsonOrNull(f.Extensions, len(f.Extensions) == 0); err != nil {
		return p, fmt.Errorf("encoding extensions of finding %q: %w", f.ID, err)
	}
	if p.Signoffs, err = jsonOrNull(f.Signoffs, len(f.Signoffs) == 0); err != nil {
		return p, fmt.Errorf("encoding signoffs of finding %q: %w", f.ID, err)
	}
	if p.ClueReferrals, err = jsonOrNull(f.ClueReferrals, len(f.ClueReferrals) == 0); err != nil {
		return p, fmt.Errorf("encoding clue referrals of finding %q: %w", f.ID, err)
	}
	if f.OriginalDue != "" {
		d, err := calendar.ParseDate(f.OriginalDue)
		if err != nil {
			return p, fmt.Errorf("original due of finding %q: %w", f.ID, err)
		}
		day := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		p.OriginalDue = &day
	}
	if f.Deadline != nil {
		d := f.Deadline.Due
		dueDate := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		dueAt := f.Deadline.DueAt
		p.DueDate, p.DueAt = &dueDate, &dueAt
	}
	if p.FoundBy, err = json.Marshal(f.FoundBy); err != nil {
		return p, fmt.Errorf("encoding found_by of finding %q: %w", f.ID, err)
	}
	return p, nil
}

// checkRecordingWindow refuses a new finding unless its inspection's stage,
// read and share-locked in q's transaction, is one of stages. A retry of
// the request that recorded it is let through whatever the stage is now.
//
// Whether it is a retry is asked again before a refusal: a retry that
// asked while its first attempt's transaction was still open saw no row,
// and a stage change queued behind that attempt's share lock can commit
// before this one reads the stage, so it sees the stage moved on. Read
// after that change, the row the first attempt committed before it is seen.
func checkRecordingWindow(ctx context.Context, q *dbsqlc.Queries, f casework.Finding, stages []string) error {
	recorded := func() (bool, error) {
		retry, err := q.FindingRecorded(ctx, dbsqlc.FindingRecordedParams{ID: f.ID, RequestID: f.RequestID})
		if err != nil {
			return false, fmt.Errorf("reading finding %q: %w", f.ID, err)
		}
		return retry, nil
	}
	if retry, err := recorded(); err != nil || retry {
		return err
	}
	in, err := q.InspectionStageForShare(ctx, f.InspectionID)
	if err != nil {
		return notFound(err, "inspection", f.InspectionID)
	}
	if slices.Contains(stages, in.Stage) {
		return nil
	}
	if retry, err := recorded(); err != nil || retry {
		return err
	}
	return outsideRecordingWindow(f.InspectionID, in.WorkflowID, in.Stage, stages)
}

// outsideRecordingWindow refuses a finding of inspection id, whose
// workflow and stage they are, recorded outside the stages that record
// findings (the team on site): RecordFinding's and an import's refusal.
func outsideRecordingWindow(id, workflowID, stage string, stages []string) error {
	return derrors.StageError{
		Reason: "STAGE_NOT_ALLOWED", Subject: workflowID, Action: "recordFinding", Stage: stage, Allowed: stages,
	}.Says("inspection %q is %s: findings are recorded while the team is on site, until it reports (%s)",
		id, i18n.Term(i18n.InspectionStage, stage), i18n.Terms(i18n.InspectionStage, ", ", stages...))
}

// LedgerNumber formats a ledger number: year, unit code and the sequence of
// the year and unit, zero-padded to 4 digits (wider when it overflows).
func LedgerNumber(year int, unitCode string, seq int) string {
	return fmt.Sprintf("%d-%s-%04d", year, unitCode, seq)
}

// RecordFinding writes a new finding's row, assigns its ledger number
// "<year>-<unit code>-<sequence>" (year of CreatedAt in Asia/Shanghai,
// sequence per year and unit) and appends its "record" event, in one
// transaction. Retrying it returns the same number and adds nothing: the row
// is keyed by ID and the event by eventKey. The LedgerNumber of f is ignored:
// numbers are the ledger's to give. An inspection missing from the ledger is
// derrors.ErrNotFound; a workflow ID that another finding has is
// derrors.ErrAlreadyExists.
//
// With inspectionStages set, a new finding is recorded only while its
// inspection is in one of them (the recording window, charter 三(三)): the
// inspection's row is read FOR SHARE in the same transaction, so a stage
// change written at the same moment either comes after the finding or is
// seen by it. A retry of a recorded finding is not refused.
func (s *Store) RecordFinding(ctx context.Context, f casework.Finding, eventKey string, inspectionStages ...string) (ledgerNumber string, err error) {
	return s.recordFinding(ctx, f, eventKey, false, inspectionStages)
}

// RecordListedFinding is RecordFinding for a finding that is listed as it
// is numbered, as an import lists its rows and a finding workflow since its
// code level 2 does (one ledger write instead of two): the row is written
// LISTED at version 2, and the "list" event (listEvent) follows the
// "record" event, in the same transaction. f is the finding as found
// (FOUND, version 1).
func (s *Store) RecordListedFinding(ctx context.Context, f casework.Finding, eventKey string, inspectionStages ...string) (ledgerNumber string, err error) {
	return s.recordFinding(ctx, f, eventKey, true, inspectionStages)
}

// listEvent is the event of a finding entered in the problem ledger under
// number: FOUND to LISTED, by the system, when it was found.
func listEvent(f casework.Finding, number string) casework.Event {
	return casework.Event{SubjectType: casework.SubjectFinding, SubjectID: f.ID, Key: "list/" + f.RequestID, Action: "list",
		StageBefore: findingStageFound, StageAfter: findingStageListed, Actor: actor.System,
		Note: "entered in the problem ledger as " + number, OccurredAt: f.CreatedAt}
}

func (s *Store) recordFinding(ctx context.Context, f casework.Finding, eventKey string, listed bool, inspectionStages []string) (ledgerNumber string, err error) {
	if f.ID == "" || eventKey == "" {
		return "", fmt.Errorf("recording a finding needs its ID and an event key: %w", derrors.ErrInvalidArgument)
	}
	found := f
	if listed {
		f.Stage, f.Version = findingStageListed, listedVersion
	}
	row, err := findingParams(f)
	if err != nil {
		return "", err
	}
	evidence, err := json.Marshal(row.EvidenceIDs)
	if err != nil {
		return "", fmt.Errorf("encoding evidence of finding %q: %w", f.ID, err)
	}
	err = s.inPipeline(ctx, func(p *pipeline) error {
		q := p.q()
		if len(inspectionStages) > 0 {
			if err := checkRecordingWindow(ctx, q, f, inspectionStages); err != nil {
				return err
			}
		}
		if err := checkTipNotDismissed(ctx, q, f); err != nil {
			return err
		}
		// The row and its number in one round trip: the stored row keeps
		// its number, so that a retry sees the first write's; a row without
		// one is the row just inserted, numbered in the year of its
		// creation (the year as PostgreSQL stores the instant, to the
		// microsecond, in the calendar's zone).
		year := row.CreatedAt.Truncate(time.Microsecond).In(calendar.Location()).Year()
		var insertErr error
		queueExec(p, &insertErr, (*dbsqlc.Queries).InsertFinding, row)
		var stored dbsqlc.NumberFindingRow
		queue(p, &stored, (*dbsqlc.Queries).NumberFinding, dbsqlc.NumberFindingParams{ID: f.ID, Year: year})
		if err := p.flush(); err != nil {
			var pgErr *pgconn.PgError
			switch {
			case insertErr == nil && errors.Is(err, pgx.ErrNoRows):
				// The insert wrote nothing (ON CONFLICT) and no row has
				// the ID: another finding has this workflow ID.
				return derrors.New(derrors.ErrAlreadyExists, "recording finding %q: workflow ID %q belongs to another finding", f.ID, f.WorkflowID)
			case insertErr == nil:
				return fmt.Errorf("recording finding %q: %w", f.ID, err)
			case errors.As(err, &pgErr) && pgErr.Code == pgForeignKeyViolation:
				return fmt.Errorf("recording finding %q: inspection %q: %w", f.ID, f.InspectionID, derrors.ErrNotFound)
			}
			return fmt.Errorf("inserting finding %q: %w", f.ID, err)
		}
		ledgerNumber = orZero(stored.LedgerNumber)
		if ledgerNumber == "" {
			ledgerNumber = LedgerNumber(year, stored.UnitCode, stored.Seq)
			queueExec(p, nil, (*dbsqlc.Queries).SetLedgerNumber, dbsqlc.SetLedgerNumberParams{ID: f.ID, LedgerNumber: ledgerNumber})
		}
		data, err := json.Marshal(map[string]any{
			"ledger_number": ledgerNumber,
			"inspection_id": f.InspectionID,
			"kind":          f.Kind,
			"severity":      f.Severity,
			"important":     f.Important,
		})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		events := []casework.Event{{
			SubjectType: casework.SubjectFinding,
			SubjectID:   f.ID,
			Key:         eventKey,
			Action:      "record",
			StageAfter:  found.Stage,
			Actor:       f.FoundBy,
			Evidence:    evidence,
			Data:        data,
			OccurredAt:  f.CreatedAt,
		}}
		if listed {
			events = append(events, listEvent(f, ledgerNumber))
		}
		// Each event's chain head comes with what precedes it, each event
		// with the next one's head or COMMIT.
		for _, e := range events {
			if err := s.appendChange(p, e, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return ledgerNumber, nil
}

// applyFindingChange updates the row to f if f.Version is above the stored
// one and appends e if its key is new; a missing row is derrors.ErrNotFound.
// What a finding was recorded with (inspection, unit, request, creator,
// creation time, ledger number) never changes. moved says whether the row
// became f (false: it was there already, a retry).
func (s *Store) applyFindingChange(p *pipeline, f casework.Finding, e casework.Event) (moved bool, _ error) {
	row, err := findingParams(f)
	if err != nil {
		return false, err
	}
	if e.SubjectType == "" {
		e.SubjectType = casework.SubjectFinding
	}
	if e.SubjectID == "" {
		e.SubjectID = f.ID
	}
	// One round trip for the row and its event's chain, one for the event
	// and COMMIT.
	var n int64
	queue(p, &n, (*dbsqlc.Queries).UpdateFinding, dbsqlc.UpdateFindingParams{
		ID: row.ID, Title: row.Title, Description: row.Description, Kind: row.Kind, Severity: row.Severity,
		Important: row.Important, ContentArea: row.ContentArea, EvidenceIDs: row.EvidenceIDs,
		RectificationOpinion: row.RectificationOpinion, Stage: row.Stage, Diagnosis: row.Diagnosis,
		Dispositions: row.Dispositions, Referral: row.Referral, Rectification: row.Rectification,
		Deadline: row.Deadline, DueDate: row.DueDate, DueAt: row.DueAt, DeadlineSeq: row.DeadlineSeq,
		Overdue: row.Overdue, MissedDeadlines: row.MissedDeadlines, ReopenCount: row.ReopenCount,
		WithdrawReason: row.WithdrawReason, UpdatedAt: row.UpdatedAt, Version: row.Version,
		Extensions: row.Extensions, OriginalDue: row.OriginalDue, Signoffs: row.Signoffs, ClueReferrals: row.ClueReferrals,
	})
	pending, err := queueEvent(p, e)
	if err != nil {
		return false, err
	}
	if err := p.flush(); err != nil {
		return false, fmt.Errorf("writing finding %q at version %d: %w", f.ID, f.Version, err)
	}
	if n == 0 {
		exists, err := p.q().FindingExists(p.ctx, f.ID)
		if err != nil {
			return false, fmt.Errorf("reading finding %q: %w", f.ID, err)
		}
		if !exists {
			return false, fmt.Errorf("finding %q: %w", f.ID, derrors.ErrNotFound)
		}
		// Not newer than the row: a retry of a change already applied.
	}
	return n == 1, s.appendQueued(p, pending, n == 1)
}

// ApplyFindingChange writes one change of a finding in one transaction: the
// row becomes f when f.Version is above the stored version (otherwise the
// change was already applied and the row stays), and e is appended unless
// its key was already used for the finding. e's subject defaults to the
// finding. A finding not in the ledger is derrors.ErrNotFound.
func (s *Store) ApplyFindingChange(ctx context.Context, f casework.Finding, e casework.Event) error {
	_, err := s.ApplyFindingChangeMoved(ctx, f, e)
	return err
}

// ApplyFindingChangeMoved is ApplyFindingChange saying whether the row
// became f: false when an earlier call had written the change (a retry,
// answered with nothing written), whose row may differ from f in what the
// caller computed anew.
func (s *Store) ApplyFindingChangeMoved(ctx context.Context, f casework.Finding, e casework.Event) (moved bool, err error) {
	err = s.inPipeline(ctx, func(p *pipeline) error {
		moved, err = s.applyFindingChange(p, f, e)
		return err
	})
	return moved, err
}

// decodeJSON unmarshals a nullable JSON column into *dst, leaving nil for NULL.
func decodeJSON[T any](b []byte, dst **T) error {
	if b == nil {
		*dst = nil
		return nil
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	*dst = v
	return nil
}

// decodeList unmarshals a nullable JSON array column into *dst, leaving nil
// for NULL.
func decodeList[T any](b []byte, dst *[]T) error {
	if b == nil {
		*dst = nil
		return nil
	}
	return json.Unmarshal(b, dst)
}

// findingFromRow is the Finding a row holds.
func findingFromRow(r dbsqlc.Finding) (casework.Finding, error) {
	f := casework.Finding{
		Lifecycle: casework.Lifecycle{ID: r.ID, WorkflowID: r.WorkflowID, RequestID: r.RequestID, UnitCode: r.UnitCode, Stage: r.Stage,
			DeadlineSeq: r.DeadlineSeq, Overdue: r.Overdue, MissedDeadlines: r.MissedDeadlines,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version},
		InspectionID: r.InspectionID, LedgerNumber: orZero(r.LedgerNumber), UnitName: r.UnitName, Title: r.Title,
		Description: r.Description, Kind: r.Kind, Severity: r.Severity, Important: r.Important,
		ContentArea: r.ContentArea, EvidenceIDs: nilIfEmpty(r.EvidenceIDs),
		RectificationOpinion: r.RectificationOpinion, Dispositions: nilIfEmpty(r.Dispositions),
		ReopenCount: r.ReopenCount, WithdrawReason: r.WithdrawReason,
	}
	if r.OriginalDue != nil {
		f.OriginalDue = r.OriginalDue.Format(time.DateOnly)
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"diagnosis", decodeJSON(r.Diagnosis, &f.Diagnosis)},
		{"referral", decodeJSON(r.Referral, &f.Referral)},
		{"rectification", decodeJSON(r.Rectification, &f.Rectification)},
		{"deadline", decodeJSON(r.Deadline, &f.Deadline)},
		{"found_by", json.Unmarshal(r.FoundBy, &f.FoundBy)},
		{"extensions", decodeList(r.Extensions, &f.Extensions)},
		{"signoffs", decodeList(r.Signoffs, &f.Signoffs)},
		{"clue_referrals", decodeList(r.ClueReferrals, &f.ClueReferrals)},
	} {
		if c.err != nil {
			return casework.Finding{}, fmt.Errorf("decoding %s of finding %q: %w", c.name, f.ID, c.err)
		}
	}
	return f, nil
}

// NumberedFinding is the finding a ledger number (问题编号) names.
type NumberedFinding struct {
	ID, InspectionID, RequestID string
}

// FindingsByLedgerNumber returns the findings the ledger numbers name, by
// number; a number that names none is left out.
func (s *Store) FindingsByLedgerNumber(ctx context.Context, numbers []string) (map[string]NumberedFinding, error) {
	out := map[string]NumberedFinding{}
	if len(numbers) == 0 {
		return out, nil
	}
	rows, err := s.q.FindingsByLedgerNumber(ctx, numbers)
	if err != nil {
		return nil, fmt.Errorf("reading findings by ledger number: %w", err)
	}
	for _, r := range rows {
		out[r.LedgerNumber] = NumberedFinding{ID: r.ID, InspectionID: r.InspectionID, RequestID: r.RequestID}
	}
	return out, nil
}

// GetFinding reads one finding; a missing one is derrors.ErrNotFound.
func (s *Store) GetFinding(ctx context.Context, id string) (casework.Finding, error) {
	r, err := s.q.GetFinding(ctx, id)
	if err != nil {
		return casework.Finding{}, notFound(err, "finding", id)
	}
	return findingFromRow(r)
}

// FindingFilter narrows ListFindings; empty fields (nil Overdue) match all.
type FindingFilter struct {
	InspectionID string
	UnitCode     string
	Stage        string
	Kind         string
	Severity     string
	Overdue      *bool
	// Reach is the caller's scope.
	Reach Reach
}

// FindingPage is one page of ListFindings.
type FindingPage struct {
	Findings      []casework.Finding
	NextPageToken string
}

// ListFindings pages through the findings that match filter, oldest first
// (created_at, then ID). pageSize must come from PageSize; pageToken is
// empty or a NextPageToken of an earlier page.
func (s *Store) ListFindings(ctx context.Context, filter FindingFilter, pageSize int, pageToken string) (FindingPage, error) {
	list, next, err := listPage("findings", pageSize, pageToken,
		func(afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.Finding, error) {
			return s.listFindingRows(ctx, filter, afterAt, afterID, limit)
		},
		findingFromRow, func(f casework.Finding) cursor { return cursor{At: f.CreatedAt, ID: f.ID} })
	return FindingPage{Findings: list, NextPageToken: next}, err
}

// OpenDeadlineWorkflows returns the workflow IDs of the findings whose
// rectification deadline runs (stage REFERRED) or, while they are open,
// whose clue referral awaits its receipt or sign-off is pending, of the
// inspections whose report or rectification deadline runs, and of the
// invitations awaiting their answer, sorted, so that a calendar change can
// re-date them.
func (s *Store) OpenDeadlineWorkflows(ctx context.Context) ([]string, error) {
	ids, err := s.q.OpenDeadlineWorkflows(ctx, findingStageReferred)
	if err != nil {
		return nil, fmt.Errorf("listing findings with a running deadline: %w", err)
	}
	return ids, nil
}
