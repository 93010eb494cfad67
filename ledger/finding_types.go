package ledger

import (
	"encoding/json"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
)

// Finding is a finding's ledger row: the projection of its workflow's state.
// Workflows carry it (JSON) as their state and activities write it whole.
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
	// per rejected verification); escalations are keyed by it.
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
	Message     string    `json:"message"`
}

// EscalationStep is one rung of the office's ladder.
type EscalationStep struct {
	// Step is REMINDER, OVERDUE or INTERVIEW_PROPOSED.
	Step string `json:"step"`
	// WorkingDays is relative to the due date: <0 before, 0 at, >0 after.
	WorkingDays int `json:"working_days"`
}

// EscalationPolicy is the ladder in force.
type EscalationPolicy struct {
	// Version is 0 for the built-in default.
	Version   int64            `json:"version"`
	Steps     []EscalationStep `json:"steps"`
	UpdatedBy actor.Actor      `json:"updated_by"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// Escalation steps.
const (
	StepReminder          = "REMINDER"
	StepOverdue           = "OVERDUE"
	StepInterviewProposed = "INTERVIEW_PROPOSED"
)

// DefaultEscalationPolicy is the ladder until the office sets one: a reminder
// one working day before the deadline, escalation at the deadline, a proposed
// interview 5 working days later.
func DefaultEscalationPolicy() EscalationPolicy {
	return EscalationPolicy{Steps: []EscalationStep{
		{Step: StepReminder, WorkingDays: -1},
		{Step: StepOverdue, WorkingDays: 0},
		{Step: StepInterviewProposed, WorkingDays: 5},
	}}
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
