package casework

import "time"

// Lifecycle is what the record of every lifecycle (a Finding, an
// Inspection, an Interview, an Invitation) holds and the lifecycle core
// (workflows/lifecycle.go) keeps: its identity, its stage, its running
// deadline's count and misses, and its version. The records embed it, so
// its fields stand in their JSON as their own.
type Lifecycle struct {
	ID         string `json:"id"`
	WorkflowID string `json:"workflow_id"`
	// RequestID is the idempotency key of the request that created it.
	RequestID string `json:"request_id"`
	// UnitCode is the unit the lifecycle is about: the inspected unit, the
	// unit whose leaders are summoned, an invited person's unit.
	UnitCode string `json:"unit_code"`
	Stage    string `json:"stage"`
	// DeadlineSeq counts the deadlines started; escalations are keyed by
	// it, so a new deadline's ladder starts afresh.
	DeadlineSeq int `json:"deadline_seq,omitempty"`
	// Overdue says the running deadline passed; MissedDeadlines counts the
	// deadlines missed.
	Overdue         bool      `json:"overdue,omitempty"`
	MissedDeadlines int       `json:"missed_deadlines,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	// Version counts the changes applied; a write with a version not above
	// the row's is a retry and changes nothing.
	Version int `json:"version"`
}

// Head is the record's Lifecycle (every record that embeds it has Head).
func (l Lifecycle) Head() Lifecycle { return l }

// Record is the record of a lifecycle: a Finding, an Inspection, an
// Interview or an Invitation, read through its Lifecycle.
type Record interface{ Head() Lifecycle }
