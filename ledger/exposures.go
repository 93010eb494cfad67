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

// exposureFromRow is the Exposure a row holds.
func exposureFromRow(r dbsqlc.Exposure) (casework.Exposure, error) {
	e := casework.Exposure{
		ID: r.ID, RequestID: r.RequestID, Kind: r.Kind, Subject: r.Subject, Outlet: r.Outlet, Link: r.Link,
		PublishedOn: r.PublishedOn.Format(time.DateOnly), Title: r.Title, CreatedAt: r.CreatedAt,
	}
	if err := json.Unmarshal(r.RecordedBy, &e.RecordedBy); err != nil {
		return casework.Exposure{}, fmt.Errorf("decoding recorded_by of exposure %q: %w", e.ID, err)
	}
	return e, nil
}

// RecordExposure records a publication and appends an "expose" event to its
// subject's log, in one transaction. It checks the exposure
// (ValidateExposure) and that the subject exists (derrors.ErrNotFound
// otherwise). created is false when the request ID was already recorded: a
// retry, answered with the first exposure; the same request ID with other
// values is derrors.ErrAlreadyExists. An empty ID is derived from the
// request ID (ExposureID).
func (s *Store) RecordExposure(ctx context.Context, e casework.Exposure) (stored casework.Exposure, created bool, err error) {
	if err := casework.ValidateExposure(e); err != nil {
		return casework.Exposure{}, false, err
	}
	if e.ID == "" {
		e.ID = casework.ExposureID(e.RequestID)
	}
	typ, subjectID, _ := casework.ParseSubject(e.Subject)
	published, _ := calendar.ParseDate(e.PublishedOn)
	publishedOn := time.Date(published.Year, published.Month, published.Day, 0, 0, 0, 0, time.UTC)
	recordedBy, err := json.Marshal(e.RecordedBy)
	if err != nil {
		return casework.Exposure{}, false, fmt.Errorf("encoding recorded_by: %w", err)
	}
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := subjectExists(ctx, q, typ, subjectID); err != nil {
			return err
		}
		n, err := q.InsertExposure(ctx, dbsqlc.InsertExposureParams{
			ID: e.ID, RequestID: e.RequestID, Kind: e.Kind, Subject: e.Subject, Outlet: e.Outlet, Link: e.Link,
			PublishedOn: publishedOn, Title: e.Title, RecordedBy: recordedBy,
		})
		if err != nil {
			return fmt.Errorf("inserting exposure %q: %w", e.ID, err)
		}
		created = n == 1
		if created {
			if err := exposureFits(ctx, q, e.Kind, typ, subjectID); err != nil {
				return err
			}
		}
		r, found, err := optional(q.ExposureOfRequest(ctx, e.RequestID))
		switch {
		case err != nil:
			return fmt.Errorf("reading exposure of request %q: %w", e.RequestID, err)
		case !found:
			return derrors.New(derrors.ErrAlreadyExists, "exposure ID %q belongs to another request", e.ID)
		}
		if stored, err = exposureFromRow(r); err != nil {
			return fmt.Errorf("reading exposure of request %q: %w", e.RequestID, err)
		}
		if !created {
			if !sameExposure(stored, e) {
				return derrors.New(derrors.ErrAlreadyExists,
					"request_id %q already recorded another exposure (%s); use a new request_id", e.RequestID, stored.ID)
			}
			return nil
		}
		data, err := json.Marshal(map[string]any{
			"exposure_id": stored.ID, "kind": stored.Kind, "outlet": stored.Outlet, "link": stored.Link,
			"published_on": stored.PublishedOn, "title": stored.Title,
		})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		return s.appendEvent(ctx, q, casework.Event{
			SubjectType: typ, SubjectID: subjectID, Key: "expose/" + stored.ID, Action: "expose",
			Actor: e.RecordedBy, Note: fmt.Sprintf("%s published by %s: %s", stored.Kind, stored.Outlet, stored.Title),
			Data: data, OccurredAt: stored.CreatedAt,
		})
	})
	if err != nil {
		return casework.Exposure{}, false, err
	}
	return stored, created, nil
}

// sameExposure reports whether a retry asks for what was recorded.
func sameExposure(stored, e casework.Exposure) bool {
	return stored.ID == e.ID && stored.Kind == e.Kind && stored.Subject == e.Subject && stored.Outlet == e.Outlet &&
		stored.Link == e.Link && stored.PublishedOn == e.PublishedOn && stored.Title == e.Title
}

