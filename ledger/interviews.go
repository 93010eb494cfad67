package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// interviewStageHeld is the stage in which an interview's follow-up deadline
// runs; the workflows own the full list of stages.
const interviewStageHeld = "HELD"

// interviewStageProposed is the stage of an interview not yet approved.
const interviewStageProposed = "PROPOSED"

// interviewParams is iv as the columns of its row: JSON columns encoded,
// NULLs for what is absent, the follow-up deadline's end as due_at.
func interviewParams(iv casework.Interview) (dbsqlc.InsertInterviewParams, error) {
	p := dbsqlc.InsertInterviewParams{
		ID: iv.ID, WorkflowID: iv.WorkflowID, RequestID: iv.RequestID, Subject: iv.Subject, UnitCode: iv.UnitCode,
		Reason: iv.Reason, Source: iv.Source, Stage: iv.Stage, Attendees: orEmpty(iv.Attendees),
		Minutes: iv.Minutes, Requirements: iv.Requirements, FollowUpWorkingDays: iv.FollowUpWorkingDays,
		DeadlineSeq: iv.DeadlineSeq, FollowUpReport: iv.FollowUpReport,
		FollowUpEvidenceIDs: orEmpty(iv.FollowUpEvidenceIDs), FollowUpReportedAt: iv.FollowUpReportedAt,
		Overdue: iv.Overdue, MissedDeadlines: iv.MissedDeadlines, CancelReason: iv.CancelReason,
		CreatedAt: iv.CreatedAt, UpdatedAt: iv.UpdatedAt, Version: iv.Version,
		ReasonZh: iv.ReasonZH, CancelReasonZh: iv.CancelReasonZH,
	}
	var err error
	if p.ProposedBy, err = json.Marshal(iv.ProposedBy); err != nil {
		return p, fmt.Errorf("encoding proposed_by of interview %q: %w", iv.ID, err)
	}
	if p.ApprovedBy, err = jsonOrNull(iv.ApprovedBy, iv.ApprovedBy == nil); err != nil {
		return p, fmt.Errorf("encoding approved_by of interview %q: %w", iv.ID, err)
	}
	if p.FollowUpDeadline, err = jsonOrNull(iv.FollowUpDeadline, iv.FollowUpDeadline == nil); err != nil {
		return p, fmt.Errorf("encoding follow_up_deadline of interview %q: %w", iv.ID, err)
	}
	if iv.FollowUpDeadline != nil {
		dueAt := iv.FollowUpDeadline.DueAt
		p.DueAt = &dueAt
	}
	if iv.HeldOn != "" {
		d, err := calendar.ParseDate(iv.HeldOn)
		if err != nil {
			return p, fmt.Errorf("held_on of interview %q: %w", iv.ID, derrors.ErrInvalidArgument)
		}
		t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		p.HeldOn = &t
	}
	return p, nil
}

