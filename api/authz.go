package api

import (
	"slices"
	"strings"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/workflows"
)

// Scope says which objects a permitted caller reaches (issue 10 item 4),
// declared per row; reachFor (scope.go) turns it and the caller's role and
// token into a ledger.Reach, which the interceptor puts into the context
// with the actor. Lists filter by it in SQL; a Get or a change of an object
// out of reach is answered NOT_FOUND (inReach), as one that does not exist.
type Scope string

// Scopes.
const (
	// ScopeProvince reaches everything: rows whose objects belong to no
	// unit (the calendar, the escalation policy, webhooks) and rows only
	// the office or the committee may call.
	ScopeProvince Scope = "province"
	// ScopeUnitOrTeam restricts a unit user to inspections, findings,
	// interviews, exposures and escalations of the unit codes in its
	// token, and team roles to inspections whose team lists their subject
	// (with their findings, interviews, exposures and escalations). The
	// office, the committee and the auditor reach the province.
	ScopeUnitOrTeam Scope = "unit_or_team"
	// ScopeTeam restricts team roles to their own inspections' tips; units
	// are not permitted at all (tip content), the office reaches all.
	ScopeTeam Scope = "team"
)

// Evidence endpoints, served by HTTP only (multipart-free raw uploads and
// downloads), named as their routes.
const (
	EvidenceUpload   = "POST /v1/evidence"
	EvidenceMetadata = "GET /v1/evidence/{id}"
	EvidenceContent  = "GET /v1/evidence/{id}/content"
)

// FindingsExport is the problem list as a workbook or CSV (export.go), an
// HTTP-only route like the evidence endpoints.
const FindingsExport = "GET /v1/findings:export"

// The problem list's way in (import.go) and the round's summary workbook
// (summary.go), HTTP-only routes like the export.
const (
	FindingsTemplate = "GET /v1/findings:template"
	FindingsImport   = "POST /v1/inspections/{inspection_id}/findings:import"
	RoundSummary     = "GET /v1/rounds/{round}/summary.xlsx"
)

// The expert pool's way in (expert_import.go), HTTP-only like the problem
// list's: the import takes the workbook as the request body.
const (
	ExpertsTemplate = "GET /v1/experts:template"
	ExpertsImport   = "POST /v1/experts:import"
)

// rule is one row of the authorization table.
type rule struct {
	// roles may call the method; a caller holding several acts in the first
	// of actor.Roles that the row allows.
	roles []string
	// scope is which objects they reach (see Scope).
	scope Scope
	// public methods need no token (gRPC health and reflection).
	public bool
	// reads is true for a method that changes nothing.
	reads bool
	// change, for a lifecycle change, names the stage machine's action
	// whose roles must equal roles (authz_test.go checks it): the workflow
	// checks them again in its update validator.
	change *machineAction
}

// machineAction is one action of a lifecycle's stage machine.
type machineAction struct {
	machine workflows.Machine
	action  string
}

// Role sets of the charter (DESIGN §1–2).
var (
	office    = []string{actor.RoleOffice}
	committee = []string{actor.RoleCommittee}
	// everyone are the roles of the office's own people and the units;
	// a receiving body (actor.RoleReceiver) is not among them: it reads
	// only the findings referred to it (referralReaders); nor is a person
	// of the expert pool (actor.RoleExpert), who reads only their own
	// invitations.
	everyone = slices.DeleteFunc(slices.Clone(actor.Roles), func(r string) bool { return r == actor.RoleReceiver || r == actor.RoleExpert })
	// poolReaders read the pool and its line-ups: the office that keeps
	// them, the committee that approves teams, the auditor.
	poolReaders = []string{actor.RoleOffice, actor.RoleCommittee, actor.RoleAuditor}
	// invitationReaders are those and the person invited.
	invitationReaders = []string{actor.RoleOffice, actor.RoleCommittee, actor.RoleAuditor, actor.RoleExpert}
	officeAuditor     = []string{actor.RoleOffice, actor.RoleAuditor}
	// team are the office and the inspection team, who record findings,
	// evidence and tips.
	team = []string{actor.RoleOffice, actor.RoleTeamLeader, actor.RoleTeamMember}
	// leaderOffice: the team leader or the office.
	leaderOffice = []string{actor.RoleOffice, actor.RoleTeamLeader}
	// unitOffice: the unit reports, or the office enters a paper report
	// on behalf of the unit that owes it (on_behalf_of, changes.go).
	unitOffice      = []string{actor.RoleOffice, actor.RoleUnit}
	officeCommittee = []string{actor.RoleOffice, actor.RoleCommittee}
	// evidenceUploaders record evidence: the team with findings and
	// reports, the office with notices, the unit with rectification
	// reports, a competent department (committee role) with its sign-off
	// before close-out, a receiving body with a referral's outcome (its
	// case decision, 处理结果).
	evidenceUploaders = []string{actor.RoleOffice, actor.RoleCommittee, actor.RoleTeamLeader, actor.RoleTeamMember, actor.RoleUnit, actor.RoleReceiver}
	// evidenceReaders read evidence in their reach: everyone, and a
	// receiving body its own uploads and the evidence of the findings
	// referred to it.
	evidenceReaders = append(slices.Clone(everyone), actor.RoleReceiver)
	// referralReaders read findings: everyone, and a receiving body the
	// findings referred to it.
	referralReaders = append(slices.Clone(everyone), actor.RoleReceiver)
	// receiverOffice: the receiving body answers a referral, or the office
	// enters its paper receipt or outcome.
	receiverOffice = []string{actor.RoleOffice, actor.RoleReceiver}
)

