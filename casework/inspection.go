package casework

import (
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
)

// Inspection is an inspection as its workflow holds it: the workflow's
// state, carried (JSON) in its history, and what its ledger activity writes.
// The ledger maps it to its row (ledger/inspections.go).
type Inspection struct {
	Lifecycle
	UnitName            string       `json:"unit_name"`
	Kind                string       `json:"kind"`
	Round               string       `json:"round,omitempty"`
	PlannedStart        time.Time    `json:"planned_start"` // a date: midnight UTC
	PlannedEnd          time.Time    `json:"planned_end"`   // a date: midnight UTC
	ContentAreas        []int        `json:"content_areas,omitempty"`
	Team                []TeamMember `json:"team,omitempty"`
	TeamApproved        bool         `json:"team_approved,omitempty"`
	FollowsInspectionID string       `json:"follows_inspection_id,omitempty"`
	// ReportDeadline runs from ONSITE_ENDED; RectificationDeadline from
	// FEEDBACK_GIVEN.
	ReportDeadline        *calendar.Deadline `json:"report_deadline,omitempty"`
	RectificationDeadline *calendar.Deadline `json:"rectification_deadline,omitempty"`
	Summary               *InspectionSummary `json:"summary,omitempty"`
	CancelReason          string             `json:"cancel_reason,omitempty"`
	// Records holds what each step recorded, e.g. "notified_on",
	// "report_summary", "feedback_delivered_on".
	Records   map[string]string `json:"records,omitempty"`
	CreatedBy actor.Actor       `json:"created_by"`
}

// TeamMember is one person of an inspection team.
type TeamMember struct {
	Name         string `json:"name"`
	Role         string `json:"role"`
	Rank         string `json:"rank"`
	Organisation string `json:"organisation,omitempty"`
	// Subject is the member's sign-in identity (the "sub" of their bearer
	// tokens), when given: team roles reach the inspections whose team
	// lists their subject.
	Subject string `json:"subject,omitempty"`
	// ExpertID is the member's entry in the expert pool, for a team taken
	// from a drawn line-up: it books the person on the inspection's dates.
	ExpertID string `json:"expert_id,omitempty"`
}

// InspectionSummary is stored at closure for the results-use record.
type InspectionSummary struct {
	ByKind          map[string]int `json:"by_kind"`
	BySeverity      map[string]int `json:"by_severity"`
	ByContentArea   map[string]int `json:"by_content_area"`
	Findings        int            `json:"findings"`
	Closed          int            `json:"closed"`
	Withdrawn       int            `json:"withdrawn"`
	Open            int            `json:"open"`
	ClosureRate     float64        `json:"closure_rate"`
	DeadlinesMissed int            `json:"deadlines_missed"`
	// OpenNumbers are the ledger numbers of the first open findings
	// (MaxOpenNumbers at most), for a refusal to name them.
	OpenNumbers []string `json:"open_numbers,omitempty"`
}

// MaxOpenNumbers is the most open findings an InspectionSummary names.
const MaxOpenNumbers = 5

// RunningDeadline is the deadline the inspection's stage runs: the team
// report's in ONSITE_ENDED, the unit's rectification report's in
// FEEDBACK_GIVEN; nil in other stages. Its end is the due_at column.
func (in Inspection) RunningDeadline() *calendar.Deadline {
	if p := in.RunningDeadlineField(); p != nil {
		return *p
	}
	return nil
}

// RunningDeadlineField is the field that holds RunningDeadline, nil in a
// stage that runs none.
func (in *Inspection) RunningDeadlineField() **calendar.Deadline {
	switch in.Stage {
	case "ONSITE_ENDED":
		return &in.ReportDeadline
	case "FEEDBACK_GIVEN":
		return &in.RectificationDeadline
	}
	return nil
}
