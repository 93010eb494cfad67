package workflows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// Interview stages (约谈): proposed, approved by the office or committee,
// held (the follow-up report deadline runs), follow-up reported, closed;
// cancelled from any open stage.
const (
	InterviewProposed         = "PROPOSED"
	InterviewApproved         = "APPROVED"
	InterviewHeld             = "HELD"
	InterviewFollowUpReported = "FOLLOW_UP_REPORTED"
	InterviewClosed           = "CLOSED"
	InterviewCancelled        = "CANCELLED"
)

// InterviewStages lists the stages in lifecycle order.
var InterviewStages = []string{InterviewProposed, InterviewApproved, InterviewHeld, InterviewFollowUpReported,
	InterviewClosed, InterviewCancelled}

// Who proposed an interview.
const (
	// InterviewSourceLadder is the escalation ladder of a missed deadline.
	InterviewSourceLadder = "LADDER"
	// InterviewSourceTeam is an inspection team.
	InterviewSourceTeam = "TEAM"
	// InterviewSourceOffice is the office.
	InterviewSourceOffice = "OFFICE"
)

// InterviewSources lists the sources.
var InterviewSources = []string{InterviewSourceLadder, InterviewSourceTeam, InterviewSourceOffice}

// Interview actions: the update names of an InterviewWorkflow.
const (
	ActionApproveInterview        = "approve"
	ActionHoldInterview           = "hold"
	ActionReportInterviewFollowUp = "reportFollowUp"
	ActionCloseInterview          = "close"
	ActionCancelInterview         = "cancel"
)

// MaxFollowUpWorkingDays is the longest follow-up report limit accepted, in
// working days after the day held (the default is
// deadline.DefaultFollowUpWorkingDays).
const MaxFollowUpWorkingDays = 60

// interviewMachine is the interview's stages and who may take each step:
// the action each open stage allows besides cancel, and the stage it leads
// to. "propose" is checked by the API; the ladder proposes as the system,
// and the system cancels a proposal whose finding or inspection ended
// (CancelInterviewInput.OnlyProposed).
var interviewMachine = &stageMachine{
	subjectType: casework.SubjectInterview,
	noun:        "an interview",
	workflowID:  InterviewWorkflowID,
	moves: map[string][]move{
		InterviewProposed:         {{ActionApproveInterview, InterviewApproved}},
		InterviewApproved:         {{ActionHoldInterview, InterviewHeld}},
		InterviewHeld:             {{ActionReportInterviewFollowUp, InterviewFollowUpReported}},
		InterviewFollowUpReported: {{ActionCloseInterview, InterviewClosed}},
	},
	anytime: move{ActionCancelInterview, InterviewCancelled},
	// Held, an interview is closed once its follow-up is reported, not
	// cancelled (checkNotHeld).
	anytimeRefusedIn: []string{InterviewHeld, InterviewFollowUpReported},
	final:            []string{InterviewClosed, InterviewCancelled},
	roles: map[string][]string{
		"propose":                     {actor.RoleOffice, actor.RoleTeamLeader, actor.RoleTeamMember},
		ActionApproveInterview:        {actor.RoleOffice, actor.RoleCommittee},
		ActionHoldInterview:           {actor.RoleOffice, actor.RoleCommittee},
		ActionReportInterviewFollowUp: {actor.RoleUnit, actor.RoleOffice},
		ActionCloseInterview:          {actor.RoleOffice, actor.RoleCommittee},
		ActionCancelInterview:         {actor.RoleOffice, actor.RoleSystem},
	},
}

// InterviewInput starts an InterviewWorkflow.
type InterviewInput struct {
	// ID is the interview's ID; empty means the workflow ID without its
	// "interview/" prefix.
	ID string `json:"id"`
	// RequestID is the proposing request's idempotency key.
	RequestID string `json:"request_id"`
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject string `json:"subject"`
	// UnitCode is the unit whose leaders are summoned.
	UnitCode string `json:"unit_code"`
	// Reason says why.
	Reason string `json:"reason"`
	// ReasonZH is Reason in Chinese, where the system proposes (the
	// ladder: its escalation's message); a person's reason is Reason alone.
	ReasonZH string `json:"reason_zh,omitempty"`
	// Source is LADDER, TEAM or OFFICE.
	Source string `json:"source"`
	// ProposedBy is who proposed it (actor.System for the ladder).
	ProposedBy actor.Actor `json:"proposed_by"`
	// DeadlineSeq is, for the ladder, the subject's deadline whose
	// escalation proposed it (part of the derived ID).
	DeadlineSeq int `json:"deadline_seq,omitempty"`
}

