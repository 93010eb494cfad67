package workflows

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Inspection actions (the custom methods of InspectionService).
const (
	ActionApproveTeam         = "approveTeam"
	ActionNotify              = "notify"
	ActionStation             = "station"
	ActionEndOnsite           = "endOnsite"
	ActionSubmitReport        = "submitReport"
	ActionReview              = "review"
	ActionApprove             = "approve"
	ActionGiveFeedback        = "giveFeedback"
	ActionInspectionRectified = "reportRectification"
	ActionClose               = "close"
	ActionCancel              = "cancel"
	// ActionRecheck is a FOLLOW_UP inspection's re-check of a closed
	// finding; it keeps the stage.
	ActionRecheck = "recheck"
)

// InspectionActions lists the actions in procedure order.
var InspectionActions = []string{ActionApproveTeam, ActionNotify, ActionStation, ActionEndOnsite, ActionSubmitReport,
	ActionReview, ActionApprove, ActionGiveFeedback, ActionInspectionRectified, ActionClose, ActionCancel, ActionRecheck}

// InspectionStages lists the stages in procedure order.
var InspectionStages = []string{StagePlanned, StageNotified, StageStationed, StageOnsiteEnded, StageReported, StageReviewed,
	StageApproved, StageFeedbackGiven, StageRectificationReported, StageClosed, StageCancelled}

// inspectionMachine is the procedure (charter 三(三)1–6) and the division
// of powers over it: the actions each stage allows and the stage each leads
// to. approveTeam and recheck keep the stage; cancel is allowed in every
// open stage.
var inspectionMachine = &stageMachine{
	subjectType: casework.SubjectInspection,
	noun:        "an inspection",
	workflowID:  InspectionWorkflowID,
	moves: map[string][]move{
		StagePlanned:               {{ActionApproveTeam, StagePlanned}, {ActionNotify, StageNotified}},
		StageNotified:              {{ActionStation, StageStationed}},
		StageStationed:             {{ActionEndOnsite, StageOnsiteEnded}, {ActionRecheck, StageStationed}},
		StageOnsiteEnded:           {{ActionSubmitReport, StageReported}, {ActionRecheck, StageOnsiteEnded}},
		StageReported:              {{ActionReview, StageReviewed}},
		StageReviewed:              {{ActionApprove, StageApproved}},
		StageApproved:              {{ActionGiveFeedback, StageFeedbackGiven}},
		StageFeedbackGiven:         {{ActionInspectionRectified, StageRectificationReported}},
		StageRectificationReported: {{ActionClose, StageClosed}},
	},
	anytime: move{ActionCancel, StageCancelled},
	final:   []string{StageClosed, StageCancelled},
	roles: map[string][]string{
		"create":                  {actor.RoleOffice},
		ActionApproveTeam:         {actor.RoleCommittee},
		ActionNotify:              {actor.RoleOffice},
		ActionStation:             {actor.RoleOffice, actor.RoleTeamLeader},
		ActionEndOnsite:           {actor.RoleTeamLeader, actor.RoleOffice},
		ActionSubmitReport:        {actor.RoleTeamLeader},
		ActionReview:              {actor.RoleOffice},
		ActionApprove:             {actor.RoleCommittee},
		ActionGiveFeedback:        {actor.RoleOffice},
		ActionInspectionRectified: {actor.RoleUnit, actor.RoleOffice},
		ActionClose:               {actor.RoleOffice},
		ActionCancel:              {actor.RoleOffice},
		ActionRecheck:             {actor.RoleTeamLeader, actor.RoleOffice},
	},
}

// inspectionGuard refuses what the stage table allows but the inspection's
// state does not: the advance notice before the committee approved the
// line-up, approving it twice, a re-check by an inspection that does not
// follow up another.
func inspectionGuard(in casework.Inspection, action string) error {
	subject := InspectionWorkflowID(in.ID)
	switch {
	case action == ActionNotify && !in.TeamApproved:
		return derrors.StageError{Reason: "TEAM_NOT_APPROVED", Subject: subject, Action: action, Stage: in.Stage,
			Allowed: []string{ActionApproveTeam, ActionCancel}}.
			Says("the committee approves the team line-up before the advance notice (approveTeam)")
	case action == ActionRecheck && in.Kind != KindFollowUp:
		return derrors.StageError{Reason: "NOT_FOLLOW_UP", Subject: subject, Action: action, Stage: in.Stage,
			Allowed: inspectionMachine.allowed(in.Stage)}.Says("only a FOLLOW_UP (回头看) inspection re-checks findings")
	case action == ActionApproveTeam && in.TeamApproved:
		return derrors.StageError{Reason: "TEAM_ALREADY_APPROVED", Subject: subject, Action: action, Stage: in.Stage,
			Allowed: []string{ActionNotify, ActionCancel}}.Says("the team line-up is already approved")
	}
	return nil
}