func read(roles []string, scope Scope) rule { return rule{roles: roles, scope: scope, reads: true} }

func write(roles []string, scope Scope) rule { return rule{roles: roles, scope: scope} }

func change(roles []string, scope Scope, m workflows.Machine, action string) rule {
	return rule{roles: roles, scope: scope, change: &machineAction{machine: m, action: action}}
}

// authorization is the one table of who may call what: one row per gRPC
// method (full name) of every service the server registers, and one per
// evidence and codec route. The interceptor refuses a method without a row, and
// authz_test.go fails when a method of the proto descriptors lacks one.
// Reads are open to every role, within its scope, except tip content,
// which only the office and the inspection's team read, the webhook
// subscriptions, which are the office's configuration, and the audit
// chains' verification (the office and the auditor).
var authorization = map[string]rule{
	// Inspections: the office plans, notifies, reviews, closes; the
	// committee approves the line-up and the report; the team leader
	// stations, ends on-site work and submits the report; the unit reports
	// its rectification.
	"/xuncha.v1.InspectionService/CreateInspection":              change(office, ScopeProvince, workflows.InspectionMachine, "create"),
	"/xuncha.v1.InspectionService/GetInspection":                 read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.InspectionService/ListInspections":               read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.InspectionService/ApproveTeam":                   change(committee, ScopeProvince, workflows.InspectionMachine, workflows.ActionApproveTeam),
	"/xuncha.v1.InspectionService/NotifyInspection":              change(office, ScopeProvince, workflows.InspectionMachine, workflows.ActionNotify),
	"/xuncha.v1.InspectionService/StationInspection":             change(leaderOffice, ScopeUnitOrTeam, workflows.InspectionMachine, workflows.ActionStation),
	"/xuncha.v1.InspectionService/EndOnsite":                     change(leaderOffice, ScopeUnitOrTeam, workflows.InspectionMachine, workflows.ActionEndOnsite),
	"/xuncha.v1.InspectionService/SubmitReport":                  change([]string{actor.RoleTeamLeader}, ScopeUnitOrTeam, workflows.InspectionMachine, workflows.ActionSubmitReport),
	"/xuncha.v1.InspectionService/ReviewReport":                  change(office, ScopeProvince, workflows.InspectionMachine, workflows.ActionReview),
	"/xuncha.v1.InspectionService/ApproveReport":                 change(committee, ScopeProvince, workflows.InspectionMachine, workflows.ActionApprove),
	"/xuncha.v1.InspectionService/GiveFeedback":                  change(office, ScopeProvince, workflows.InspectionMachine, workflows.ActionGiveFeedback),
	"/xuncha.v1.InspectionService/ReportInspectionRectification": change(unitOffice, ScopeUnitOrTeam, workflows.InspectionMachine, workflows.ActionInspectionRectified),
	"/xuncha.v1.InspectionService/CloseInspection":               change(office, ScopeProvince, workflows.InspectionMachine, workflows.ActionClose),
	"/xuncha.v1.InspectionService/RecheckFinding":                change(leaderOffice, ScopeUnitOrTeam, workflows.InspectionMachine, workflows.ActionRecheck),
	"/xuncha.v1.InspectionService/CancelInspection":              change(office, ScopeProvince, workflows.InspectionMachine, workflows.ActionCancel),
	"/xuncha.v1.InspectionService/ListInspectionEvents":          read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.InspectionService/RecordStateCouncilInspection":  write(office, ScopeProvince),
	"/xuncha.v1.InspectionService/ListStateCouncilInspections":   read(everyone, ScopeProvince),

	// The working-day calendar: the office loads it; everyone reads it.
	"/xuncha.v1.CalendarService/GetCalendarYear":      read(everyone, ScopeProvince),
	"/xuncha.v1.CalendarService/LoadCalendarYear":     write(office, ScopeProvince),
	"/xuncha.v1.CalendarService/ListCalendarVersions": read(everyone, ScopeProvince),
	"/xuncha.v1.CalendarService/ComputeDeadline":      read(everyone, ScopeProvince),

	// Findings: team members record and diagnose; the leader or the office
	// classifies; the office refers, verifies and withdraws; the unit
	// reports its rectification.
	"/xuncha.v1.FindingService/RecordFinding":       change(team, ScopeUnitOrTeam, workflows.FindingMachine, "record"),
	"/xuncha.v1.FindingService/GetFinding":          read(referralReaders, ScopeUnitOrTeam),
	"/xuncha.v1.FindingService/ListFindings":        read(referralReaders, ScopeUnitOrTeam),
	"/xuncha.v1.FindingService/DiagnoseFinding":     change(team, ScopeUnitOrTeam, workflows.FindingMachine, workflows.ActionDiagnose),
	"/xuncha.v1.FindingService/ClassifyFinding":     change(leaderOffice, ScopeUnitOrTeam, workflows.FindingMachine, workflows.ActionClassify),
	"/xuncha.v1.FindingService/ReferFinding":        change(office, ScopeProvince, workflows.FindingMachine, workflows.ActionRefer),
	"/xuncha.v1.FindingService/ReportRectification": change(unitOffice, ScopeUnitOrTeam, workflows.FindingMachine, workflows.ActionReportRectification),
	"/xuncha.v1.FindingService/VerifyFinding":       change(office, ScopeProvince, workflows.FindingMachine, workflows.ActionVerify),
	"/xuncha.v1.FindingService/WithdrawFinding":     change(office, ScopeProvince, workflows.FindingMachine, workflows.ActionWithdraw),
	"/xuncha.v1.FindingService/ListFindingEvents":   read(referralReaders, ScopeUnitOrTeam),
	// Extensions (延期): the unit asks (the office only on its behalf);
	// the office decides.
	"/xuncha.v1.FindingService/RequestExtension": change(unitOffice, ScopeUnitOrTeam, workflows.FindingMachine, workflows.ActionRequestExtension),
	"/xuncha.v1.FindingService/DecideExtension":  change(office, ScopeProvince, workflows.FindingMachine, workflows.ActionDecideExtension),
	// Sign-off before close-out (销号): the signers the escalation policy
	// names, the office or a competent department in the committee role;
	// the workflow checks the caller is one awaited.
	"/xuncha.v1.FindingService/SignOffFinding": change(officeCommittee, ScopeProvince, workflows.FindingMachine, workflows.ActionSignOff),
	// Referral of clues (移交): the office refers; the receiving body
	// acknowledges and reports its outcome (the office may enter a paper
	// one), within its reach: the findings referred to it.
	"/xuncha.v1.FindingService/ReferClue":             change(office, ScopeProvince, workflows.FindingMachine, workflows.ActionReferClue),
	"/xuncha.v1.FindingService/AcknowledgeReferral":   change(receiverOffice, ScopeUnitOrTeam, workflows.FindingMachine, workflows.ActionAcknowledgeReferral),
	"/xuncha.v1.FindingService/ReportReferralOutcome": change(receiverOffice, ScopeUnitOrTeam, workflows.FindingMachine, workflows.ActionReportReferralOutcome),
	// The routing table: the office keeps it; everyone but the receivers
	// reads it.
	"/xuncha.v1.ReferralRouteService/ListReferralRoutes":  read(everyone, ScopeProvince),
	"/xuncha.v1.ReferralRouteService/SetReferralRoute":    write(office, ScopeProvince),
	"/xuncha.v1.ReferralRouteService/RemoveReferralRoute": write(office, ScopeProvince),

	// Escalation: the office sets the ladder.
	"/xuncha.v1.EscalationService/ListEscalations":        read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.EscalationService/GetEscalationPolicy":    read(everyone, ScopeProvince),
	"/xuncha.v1.EscalationService/UpdateEscalationPolicy": write(office, ScopeProvince),

	// Webhooks are the office's subscriptions; the auditor reads them.
	"/xuncha.v1.WebhookService/CreateWebhook": write(office, ScopeProvince),
	"/xuncha.v1.WebhookService/ListWebhooks":  read(officeAuditor, ScopeProvince),
	"/xuncha.v1.WebhookService/DeleteWebhook": write(office, ScopeProvince),

	// Interviews: the office or the team proposes; the office or the
	// committee approves, holds and closes; the unit reports its follow-up;
	// the office cancels (xuncha itself too, as RoleSystem, in the worker).
	"/xuncha.v1.InterviewService/ProposeInterview":        change(team, ScopeUnitOrTeam, workflows.InterviewMachine, "propose"),
	"/xuncha.v1.InterviewService/GetInterview":            read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.InterviewService/ListInterviewEvents":     read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.InterviewService/ListInterviews":          read(everyone, ScopeUnitOrTeam),
	"/xuncha.v1.InterviewService/ApproveInterview":        change(officeCommittee, ScopeProvince, workflows.InterviewMachine, workflows.ActionApproveInterview),
	"/xuncha.v1.InterviewService/HoldInterview":           change(officeCommittee, ScopeProvince, workflows.InterviewMachine, workflows.ActionHoldInterview),
	"/xuncha.v1.InterviewService/ReportInterviewFollowUp": change(unitOffice, ScopeUnitOrTeam, workflows.InterviewMachine, workflows.ActionReportInterviewFollowUp),
	"/xuncha.v1.InterviewService/CloseInterview":          change(officeCommittee, ScopeProvince, workflows.InterviewMachine, workflows.ActionCloseInterview),
	"/xuncha.v1.InterviewService/CancelInterview":         change(office, ScopeProvince, workflows.InterviewMachine, workflows.ActionCancelInterview),

	// Exposures: the office records them.
	"/xuncha.v1.ExposureService/RecordExposure": write(office, ScopeProvince),
	"/xuncha.v1.ExposureService/ListExposures":  read(everyone, ScopeUnitOrTeam),

	// Tips: the team and the office receive them and read their content;
	// the leader or the office triages. Nobody reads the reporter's
	// identity through the API.
	"/xuncha.v1.TipService/ReceiveTip": write(team, ScopeTeam),
	"/xuncha.v1.TipService/GetTip":     read(team, ScopeTeam),
	"/xuncha.v1.TipService/ListTips":   read(team, ScopeTeam),
	"/xuncha.v1.TipService/TriageTip":  write(leaderOffice, ScopeTeam),

	// The expert pool (issue 15): the office keeps the pool, draws
	// line-ups, swaps members, sends the invitations, approves a complete
	// line-up and judges declines; the person invited (role expert, by the
	// subject their entry links to) sees and answers only their own
	// invitations (the office may record an answer given otherwise).
	"/xuncha.v1.ExpertPoolService/AddExpert":         write(office, ScopeProvince),
	"/xuncha.v1.ExpertPoolService/GetExpert":         read(poolReaders, ScopeProvince),
	"/xuncha.v1.ExpertPoolService/ListExperts":       read(poolReaders, ScopeProvince),
	"/xuncha.v1.ExpertPoolService/AddUnavailability": write(office, ScopeProvince),
	"/xuncha.v1.ExpertPoolService/LeavePool":         write(office, ScopeProvince),
	"/xuncha.v1.ExpertPoolService/GetPoolStatistics": read(poolReaders, ScopeProvince),
	"/xuncha.v1.LineupService/DrawLineup":            write(office, ScopeProvince),
	"/xuncha.v1.LineupService/GetLineup":             read(poolReaders, ScopeProvince),
	"/xuncha.v1.LineupService/SwapLineupMember":      write(office, ScopeProvince),
	"/xuncha.v1.LineupService/SendInvitations":       change(office, ScopeProvince, workflows.InvitationMachine, "invite"),
	"/xuncha.v1.LineupService/ApproveLineup":         write(office, ScopeProvince),
	"/xuncha.v1.LineupService/CancelLineup":          write(office, ScopeProvince),
	"/xuncha.v1.InvitationService/GetInvitation":     read(invitationReaders, ScopeUnitOrTeam),
	"/xuncha.v1.InvitationService/ListInvitations":   read(invitationReaders, ScopeUnitOrTeam),
	"/xuncha.v1.InvitationService/AcceptInvitation":  change([]string{actor.RoleOffice, actor.RoleExpert}, ScopeUnitOrTeam, workflows.InvitationMachine, workflows.ActionAcceptInvitation),
	"/xuncha.v1.InvitationService/DeclineInvitation": change([]string{actor.RoleOffice, actor.RoleExpert}, ScopeUnitOrTeam, workflows.InvitationMachine, workflows.ActionDeclineInvitation),
	"/xuncha.v1.InvitationService/JudgeDecline":      change(office, ScopeProvince, workflows.InvitationMachine, workflows.ActionJudgeDecline),

	// The audit chains: the office and the auditor verify them.
	"/xuncha.v1.AuditService/VerifyAudit": read(officeAuditor, ScopeProvince),

	// Statistics and the problem list's export read the findings in reach.
	"/xuncha.v1.StatisticsService/GetStatistics": read(everyone, ScopeUnitOrTeam),
	FindingsExport: read(everyone, ScopeUnitOrTeam),
	RoundSummary:   read(everyone, ScopeUnitOrTeam),
	// The problem list's import records findings as RecordFinding does,
	// row by row through it: the same row. The template is an empty form.
	FindingsImport:   change(team, ScopeUnitOrTeam, workflows.FindingMachine, "record"),
	FindingsTemplate: read(everyone, ScopeProvince),
	// The pool's import adds people row by row through AddExpert: the
	// office, as AddExpert's row.
	ExpertsImport:   write(office, ScopeProvince),
	ExpertsTemplate: read(office, ScopeProvince),

	// Evidence (HTTP only).
	EvidenceUpload:   write(evidenceUploaders, ScopeUnitOrTeam),
	EvidenceMetadata: read(evidenceReaders, ScopeUnitOrTeam),
	EvidenceContent:  read(evidenceReaders, ScopeUnitOrTeam),

	// Temporal's payloads, decrypted for the Web UI and CLI (HTTP only):
	// whole histories in the clear, so the office and the auditor only, as
	// the province's oversight; every decode is audited (codec.go).
	CodecDecode: read(officeAuditor, ScopeProvince),
	// An encode makes ciphertext under the ring's key, which a Temporal
	// client could send as a change: the office's (the Web UI's actions),
	// not the auditor's, who changes nothing.
	CodecEncode: write(office, ScopeProvince),

	// Health and reflection reveal nothing and stay open.
	"/grpc.health.v1.Health/Check":                                   {public: true},
	"/grpc.health.v1.Health/Watch":                                   {public: true},
	"/grpc.health.v1.Health/List":                                    {public: true},
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      {public: true},
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": {public: true},
}

