package workflows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Finding stages: the closed loop (DESIGN §2).
const (
	FindingFound      = "FOUND"
	FindingListed     = "LISTED"
	FindingDiagnosed  = "DIAGNOSED"
	FindingClassified = "CLASSIFIED"
	FindingReferred   = "REFERRED"
	FindingRectified  = "RECTIFIED"
	FindingClosed     = "CLOSED"
	FindingWithdrawn  = "WITHDRAWN"
)

// FindingStages lists the stages in lifecycle order.
var FindingStages = []string{FindingFound, FindingListed, FindingDiagnosed, FindingClassified, FindingReferred, FindingRectified, FindingClosed, FindingWithdrawn}

// Finding actions: what a caller asks for. Verify accepts (-> CLOSED) or
// rejects (-> REFERRED).
const (
	ActionDiagnose            = "diagnose"
	ActionClassify            = "classify"
	ActionRefer               = "refer"
	ActionReportRectification = "reportRectification"
	ActionVerify              = "verify"
	ActionWithdraw            = "withdraw"
)

// FindingRecordingStages are the inspection stages in which a team records
// findings: while it is on site and until it reports (charter 三(三)). The
// ledger checks them as a finding's row is written, so a report written at
// the same moment is either after the finding or refuses it.
var FindingRecordingStages = []string{StageStationed, StageOnsiteEnded}

// TipReceivingStages are the stages of an inspection in which its tips are
// received: from its notice, which publishes where to send them (charter
// 三(三)2), until the team reports, which waits for every tip to be
// triaged (a tip received after it could no longer become a finding).
var TipReceivingStages = []string{StageNotified, StageStationed, StageOnsiteEnded}

// FindingActions lists the actions that move a finding round the closed
// loop; FindingExtensionActions those that keep it REFERRED.
var FindingActions = []string{ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification, ActionVerify, ActionWithdraw}

// findingMachine is the closed loop (DESIGN §2) and who may take each step
// of it: the action each open stage allows and the stage it leads to.
// Withdraw is allowed in every open stage; verify's rejection leads back to
// REFERRED (NextFindingStage); an extension is asked for and decided while
// the finding stays REFERRED (finding_extension.go); a verified finding
// whose escalation policy names signers stays RECTIFIED until the last one
// signs off (CLOSED) or one refuses (REFERRED) (finding_signoff.go).
var findingMachine = &stageMachine{
	subjectType: casework.SubjectFinding,
	noun:        "a finding",
	workflowID:  FindingWorkflowID,
	moves: withClueReferralMoves(map[string][]move{
		FindingListed:     {{ActionDiagnose, FindingDiagnosed}},
		FindingDiagnosed:  {{ActionClassify, FindingClassified}},
		FindingClassified: {{ActionRefer, FindingReferred}},
		FindingReferred:   {{ActionReportRectification, FindingRectified}, {ActionRequestExtension, FindingReferred}, {ActionDecideExtension, FindingReferred}},
		FindingRectified:  {{ActionVerify, FindingClosed}, {ActionSignOff, FindingClosed}},
	}),
	anytime: move{ActionWithdraw, FindingWithdrawn},
	final:   []string{FindingClosed, FindingWithdrawn},
	roles: withClueReferralRoles(map[string][]string{
		"record":                  {actor.RoleTeamMember, actor.RoleTeamLeader, actor.RoleOffice},
		ActionDiagnose:            {actor.RoleTeamMember, actor.RoleTeamLeader, actor.RoleOffice},
		ActionClassify:            {actor.RoleTeamLeader, actor.RoleOffice},
		ActionRefer:               {actor.RoleOffice},
		ActionReportRectification: {actor.RoleUnit, actor.RoleOffice},
		ActionVerify:              {actor.RoleOffice},
		ActionWithdraw:            {actor.RoleOffice},
		// The unit asks for more time, or the office on its behalf
		// (on_behalf_of); the office decides.
		ActionRequestExtension: {actor.RoleUnit, actor.RoleOffice},
		ActionDecideExtension:  {actor.RoleOffice},
		// Sign-off before close-out: the signers the escalation policy
		// names, each the office or a competent department signing in the
		// committee role (casework.SignerRoles).
		ActionSignOff: {actor.RoleOffice, actor.RoleCommittee},
	}),
}

