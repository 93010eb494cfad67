package casework

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
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
	ValidateRequestID(&v, "request_id", e.RequestID)
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
	v.RequireText("outlet", e.Outlet, 200)
	v.RequireText("title", e.Title, 500)
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
