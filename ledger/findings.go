package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
)

// findingStageReferred is the stage in which a finding's rectification
// deadline runs (DESIGN §2); the workflows own the full list of stages.
const findingStageReferred = "REFERRED"

// PostgreSQL SQLSTATE codes the ledger maps to domain errors.
const (
	pgForeignKeyViolation = "23503"
	pgUniqueViolation     = "23505"
)

// findingRow is a Finding as column values: JSON columns encoded, NULLs for
// what is absent, the derived due date and instant.
type findingRow struct {
	evidenceIDs   []string
	diagnosis     []byte
	dispositions  []string
	referral      []byte
	rectification []byte
	deadline      []byte
	dueDate       *time.Time
	dueAt         *time.Time
	foundBy       []byte
}

// jsonOrNull encodes v, or returns nil (SQL NULL) when isNil.
func jsonOrNull(v any, isNil bool) ([]byte, error) {
	if isNil {
		return nil, nil
	}
	return json.Marshal(v)
}

// nonNil makes an absent list an empty array: the array columns are NOT NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nilIfEmpty undoes nonNil on the way out, so a row reads back as written.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func encodeFinding(f Finding) (findingRow, error) {
	r := findingRow{evidenceIDs: nonNil(f.EvidenceIDs), dispositions: nonNil(f.Dispositions)}
	var err error
	if r.diagnosis, err = jsonOrNull(f.Diagnosis, f.Diagnosis == nil); err != nil {
		return findingRow{}, fmt.Errorf("encoding diagnosis of finding %q: %w", f.ID, err)
	}
	if r.referral, err = jsonOrNull(f.Referral, f.Referral == nil); err != nil {
		return findingRow{}, fmt.Errorf("encoding referral of finding %q: %w", f.ID, err)
	}
	if r.rectification, err = jsonOrNull(f.Rectification, f.Rectification == nil); err != nil {
		return findingRow{}, fmt.Errorf("encoding rectification of finding %q: %w", f.ID, err)
	}
	if r.deadline, err = jsonOrNull(f.Deadline, f.Deadline == nil); err != nil {
		return findingRow{}, fmt.Errorf("encoding deadline of finding %q: %w", f.ID, err)
	}
	if f.Deadline != nil {
		d := f.Deadline.Due
		dueDate := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		dueAt := f.Deadline.DueAt
		r.dueDate, r.dueAt = &dueDate, &dueAt
	}
	if r.foundBy, err = json.Marshal(f.FoundBy); err != nil {
		return findingRow{}, fmt.Errorf("encoding found_by of finding %q: %w", f.ID, err)
	}
	return r, nil
}

const insertFinding = `
INSERT INTO findings (id, workflow_id, inspection_id, request_id, unit_code, unit_name, title, description,
                      kind, severity, important, content_area, evidence_ids, rectification_opinion, stage,
                      diagnosis, dispositions, referral, rectification, deadline, due_date, due_at,
                      deadline_seq, overdue, missed_deadlines, reopen_count, withdraw_reason, found_by,
                      created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
        $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
ON CONFLICT (id) DO NOTHING`

