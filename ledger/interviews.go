package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// SubjectInterview marks events of an interview.
const SubjectInterview = "interview"

// interviewStageHeld is the stage in which an interview's follow-up deadline
// runs; the workflows own the full list of stages.
const interviewStageHeld = "HELD"

// interviewStageProposed is the stage of an interview not yet approved.
const interviewStageProposed = "PROPOSED"

// Interview is an interview's ledger row: the projection of its workflow's
// state. The workflow carries it (JSON) as its state and activities write it
// whole.
type Interview struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	RequestID  string `json:"request_id"`
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject  string `json:"subject"`
	UnitCode string `json:"unit_code"`
	Reason   string `json:"reason"`
	// Source is LADDER, TEAM or OFFICE.
	Source     string       `json:"source"`
	Stage      string       `json:"stage"`
	ProposedBy actor.Actor  `json:"proposed_by"`
	ApprovedBy *actor.Actor `json:"approved_by,omitempty"`
	// HeldOn is the day held, YYYY-MM-DD.
	HeldOn              string             `json:"held_on,omitempty"`
	Attendees           []string           `json:"attendees,omitempty"`
	Minutes             string             `json:"minutes,omitempty"`
	Requirements        string             `json:"requirements,omitempty"`
	FollowUpWorkingDays int                `json:"follow_up_working_days,omitempty"`
	FollowUpDeadline    *calendar.Deadline `json:"follow_up_deadline,omitempty"`
	// DeadlineSeq counts the follow-up deadlines started; escalations are
	// keyed by it.
	DeadlineSeq         int        `json:"deadline_seq,omitempty"`
	FollowUpReport      string     `json:"follow_up_report,omitempty"`
	FollowUpEvidenceIDs []string   `json:"follow_up_evidence_ids,omitempty"`
	FollowUpReportedAt  *time.Time `json:"follow_up_reported_at,omitempty"`
	Overdue             bool       `json:"overdue,omitempty"`
	MissedDeadlines     int        `json:"missed_deadlines,omitempty"`
	CancelReason        string     `json:"cancel_reason,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	// Version counts the changes applied; a write with a version not above
	// the row's is a retry and changes nothing.
	Version int `json:"version"`
}

// interviewRow is an Interview as column values.
type interviewRow struct {
	proposedBy, approvedBy, deadline []byte
	heldOn, dueAt                    *time.Time
	attendees, evidenceIDs           []string
}

func encodeInterview(iv Interview) (interviewRow, error) {
	r := interviewRow{attendees: nonNil(iv.Attendees), evidenceIDs: nonNil(iv.FollowUpEvidenceIDs)}
	var err error
	if r.proposedBy, err = json.Marshal(iv.ProposedBy); err != nil {
		return interviewRow{}, fmt.Errorf("encoding proposed_by of interview %q: %w", iv.ID, err)
	}
	if r.approvedBy, err = jsonOrNull(iv.ApprovedBy, iv.ApprovedBy == nil); err != nil {
		return interviewRow{}, fmt.Errorf("encoding approved_by of interview %q: %w", iv.ID, err)
	}
	if r.deadline, err = jsonOrNull(iv.FollowUpDeadline, iv.FollowUpDeadline == nil); err != nil {
		return interviewRow{}, fmt.Errorf("encoding follow_up_deadline of interview %q: %w", iv.ID, err)
	}
	if iv.FollowUpDeadline != nil {
		dueAt := iv.FollowUpDeadline.DueAt
		r.dueAt = &dueAt
	}
	if iv.HeldOn != "" {
		d, err := calendar.ParseDate(iv.HeldOn)
		if err != nil {
			return interviewRow{}, fmt.Errorf("held_on of interview %q: %w", iv.ID, derrors.ErrInvalidArgument)
		}
		t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		r.heldOn = &t
	}
	return r, nil
}

const insertInterview = `
INSERT INTO interviews (id, workflow_id, request_id, subject, unit_code, reason, source, stage, proposed_by,
                        approved_by, held_on, attendees, minutes, requirements, follow_up_working_days,
                        follow_up_deadline, due_at, deadline_seq, follow_up_report, follow_up_evidence_ids,
                        follow_up_reported_at, overdue, missed_deadlines, cancel_reason, created_at, updated_at,
                        version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
        $23, $24, $25, $26, $27)
