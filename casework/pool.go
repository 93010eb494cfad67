package casework

import (
	"slices"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Subject types of the pool's events.
const (
	SubjectExpert     = "expert"
	SubjectLineup     = "lineup"
	SubjectInvitation = "invitation"
)

// Line-up states.
const (
	LineupProposed  = "PROPOSED"
	LineupInviting  = "INVITING"
	LineupComplete  = "COMPLETE"
	LineupApproved  = "APPROVED"
	LineupUsed      = "USED"
	LineupCancelled = "CANCELLED"
)

// Member states: a member is on the line-up while PROPOSED, INVITED or
// ACCEPTED; the others stay listed with why they left.
const (
	MemberProposed   = "PROPOSED"
	MemberInvited    = "INVITED"
	MemberAccepted   = "ACCEPTED"
	MemberDeclined   = "DECLINED"
	MemberExpired    = "EXPIRED"
	MemberSwappedOut = "SWAPPED_OUT"
	MemberWithdrawn  = "WITHDRAWN"
)

// MemberActive reports whether a member in state is on the line-up.
func MemberActive(state string) bool {
	return state == MemberProposed || state == MemberInvited || state == MemberAccepted
}

// Kinds of people in the pool.
const (
	ExpertKindStaff  = "STAFF"
	ExpertKindExpert = "EXPERT"
)

// Affiliation is a unit a person worked for, from FromYear to ToYear
// (0: to this day).
type Affiliation struct {
	UnitCode string `json:"unit_code"`
	FromYear int    `json:"from_year"`
	ToYear   int    `json:"to_year,omitempty"`
}

// Unavailability is a window (inclusive dates YYYY-MM-DD) in which a person
// cannot be seconded.
type Unavailability struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// Expert is a person of the pool.
type Expert struct {
	ID      string `json:"id"`
	Subject string `json:"subject,omitempty"`
	Name    string `json:"name"`
	// Organisation and UnitCode name the member unit that seconds them.
	Organisation string `json:"organisation"`
	UnitCode     string `json:"unit_code"`
	Rank         string `json:"rank"`
	// Kind is ExpertKindStaff or ExpertKindExpert: staff are drawn as
	// leader, deputy or members, experts as the team's experts.
	Kind string `json:"kind"`
	// ContentAreas are the charter's content items (三(一)1–10) they are
	// qualified for; Sectors are free-text industry sectors.
	ContentAreas []int            `json:"content_areas"`
	Sectors      []string         `json:"sectors,omitempty"`
	HomeRegion   string           `json:"home_region"`
	Affiliations []Affiliation    `json:"affiliations,omitempty"`
	Unavailable  []Unavailability `json:"unavailable,omitempty"`
	// LeftOn (YYYY-MM-DD) and LeaveReason say when and why the person left
	// the pool; nobody is deleted.
	LeftOn      string      `json:"left_on,omitempty"`
	LeaveReason string      `json:"leave_reason,omitempty"`
	CreatedBy   actor.Actor `json:"created_by"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
	Version     int         `json:"version"`
}

// InPoolOn reports whether the person is still in the pool on day.
func (x Expert) InPoolOn(day calendar.Date) bool {
	if x.LeftOn == "" {
		return true
	}
	left, err := calendar.ParseDate(x.LeftOn)
	return err == nil && day.Before(left)
}

// LineupMember is one person of a line-up.
type LineupMember struct {
	ExpertID     string `json:"expert_id"`
	Name         string `json:"name"`
	Organisation string `json:"organisation"`
	UnitCode     string `json:"unit_code"`
	Subject      string `json:"subject,omitempty"`
	// Role is the team role (workflows.TeamLeader …); Rank the person's.
	Role  string `json:"role"`
	Rank  string `json:"rank"`
	State string `json:"state"`
	// Draw is the draw that chose the member: 1 the line-up's own, 2 and up
	// a replacement's; 0 a person the office swapped in.
	Draw int `json:"draw"`
	// Replaces is the expert ID of the member this one took the place of.
	Replaces     string `json:"replaces,omitempty"`
	InvitationID string `json:"invitation_id,omitempty"`
	// Note says why the member was swapped in or left.
	Note string `json:"note,omitempty"`
	// NoteZH is Note in Chinese; empty in notes written before it.
	NoteZH string `json:"note_zh,omitempty"`
}

// SetNote sets the member's note in both languages.
func (m *LineupMember) SetNote(t i18n.Text) { m.Note, m.NoteZH = t.EN, t.ZH }

// ExclusionReason is one reason a person was not eligible.
type ExclusionReason struct {
	// Code is CONFLICT_OF_INTEREST, DOUBLE_BOOKED, UNAVAILABLE, LEFT_POOL,
	// ALREADY_ON_LINEUP or DECLINED_THIS_LINEUP.
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// DetailZH is Detail in Chinese; empty in line-ups drawn before it
	// existed.
	DetailZH string `json:"detail_zh,omitempty"`
}

// Exclusion is a person of the pool whom a draw could not choose, with
// every reason.
type Exclusion struct {
	ExpertID string            `json:"expert_id"`
	Name     string            `json:"name"`
	Reasons  []ExclusionReason `json:"reasons"`
}

// Lineup is a drawn line-up for a planned inspection.
type Lineup struct {
	ID            string `json:"id"`
	RequestID     string `json:"request_id"`
	UnitCode      string `json:"unit_code"`
	UnitName      string `json:"unit_name"`
	PlannedStart  string `json:"planned_start"`
	PlannedEnd    string `json:"planned_end"`
	ContentAreas  []int  `json:"content_areas"`
	Seed          int64  `json:"seed"`
	ConflictYears int    `json:"conflict_years"`
	// TeamSize is the counted size asked for (leader, deputy, members).
	TeamSize     int            `json:"team_size"`
	State        string         `json:"state"`
	Members      []LineupMember `json:"members"`
	Exclusions   []Exclusion    `json:"exclusions"`
	Draws        int            `json:"draws"`
	InspectionID string         `json:"inspection_id,omitempty"`
	CreatedBy    actor.Actor    `json:"created_by"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	Version      int            `json:"version"`
}

// Active returns the members on the line-up, in order.
func (l Lineup) Active() []LineupMember {
	var out []LineupMember
	for _, m := range l.Members {
		if MemberActive(m.State) {
			out = append(out, m)
		}
	}
	return out
}

// Cancel calls the line-up off: CANCELLED, and every member not yet
// answered (proposed, invited) withdrawn with the reason; who accepted,
// declined or lapsed stays so.
func (l *Lineup) Cancel(reason string) {
	l.State = LineupCancelled
	for i, m := range l.Members {
		if m.State == MemberProposed || m.State == MemberInvited {
			l.Members[i].State = MemberWithdrawn
			l.Members[i].SetNote(i18n.T("the line-up was cancelled: %s", reason))
		}
	}
}

// OpenPlaces are the members who left the line-up by their invitation's
// end (declined, lapsed, withdrawn) and whom nobody replaces yet: places
// a replacement, drawn or put in by the office, still has to fill. A
// member swapped out before the invitations leaves no place open: the
// swap put someone in it.
func (l Lineup) OpenPlaces() []LineupMember {
	var out []LineupMember
	for _, m := range l.Members {
		if MemberActive(m.State) || m.State == MemberSwappedOut {
			continue
		}
		if !slices.ContainsFunc(l.Members, func(r LineupMember) bool { return r.Replaces == m.ExpertID }) {
			out = append(out, m)
		}
	}
	return out
}

// Team is the line-up's active members as an inspection's team.
func (l Lineup) Team() []TeamMember {
	var team []TeamMember
	for _, m := range l.Active() {
		team = append(team, TeamMember{Name: m.Name, Role: m.Role, Rank: m.Rank, Organisation: m.Organisation,
			Subject: m.Subject, ExpertID: m.ExpertID})
	}
	return team
}

// Busy is a booking of a person: a line-up or an inspection with dates.
type Busy struct {
	ExpertID string `json:"expert_id"`
	// What is "lineup/<id>" or "inspection/<id>".
	What string `json:"what"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Invitation is one drawn person's invitation: the projection of its
// workflow's state. Its Lifecycle's UnitCode is the person's unit, which
// receives the notice of secondment or the request for criticism.
type Invitation struct {
	Lifecycle
	LineupID     string `json:"lineup_id"`
	ExpertID     string `json:"expert_id"`
	ExpertName   string `json:"expert_name"`
	Subject      string `json:"subject,omitempty"`
	Organisation string `json:"organisation"`
	TeamRole     string `json:"team_role"`
	Rank         string `json:"rank"`
	// SecondFrom and SecondTo are the inspection's planned dates.
	SecondFrom        string `json:"second_from"`
	SecondTo          string `json:"second_to"`
	InspectedUnit     string `json:"inspected_unit"`
	InvitedOn         string `json:"invited_on"`
	AnswerWorkingDays int    `json:"answer_working_days"`
	// PolicyVersion is the escalation policy whose answer limit the
	// invitation took (0: the default; invitations from before the limit
	// was the policy's took the invite request's).
	PolicyVersion  int64              `json:"policy_version,omitempty"`
	AnswerDeadline *calendar.Deadline `json:"answer_deadline,omitempty"`
	AnsweredAt     *time.Time         `json:"answered_at,omitempty"`
	// DeclineReason is the person's reason; Judgement (JUSTIFIED or
	// UNJUSTIFIED) and JudgeNote the office's view of it.
	DeclineReason string       `json:"decline_reason,omitempty"`
	Judgement     string       `json:"judgement,omitempty"`
	JudgeNote     string       `json:"judge_note,omitempty"`
	JudgedBy      *actor.Actor `json:"judged_by,omitempty"`
	// ReplacedBy is the expert drawn in this person's place.
	ReplacedBy string `json:"replaced_by,omitempty"`
	// Note is the last word on the invitation: the person's or the
	// office's, or the system's (no replacement could be drawn), which
	// NoteZH says in Chinese.
	Note      string      `json:"note,omitempty"`
	NoteZH    string      `json:"note_zh,omitempty"`
	InvitedBy actor.Actor `json:"invited_by"`
}

// PoolCandidates is what a draw reads: the pool and who is booked on the
// dates, outside the line-up being drawn.
type PoolCandidates struct {
	Experts []Expert `json:"experts"`
	Busy    []Busy   `json:"busy"`
}