// Team roles and ranks (charter 二).
const (
	TeamLeader   = "LEADER"
	TeamDeputy   = "DEPUTY"
	TeamMember   = "MEMBER"
	TeamExpert   = "EXPERT"
	TeamObserver = "OBSERVER"

	RankDepartment        = "DEPARTMENT_LEVEL"
	RankInspector1        = "INSPECTOR_LEVEL_1"
	RankInspector2        = "INSPECTOR_LEVEL_2"
	RankDivisionChief     = "DIVISION_CHIEF"
	RankDeputyDivisionChf = "DEPUTY_DIVISION_CHIEF"
	RankOther             = "OTHER"
)

var (
	teamRoles = []string{TeamLeader, TeamDeputy, TeamMember, TeamExpert, TeamObserver}
	teamRanks = []string{RankDepartment, RankInspector1, RankInspector2, RankDivisionChief, RankDeputyDivisionChf, RankOther}
	// leaderRanks: a current department-level (厅级) post, or level-two
	// inspector (二级巡视员) and above.
	leaderRanks = []string{RankDepartment, RankInspector1, RankInspector2}
	// deputyRanks: division chief (正处级) and above.
	deputyRanks = []string{RankDepartment, RankInspector1, RankInspector2, RankDivisionChief}
)

// Team size bounds (charter 二), counting leader, deputy and members.
const (
	MinTeam = 6
	MaxTeam = 8
)

// ValidateTeam checks a line-up against the charter; each violation names
// the rule broken. Field names are the request's ("inspection.team[2].rank").
func ValidateTeam(v *derrors.Violations, team []casework.TeamMember) {
	validateTeamAt(v, "inspection.team", team)
}

// validateTeamAt is ValidateTeam for a line-up named field (a drawn
// line-up's "lineup.members"): the one home of the team rules.
func validateTeamAt(v *derrors.Violations, field string, team []casework.TeamMember) {
	counted, leaders, deputies := 0, 0, 0
	for i, m := range team {
		f := fmt.Sprintf("%s[%d]", field, i)
		v.RequireText(f+".name", m.Name, 100)
		if !slices.Contains(teamRoles, m.Role) {
			v.Add(f+".role", "must be one of %s", strings.Join(teamRoles, ", "))
			continue
		}
		if !slices.Contains(teamRanks, m.Rank) {
			v.Add(f+".rank", "must be one of %s", strings.Join(teamRanks, ", "))
		}
		if m.Role == TeamObserver {
			continue
		}
		counted++
		switch m.Role {
		case TeamLeader:
			leaders++
			if !slices.Contains(leaderRanks, m.Rank) {
				v.Add(f+".rank", "the leader (组长) must hold a current department-level (厅级) post or be a level-two inspector (二级巡视员) or above (charter 二)")
			}
		case TeamDeputy:
			deputies++
			if !slices.Contains(deputyRanks, m.Rank) {
				v.Add(f+".rank", "the deputy (副组长) must hold a post at division chief (正处级) or above (charter 二)")
			}
		}
	}
	if counted < MinTeam || counted > MaxTeam {
		v.Add(field, "has %d people counting leader, deputy and members; the charter requires %d to %d (observers do not count)", counted, MinTeam, MaxTeam)
	}
	if leaders != 1 {
		v.Add(field, "has %d leaders (组长); the charter requires exactly one", leaders)
	}
	if deputies != 1 {
		v.Add(field, "has %d deputies (副组长); the charter requires exactly one", deputies)
	}
}

// ApproveTeamInput, and the other XxxInput types below, are the arguments of
// the inspection's updates.
type ApproveTeamInput struct {
	Change
	Note string `json:"note"`
}

// NotifyInput records the advance notice.
type NotifyInput struct {
	Change
	NotifiedOn       string `json:"notified_on"`
	NoticeEvidenceID string `json:"notice_evidence_id"`
	Note             string `json:"note"`
}

// StationInput records the team's entry.
type StationInput struct {
	Change
	StationedOn    string `json:"stationed_on"`
	Announcement   string `json:"announcement"`
	ContactPhone   string `json:"contact_phone"`
	ContactMailbox string `json:"contact_mailbox"`
}

// EndOnsiteInput ends on-site work.
type EndOnsiteInput struct {
	Change
	OnsiteEndedOn string `json:"onsite_ended_on"`
}

// SubmitReportInput records the team's report.
type SubmitReportInput struct {
	Change
	ReportEvidenceID string `json:"report_evidence_id"`
	Summary          string `json:"summary"`
}

// ReviewInput records the office's review.
type ReviewInput struct {
	Change
	CopyToPartyInspectionOffice bool   `json:"copy_to_party_inspection_office"`
	Note                        string `json:"note"`
}