// CreateInterview writes a new interview's row and its event (normally
// "propose") in one transaction. Retrying it adds nothing: the row is keyed
// by ID and the event by its key. A workflow ID that another interview has
// is derrors.ErrAlreadyExists. With subjectEnded (the stages that end the
// subject's lifecycle), a subject in one of them is a refusal
// (SUBJECT_ENDED: an interview about it is moot, and nothing would cancel
// it); its row is share-locked until the interview is written, so that a
// subject that ends meanwhile finds the interview among those it cancels.
func (s *Store) CreateInterview(ctx context.Context, iv casework.Interview, e casework.Event, subjectEnded []string, rules ...InterviewRule) error {
	if iv.ID == "" || e.Key == "" {
		return fmt.Errorf("creating an interview needs its ID and an event key: %w", derrors.ErrInvalidArgument)
	}
	row, err := interviewParams(iv)
	if err != nil {
		return err
	}
	e.SubjectType, e.SubjectID = casework.SubjectInterview, iv.ID
	return s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if len(subjectEnded) > 0 {
			if err := subjectOpen(ctx, q, iv.Subject, subjectEnded); err != nil {
				// A retry of a proposal its first attempt wrote while the
				// subject was open (the answer lost, the subject ended
				// since) is answered as that attempt was. Asked after the
				// refusal, under the subject's share lock, as
				// checkRecordingWindow asks again: an end that committed
				// behind the first attempt's lock comes after its row.
				// The refusal stands when the question cannot be answered.
				if retry, rerr := q.InterviewExists(ctx, iv.ID); rerr != nil || !retry {
					return err
				}
			}
		}
		if slices.Contains(rules, AloneOpen) {
			if err := aloneOpen(ctx, q, iv); err != nil {
				return err
			}
		}
		inserted, err := q.InsertInterview(ctx, row)
		if err != nil {
			return fmt.Errorf("inserting interview %q: %w", iv.ID, err)
		}
		if inserted == 0 {
			// A row holds the ID (a retry) or the workflow ID.
			exists, err := q.InterviewExists(ctx, iv.ID)
			if err != nil {
				return fmt.Errorf("reading interview %q: %w", iv.ID, err)
			}
			if !exists {
				return derrors.New(derrors.ErrAlreadyExists, "creating interview %q: workflow ID %q belongs to another interview", iv.ID, iv.WorkflowID)
			}
		}
		return s.appendEvent(ctx, q, e)
	})
}

// InterviewRule is a rule CreateInterview applies on request.
type InterviewRule string

// AloneOpen refuses an interview whose subject has another one waiting,
// PROPOSED or APPROVED (INTERVIEW_OPEN, naming it): a proposal by hand, of
// which the office and the teams sent several about one finding, each
// summoning the same leaders. One held already does not hold a new summons
// up (its unit may not have complied). Proposals take turns per subject.
const AloneOpen InterviewRule = "alone-open"

// aloneOpen applies AloneOpen to iv.
func aloneOpen(ctx context.Context, q *dbsqlc.Queries, iv casework.Interview) error {
	if err := q.LockInterviewsOf(ctx, iv.Subject); err != nil {
		return fmt.Errorf("locking the interviews of %s: %w", iv.Subject, err)
	}
	// A retry of a write that committed (its answer lost, or its first
	// attempt still writing when it began) is no new proposal: refused, its
	// workflow would end with the row PROPOSED, holding its subject up for
	// good. Asked under the lock, which the first attempt held until it
	// committed.
	written, err := q.InterviewExists(ctx, iv.ID)
	if err != nil {
		return fmt.Errorf("reading interview %q: %w", iv.ID, err)
	}
	if written {
		return nil
	}
	// The interview is not in the ledger: any waiting one is another.
	open, err := q.OpenInterviewOf(ctx, iv.Subject)
	if err != nil {
		return fmt.Errorf("reading the interviews of %s: %w", iv.Subject, err)
	}
	if len(open) == 0 {
		return nil
	}
	return derrors.StageError{Reason: "INTERVIEW_OPEN", Subject: iv.Subject, Action: "proposeInterview", Stage: open[0].Stage}.
		Says("%s already has interview %s (%s): approve, hold or cancel it rather than propose another", iv.Subject, open[0].ID,
			i18n.Term(i18n.InterviewStage, open[0].Stage))
}

// subjectOpen refuses a subject ("finding/<id>", "inspection/<id>") that
// does not exist or whose stage is one of ended, and share-locks its row.
func subjectOpen(ctx context.Context, q *dbsqlc.Queries, subject string, ended []string) error {
	typ, id, err := casework.ParseSubject(subject)
	if err != nil {
		return err
	}
	var stage string
	name := i18n.InspectionStage
	if typ == casework.SubjectFinding {
		name = i18n.FindingStage
		if stage, err = q.FindingStageForShare(ctx, id); err != nil {
			return notFound(err, typ, id)
		}
	} else {
		r, err := q.InspectionStageForShare(ctx, id)
		if err != nil {
			return notFound(err, typ, id)
		}
		stage = r.Stage
	}
	if !slices.Contains(ended, stage) {
		return nil
	}
	return derrors.StageError{Reason: "SUBJECT_ENDED", Subject: subject, Action: "proposeInterview", Stage: stage}.
		Says("%s is %s: it has ended, and an interview about it would be moot", subject, i18n.Term(name, stage))
}

