package workflows_test

import (
	"testing"

	"github.com/xuncha/xuncha/internal/payloadshape"
	"github.com/xuncha/xuncha/workflows"
)

// payloads are the types of this package that workflows take and answer (inputs, Update arguments and answers, signals, results): every exported
// struct named …Input, …Result, …State, …Signal or …Terms.
var payloads = map[string]any{
	"AcknowledgeReferralInput":     workflows.AcknowledgeReferralInput{},
	"AnswerInvitationInput":        workflows.AnswerInvitationInput{},
	"ApproveInput":                 workflows.ApproveInput{},
	"ApproveInterviewInput":        workflows.ApproveInterviewInput{},
	"ApproveTeamInput":             workflows.ApproveTeamInput{},
	"AuditAnchorInput":             workflows.AuditAnchorInput{},
	"AwaitCreatedInput":            workflows.AwaitCreatedInput{},
	"CalendarChangeInput":          workflows.CalendarChangeInput{},
	"CalendarChangeResult":         workflows.CalendarChangeResult{},
	"CalendarChangedSignal":        workflows.CalendarChangedSignal{},
	"CancelInput":                  workflows.CancelInput{},
	"CancelInterviewInput":         workflows.CancelInterviewInput{},
	"ClassifyInput":                workflows.ClassifyInput{},
	"CloseInterviewInput":          workflows.CloseInterviewInput{},
	"DecideExtensionInput":         workflows.DecideExtensionInput{},
	"DiagnoseInput":                workflows.DiagnoseInput{},
	"DrawInput":                    workflows.DrawInput{},
	"DrawResult":                   workflows.DrawResult{},
	"EndOnsiteInput":               workflows.EndOnsiteInput{},
	"FindingImportInput":           workflows.FindingImportInput{},
	"FindingImportResult":          workflows.FindingImportResult{},
	"FindingInput":                 workflows.FindingInput{},
	"FindingState":                 workflows.FindingState{},
	"GiveFeedbackInput":            workflows.GiveFeedbackInput{},
	"HoldInterviewInput":           workflows.HoldInterviewInput{},
	"InspectionInput":              workflows.InspectionInput{},
	"InspectionRectificationInput": workflows.InspectionRectificationInput{},
	"InspectionState":              workflows.InspectionState{},
	"InterviewInput":               workflows.InterviewInput{},
	"InterviewState":               workflows.InterviewState{},
	"InvitationInput":              workflows.InvitationInput{},
	"InvitationState":              workflows.InvitationState{},
	"JudgeDeclineInput":            workflows.JudgeDeclineInput{},
	"LifecycleResult":              workflows.LifecycleResult{},
	"NotifyInput":                  workflows.NotifyInput{},
	"RecheckInput":                 workflows.RecheckInput{},
	"ReferClueInput":               workflows.ReferClueInput{},
	"ReferInput":                   workflows.ReferInput{},
	"ReopenInput":                  workflows.ReopenInput{},
	"ReplaceInput":                 workflows.ReplaceInput{},
	"ReportInterviewFollowUpInput": workflows.ReportInterviewFollowUpInput{},
	"ReportRectificationInput":     workflows.ReportRectificationInput{},
	"ReportReferralOutcomeInput":   workflows.ReportReferralOutcomeInput{},
	"RequestExtensionInput":        workflows.RequestExtensionInput{},
	"ReviewInput":                  workflows.ReviewInput{},
	"SignOffInput":                 workflows.SignOffInput{},
	"StationInput":                 workflows.StationInput{},
	"SubmitReportInput":            workflows.SubmitReportInput{},
	"VerifyInput":                  workflows.VerifyInput{},
	"WithdrawInput":                workflows.WithdrawInput{},
	"WithdrawInvitationInput":      workflows.WithdrawInvitationInput{},
}

// TestPayloadsKeepTheirShape pins the JSON of every payload type with every
// field set (testdata/payloads.json): a field added, dropped, renamed or
// retyped changes what recorded histories hold, so it fails here until the
// file is rewritten on purpose (go test ./workflows -update) and the change
// is checked against the recorded histories (workflows/testdata/replay).
func TestPayloadsKeepTheirShape(t *testing.T) {
	payloadshape.Check(t, "testdata/payloads.json", payloads, *payloadshape.Update)
}

// TestEveryPayloadIsPinned keeps the list above whole: a new …Input or
// …Result of this package is a payload too.
func TestEveryPayloadIsPinned(t *testing.T) {
	payloadshape.CheckListed(t, ".", payloads)
}