// NextFindingStage returns the stage an action leads to from stage, or a
// *derrors.StageError naming the current stage and what it allows. For
// verify, accepted says which way it goes.
func NextFindingStage(findingID, stage, action string, accepted bool) (string, error) {
	next, err := findingMachine.next(findingID, stage, action)
	if err == nil && action == ActionVerify && !accepted {
		return FindingReferred, nil
	}
	return next, err
}

// Finding kinds and severities, as casework names them.
const (
	KindHazard         = casework.KindHazard
	KindResponsibility = casework.KindResponsibility
	KindViolationClue  = casework.KindViolationClue
	KindSystemicRisk   = casework.KindSystemicRisk

	SeverityGeneral = casework.SeverityGeneral
	SeverityMajor   = casework.SeverityMajor
)

// FindingKinds lists the kinds of finding.
var FindingKinds = casework.FindingKinds

// Dispositions a classification chooses from (one or more).
var Dispositions = []string{"RECTIFY", "REFER_CLUE", "SUPERVISE", "EXPOSE"}

// RiskLevels a diagnosis chooses from.
var RiskLevels = []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}

// ContentAreas is the number of the charter's inspection content items
// (三(一)1–10); a finding names the one it falls under.
const ContentAreas = 10

// NeedsImmediateNotice reports whether a finding is a MAJOR hazard or an
// important problem, notified to the unit and the office as soon as found
// (charter 三(三)3).
func NeedsImmediateNotice(f casework.Finding) bool {
	return f.Severity == SeverityMajor || f.Important
}

// ValidateFinding checks a new finding; field names are RecordFindingRequest's.
func ValidateFinding(f casework.Finding) error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", f.RequestID)
	ValidateID(&v, "finding_id", f.ID)
	if f.InspectionID == "" {
		v.Add("inspection_id", "must not be empty")
	}
	v.RequireText("title", f.Title, 200)
	v.RequireText("description", f.Description, 10000)
	if !slices.Contains(FindingKinds, f.Kind) {
		v.Add("kind", "must be one of %s", strings.Join(FindingKinds, ", "))
	}
	switch {
	case f.Kind == KindHazard && !slices.Contains(casework.HazardSeverities, f.Severity):
		v.Add("severity", "a HAZARD needs severity GENERAL or MAJOR")
	case f.Kind != KindHazard && f.Severity != "":
		v.Add("severity", "only a HAZARD has a severity")
	}
	if f.ContentArea < 1 || f.ContentArea > ContentAreas {
		v.Add("content_area", "must be the charter's content item 1 to %d", ContentAreas)
	}
	if len(f.EvidenceIDs) == 0 {
		v.Add("evidence_ids", "must list at least one piece of evidence (upload it first: POST /v1/evidence)")
	}
	v.RequireTextIf(NeedsImmediateNotice(f), "rectification_opinion", f.RectificationOpinion, 5000)
	return v.Err()
}

// DiagnoseInput is the diagnose update's argument.
type DiagnoseInput struct {
	Change
	Diagnosis casework.Diagnosis `json:"diagnosis"`
}

// Validate checks the fields; names are DiagnoseFindingRequest's.
func (in DiagnoseInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("diagnosis.cause", in.Diagnosis.Cause, 5000)
	if len(in.Diagnosis.ResponsibleParties) == 0 {
		v.Add("diagnosis.responsible_parties", "must name at least one responsible party")
	}
	for i, p := range in.Diagnosis.ResponsibleParties {
		v.RequireText(fmt.Sprintf("diagnosis.responsible_parties[%d]", i), p, 200)
	}
	if !slices.Contains(RiskLevels, in.Diagnosis.RiskLevel) {
		v.Add("diagnosis.risk_level", "must be one of %s", strings.Join(RiskLevels, ", "))
	}
	v.LimitText("diagnosis.legal_basis", in.Diagnosis.LegalBasis, 5000)
	v.LimitText("diagnosis.rectification_opinion", in.Diagnosis.RectificationOpinion, 5000)
	return v.Err()
}