// ApplyInterviewChange writes one change of an interview in one transaction:
// the row becomes iv when iv.Version is above the stored one (else the
// change is a retry and the row stays), and e is appended when it has a key
// (idempotent by key). A missing interview is derrors.ErrNotFound. What an
// interview was proposed with (subject, unit, reason, source, proposer)
// never changes.
func (s *Store) ApplyInterviewChange(ctx context.Context, iv casework.Interview, e casework.Event) error {
	row, err := interviewParams(iv)
	if err != nil {
		return err
	}
	return s.inPipeline(ctx, func(p *pipeline) error {
		q := p.q()
		n, err := q.UpdateInterview(ctx, dbsqlc.UpdateInterviewParams{
			ID: row.ID, Stage: row.Stage, ApprovedBy: row.ApprovedBy, HeldOn: row.HeldOn, Attendees: row.Attendees,
			Minutes: row.Minutes, Requirements: row.Requirements, FollowUpWorkingDays: row.FollowUpWorkingDays,
			FollowUpDeadline: row.FollowUpDeadline, DueAt: row.DueAt, DeadlineSeq: row.DeadlineSeq,
			FollowUpReport: row.FollowUpReport, FollowUpEvidenceIDs: row.FollowUpEvidenceIDs,
			FollowUpReportedAt: row.FollowUpReportedAt, Overdue: row.Overdue, MissedDeadlines: row.MissedDeadlines,
			CancelReason: row.CancelReason, CancelReasonZh: row.CancelReasonZh, UpdatedAt: row.UpdatedAt, Version: row.Version,
		})
		if err != nil {
			return fmt.Errorf("updating interview %q: %w", iv.ID, err)
		}
		if n == 0 {
			exists, err := q.InterviewExists(ctx, iv.ID)
			if err != nil {
				return fmt.Errorf("reading interview %q: %w", iv.ID, err)
			}
			if !exists {
				return fmt.Errorf("interview %q: %w", iv.ID, derrors.ErrNotFound)
			}
		}
		if e.Key == "" {
			return nil
		}
		e.SubjectType, e.SubjectID = casework.SubjectInterview, iv.ID
		return s.appendChange(p, e, n == 1)
	})
}

// interviewFromRow is the Interview a row holds.
func interviewFromRow(r dbsqlc.Interview) (casework.Interview, error) {
	iv := casework.Interview{
		Lifecycle: casework.Lifecycle{ID: r.ID, WorkflowID: r.WorkflowID, RequestID: r.RequestID, UnitCode: r.UnitCode, Stage: r.Stage,
			DeadlineSeq: r.DeadlineSeq, Overdue: r.Overdue, MissedDeadlines: r.MissedDeadlines,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version},
		Subject: r.Subject, Reason: r.Reason, Source: r.Source, Attendees: nilIfEmpty(r.Attendees), Minutes: r.Minutes,
		Requirements: r.Requirements, FollowUpWorkingDays: r.FollowUpWorkingDays,
		FollowUpReport: r.FollowUpReport, FollowUpEvidenceIDs: nilIfEmpty(r.FollowUpEvidenceIDs),
		FollowUpReportedAt: r.FollowUpReportedAt, CancelReason: r.CancelReason,
		ReasonZH: r.ReasonZh, CancelReasonZH: r.CancelReasonZh,
	}
	if r.HeldOn != nil {
		iv.HeldOn = r.HeldOn.Format(time.DateOnly)
	}
	if err := json.Unmarshal(r.ProposedBy, &iv.ProposedBy); err != nil {
		return casework.Interview{}, fmt.Errorf("decoding proposed_by of interview %q: %w", iv.ID, err)
	}
	if err := decodeJSON(r.ApprovedBy, &iv.ApprovedBy); err != nil {
		return casework.Interview{}, fmt.Errorf("decoding approved_by of interview %q: %w", iv.ID, err)
	}
	if err := decodeJSON(r.FollowUpDeadline, &iv.FollowUpDeadline); err != nil {
		return casework.Interview{}, fmt.Errorf("decoding follow_up_deadline of interview %q: %w", iv.ID, err)
	}
	return iv, nil
}

