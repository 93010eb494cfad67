package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Exposure kinds: what a publication (曝光) makes known.
const (
	ExposureEntryAnnouncement   = "ENTRY_ANNOUNCEMENT"
	ExposureMajorHazard         = "MAJOR_HAZARD"
	ExposureSystemicRisk        = "SYSTEMIC_RISK"
	ExposureRectificationResult = "RECTIFICATION_RESULT"
	ExposureLookBackResult      = "LOOK_BACK_RESULT"
)

// ExposureKinds lists the kinds in the API's order.
var ExposureKinds = []string{ExposureEntryAnnouncement, ExposureMajorHazard, ExposureSystemicRisk,
	ExposureRectificationResult, ExposureLookBackResult}

// exposureSubjectTypes says which kinds are about one kind of subject only:
// a team's entry and a look-back's result concern an inspection, a major
// hazard a finding.
var exposureSubjectTypes = map[string]string{
	ExposureEntryAnnouncement: SubjectInspection,
	ExposureLookBackResult:    SubjectInspection,
	ExposureMajorHazard:       SubjectFinding,
}

// Exposure is one publication through the media. Exposures are append-only.
type Exposure struct {
	// ID is derived from RequestID (ExposureID) when empty.
	ID        string `json:"id"`
	RequestID string `json:"request_id"`
	Kind      string `json:"kind"`
	// Subject is "inspection/<id>" or "finding/<id>".
	Subject string `json:"subject"`
	Outlet  string `json:"outlet"`
	// Link is an absolute http(s) URL, or empty.
	Link string `json:"link,omitempty"`
	// PublishedOn is the day published, YYYY-MM-DD.
	PublishedOn string      `json:"published_on"`
	Title       string      `json:"title"`
	RecordedBy  actor.Actor `json:"recorded_by"`
	CreatedAt   time.Time   `json:"created_at"`
}

// ExposureID is the ID of the exposure recorded by a request, so that a
// retried request lands on the same row.
func ExposureID(requestID string) string {
	sum := sha256.Sum256([]byte("exp\x00" + requestID))
	return "exp-" + hex.EncodeToString(sum[:8])
}

// ValidateExposure checks an exposure; field names are RecordExposureRequest's.
func ValidateExposure(e Exposure) error {
	var v derrors.Violations
	switch {
	case strings.TrimSpace(e.RequestID) == "":
		v.Add("request_id", "must not be empty: every change carries a client-chosen request_id")
	case len(e.RequestID) > 128:
		v.Add("request_id", "must be at most 128 characters")
	}
	if !slices.Contains(ExposureKinds, e.Kind) {
		v.Add("kind", "must be one of %s", strings.Join(ExposureKinds, ", "))
	}
	typ, _, err := ParseSubject(e.Subject)
	switch want, only := exposureSubjectTypes[e.Kind]; {
	case err != nil:
		v.Add("subject", `must be "inspection/<id>" or "finding/<id>"`)
	case only && typ != want:
		v.Add("subject", "must be %q for a %s exposure", want+"/<id>", e.Kind)
	}
	exposureText(&v, "outlet", e.Outlet, 200)
	exposureText(&v, "title", e.Title, 500)
	if e.Link != "" {
		u, err := url.Parse(e.Link)
		switch {
		case err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.Add("link", "must be an absolute http or https URL")
		case len(e.Link) > 2000:
			v.Add("link", "must be at most 2000 characters")
		}
	}
	if _, err := calendar.ParseDate(e.PublishedOn); err != nil {
		v.Add("published_on", "must be a date YYYY-MM-DD")
	}
	return v.Err()
}

func exposureText(v *derrors.Violations, field, value string, max int) {
	switch {
	case strings.TrimSpace(value) == "":
		v.Add(field, "must not be empty")
	case utf8.RuneCountInString(value) > max:
		v.Add(field, "must be at most %d characters", max)
	}
}

// exposureFromRow is the Exposure a row holds.
func exposureFromRow(r dbsqlc.Exposure) (Exposure, error) {
	e := Exposure{
		ID: r.ID, RequestID: r.RequestID, Kind: r.Kind, Subject: r.Subject, Outlet: r.Outlet, Link: r.Link,
		PublishedOn: r.PublishedOn.Format(time.DateOnly), Title: r.Title, CreatedAt: r.CreatedAt,
	}
	if err := json.Unmarshal(r.RecordedBy, &e.RecordedBy); err != nil {
		return Exposure{}, fmt.Errorf("decoding recorded_by of exposure %q: %w", e.ID, err)
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
func (s *Store) RecordExposure(ctx context.Context, e Exposure) (stored Exposure, created bool, err error) {
	if err := ValidateExposure(e); err != nil {
		return Exposure{}, false, err
	}
	if e.ID == "" {
		e.ID = ExposureID(e.RequestID)
	}
	typ, subjectID, _ := ParseSubject(e.Subject)
	published, _ := calendar.ParseDate(e.PublishedOn)
	publishedOn := time.Date(published.Year, published.Month, published.Day, 0, 0, 0, 0, time.UTC)
	recordedBy, err := json.Marshal(e.RecordedBy)
	if err != nil {
		return Exposure{}, false, fmt.Errorf("encoding recorded_by: %w", err)
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
		return s.appendEvent(ctx, q, Event{
			SubjectType: typ, SubjectID: subjectID, Key: "expose/" + stored.ID, Action: "expose",
			Actor: e.RecordedBy, Note: fmt.Sprintf("%s published by %s: %s", stored.Kind, stored.Outlet, stored.Title),
			Data: data, OccurredAt: stored.CreatedAt,
		})
	})
	if err != nil {
		return Exposure{}, false, err
	}
	return stored, created, nil
}

// sameExposure reports whether a retry asks for what was recorded.
func sameExposure(stored, e Exposure) bool {
	return stored.ID == e.ID && stored.Kind == e.Kind && stored.Subject == e.Subject && stored.Outlet == e.Outlet &&
		stored.Link == e.Link && stored.PublishedOn == e.PublishedOn && stored.Title == e.Title
}

// subjectExists refuses a finding or inspection the ledger does not hold.
func subjectExists(ctx context.Context, q *dbsqlc.Queries, typ, id string) error {
	var exists bool
	var err error
	switch typ {
	case SubjectFinding:
		exists, err = q.FindingExists(ctx, id)
	case SubjectInspection:
		exists, err = q.InspectionExists(ctx, id)
	default:
		return derrors.Invalid("subject", `must be "inspection/<id>" or "finding/<id>"`)
	}
	if err != nil {
		return fmt.Errorf("reading %s %q: %w", typ, id, err)
	}
	if !exists {
		return derrors.New(derrors.ErrNotFound, "%s %q not found", typ, id)
	}
	return nil
}

// ListExposures returns the exposures of a subject (all when empty) within
// reach, oldest first.
func (s *Store) ListExposures(ctx context.Context, subject string, reach Reach) ([]Exposure, error) {
	rows, err := s.q.ListExposures(ctx, dbsqlc.ListExposuresParams{
		Subject: subject, ByUnit: reach.ByUnit, Units: reach.Units, ByTeam: reach.ByTeam, TeamSubject: reach.Subject,
	})
	if err != nil {
		return nil, fmt.Errorf("listing exposures: %w", err)
	}
	list, err := convertAll(rows, exposureFromRow)
	if err != nil {
		return nil, fmt.Errorf("listing exposures: %w", err)
	}
	return list, nil
}