// ClassifyInput is the classify update's argument.
type ClassifyInput struct {
	Change
	Dispositions []string `json:"dispositions"`
	Note         string   `json:"note"`
}

// Validate checks the fields; names are ClassifyFindingRequest's.
func (in ClassifyInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if len(in.Dispositions) == 0 {
		v.Add("dispositions", "must choose at least one of %s", strings.Join(Dispositions, ", "))
	}
	seen := map[string]bool{}
	for i, d := range in.Dispositions {
		switch {
		case !slices.Contains(Dispositions, d):
			v.Add(fmt.Sprintf("dispositions[%d]", i), "must be one of %s", strings.Join(Dispositions, ", "))
		case seen[d]:
			v.Add(fmt.Sprintf("dispositions[%d]", i), "%s is listed twice", d)
		}
		seen[d] = true
	}
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// ReferInput is the refer update's argument.
type ReferInput struct {
	Change
	Referral casework.Referral `json:"referral"`
	Note     string            `json:"note"`
}

// Validate checks the fields; names are ReferFindingRequest's. The limit
// itself (at most one month) is checked against the calendar by the API and
// again by the workflow's deadline activity.
func (in ReferInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("receiving_authority", in.Referral.ReceivingAuthority, 200)
	if _, err := calendar.ParseDate(in.Referral.FeedbackReceivedOn); err != nil {
		v.Add("feedback_received_on", "must be a date YYYY-MM-DD")
	}
	if in.Referral.Due != "" {
		if _, err := calendar.ParseDate(in.Referral.Due); err != nil {
			v.Add("due", "must be a date YYYY-MM-DD")
		}
	}
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// ReportRectificationInput is the reportRectification update's argument.
type ReportRectificationInput struct {
	Change
	Report                string   `json:"report"`
	HandlingOfResponsible string   `json:"handling_of_responsible"`
	EvidenceIDs           []string `json:"evidence_ids"`
}

// Validate checks the fields; names are ReportRectificationRequest's.
func (in ReportRectificationInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("report", in.Report, 10000)
	v.RequireText("handling_of_responsible", in.HandlingOfResponsible, 10000)
	if len(in.EvidenceIDs) == 0 {
		v.Add("evidence_ids", "must list at least one piece of evidence of the rectification")
	}
	requireEvidenceIDs(&v, in.EvidenceIDs)
	return v.Err()
}

// requireEvidenceIDs refuses an empty entry of a report's evidence_ids: an
// inspection's rectification report of [""] was taken as one with
// evidence.
func requireEvidenceIDs(v *derrors.Violations, ids []string) {
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			v.Add(fmt.Sprintf("evidence_ids[%d]", i), "must not be empty")
		}
	}
}

// VerifyInput is the verify update's argument.
type VerifyInput struct {
	Change
	Accept bool   `json:"accept"`
	Reason string `json:"reason"`
	// Due is the new limit's last day when rejecting; empty means one month.
	Due string `json:"due"`
}

// Validate checks the fields; names are VerifyFindingRequest's.
func (in VerifyInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireTextIf(!in.Accept, "reason", in.Reason, 5000)
	dateOnlyIf(&v, !in.Accept, "due", in.Due, i18n.T("is only given when rejecting"))
	return v.Err()
}

// WithdrawInput is the withdraw update's argument.
type WithdrawInput struct {
	Change
	Reason string `json:"reason"`
}

// Validate checks the fields; names are WithdrawFindingRequest's.
func (in WithdrawInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("reason", in.Reason, 5000)
	return v.Err()
}

// findingRefusal refuses action in the finding's stage with a stable reason
// and an explanation in both languages: the one shape of the extension's,
// the sign-off's and the referral's refusals.
func findingRefusal(f casework.Finding, action, reason, format string, args ...any) error {
	return derrors.StageError{Reason: reason, Subject: FindingWorkflowID(f.ID), Action: action, Stage: f.Stage,
		Allowed: findingMachine.allowed(f.Stage)}.Says(format, args...)
}