// Validate checks the input; field names are ProposeInterviewRequest's.
func (in InterviewInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if _, _, err := casework.ParseSubject(in.Subject); err != nil {
		v.Add("subject", `must be "finding/<id>" or "inspection/<id>"`)
	}
	v.RequireText("reason", in.Reason, 5000)
	if !unitCodePattern.MatchString(in.UnitCode) {
		v.Add("unit_code", "must be 2–32 letters, digits or \"-\" (an administrative division or organisation code)")
	}
	if !slices.Contains(InterviewSources, in.Source) {
		v.Add("source", "must be one of %s", strings.Join(InterviewSources, ", "))
	}
	return v.Err()
}

// ApproveInterviewInput is the approve update's argument.
type ApproveInterviewInput struct {
	Change
	Note string `json:"note"`
}

// Validate checks the fields; names are InterviewActionRequest's.
func (in ApproveInterviewInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// HoldInterviewInput is the hold update's argument.
type HoldInterviewInput struct {
	Change
	HeldOn       string   `json:"held_on"`
	Attendees    []string `json:"attendees"`
	Minutes      string   `json:"minutes"`
	Requirements string   `json:"requirements"`
	// FollowUpWorkingDays is the follow-up report limit; 0 means
	// deadline.DefaultFollowUpWorkingDays.
	FollowUpWorkingDays int `json:"follow_up_working_days"`
}

// Validate checks the fields; names are HoldInterviewRequest's.
func (in HoldInterviewInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	if _, err := calendar.ParseDate(in.HeldOn); err != nil {
		v.Add("held_on", "must be a date YYYY-MM-DD")
	}
	switch {
	case len(in.Attendees) == 0:
		v.Add("attendees", "must name at least one attendee")
	case len(in.Attendees) > 100:
		v.Add("attendees", "must name at most 100 attendees")
	}
	for i, a := range in.Attendees {
		v.RequireText(fmt.Sprintf("attendees[%d]", i), a, 200)
	}
	v.RequireText("minutes", in.Minutes, 20000)
	v.RequireText("requirements", in.Requirements, 10000)
	if in.FollowUpWorkingDays < 0 || in.FollowUpWorkingDays > MaxFollowUpWorkingDays {
		v.Add("follow_up_working_days", "must be between 1 and %d (0 means %d)", MaxFollowUpWorkingDays, deadline.DefaultFollowUpWorkingDays)
	}
	return v.Err()
}

// followUpDays is the limit in force.
func (in HoldInterviewInput) followUpDays() int {
	return deadline.FollowUpWorkingDays(in.FollowUpWorkingDays)
}

// ReportInterviewFollowUpInput is the reportFollowUp update's argument.
type ReportInterviewFollowUpInput struct {
	Change
	Report      string   `json:"report"`
	EvidenceIDs []string `json:"evidence_ids"`
}

// Validate checks the fields; names are ReportInterviewFollowUpRequest's.
func (in ReportInterviewFollowUpInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("report", in.Report, 20000)
	for i, id := range in.EvidenceIDs {
		if strings.TrimSpace(id) == "" {
			v.Add(fmt.Sprintf("evidence_ids[%d]", i), "must not be empty")
		}
	}
	return v.Err()
}

// CloseInterviewInput is the close update's argument.
type CloseInterviewInput struct {
	Change
	Note string `json:"note"`
}

// Validate checks the fields; names are InterviewActionRequest's.
func (in CloseInterviewInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.LimitText("note", in.Note, 5000)
	return v.Err()
}

// CancelInterviewInput is the cancel update's argument.
type CancelInterviewInput struct {
	Change
	// Reason is InterviewActionRequest.note, required.
	Reason string `json:"reason"`
	// ReasonZH is Reason in Chinese, where the system cancels.
	ReasonZH string `json:"reason_zh,omitempty"`
	// OnlyProposed cancels only an interview nobody approved yet: its
	// subject ended, so the proposal is moot, but an approved interview
	// goes ahead. The system's cancellations always set it.
	OnlyProposed bool `json:"only_proposed,omitempty"`
}

// Validate checks the fields; names are InterviewActionRequest's.
func (in CancelInterviewInput) Validate() error {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", in.RequestID)
	v.RequireText("note", in.Reason, 5000)
	return v.Err()
}