// checkRecordingWindow refuses a new finding unless its inspection's stage,
// read and share-locked in tx, is one of stages.
func checkRecordingWindow(ctx context.Context, tx pgx.Tx, f Finding, stages []string) error {
	var retry bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM findings WHERE id = $1 AND request_id = $2)`,
		f.ID, f.RequestID).Scan(&retry); err != nil {
		return fmt.Errorf("reading finding %q: %w", f.ID, err)
	}
	if retry {
		return nil
	}
	var stage, workflowID string
	err := tx.QueryRow(ctx, `SELECT stage, workflow_id FROM inspections WHERE id = $1 FOR SHARE`, f.InspectionID).Scan(&stage, &workflowID)
	if errors.Is(err, pgx.ErrNoRows) {
		return derrors.New(derrors.ErrNotFound, "inspection %q not found", f.InspectionID)
	}
	if err != nil {
		return fmt.Errorf("reading inspection %q: %w", f.InspectionID, err)
	}
	if slices.Contains(stages, stage) {
		return nil
	}
	return &derrors.StageError{
		Reason: "STAGE_NOT_ALLOWED", Subject: workflowID, Action: "recordFinding", Stage: stage, Allowed: stages,
		Message: fmt.Sprintf("inspection %q is %s: findings are recorded while the team is on site, until it reports (%s)",
			f.InspectionID, stage, strings.Join(stages, ", ")),
	}
}

// lockFindingForNumber reads what numbering needs from a recorded row and
// locks it, so that concurrent retries assign one number.
const lockFindingForNumber = `
SELECT COALESCE(ledger_number, ''), unit_code, created_at FROM findings WHERE id = $1 FOR UPDATE`

// nextLedgerSequence takes the next number of a year and unit.
const nextLedgerSequence = `
INSERT INTO ledger_sequences (year, unit_code, last) VALUES ($1, $2, 1)
ON CONFLICT (year, unit_code) DO UPDATE SET last = ledger_sequences.last + 1
RETURNING last`

const setLedgerNumber = `UPDATE findings SET ledger_number = $2 WHERE id = $1`

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
func (s *Store) RecordFinding(ctx context.Context, f Finding, eventKey string, inspectionStages ...string) (ledgerNumber string, err error) {
	if f.ID == "" || eventKey == "" {
		return "", fmt.Errorf("recording a finding needs its ID and an event key: %w", derrors.ErrInvalidArgument)
	}
	row, err := encodeFinding(f)
	if err != nil {
		return "", err
	}
	evidence, err := json.Marshal(row.evidenceIDs)
	if err != nil {
		return "", fmt.Errorf("encoding evidence of finding %q: %w", f.ID, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(inspectionStages) > 0 {
			if err := checkRecordingWindow(ctx, tx, f, inspectionStages); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, insertFinding, f.ID, f.WorkflowID, f.InspectionID, f.RequestID, f.UnitCode,
			f.UnitName, f.Title, f.Description, f.Kind, f.Severity, f.Important, f.ContentArea, row.evidenceIDs,
			f.RectificationOpinion, f.Stage, row.diagnosis, row.dispositions, row.referral, row.rectification,
			row.deadline, row.dueDate, row.dueAt, f.DeadlineSeq, f.Overdue, f.MissedDeadlines, f.ReopenCount,
			f.WithdrawReason, row.foundBy, f.CreatedAt, f.UpdatedAt, f.Version); err != nil {
			var pgErr *pgconn.PgError
			switch {
			case errors.As(err, &pgErr) && pgErr.Code == pgForeignKeyViolation:
				return fmt.Errorf("recording finding %q: inspection %q: %w", f.ID, f.InspectionID, derrors.ErrNotFound)
			case errors.As(err, &pgErr) && pgErr.Code == pgUniqueViolation:
				// Not the ID (ON CONFLICT covers it): another finding has this workflow ID.
				return derrors.New(derrors.ErrAlreadyExists, "recording finding %q: workflow ID %q belongs to another finding", f.ID, f.WorkflowID)
			}
			return fmt.Errorf("inserting finding %q: %w", f.ID, err)
		}
		// Number the stored row, not f: a retry sees the first write's values.
		var unitCode string
		var createdAt time.Time
		if err := tx.QueryRow(ctx, lockFindingForNumber, f.ID).Scan(&ledgerNumber, &unitCode, &createdAt); err != nil {
			return fmt.Errorf("reading finding %q to number it: %w", f.ID, err)
		}
		if ledgerNumber == "" {
			year := createdAt.In(calendar.Location()).Year()
			var seq int
			if err := tx.QueryRow(ctx, nextLedgerSequence, year, unitCode).Scan(&seq); err != nil {
				return fmt.Errorf("numbering finding %q: %w", f.ID, err)
			}
			ledgerNumber = LedgerNumber(year, unitCode, seq)
			if _, err := tx.Exec(ctx, setLedgerNumber, f.ID, ledgerNumber); err != nil {
				return fmt.Errorf("numbering finding %q: %w", f.ID, err)
			}
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
		return appendEvent(ctx, tx, Event{
			SubjectType: SubjectFinding,
			SubjectID:   f.ID,
			Key:         eventKey,
			Action:      "record",
			StageAfter:  f.Stage,
			Actor:       f.FoundBy,
			Evidence:    evidence,
			Data:        data,
			OccurredAt:  f.CreatedAt,
		})
	})
	if err != nil {
		return "", err
	}
	return ledgerNumber, nil
}

// updateFinding writes the mutable columns; what a finding was recorded with
// (inspection, unit, request, creator, creation time, ledger number) never
// changes.
const updateFinding = `
UPDATE findings SET
  title = $2, description = $3, kind = $4, severity = $5, important = $6, content_area = $7,
  evidence_ids = $8, rectification_opinion = $9, stage = $10, diagnosis = $11, dispositions = $12,
  referral = $13, rectification = $14, deadline = $15, due_date = $16, due_at = $17, deadline_seq = $18,
  overdue = $19, missed_deadlines = $20, reopen_count = $21, withdraw_reason = $22, updated_at = $23,
  version = $24