ON CONFLICT (id) DO NOTHING`

// CreateInterview writes a new interview's row and its event (normally
// "propose") in one transaction. Retrying it adds nothing: the row is keyed
// by ID and the event by its key. A workflow ID that another interview has
// is derrors.ErrAlreadyExists.
func (s *Store) CreateInterview(ctx context.Context, iv Interview, e Event) error {
	if iv.ID == "" || e.Key == "" {
		return fmt.Errorf("creating an interview needs its ID and an event key: %w", derrors.ErrInvalidArgument)
	}
	r, err := encodeInterview(iv)
	if err != nil {
		return err
	}
	e.SubjectType, e.SubjectID = SubjectInterview, iv.ID
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertInterview, iv.ID, iv.WorkflowID, iv.RequestID, iv.Subject, iv.UnitCode,
			iv.Reason, iv.Source, iv.Stage, r.proposedBy, r.approvedBy, r.heldOn, r.attendees, iv.Minutes,
			iv.Requirements, iv.FollowUpWorkingDays, r.deadline, r.dueAt, iv.DeadlineSeq, iv.FollowUpReport,
			r.evidenceIDs, iv.FollowUpReportedAt, iv.Overdue, iv.MissedDeadlines, iv.CancelReason, iv.CreatedAt,
			iv.UpdatedAt, iv.Version); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == pgUniqueViolation {
				return derrors.New(derrors.ErrAlreadyExists, "creating interview %q: workflow ID %q belongs to another interview", iv.ID, iv.WorkflowID)
			}
			return fmt.Errorf("inserting interview %q: %w", iv.ID, err)
		}
		return appendEvent(ctx, tx, e)
	})
}

// updateInterview writes the mutable columns; what an interview was proposed
// with (subject, unit, reason, source, proposer) never changes.
const updateInterview = `
UPDATE interviews SET stage = $2, approved_by = $3, held_on = $4, attendees = $5, minutes = $6,
       requirements = $7, follow_up_working_days = $8, follow_up_deadline = $9, due_at = $10,
       deadline_seq = $11, follow_up_report = $12, follow_up_evidence_ids = $13, follow_up_reported_at = $14,
       overdue = $15, missed_deadlines = $16, cancel_reason = $17, updated_at = $18, version = $19
WHERE id = $1 AND version < $19`

// ApplyInterviewChange writes one change of an interview in one transaction:
// the row becomes iv when iv.Version is above the stored one (else the
// change is a retry and the row stays), and e is appended when it has a key
// (idempotent by key). A missing interview is derrors.ErrNotFound.
func (s *Store) ApplyInterviewChange(ctx context.Context, iv Interview, e Event) error {
	r, err := encodeInterview(iv)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, updateInterview, iv.ID, iv.Stage, r.approvedBy, r.heldOn, r.attendees, iv.Minutes,
			iv.Requirements, iv.FollowUpWorkingDays, r.deadline, r.dueAt, iv.DeadlineSeq, iv.FollowUpReport,
			r.evidenceIDs, iv.FollowUpReportedAt, iv.Overdue, iv.MissedDeadlines, iv.CancelReason, iv.UpdatedAt,
			iv.Version)
		if err != nil {
			return fmt.Errorf("updating interview %q: %w", iv.ID, err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM interviews WHERE id = $1)`, iv.ID).Scan(&exists); err != nil {
				return fmt.Errorf("reading interview %q: %w", iv.ID, err)
			}
			if !exists {
				return fmt.Errorf("interview %q: %w", iv.ID, derrors.ErrNotFound)
			}
		}
		if e.Key == "" {
			return nil
		}
		e.SubjectType, e.SubjectID = SubjectInterview, iv.ID
		return appendEvent(ctx, tx, e)
	})
}

const selectInterviewColumns = `
SELECT id, workflow_id, request_id, subject, unit_code, reason, source, stage, proposed_by, approved_by,
       held_on, attendees, minutes, requirements, follow_up_working_days, follow_up_deadline, deadline_seq,
       follow_up_report, follow_up_evidence_ids, follow_up_reported_at, overdue, missed_deadlines,
       cancel_reason, created_at, updated_at, version
FROM interviews`

func scanInterview(row pgx.Row) (Interview, error) {
	var iv Interview
	var proposedBy, approvedBy, deadline []byte
	var heldOn *time.Time
	err := row.Scan(&iv.ID, &iv.WorkflowID, &iv.RequestID, &iv.Subject, &iv.UnitCode, &iv.Reason, &iv.Source,
		&iv.Stage, &proposedBy, &approvedBy, &heldOn, &iv.Attendees, &iv.Minutes, &iv.Requirements,
		&iv.FollowUpWorkingDays, &deadline, &iv.DeadlineSeq, &iv.FollowUpReport, &iv.FollowUpEvidenceIDs,
		&iv.FollowUpReportedAt, &iv.Overdue, &iv.MissedDeadlines, &iv.CancelReason, &iv.CreatedAt, &iv.UpdatedAt,
		&iv.Version)
	if err != nil {
		return Interview{}, err
	}
	iv.Attendees, iv.FollowUpEvidenceIDs = nilIfEmpty(iv.Attendees), nilIfEmpty(iv.FollowUpEvidenceIDs)
	if heldOn != nil {
		iv.HeldOn = heldOn.Format(time.DateOnly)
	}
	if err := json.Unmarshal(proposedBy, &iv.ProposedBy); err != nil {
		return Interview{}, fmt.Errorf("decoding proposed_by of interview %q: %w", iv.ID, err)
	}
	if err := decodeJSON(approvedBy, &iv.ApprovedBy); err != nil {
		return Interview{}, fmt.Errorf("decoding approved_by of interview %q: %w", iv.ID, err)
	}
	if err := decodeJSON(deadline, &iv.FollowUpDeadline); err != nil {
		return Interview{}, fmt.Errorf("decoding follow_up_deadline of interview %q: %w", iv.ID, err)
	}
	return iv, nil
}