// subjectExists refuses a finding or inspection the ledger does not hold.
func subjectExists(ctx context.Context, q *dbsqlc.Queries, typ, id string) error {
	var exists bool
	var err error
	switch typ {
	case casework.SubjectFinding:
		exists, err = q.FindingExists(ctx, id)
	case casework.SubjectInspection:
		exists, err = q.InspectionExists(ctx, id)
	default:
		return derrors.Invalid("subject", `must be "inspection/<id>" or "finding/<id>"`)
	}
	if err != nil {
		return fmt.Errorf("reading %s %q: %w", typ, id, err)
	}
	if !exists {
		return derrors.NotFound(typ, id)
	}
	return nil
}

// The stages in which a subject's rectification has a result to make
// known: a finding's reported (RECTIFIED) or closed, an inspection's
// reported or closed (the workflows' stage names;
// TestExposureStagesAreTheWorkflows).
var (
	rectifiedFindingStages    = []string{"RECTIFIED", "CLOSED"}
	rectifiedInspectionStages = []string{"RECTIFICATION_REPORTED", "CLOSED"}
)

// exposureFits refuses a new exposure whose kind does not fit its subject:
// a major hazard's is of a finding that is a major hazard, a systemic
// risk's of a finding that is one (or of an inspection), a rectification's
// result of a finding or an inspection whose rectification was reported,
// a look-back's result of a follow-up inspection (回头看). Each was taken
// of any.
func exposureFits(ctx context.Context, q *dbsqlc.Queries, kind, typ, id string) error {
	k := i18n.Term(i18n.ExposureKind, kind)
	switch typ {
	case casework.SubjectFinding:
		c, err := q.FindingClass(ctx, id)
		if err != nil {
			return fmt.Errorf("reading finding %q: %w", id, err)
		}
		switch {
		case kind == casework.ExposureMajorHazard && (c.Kind != casework.KindHazard || c.Severity != casework.SeverityMajor):
			return derrors.Invalid("kind", "must fit the subject: a %s exposure is of a major hazard, and finding %s is %s %s",
				k, id, i18n.Term(i18n.Severity, c.Severity), i18n.Term(i18n.FindingKind, c.Kind))
		case kind == casework.ExposureSystemicRisk && c.Kind != casework.KindSystemicRisk:
			return derrors.Invalid("kind", "must fit the subject: a %s exposure is of a systemic risk, and finding %s is %s", k, id, i18n.Term(i18n.FindingKind, c.Kind))
		case kind == casework.ExposureRectificationResult && !slices.Contains(rectifiedFindingStages, c.Stage):
			return derrors.Invalid("kind", "must fit the subject: a %s exposure is of a finding whose rectification was reported, and finding %s is %s",
				k, id, i18n.Term(i18n.FindingStage, c.Stage))
		}
	case casework.SubjectInspection:
		c, err := q.InspectionKind(ctx, id)
		if err != nil {
			return fmt.Errorf("reading inspection %q: %w", id, err)
		}
		switch {
		case kind == casework.ExposureLookBackResult && c.Kind != "FOLLOW_UP":
			return derrors.Invalid("kind", "must fit the subject: a %s exposure is of a follow-up inspection (回头看), and inspection %s is %s",
				k, id, i18n.Term(i18n.InspectionKind, c.Kind))
		case kind == casework.ExposureRectificationResult && !slices.Contains(rectifiedInspectionStages, c.Stage):
			return derrors.Invalid("kind", "must fit the subject: a %s exposure is of an inspection whose rectification was reported, and inspection %s is %s",
				k, id, i18n.Term(i18n.InspectionStage, c.Stage))
		}
	}
	return nil
}

// ExposurePage is one page of ListExposures.
type ExposurePage struct {
	Exposures     []casework.Exposure
	NextPageToken string
}

// ListExposures pages through the exposures of a subject (all when empty)
// within reach, oldest first (created_at, then ID). pageSize must come
// from PageSize; pageToken is empty or a NextPageToken of an earlier page.
func (s *Store) ListExposures(ctx context.Context, subject string, reach Reach, pageSize int, pageToken string) (ExposurePage, error) {
	list, next, err := listPage("exposures", pageSize, pageToken,
		func(afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.Exposure, error) {
			return s.q.ListExposures(ctx, dbsqlc.ListExposuresParams{
				Subject: subject, ByUnit: reach.ByUnit, Units: reach.Units, ByTeam: reach.ByTeam, TeamSubject: reach.Subject,
				AfterAt: afterAt, AfterID: afterID, RowLimit: limit,
			})
		},
		exposureFromRow, func(e casework.Exposure) cursor { return cursor{At: e.CreatedAt, ID: e.ID} })
	return ExposurePage{Exposures: list, NextPageToken: next}, err
}
