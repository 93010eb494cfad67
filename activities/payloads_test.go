package activities_test

import (
	"testing"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/payloadshape"
)

// payloads are the types of this package that activities take and answer: every exported
// struct named …Input, …Result, …State, …Signal or …Terms, and the deadline package's results the activities answer with.
var payloads = map[string]any{
	"CloseFindingInput":           activities.CloseFindingInput{},
	"CloseFindingResult":          activities.CloseFindingResult{},
	"CreateInspectionInput":       activities.CreateInspectionInput{},
	"DeliverWebhookInput":         activities.DeliverWebhookInput{},
	"DeliverWebhookResult":        activities.DeliverWebhookResult{},
	"EscalateInput":               activities.EscalateInput{},
	"EscalateInspectionInput":     activities.EscalateInspectionInput{},
	"EscalateInterviewInput":      activities.EscalateInterviewInput{},
	"EscalateInvitationInput":     activities.EscalateInvitationInput{},
	"EscalateResult":              activities.EscalateResult{},
	"ExtensionTermsInput":         activities.ExtensionTermsInput{},
	"FindingChangeInput":          activities.FindingChangeInput{},
	"FindingDeadlineInput":        activities.FindingDeadlineInput{},
	"FindingIDInput":              activities.FindingIDInput{},
	"FindingIDsResult":            activities.FindingIDsResult{},
	"FindingsAmongInput":          activities.FindingsAmongInput{},
	"FindingsAmongResult":         activities.FindingsAmongResult{},
	"FinishDeliveryInput":         activities.FinishDeliveryInput{},
	"InspectionChangeInput":       activities.InspectionChangeInput{},
	"InspectionFindingsInput":     activities.InspectionFindingsInput{},
	"InterviewChangeInput":        activities.InterviewChangeInput{},
	"InterviewIDsResult":          activities.InterviewIDsResult{},
	"InvitationChangeInput":       activities.InvitationChangeInput{},
	"InvitationTerms":             activities.InvitationTerms{},
	"InvitationTermsInput":        activities.InvitationTermsInput{},
	"LineupPoolInput":             activities.LineupPoolInput{},
	"LineupPoolResult":            activities.LineupPoolResult{},
	"OpenDeadlinesResult":         activities.OpenDeadlinesResult{},
	"ProposedInterviewsInput":     activities.ProposedInterviewsInput{},
	"QueueWebhookInput":           activities.QueueWebhookInput{},
	"QueueWebhookResult":          activities.QueueWebhookResult{},
	"RecordFindingInput":          activities.RecordFindingInput{},
	"RecordFindingResult":         activities.RecordFindingResult{},
	"RecordInterviewInput":        activities.RecordInterviewInput{},
	"RecordReplacementInput":      activities.RecordReplacementInput{},
	"RecordReplacementResult":     activities.RecordReplacementResult{},
	"ResolveDeadlineInput":        activities.ResolveDeadlineInput{},
	"RouteReferralInput":          activities.RouteReferralInput{},
	"RouteReferralResult":         activities.RouteReferralResult{},
	"SendUpdateInput":             activities.SendUpdateInput{},
	"SendUpdateResult":            activities.SendUpdateResult{},
	"SignoffTerms":                activities.SignoffTerms{},
	"SignoffTermsInput":           activities.SignoffTermsInput{},
	"StartImportedFindingsInput":  activities.StartImportedFindingsInput{},
	"StartImportedFindingsResult": activities.StartImportedFindingsResult{},
	"StartWorkflowInput":          activities.StartWorkflowInput{},
	"SubscribersInput":            activities.SubscribersInput{},
	"SubscribersResult":           activities.SubscribersResult{},
	"WebhookDeliveryInput":        activities.WebhookDeliveryInput{},
	"WriteAuditAnchorInput":       activities.WriteAuditAnchorInput{},
	"WriteAuditAnchorResult":      activities.WriteAuditAnchorResult{},
	"deadline.Resolved":           deadline.Resolved{},
	"deadline.ExtensionTerms":     deadline.ExtensionTerms{},
}

// TestPayloadsKeepTheirShape pins the JSON of every payload type with every
// field set (testdata/payloads.json): a field added, dropped, renamed or
// retyped changes what recorded histories hold, so it fails here until the
// file is rewritten on purpose (go test ./activities -update) and the change
// is checked against the recorded histories (workflows/testdata/replay).
func TestPayloadsKeepTheirShape(t *testing.T) {
	payloadshape.Check(t, "testdata/payloads.json", payloads, *payloadshape.Update)
}

// TestEveryPayloadIsPinned keeps the list above whole: a new …Input or
// …Result of this package is a payload too.
func TestEveryPayloadIsPinned(t *testing.T) {
	payloadshape.CheckListed(t, ".", payloads)
}