// GetInterview reads one interview; a missing one is derrors.ErrNotFound.
func (s *Store) GetInterview(ctx context.Context, id string) (Interview, error) {
	iv, err := scanInterview(s.pool.QueryRow(ctx, selectInterviewColumns+` WHERE id = $1`, id))
	if err != nil {
		return Interview{}, notFound(err, fmt.Sprintf("interview %q", id))
	}
	return iv, nil
}

// InterviewFilter narrows ListInterviews; empty fields match all.
type InterviewFilter struct {
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject  string
	UnitCode string
}

// InterviewPage is one page of ListInterviews.
type InterviewPage struct {
	Interviews    []Interview
	NextPageToken string
}

const listInterviews = selectInterviewColumns + `
WHERE ($1::text = '' OR subject = $1)
  AND ($2::text = '' OR unit_code = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::text))
ORDER BY created_at, id
LIMIT $5`

// ListInterviews pages through the interviews that match filter, oldest
// first (created_at, then ID). pageSize must come from PageSize; pageToken is
// empty or a NextPageToken of an earlier page.
func (s *Store) ListInterviews(ctx context.Context, filter InterviewFilter, pageSize int, pageToken string) (InterviewPage, error) {
	list, next, err := listPage(ctx, s.pool, "interviews", listInterviews, []any{filter.Subject, filter.UnitCode},
		pageSize, pageToken, scanInterview, func(i Interview) cursor { return cursor{At: i.CreatedAt, ID: i.ID} })
	return InterviewPage{Interviews: list, NextPageToken: next}, err
}

const openInterviewDeadlines = `
SELECT workflow_id FROM interviews WHERE stage = $1 ORDER BY workflow_id`

// OpenInterviewDeadlines returns the workflow IDs of the interviews whose
// follow-up deadline runs (stage HELD), sorted, so that a calendar change
// can re-date them too.
func (s *Store) OpenInterviewDeadlines(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, openInterviewDeadlines, interviewStageHeld)
	if err != nil {
		return nil, fmt.Errorf("listing interviews with a running deadline: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing interviews with a running deadline: %w", err)
	}
	return ids, nil
}

const proposedInterviews = `
SELECT id FROM interviews WHERE subject = $1 AND source = $2 AND stage = $3 ORDER BY id`

// ProposedInterviews returns the IDs of the interviews about subject
// ("finding/<id>" or "inspection/<id>") proposed by source (e.g. LADDER)
// and not yet approved (stage PROPOSED), sorted: those a subject's end
// makes moot.
func (s *Store) ProposedInterviews(ctx context.Context, subject, source string) ([]string, error) {
	rows, err := s.pool.Query(ctx, proposedInterviews, subject, source, interviewStageProposed)
	if err != nil {
		return nil, fmt.Errorf("listing the proposed interviews of %s: %w", subject, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the proposed interviews of %s: %w", subject, err)
	}
	return ids, nil
}

// SubjectUnit returns the unit code of a subject, "finding/<id>" or
// "inspection/<id>", checking that it exists: a missing one is
// derrors.ErrNotFound, another form derrors.ErrInvalidArgument.
func (s *Store) SubjectUnit(ctx context.Context, subject string) (string, error) {
	typ, id, err := ParseSubject(subject)
	if err != nil {
		return "", err
	}
	var unit string
	switch typ {
	case SubjectFinding:
		err = s.pool.QueryRow(ctx, `SELECT unit_code FROM findings WHERE id = $1`, id).Scan(&unit)
	default:
		err = s.pool.QueryRow(ctx, `SELECT unit_code FROM inspections WHERE id = $1`, id).Scan(&unit)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return "", derrors.New(derrors.ErrNotFound, "%s %q not found", typ, id)
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", subject, err)
	}
	return unit, nil
}

// ParseSubject splits "finding/<id>" or "inspection/<id>" into the event
// subject type and the ID; anything else is an *derrors.InvalidError on
// field "subject".
func ParseSubject(subject string) (subjectType, id string, err error) {
	for _, typ := range []string{SubjectFinding, SubjectInspection} {
		if rest, ok := strings.CutPrefix(subject, typ+"/"); ok && rest != "" && !strings.Contains(rest, "/") {
			return typ, rest, nil
		}
	}
	return "", "", derrors.Invalid("subject", `must be "finding/<id>" or "inspection/<id>"`)
}
