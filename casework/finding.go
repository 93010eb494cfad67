package casework

import (
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
)

// Finding is a finding as its workflow holds it: the workflow's state, carried
// (JSON) in its history, and what its ledger activity writes. The ledger maps
// it to its row (ledger/findings.go); a column is not a field. Its
// Lifecycle's DeadlineSeq is 1 at the first referral and one more per
// rejected verification, reopening or approved extension.
type Finding struct {
	Lifecycle
	InspectionID         string             `json:"inspection_id"`
	LedgerNumber         string             `json:"ledger_number,omitempty"`
	UnitName             string             `json:"unit_name"`
	Title                string             `json:"title"`
	Description          string             `json:"description"`
	Kind                 string             `json:"kind"`
	Severity             string             `json:"severity,omitempty"`
	Important            bool               `json:"important,omitempty"`
	ContentArea          int                `json:"content_area"`
	EvidenceIDs          []string           `json:"evidence_ids,omitempty"`
	RectificationOpinion string             `json:"rectification_opinion,omitempty"`
	Diagnosis            *Diagnosis         `json:"diagnosis,omitempty"`
	Dispositions         []string           `json:"dispositions,omitempty"`
	Referral             *Referral          `json:"referral,omitempty"`
	Rectification        *Rectification     `json:"rectification,omitempty"`
	Deadline             *calendar.Deadline `json:"deadline,omitempty"`
	ReopenCount          int                `json:"reopen_count,omitempty"`
	WithdrawReason       string             `json:"withdraw_reason,omitempty"`
	FoundBy              actor.Actor        `json:"found_by"`
	// Extensions are the requests for more time (延期) over the finding's
	// life, oldest first, each with its decision.
	Extensions []Extension `json:"extensions,omitempty"`
	// OriginalDue is the last day of the running rectification deadline as
	// the office set it (referral, rejected verification, reopening) before
	// any extension, YYYY-MM-DD; empty until an extension of it is approved.
	OriginalDue string `json:"original_due,omitempty"`
	// Signoffs are the rounds of sign-off before close-out (销号) the
	// finding went through, oldest first; the last one may be pending.
	Signoffs []Signoff `json:"signoffs,omitempty"`
	// ClueReferrals are the referrals of the finding's clue to the bodies
	// with jurisdiction (移交, issue 14 item 2), oldest first, each with its
	// receipt and outcomes.
	ClueReferrals []ClueReferral `json:"clue_referrals,omitempty"`
}

// Diagnosis is the analysis of a finding.
type Diagnosis struct {
	Cause                string   `json:"cause"`
	ResponsibleParties   []string `json:"responsible_parties"`
	RiskLevel            string   `json:"risk_level"`
	LegalBasis           string   `json:"legal_basis,omitempty"`
	RectificationOpinion string   `json:"rectification_opinion,omitempty"`
}

// Referral is a finding's hand-over.
type Referral struct {
	ReceivingAuthority string `json:"receiving_authority"`
	// FeedbackReceivedOn is the day the unit received the feedback (YYYY-MM-DD).
	FeedbackReceivedOn string `json:"feedback_received_on"`
	// Due is the last day of the limit the office set (YYYY-MM-DD); empty
	// means the full month.
	Due string `json:"due,omitempty"`
}

// Rectification is the unit's report.
type Rectification struct {
	Report                string    `json:"report"`
	HandlingOfResponsible string    `json:"handling_of_responsible"`
	EvidenceIDs           []string  `json:"evidence_ids"`
	ReportedAt            time.Time `json:"reported_at"`
}

// Extension states.
const (
	ExtensionPending  = "PENDING"
	ExtensionApproved = "APPROVED"
	ExtensionRefused  = "REFUSED"
	// ExtensionLapsed is a request left undecided when the finding left
	// REFERRED (its report came, or it was withdrawn).
	ExtensionLapsed = "LAPSED"
)

// Extension is one request for more time (延期) on a finding's
// rectification deadline and the office's decision.
type Extension struct {
	// Seq numbers the finding's extension requests: 1, 2, ….
	Seq int `json:"seq"`
	// Round is the rectification round it belongs to: the finding's
	// ReopenCount when it was requested (0 for the referral's deadline).
	Round int `json:"round"`
	// DeadlineSeq is the deadline it asks to extend.
	DeadlineSeq int `json:"deadline_seq"`
	// State is ExtensionPending, ExtensionApproved, ExtensionRefused or
	// ExtensionLapsed.
	State string `json:"state"`
	// PreviousDue is the running deadline's last day it extends
	// (YYYY-MM-DD); OriginalDue that deadline's last day as the office set
	// it before any extension.
	PreviousDue  string      `json:"previous_due"`
	OriginalDue  string      `json:"original_due"`
	RequestedDue string      `json:"requested_due"`
	Reason       string      `json:"reason"`
	EvidenceIDs  []string    `json:"evidence_ids,omitempty"`
	RequestedBy  actor.Actor `json:"requested_by"`
	RequestedAt  time.Time   `json:"requested_at"`
	// DecidedBy and DecidedAt are set once the office decided (or the
	// request lapsed, by the system).
	DecidedBy *actor.Actor `json:"decided_by,omitempty"`
	DecidedAt *time.Time   `json:"decided_at,omitempty"`
	// ApprovedDue is the new last day the office approved.
	ApprovedDue string `json:"approved_due,omitempty"`
	// DecisionReason is why it was refused (or lapsed), or the office's
	// note on an approval; DecisionReasonZH says it in Chinese where the
	// system wrote it (a lapse), empty where a person did.
	DecisionReason   string `json:"decision_reason,omitempty"`
	DecisionReasonZH string `json:"decision_reason_zh,omitempty"`
}
