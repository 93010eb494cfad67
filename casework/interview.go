package casework

import (
	"strings"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// SubjectInterview marks events of an interview.
const SubjectInterview = "interview"

// Interview is an interview as its workflow holds it: the workflow's state,
// carried (JSON) in its history, and what its ledger activity writes. The
// ledger maps it to its row (ledger/interviews.go). Its Lifecycle's
// DeadlineSeq counts the follow-up deadlines started.
type Interview struct {
	Lifecycle
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
	// ReasonZH is Reason in Chinese where the system wrote it (the
	// escalation ladder's proposal); empty where a person did.
	ReasonZH string `json:"reason_zh,omitempty"`
	// Source is LADDER, TEAM or OFFICE.
	Source     string       `json:"source"`
	ProposedBy actor.Actor  `json:"proposed_by"`
	ApprovedBy *actor.Actor `json:"approved_by,omitempty"`
	// HeldOn is the day held, YYYY-MM-DD.
	HeldOn              string             `json:"held_on,omitempty"`
	Attendees           []string           `json:"attendees,omitempty"`
	Minutes             string             `json:"minutes,omitempty"`
	Requirements        string             `json:"requirements,omitempty"`
	FollowUpWorkingDays int                `json:"follow_up_working_days,omitempty"`
	FollowUpDeadline    *calendar.Deadline `json:"follow_up_deadline,omitempty"`
	FollowUpReport      string             `json:"follow_up_report,omitempty"`
	FollowUpEvidenceIDs []string           `json:"follow_up_evidence_ids,omitempty"`
	FollowUpReportedAt  *time.Time         `json:"follow_up_reported_at,omitempty"`
	CancelReason        string             `json:"cancel_reason,omitempty"`
	// CancelReasonZH is CancelReason in Chinese where the system cancelled
	// (the subject ended, the workflow was cancelled); empty where a
	// person did.
	CancelReasonZH string `json:"cancel_reason_zh,omitempty"`
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