// GetInterview reads one interview; a missing one is derrors.ErrNotFound.
func (s *Store) GetInterview(ctx context.Context, id string) (casework.Interview, error) {
	r, err := s.q.GetInterview(ctx, id)
	if err != nil {
		return casework.Interview{}, notFound(err, "interview", id)
	}
	return interviewFromRow(r)
}

// InterviewPage is one page of ListInterviews.
type InterviewPage struct {
	Interviews    []casework.Interview
	NextPageToken string
}

// ListInterviews pages through the interviews that match filter, oldest
// first (created_at, then ID). pageSize must come from PageSize; pageToken is
// empty or a NextPageToken of an earlier page.
func (s *Store) ListInterviews(ctx context.Context, filter SubjectFilter, stage string, pageSize int, pageToken string) (InterviewPage, error) {
	list, next, err := listPage("interviews", pageSize, pageToken,
		func(afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.Interview, error) {
			return s.q.ListInterviews(ctx, dbsqlc.ListInterviewsParams{
				Subject: filter.Subject, UnitCode: filter.UnitCode, Stage: stage,
				ByUnit: filter.Reach.ByUnit, Units: filter.Reach.Units, ByTeam: filter.Reach.ByTeam, TeamSubject: filter.Reach.Subject,
				AfterAt: afterAt, AfterID: afterID, RowLimit: limit,
			})
		},
		interviewFromRow, func(i casework.Interview) cursor { return cursor{At: i.CreatedAt, ID: i.ID} })
	return InterviewPage{Interviews: list, NextPageToken: next}, err
}

// OpenInterviewDeadlines returns the workflow IDs of the interviews whose
// follow-up deadline runs (stage HELD), sorted, so that a calendar change
// can re-date them too.
func (s *Store) OpenInterviewDeadlines(ctx context.Context) ([]string, error) {
	ids, err := s.q.InterviewWorkflowsInStage(ctx, interviewStageHeld)
	if err != nil {
		return nil, fmt.Errorf("listing interviews with a running deadline: %w", err)
	}
	return ids, nil
}

// ProposedInterviews returns the IDs of the interviews about subject
// ("finding/<id>" or "inspection/<id>") proposed by source (e.g. LADDER)
// and not yet approved (stage PROPOSED), sorted: those a subject's end
// makes moot.
func (s *Store) ProposedInterviews(ctx context.Context, subject, source string) ([]string, error) {
	ids, err := s.q.InterviewsOf(ctx, dbsqlc.InterviewsOfParams{Subject: subject, Source: source, Stage: interviewStageProposed})
	if err != nil {
		return nil, fmt.Errorf("listing the proposed interviews of %s: %w", subject, err)
	}
	return ids, nil
}

// SubjectUnit returns the unit code of a subject, "finding/<id>" or
// "inspection/<id>", checking that it exists: a missing one is
// derrors.ErrNotFound, another form derrors.ErrInvalidArgument.
func (s *Store) SubjectUnit(ctx context.Context, subject string) (string, error) {
	typ, id, err := casework.ParseSubject(subject)
	if err != nil {
		return "", err
	}
	var unit string
	switch typ {
	case casework.SubjectFinding:
		unit, err = s.q.FindingUnit(ctx, id)
	default:
		unit, err = s.q.InspectionUnit(ctx, id)
	}
	if err != nil {
		return "", notFound(err, typ, id)
	}
	return unit, nil
}