WHERE id = $1 AND version < $24`

const findingExists = `SELECT EXISTS (SELECT 1 FROM findings WHERE id = $1)`

// applyFindingChange updates the row to f if f.Version is above the stored
// one and appends e if its key is new; a missing row is derrors.ErrNotFound.
func applyFindingChange(ctx context.Context, tx pgx.Tx, f Finding, e Event) error {
	row, err := encodeFinding(f)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, updateFinding, f.ID, f.Title, f.Description, f.Kind, f.Severity, f.Important,
		f.ContentArea, row.evidenceIDs, f.RectificationOpinion, f.Stage, row.diagnosis, row.dispositions,
		row.referral, row.rectification, row.deadline, row.dueDate, row.dueAt, f.DeadlineSeq, f.Overdue,
		f.MissedDeadlines, f.ReopenCount, f.WithdrawReason, f.UpdatedAt, f.Version)
	if err != nil {
		return fmt.Errorf("updating finding %q to version %d: %w", f.ID, f.Version, err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := tx.QueryRow(ctx, findingExists, f.ID).Scan(&exists); err != nil {
			return fmt.Errorf("reading finding %q: %w", f.ID, err)
		}
		if !exists {
			return fmt.Errorf("finding %q: %w", f.ID, derrors.ErrNotFound)
		}
		// Not newer than the row: a retry of a change already applied.
	}
	if e.SubjectType == "" {
		e.SubjectType = SubjectFinding
	}
	if e.SubjectID == "" {
		e.SubjectID = f.ID
	}
	return appendEvent(ctx, tx, e)
}

// ApplyFindingChange writes one change of a finding in one transaction: the
// row becomes f when f.Version is above the stored version (otherwise the
// change was already applied and the row stays), and e is appended unless
// its key was already used for the finding. e's subject defaults to the
// finding. A finding not in the ledger is derrors.ErrNotFound.
func (s *Store) ApplyFindingChange(ctx context.Context, f Finding, e Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return applyFindingChange(ctx, tx, f, e) })
}

const selectFindingColumns = `
SELECT id, workflow_id, inspection_id, request_id, COALESCE(ledger_number, ''), unit_code, unit_name, title,
       description, kind, severity, important, content_area, evidence_ids, rectification_opinion, stage,
       diagnosis, dispositions, referral, rectification, deadline, deadline_seq, overdue, missed_deadlines,
       reopen_count, withdraw_reason, found_by, created_at, updated_at, version