// ApproveInput records the committee's approval, and serves close too.
type ApproveInput struct {
	Change
	Note string `json:"note"`
	// ApprovedOn is the day the committee approved the report (YYYY-MM-DD;
	// empty: not said, and the feedback is bounded by the on-site end
	// alone); approval only.
	ApprovedOn string `json:"approved_on,omitempty"`
}

// GiveFeedbackInput records the feedback and refers the findings.
type GiveFeedbackInput struct {
	Change
	FeedbackDeliveredOn string   `json:"feedback_delivered_on"`
	Recipients          []string `json:"recipients"`
	ReceivingAuthority  string   `json:"receiving_authority"`
	Due                 string   `json:"due"`
	// FindingDues gives some findings their own limit (finding ID -> last
	// day); the others get Due.
	FindingDues map[string]string `json:"finding_dues,omitempty"`
}

// DueOf is the limit of one finding at feedback.
func (in GiveFeedbackInput) DueOf(findingID string) string {
	if d, ok := in.FindingDues[findingID]; ok {
		return d
	}
	return in.Due
}

// Rule is the unit's rectification-report deadline the feedback starts
// (never beyond one month after the feedback).
func (in GiveFeedbackInput) Rule() deadline.Rule {
	return deadline.Rectification("feedback_delivered_on", in.FeedbackDeliveredOn, in.Due)
}

// FindingDueRules are the limits FindingDues gives, by finding ID, each
// naming its field (finding_dues[ID]): the same law as Rule's.
func (in GiveFeedbackInput) FindingDueRules() []deadline.Rule {
	var rules []deadline.Rule
	ids := slices.Sorted(maps.Keys(in.FindingDues)) //workflowcheck:ignore sorted keys: map order never shows
	for _, id := range ids {
		rules = append(rules, deadline.Rectification("feedback_delivered_on", in.FeedbackDeliveredOn, in.FindingDues[id]).
			WithDueField("finding_dues["+id+"]"))
	}
	return rules
}

// CheckFindingDues refuses FindingDues naming anything but a CLASSIFIED
// finding of the inspection (classified, the IDs of those), the first
// such ID in order: only those are referred at feedback.
func (in GiveFeedbackInput) CheckFindingDues(inspectionID string, classified []string) error {
	ids := slices.Sorted(maps.Keys(in.FindingDues)) //workflowcheck:ignore sorted keys: map order never shows
	for _, id := range ids {
		if !slices.Contains(classified, id) {
			return derrors.Invalid("finding_dues["+id+"]", "%q is not a CLASSIFIED finding of inspection %q", id, inspectionID)
		}
	}
	return nil
}

// InspectionRectificationInput records the unit's rectification report.
type InspectionRectificationInput struct {
	Change
	Report      string   `json:"report"`
	EvidenceIDs []string `json:"evidence_ids"`
}

// CancelInput cancels.
type CancelInput struct {
	Change
	Reason string `json:"reason"`
}

func requireDate(v *derrors.Violations, field, value string) {
	if _, err := calendar.ParseDate(value); err != nil {
		v.Add(field, "must be a date YYYY-MM-DD")
	}
}

// dateOnlyIf checks a date that only one of an update's answers gives (a
// refusal's new limit, an approval's last day): when given, a date
// (requireDate); when the other answer gives it, refused with onlyWhen
// ("is only given when approving").
func dateOnlyIf(v *derrors.Violations, given bool, field, value string, onlyWhen i18n.Text) {
	if value == "" {
		return
	}
	if given {
		requireDate(v, field, value)
		return
	}
	v.AddText(field, onlyWhen)
}

