package casework

import (
	"encoding/json"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Finding is a finding as its workflow holds it: the workflow's state, carried
// (JSON) in its history, and what its ledger activity writes. The ledger maps
// it to its row (ledger/findings.go); a column is not a field.
type Finding struct {
	ID                   string             `json:"id"`
	WorkflowID           string             `json:"workflow_id"`
	InspectionID         string             `json:"inspection_id"`
	RequestID            string             `json:"request_id"`
	LedgerNumber         string             `json:"ledger_number,omitempty"`
	UnitCode             string             `json:"unit_code"`
	UnitName             string             `json:"unit_name"`
	Title                string             `json:"title"`
	Description          string             `json:"description"`
	Kind                 string             `json:"kind"`
	Severity             string             `json:"severity,omitempty"`
	Important            bool               `json:"important,omitempty"`
	ContentArea          int                `json:"content_area"`
	EvidenceIDs          []string           `json:"evidence_ids,omitempty"`
	RectificationOpinion string             `json:"rectification_opinion,omitempty"`
	Stage                string             `json:"stage"`
	Diagnosis            *Diagnosis         `json:"diagnosis,omitempty"`
	Dispositions         []string           `json:"dispositions,omitempty"`
	Referral             *Referral          `json:"referral,omitempty"`
	Rectification        *Rectification     `json:"rectification,omitempty"`
	Deadline             *calendar.Deadline `json:"deadline,omitempty"`
	// DeadlineSeq counts the deadlines started (1 at the first referral, +1
	// per rejected verification, reopening or approved extension);
	// escalations are keyed by it, so an extended deadline's ladder starts
	// afresh.
	DeadlineSeq     int         `json:"deadline_seq,omitempty"`
	Overdue         bool        `json:"overdue,omitempty"`
	MissedDeadlines int         `json:"missed_deadlines,omitempty"`
	ReopenCount     int         `json:"reopen_count,omitempty"`
	WithdrawReason  string      `json:"withdraw_reason,omitempty"`
	FoundBy         actor.Actor `json:"found_by"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	// Version counts the changes applied; a write with a version not above
	// the row's is a retry and changes nothing.
	Version int `json:"version"`
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
	// note on an approval.
	DecisionReason string `json:"decision_reason,omitempty"`
}

// Escalation is one step of the escalation ladder taken for a deadline.
type Escalation struct {
	ID string `json:"id"`
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject     string    `json:"subject"`
	DeadlineSeq int       `json:"deadline_seq"`
	Step        string    `json:"step"`
	UnitCode    string    `json:"unit_code"`
	DueAt       time.Time `json:"due_at"`
	FiredAt     time.Time `json:"fired_at"`
	// Message says what the step means, in English; MessageZH in Chinese
	// (empty in rows written before it: the English serves both).
	Message   string `json:"message"`
	MessageZH string `json:"message_zh,omitempty"`
}

// Text is the escalation's message in both languages.
func (e Escalation) Text() i18n.Text { return i18n.Text{EN: e.Message, ZH: e.MessageZH} }

// EscalationStep is one rung of the office's ladder.
type EscalationStep struct {
	// Step is REMINDER, OVERDUE or INTERVIEW_PROPOSED.
	Step string `json:"step"`
	// WorkingDays is relative to the due date: <0 before, 0 at, >0 after.
	WorkingDays int `json:"working_days"`
}

// EscalationPolicy is the ladder in force, with the limits on extending a
// rectification deadline.
type EscalationPolicy struct {
	// Version is 0 for the built-in default.
	Version    int64            `json:"version"`
	Steps      []EscalationStep `json:"steps"`
	Extensions ExtensionLimits  `json:"extensions"`
	// SignoffRules say who signs which findings off before they close;
	// none: the office's verification closes every finding.
	SignoffRules []SignoffRule `json:"signoff_rules,omitempty"`
	// InvitationAnswerWorkingDays is how many working days a person drawn
	// for a line-up has to answer an invitation (issue 15), read when each
	// invitation is sent; DefaultInvitationAnswerWorkingDays until the
	// office sets it.
	InvitationAnswerWorkingDays int         `json:"invitation_answer_working_days"`
	UpdatedBy                   actor.Actor `json:"updated_by"`
	UpdatedAt                   time.Time   `json:"updated_at"`
}

// Escalation steps.
const (
	StepReminder          = "REMINDER"
	StepOverdue           = "OVERDUE"
	StepInterviewProposed = "INTERVIEW_PROPOSED"
)

// DefaultEscalationPolicy is the ladder until the office sets one: a reminder
// one working day before the deadline, escalation at the deadline, a proposed
// interview 5 working days later; extensions as DefaultExtensionLimits.
func DefaultEscalationPolicy() EscalationPolicy {
	return EscalationPolicy{Steps: []EscalationStep{
		{Step: StepReminder, WorkingDays: -1},
		{Step: StepOverdue, WorkingDays: 0},
		{Step: StepInterviewProposed, WorkingDays: 5},
	}, Extensions: DefaultExtensionLimits(), InvitationAnswerWorkingDays: DefaultInvitationAnswerWorkingDays}
}

// Bounds of the invitation's answer limit, in working days.
const (
	// DefaultInvitationAnswerWorkingDays is the answer limit until the
	// office sets one.
	DefaultInvitationAnswerWorkingDays = 3
	// MaxInvitationAnswerWorkingDays is the longest answer limit a policy
	// may set: a line-up waits for its invitations before the inspection.
	MaxInvitationAnswerWorkingDays = 30
)

// ValidateInvitationAnswerWorkingDays checks the policy's answer limit:
// 1 to MaxInvitationAnswerWorkingDays working days. The violation names
// invitation_answer_working_days.
func ValidateInvitationAnswerWorkingDays(days int) error {
	if days < 1 || days > MaxInvitationAnswerWorkingDays {
		return derrors.Invalid("invitation_answer_working_days", "must be between 1 and %d working days", MaxInvitationAnswerWorkingDays)
	}
	return nil
}

// ExtensionLimits are the office's limits on extending a finding's
// rectification deadline (延期), part of its escalation policy. They apply
// to each rectification deadline the office sets (the referral's, and each
// one after a rejected verification or a reopening) together with its
// extensions.
type ExtensionLimits struct {
	// MaxCount is how many extensions one rectification deadline may be
	// granted; 0 allows none.
	MaxCount int `json:"max_count"`
	// TotalMonths or TotalWorkingDays (exactly one, when MaxCount is above
	// 0) is how far past its original last day the extensions together may
	// move a deadline: the extended last day is at the latest that period
	// after the original one, counted with the calendar (Civil Code
	// periods, working days by the State Council's notices).
	TotalMonths      int `json:"total_months,omitempty"`
	TotalWorkingDays int `json:"total_working_days,omitempty"`
	// Severities are the hazard severities that may be extended at all
	// (GENERAL, MAJOR). Findings that are not hazards have no severity and
	// may be extended within the same count and total.
	Severities []string `json:"severities,omitempty"`
}

// HazardSeverities are a hazard's severities, in order (the workflows'
// SeverityGeneral and SeverityMajor).
var HazardSeverities = []string{"GENERAL", "MAJOR"}

// DefaultExtensionLimits are the extension limits until the office sets
// some: at most 2 extensions, together at most 1 month past the original
// last day, for MAJOR hazards (and findings that are not hazards). A
// GENERAL hazard (一般事故隐患) is by definition one whose harm and
// rectification are small enough to be removed at once (《安全生产事故隐患
// 排查治理暂行规定》第三条); a MAJOR one (重大事故隐患) may need works that
// take time, which is what extensions are for.
func DefaultExtensionLimits() ExtensionLimits {
	return ExtensionLimits{MaxCount: 2, TotalMonths: 1, Severities: []string{"MAJOR"}}
}

// Evidence is metadata of one uploaded blob.
type Evidence struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"` // DOCUMENT, PHOTO, AUDIO, VIDEO
	SHA256      string      `json:"sha256"`
	Size        int64       `json:"size"`
	Location    string      `json:"location"`
	FileName    string      `json:"file_name,omitempty"`
	ContentType string      `json:"content_type,omitempty"`
	CapturedAt  time.Time   `json:"captured_at"`
	CapturedBy  string      `json:"captured_by"`
	UploadedBy  actor.Actor `json:"uploaded_by"`
	UploadedAt  time.Time   `json:"uploaded_at"`
}

// Webhook is an office system's subscription.
type Webhook struct {
	ID         string   `json:"id"`
	RequestID  string   `json:"request_id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// Secret signs deliveries. The ledger keeps it sealed (Store.Secrets);
	// it is set only by CreateWebhook and GetWebhook.
	Secret    string      `json:"-"`
	CreatedBy actor.Actor `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
	DeletedAt *time.Time  `json:"deleted_at,omitempty"`
}

// WebhookDelivery is one attempt to deliver an event to a subscriber.
type WebhookDelivery struct {
	ID         int64           `json:"id"`
	DeliveryID string          `json:"delivery_id"`
	WebhookID  string          `json:"webhook_id"`
	EventType  string          `json:"event_type"`
	Attempt    int             `json:"attempt"`
	StatusCode int             `json:"status_code"`
	Error      string          `json:"error,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	AttemptAt  time.Time       `json:"attempt_at"`
}
