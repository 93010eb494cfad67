package casework

import (
	"encoding/json"
	"time"

	"github.com/xuncha/xuncha/internal/actor"
)

// Subject types of events.
const (
	// SubjectInspection marks events of an inspection.
	SubjectInspection = "inspection"
	// SubjectFinding marks events of a finding.
	SubjectFinding = "finding"
	// SubjectCalendar marks events of the calendar.
	SubjectCalendar = "calendar"
	// SubjectEscalationPolicy marks events of the escalation ladder, whose
	// one chain is EscalationPolicySubjectID.
	SubjectEscalationPolicy = "escalation_policy"
	// SubjectWebhook marks events of a webhook subscription.
	SubjectWebhook = "webhook"
)

// EscalationPolicySubjectID is the subject ID of the escalation ladder's
// events: there is one ladder, each version set is an event of it.
const EscalationPolicySubjectID = "ladder"

// Event is one entry of the append-only event log.
type Event struct {
	ID          int64
	SubjectType string
	SubjectID   string
	// Key makes a retried write a no-op; unique per subject.
	Key         string
	Action      string
	StageBefore string
	StageAfter  string
	Actor       actor.Actor
	Note        string
	// Evidence is a JSON array of evidence references; nil means none.
	Evidence json.RawMessage
	// Data is a JSON object of action details; nil means none.
	Data       json.RawMessage
	OccurredAt time.Time
	RecordedAt time.Time
	// RequestFingerprint is the fingerprint of the request whose Update
	// made the change (workflows.Change.Fingerprint): how the API tells a
	// retry of that request from another request under its request_id once
	// the workflow's history is gone. Outside the audit hash; nil for
	// events no request's Update wrote.
	RequestFingerprint []byte `json:",omitempty"`
}
