// Package workflows holds xuncha's lifecycles as Temporal workflows: the
// inspection procedure and the finding closed loop, their timers and their
// escalation. Workflow code is deterministic; anything that reads data runs in
// an activity (package activities).
package workflows

import "fmt"

// DefaultTaskQueue is the task queue workers poll unless configured otherwise
// (XUNCHA_TASK_QUEUE).
const DefaultTaskQueue = "xuncha"

// Workflow type names as registered with the worker and seen in the Web UI.
const (
	// InspectionWorkflowName is the type of inspection workflows.
	InspectionWorkflowName = "InspectionWorkflow"
	// FindingWorkflowName is the type finding workflows start as. Its
	// runs are at code level 3 from the start (typeLevels), with no
	// marker to say so.
	FindingWorkflowName = "FindingWorkflow3"
	// FindingWorkflowBefore3Name is the type of the finding workflows
	// started before code level 3; it stays registered so that they run
	// to their end, at the level their marker gives.
	FindingWorkflowBefore3Name = "FindingWorkflow"
	// CalendarChangeWorkflowName is the type of the workflow that re-dates
	// running deadlines after a calendar version is loaded.
	CalendarChangeWorkflowName = "CalendarChangeWorkflow"
	// InterviewWorkflowName is the type of interview (约谈) workflows.
	InterviewWorkflowName = "InterviewWorkflow"
)

// SignalCalendarChanged tells a lifecycle with a running deadline that a new
// calendar version was loaded (CalendarChangedSignal).
const SignalCalendarChanged = "calendar-changed"

// Webhook event types.
const (
	// EventMajorFinding is posted when a MAJOR hazard or important problem is
	// recorded.
	EventMajorFinding = "finding.major"
	// EventFindingEscalated is posted for each escalation step of a finding.
	EventFindingEscalated = "finding.escalated"
	// EventInspectionEscalated is posted for each escalation step of an
	// inspection's report or rectification deadline.
	EventInspectionEscalated = "inspection.escalated"
	// EventInterviewEscalated is posted for each escalation step of an
	// interview's follow-up report deadline.
	EventInterviewEscalated = "interview.escalated"
	// EventExtensionRequested is posted when a unit asks for more time on a
	// finding's rectification deadline.
	EventExtensionRequested = "finding.extension_requested"
	// EventExtensionDecided is posted when the office approves (the
	// deadline moved) or refuses an extension.
	EventExtensionDecided = "finding.extension_decided"
	// EventSignoffRequested is posted when the office's verification
	// leaves a finding's close-out waiting for its signers.
	EventSignoffRequested = "finding.signoff_requested"
	// EventSignedOff is posted for each signer's sign-off; the last one
	// closes the finding (stage CLOSED in the data).
	EventSignedOff = "finding.signed_off"
	// EventSignoffRefused is posted when a signer refuses: the finding is
	// REFERRED again with a new deadline.
	EventSignoffRefused = "finding.signoff_refused"
	// EventSignoffOverdue is posted when a round of sign-off passes its
	// deadline with signatures missing (the signers still awaited in the
	// data).
	EventSignoffOverdue = "finding.signoff_overdue"
	// EventReferralReferred is posted when the office refers a finding's
	// clue to the body with jurisdiction (移交).
	EventReferralReferred = "referral.referred"
	// EventReferralUnacknowledged is posted when a referral's receipt (回执)
	// deadline passes without one.
	EventReferralUnacknowledged = "referral.unacknowledged"
	// EventReferralOutcome is posted when the receiver reports an outcome
	// (立案, 不予立案, 处理结果).
	EventReferralOutcome = "referral.outcome_reported"
	// EventLineupCancelled is posted when the office calls a line-up off,
	// naming those who had accepted: their units' secondment is off.
	EventLineupCancelled = "lineup.cancelled"
)

// WebhookEventTypes lists the event types a webhook may subscribe to.
var WebhookEventTypes = []string{EventMajorFinding, EventFindingEscalated, EventInspectionEscalated, EventInterviewEscalated,
	EventExtensionRequested, EventExtensionDecided, EventSignoffRequested, EventSignedOff, EventSignoffRefused, EventSignoffOverdue, EventReferralReferred, EventReferralUnacknowledged, EventReferralOutcome, EventSecondmentNotice, EventCriticismRequested, EventInvitationEscalated, EventLineupCancelled}

// Query and update names.
const (
	// QueryState returns a lifecycle's current state (InspectionState, ...).
	QueryState = "state"
	// UpdateAwaitCreated waits until the ledger row of a just-started workflow
	// is written and returns the state; the API sends it with the start
	// (update-with-start) so that a create returns only once a read sees it.
	UpdateAwaitCreated = "await-created"
)

// InspectionWorkflowID is the workflow ID of inspection id.
func InspectionWorkflowID(id string) string { return "inspection/" + id }

// FindingWorkflowID is the workflow ID of finding id.
func FindingWorkflowID(id string) string { return "finding/" + id }

// InterviewWorkflowID is the workflow ID of interview id.
func InterviewWorkflowID(id string) string { return "interview/" + id }

// CalendarChangeWorkflowID is the workflow ID that re-dates deadlines for a
// loaded calendar version; the request that loaded it keeps IDs apart when
// several ledgers share a namespace (tests do).
func CalendarChangeWorkflowID(version int64, requestID string) string {
	return fmt.Sprintf("calendar-change/%d/%s", version, requestID)
}

// UpdateID is the Temporal update ID of a request, so that a retried request
// is deduplicated by Temporal and answered with the first result.
func UpdateID(action, requestID string) string { return action + "/" + requestID }

// AwaitCreatedUpdateID is the update ID of the creating request, so that a
// retried create is deduplicated by Temporal.
func AwaitCreatedUpdateID(requestID string) string { return "create/" + requestID }