// permit returns the actor an authenticated caller acts as for method, or
// an ErrPermissionDenied error naming the roles that may call it. A
// method without a row is refused: a new RPC is closed until the table
// says who may call it.
func permit(method string, id authn.Identity) (actor.Actor, error) {
	r, ok := authorization[method]
	if !ok {
		return actor.Actor{}, derrors.New(derrors.ErrPermissionDenied, "%s has no authorization rule", method)
	}
	if len(id.Roles) == 0 {
		return actor.Actor{}, derrors.New(derrors.ErrPermissionDenied,
			"the bearer token carries no xuncha role (%s); ask the identity provider's administrators for one", strings.Join(actor.Roles, ", "))
	}
	for _, role := range actor.Roles {
		if id.HasRole(role) && slices.Contains(r.roles, role) {
			return id.ActorAs(role)
		}
	}
	return actor.Actor{}, derrors.New(derrors.ErrPermissionDenied, "%s may be called by %s, not by role %s",
		i18n.Text{EN: method, ZH: restRoute(method)}, i18n.Terms(i18n.Role, " or ", r.roles...), i18n.Terms(i18n.Role, ", ", id.Roles...))
}

// restRoute names a gRPC method as a REST client calls it ("POST
// /v1/findings/{id}:decideExtension"), or as itself when it has no HTTP
// binding: a clerk's refusal named the gRPC method.
func restRoute(method string) string {
	rules, err := httpRules()
	if err != nil {
		return method
	}
	for _, r := range rules {
		if r.grpcMethod == method {
			return r.method + " " + r.template
		}
	}
	return method
}