FROM findings`

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

func scanFinding(row pgx.Row) (Finding, error) {
	var f Finding
	var diagnosis, referral, rectification, deadline, foundBy []byte
	err := row.Scan(&f.ID, &f.WorkflowID, &f.InspectionID, &f.RequestID, &f.LedgerNumber, &f.UnitCode, &f.UnitName,
		&f.Title, &f.Description, &f.Kind, &f.Severity, &f.Important, &f.ContentArea, &f.EvidenceIDs,
		&f.RectificationOpinion, &f.Stage, &diagnosis, &f.Dispositions, &referral, &rectification, &deadline,
		&f.DeadlineSeq, &f.Overdue, &f.MissedDeadlines, &f.ReopenCount, &f.WithdrawReason, &foundBy,
		&f.CreatedAt, &f.UpdatedAt, &f.Version)
	if err != nil {
		return Finding{}, err
	}
	f.EvidenceIDs, f.Dispositions = nilIfEmpty(f.EvidenceIDs), nilIfEmpty(f.Dispositions)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"diagnosis", decodeJSON(diagnosis, &f.Diagnosis)},
		{"referral", decodeJSON(referral, &f.Referral)},
		{"rectification", decodeJSON(rectification, &f.Rectification)},
		{"deadline", decodeJSON(deadline, &f.Deadline)},
		{"found_by", json.Unmarshal(foundBy, &f.FoundBy)},
	} {
		if c.err != nil {
			return Finding{}, fmt.Errorf("decoding %s of finding %q: %w", c.name, f.ID, c.err)
		}
	}
	return f, nil
}

// GetFinding reads one finding; a missing one is derrors.ErrNotFound.
func (s *Store) GetFinding(ctx context.Context, id string) (Finding, error) {
	f, err := scanFinding(s.pool.QueryRow(ctx, selectFindingColumns+` WHERE id = $1`, id))
	if err != nil {
		return Finding{}, notFound(err, fmt.Sprintf("finding %q", id))
	}
	return f, nil
}

// FindingFilter narrows ListFindings; empty fields (nil Overdue) match all.
type FindingFilter struct {
	InspectionID string
	UnitCode     string
	Stage        string
	Kind         string
	Severity     string
	Overdue      *bool
}

// FindingPage is one page of ListFindings.
type FindingPage struct {
	Findings      []Finding
	NextPageToken string
}

const listFindings = selectFindingColumns + `
WHERE ($1::text = '' OR inspection_id = $1)
  AND ($2::text = '' OR unit_code = $2)
  AND ($3::text = '' OR stage = $3)
  AND ($4::text = '' OR kind = $4)
  AND ($5::text = '' OR severity = $5)
  AND ($6::boolean IS NULL OR overdue = $6)
  AND ($7::timestamptz IS NULL OR (created_at, id) > ($7, $8::text))
ORDER BY created_at, id
LIMIT $9`

// ListFindings pages through the findings that match filter, oldest first
// (created_at, then ID). pageSize must come from PageSize; pageToken is
// empty or a NextPageToken of an earlier page.
func (s *Store) ListFindings(ctx context.Context, filter FindingFilter, pageSize int, pageToken string) (FindingPage, error) {
	list, next, err := listPage(ctx, s.pool, "findings", listFindings,
		[]any{filter.InspectionID, filter.UnitCode, filter.Stage, filter.Kind, filter.Severity, filter.Overdue},
		pageSize, pageToken, scanFinding, func(f Finding) cursor { return cursor{At: f.CreatedAt, ID: f.ID} })
	return FindingPage{Findings: list, NextPageToken: next}, err
}

const openDeadlineWorkflows = `
SELECT workflow_id FROM findings WHERE stage = $1
UNION
SELECT workflow_id FROM inspections WHERE stage IN ('ONSITE_ENDED', 'FEEDBACK_GIVEN')
ORDER BY workflow_id`

// OpenDeadlineWorkflows returns the workflow IDs of the findings whose
// rectification deadline runs (stage REFERRED) and of the inspections whose
// report or rectification deadline runs, sorted, so that a calendar change
// can re-date them.
func (s *Store) OpenDeadlineWorkflows(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, openDeadlineWorkflows, findingStageReferred)
	if err != nil {
		return nil, fmt.Errorf("listing findings with a running deadline: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing findings with a running deadline: %w", err)
	}
	return ids, nil
}