// Validate checks the fields.
func (in ApproveTeamInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// Validate checks the fields.
func (in NotifyInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	requireDate(&v, "notified_on", in.NotifiedOn)
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// Validate checks the fields.
func (in StationInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	requireDate(&v, "stationed_on", in.StationedOn)
	v.RequireText("announcement", in.Announcement, 10000)
	if strings.TrimSpace(in.ContactPhone) == "" && strings.TrimSpace(in.ContactMailbox) == "" {
		v.Add("contact_phone", "publish a contact phone or mailbox (charter 三(三)2)")
	}
	return v.Err()
}

// Validate checks the fields.
func (in EndOnsiteInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	requireDate(&v, "onsite_ended_on", in.OnsiteEndedOn)
	return v.Err()
}

// Validate checks the fields.
func (in SubmitReportInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("report_evidence_id", in.ReportEvidenceID, 100)
	v.RequireText("summary", in.Summary, 20000)
	return v.Err()
}

// Validate checks the fields.
func (in ReviewInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// Validate checks the fields.
func (in ApproveInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.LimitText("note", in.Note, 5000)
	if in.ApprovedOn != "" {
		if _, err := calendar.ParseDate(in.ApprovedOn); err != nil {
			v.Add("approved_on", "must be a date YYYY-MM-DD")
		}
	}
	return v.Err()
}

// Validate checks the fields.
func (in GiveFeedbackInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	requireDate(&v, "feedback_delivered_on", in.FeedbackDeliveredOn)
	if len(in.Recipients) == 0 {
		v.Add("recipients", "must name the unit's principal leaders who received the feedback")
	}
	for i, r := range in.Recipients {
		v.RequireText(fmt.Sprintf("recipients[%d]", i), r, 100)
	}
	v.RequireText("receiving_authority", in.ReceivingAuthority, 200)
	if in.Due != "" {
		requireDate(&v, "due", in.Due)
	}
	dueIDs := slices.Sorted(maps.Keys(in.FindingDues)) //workflowcheck:ignore sorted keys: map order never shows
	for _, id := range dueIDs {
		requireDate(&v, "finding_dues["+id+"]", in.FindingDues[id])
	}
	return v.Err()
}

// Validate checks the fields.
func (in InspectionRectificationInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("report", in.Report, 20000)
	if len(in.EvidenceIDs) == 0 {
		v.Add("evidence_ids", "must list at least one piece of evidence")
	}
	requireEvidenceIDs(&v, in.EvidenceIDs)
	return v.Err()
}

// Validate checks the fields.
func (in CancelInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("reason", in.Reason, 5000)
	return v.Err()
}

// openFindingsError refuses closure (action close) or cancellation
// (cancel) while findings are open, naming the first of them by ledger
// number (the clerk had to search for them).
func openFindingsError(id, stage, action string, sum casework.InspectionSummary) error {
	// Neither closing nor cancelling is open to it while findings are
	// (it named cancel as the way out of a refused close).
	refusal := derrors.StageError{
		Reason: "FINDINGS_OPEN", Subject: InspectionWorkflowID(id), Action: action, Stage: stage,
		Allowed: slices.DeleteFunc(InspectionMachine.Allowed(stage), func(a string) bool { return a == ActionClose || a == ActionCancel }),
	}
	if action == ActionCancel {
		// A cancelled inspection's open findings went on: referred,
		// escalated against the unit, an interview of its leaders
		// proposed, all for an inspection called off.
		if len(sum.OpenNumbers) == 0 {
			return refusal.Says("%d findings are not yet CLOSED or WITHDRAWN: withdraw them (or close them out) before cancelling the inspection, else they go on and escalate against the unit", sum.Open)
		}
		named := i18n.Listed(sum.OpenNumbers, sum.Open > len(sum.OpenNumbers))
		return refusal.Says("%d findings are not yet CLOSED or WITHDRAWN (%s): withdraw them (or close them out) before cancelling the inspection, else they go on and escalate against the unit", sum.Open, named)
	}
	if len(sum.OpenNumbers) == 0 { // none numbered yet
		return refusal.Says("%d findings are not yet CLOSED or WITHDRAWN; an inspection closes only when all are", sum.Open)
	}
	named := i18n.Listed(sum.OpenNumbers, sum.Open > len(sum.OpenNumbers))
	return refusal.Says("%d findings are not yet CLOSED or WITHDRAWN (%s); an inspection closes only when all are", sum.Open, named)
}

// unclassifiedFindingsError refuses the feedback while findings are not
// yet classified: the feedback refers the CLASSIFIED ones and starts their
// deadlines, and passed the others over without a word (a MAJOR hazard
// went without a deadline, its ladder or an interview).
func unclassifiedFindingsError(id, stage string, found activities.FindingsAmongResult) error {
	refusal := derrors.StageError{
		Reason: "FINDINGS_NOT_CLASSIFIED", Subject: InspectionWorkflowID(id), Action: ActionGiveFeedback, Stage: stage,
		Allowed: InspectionMachine.Allowed(stage),
	}
	if len(found.Numbers) == 0 {
		return refusal.Says("%d findings are not yet classified: classify them (or withdraw them) before the feedback, which refers them and starts their deadlines", found.Count)
	}
	named := i18n.Listed(found.Numbers, found.Count > len(found.Numbers))
	return refusal.Says("%d findings are not yet classified (%s): classify them (or withdraw them) before the feedback, which refers them and starts their deadlines", found.Count, named)
}

// RecheckInput is a FOLLOW_UP inspection's re-check of a closed finding.
type RecheckInput struct {
	Change
	FindingID string `json:"finding_id"`
	Passed    bool   `json:"passed"`
	Note      string `json:"note"`
	// Due is the reopened finding's new limit when the re-check failed.
	Due string `json:"due"`
}

// Validate checks the fields; names are RecheckFindingRequest's.
func (in RecheckInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("finding_id", in.FindingID, 64)
	v.RequireText("note", in.Note, 5000)
	dateOnlyIf(&v, !in.Passed, "due", in.Due, i18n.T("is only given when the re-check failed"))
	return v.Err()
}
