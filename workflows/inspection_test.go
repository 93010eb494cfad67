package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

var committee = actor.Actor{Name: "刘主任", Role: actor.RoleCommittee, Organisation: "省安全生产委员会"}

func team() []casework.TeamMember {
	return []casework.TeamMember{
		{Name: "赵强", Role: TeamLeader, Rank: RankInspector2},
		{Name: "钱敏", Role: TeamDeputy, Rank: RankDivisionChief},
		{Name: "孙伟", Role: TeamMember, Rank: RankOther},
		{Name: "李娜", Role: TeamMember, Rank: RankOther},
		{Name: "周杰", Role: TeamMember, Rank: RankOther},
		{Name: "吴刚", Role: TeamExpert, Rank: RankOther},
		{Name: "郑红", Role: TeamObserver, Rank: RankOther},
	}
}

func TestValidateTeamNamesTheRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func([]casework.TeamMember) []casework.TeamMember
		field  string
		rule   string
	}{
		{"five counted people", func(m []casework.TeamMember) []casework.TeamMember { return m[:5] }, "inspection.team", "has 5 people"},
		{"observers do not count", func(m []casework.TeamMember) []casework.TeamMember {
			m[2].Role = TeamObserver
			return m
		}, "inspection.team", "observers do not count"},
		{"nine people", func(m []casework.TeamMember) []casework.TeamMember {
			return append(m, casework.TeamMember{Name: "甲", Role: TeamMember, Rank: RankOther},
				casework.TeamMember{Name: "乙", Role: TeamMember, Rank: RankOther}, casework.TeamMember{Name: "丙", Role: TeamMember, Rank: RankOther})
		}, "inspection.team", "has 9 people"},
		{"two leaders", func(m []casework.TeamMember) []casework.TeamMember {
			m[2].Role, m[2].Rank = TeamLeader, RankDepartment
			return m
		}, "inspection.team", "has 2 leaders"},
		{"no deputy", func(m []casework.TeamMember) []casework.TeamMember {
			m[1].Role = TeamMember
			return m
		}, "inspection.team", "has 0 deputies"},
		{"leader of division rank", func(m []casework.TeamMember) []casework.TeamMember {
			m[0].Rank = RankDivisionChief
			return m
		}, "inspection.team[0].rank", "department-level (厅级)"},
		{"deputy of deputy-division rank", func(m []casework.TeamMember) []casework.TeamMember {
			m[1].Rank = RankDeputyDivisionChf
			return m
		}, "inspection.team[1].rank", "division chief (正处级) or above"},
		{"unknown role", func(m []casework.TeamMember) []casework.TeamMember {
			m[3].Role = "VOLUNTEER"
			return m
		}, "inspection.team[3].role", "must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v derrors.Violations
			ValidateTeam(&v, tt.mutate(team()))
			var found bool
			for _, fv := range v {
				if fv.Field == tt.field && contains(fv.Rule, tt.rule) {
					found = true
				}
			}
			require.True(t, found, "want %s: %q in %v", tt.field, tt.rule, v)
		})
	}
	var v derrors.Violations
	ValidateTeam(&v, team())
	require.Empty(t, v)
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0))
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestInspectionStageTable(t *testing.T) {
	t.Parallel()
	requireStageTable(t, InspectionMachine, InspectionStages, InspectionActions, map[string]map[string]string{
		StagePlanned:               {ActionApproveTeam: StagePlanned, ActionNotify: StageNotified},
		StageNotified:              {ActionStation: StageStationed},
		StageStationed:             {ActionEndOnsite: StageOnsiteEnded, ActionRecheck: StageStationed},
		StageOnsiteEnded:           {ActionSubmitReport: StageReported, ActionRecheck: StageOnsiteEnded},
		StageReported:              {ActionReview: StageReviewed},
		StageReviewed:              {ActionApprove: StageApproved},
		StageApproved:              {ActionGiveFeedback: StageFeedbackGiven},
		StageFeedbackGiven:         {ActionInspectionRectified: StageRectificationReported},
		StageRectificationReported: {ActionClose: StageClosed},
	}, move{ActionCancel, StageCancelled})
}

// inspectionHarness runs an InspectionWorkflow against a fake ledger.
type inspectionHarness struct {
	*harness
	imu         sync.Mutex
	row         casework.Inspection
	updatesSent []activities.SendUpdateInput
	// ledgerBack ends the findings' ledger outage of sendFails.
	ledgerBack bool
	exposures  []casework.Exposure
	open       int
	// unclassified are the ledger numbers of the inspection's LISTED or
	// DIAGNOSED findings (FindingsAmong).
	unclassified []string
}

func newInspectionHarness(t *testing.T) *inspectionHarness {
	h := &inspectionHarness{harness: newHarness(t)}
	fl := h.fl
	h.env.OnActivity(acts.CreateInspection, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateInspectionInput) error {
			h.imu.Lock()
			defer h.imu.Unlock()
			h.row = in.Inspection
			fl.mu.Lock()
			fl.appendEvent(casework.Event{Key: in.EventKey, Action: "create", StageAfter: in.Inspection.Stage})
			fl.mu.Unlock()
			return nil
		})
	h.env.OnActivity(acts.ApplyInspectionChange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InspectionChangeInput) error {
			h.imu.Lock()
			if in.Inspection.Version > h.row.Version {
				h.row = in.Inspection
			}
			h.imu.Unlock()
			fl.mu.Lock()
			fl.appendEvent(in.Event)
			fl.mu.Unlock()
			return nil
		})
	h.env.OnActivity(acts.EscalateInspection, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EscalateInspectionInput) (activities.EscalateResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			esc := in.Escalation
			esc.ID = fmt.Sprintf("esc-%d-%s", esc.DeadlineSeq, esc.Step)
			fl.escalations = append(fl.escalations, esc)
			fl.appendEvent(in.Event)
			h.imu.Lock()
			h.row = in.Inspection
			h.imu.Unlock()
			return activities.EscalateResult{Escalation: esc}, nil
		})
	h.env.OnActivity(acts.RecordExposure, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e casework.Exposure) (casework.Exposure, error) {
			h.imu.Lock()
			defer h.imu.Unlock()
			h.exposures = append(h.exposures, e)
			return e, nil
		})
	h.env.OnActivity(acts.FindingsInStage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InspectionFindingsInput) (activities.FindingIDsResult, error) {
			return activities.FindingIDsResult{IDs: []string{"f-1", "f-2"}}, nil
		})
	fl.sendUpdate = func(in activities.SendUpdateInput) activities.SendUpdateResult {
		h.imu.Lock()
		defer h.imu.Unlock()
		h.updatesSent = append(h.updatesSent, in)
		if in.WorkflowID == "finding/f-2" {
			return activities.SendUpdateResult{Refused: "finding/f-2: refer is not allowed in stage WITHDRAWN"}
		}
		return activities.SendUpdateResult{}
	}
	h.env.OnActivity(acts.FindingsAmong, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FindingsAmongInput) (activities.FindingsAmongResult, error) {
			h.imu.Lock()
			defer h.imu.Unlock()
			if !slices.Equal(in.Stages, []string{FindingFound, FindingListed, FindingDiagnosed}) {
				return activities.FindingsAmongResult{}, fmt.Errorf("unexpected stages %v", in.Stages)
			}
			return activities.FindingsAmongResult{Count: len(h.unclassified), Numbers: h.unclassified}, nil
		})
	h.env.OnActivity(acts.FindingCounts, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.InspectionFindingsInput) (casework.InspectionSummary, error) {
			h.imu.Lock()
			defer h.imu.Unlock()
			return casework.InspectionSummary{Findings: 3, Closed: 2, Withdrawn: 1 - min(h.open, 1), Open: h.open,
				ByKind: map[string]int{KindHazard: 3}, ClosureRate: 1}, nil
		})
	return h
}

// findingsWithdrawn makes every finding of the inspection withdrawn (none
// open) at after, as an office does before it cancels the inspection.
func (h *inspectionHarness) findingsWithdrawn(after time.Duration) {
	h.env.RegisterDelayedCallback(func() {
		h.imu.Lock()
		defer h.imu.Unlock()
		h.open = 0
	}, after)
}

func inspectionInput() InspectionInput {
	return InspectionInput{ID: "ins-1", RequestID: "c1", Unit: Unit{Code: "430100", Name: "长沙市"}, Kind: KindComprehensive,
		Round: "2026年第一轮", PlannedStart: "2026-03-02", PlannedEnd: "2026-03-20", ContentAreas: []int{1, 5}, Team: team(), Actor: office}
}

func TestInspectionProcedureWithLateReport(t *testing.T) {
	h := newInspectionHarness(t)
	h.open = 1
	hour := time.Hour
	early := h.update(hour, ActionNotify, "n0", NotifyInput{Change: Change{RequestID: "n0", Actor: office}, NotifiedOn: "2026-03-02"})
	wrongRole := h.update(2*hour, ActionApproveTeam, "a0", ApproveTeamInput{Change: Change{RequestID: "a0", Actor: office}})
	approve := h.update(3*hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}})
	notify := h.update(4*hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-03-02"})
	station := h.update(5*hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02",
		Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"})
	// On-site work ends Friday 2026-03-20: the report is due 5 working days
	// later, 2026-03-27 (Friday).
	end := h.update(shanghai("2026-03-20 18:00").Sub(start), ActionEndOnsite, "e1", EndOnsiteInput{Change: Change{RequestID: "e1", Actor: leader}, OnsiteEndedOn: "2026-03-20"})
	// The report arrives on Monday 03-30, after the deadline.
	report := h.update(shanghai("2026-03-30 10:00").Sub(start), ActionSubmitReport, "r1", SubmitReportInput{Change: Change{RequestID: "r1", Actor: leader}, ReportEvidenceID: "ev-report", Summary: "发现问题3个"})
	review := h.update(shanghai("2026-03-31 10:00").Sub(start), ActionReview, "v1", ReviewInput{Change: Change{RequestID: "v1", Actor: office}, CopyToPartyInspectionOffice: true})
	approveReport := h.update(shanghai("2026-04-01 10:00").Sub(start), ActionApprove, "p1", ApproveInput{Change: Change{RequestID: "p1", Actor: committee}})
	feedback := h.update(shanghai("2026-04-08 10:00").Sub(start), ActionGiveFeedback, "f1", GiveFeedbackInput{Change: Change{RequestID: "f1", Actor: office},
		FeedbackDeliveredOn: "2026-04-08", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
	rect := h.update(shanghai("2026-05-06 10:00").Sub(start), ActionInspectionRectified, "q1", InspectionRectificationInput{Change: Change{RequestID: "q1", Actor: unitActor}, Report: "整改完毕", EvidenceIDs: []string{"ev-r"}})
	closeEarly := h.update(shanghai("2026-05-07 10:00").Sub(start), ActionClose, "c0", ApproveInput{Change: Change{RequestID: "c0", Actor: office}})
	h.env.RegisterDelayedCallback(func() {
		h.imu.Lock()
		h.open = 0
		h.imu.Unlock()
	}, shanghai("2026-05-08 00:00").Sub(start))
	closed := h.update(shanghai("2026-05-08 10:00").Sub(start), ActionClose, "c1", ApproveInput{Change: Change{RequestID: "c1", Actor: office}})

	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())

	var stage *derrors.StageError
	require.ErrorAs(t, derrors.FromTemporal(early.rejected), &stage)
	require.Equal(t, "TEAM_NOT_APPROVED", stage.Reason)
	require.ErrorIs(t, derrors.FromTemporal(wrongRole.rejected), derrors.ErrPermissionDenied)
	requireDone(t, approve, notify, station, end, report, review, approveReport, feedback, rect, closed)

	// Report deadline: 5 working days after 03-20.
	st := decodeInspection(t, end)
	require.Equal(t, StageOnsiteEnded, st.Inspection.Stage)
	require.Equal(t, "2026-03-27", st.Inspection.ReportDeadline.Due.String())
	require.Len(t, h.exposures, 1, "stationing publishes the entry announcement")
	require.Equal(t, "ENTRY_ANNOUNCEMENT", h.exposures[0].Kind)
	require.Contains(t, h.exposures[0].Title, "0731-12345678")
	require.Contains(t, st.Inspection.ReportDeadline.Explanation[0], "5 working days after 2026-03-20")

	// The late report was escalated: reminder at the end of 03-26, overdue at
	// the end of 03-27, then the report came (no interview proposed).
	require.GreaterOrEqual(t, len(h.fl.escalations), 2)
	require.Equal(t, casework.StepReminder, h.fl.escalations[0].Step)
	require.True(t, shanghai("2026-03-27 00:00").Equal(h.fl.escalations[0].FiredAt))
	require.Equal(t, casework.StepOverdue, h.fl.escalations[1].Step)
	require.True(t, shanghai("2026-03-28 00:00").Equal(h.fl.escalations[1].FiredAt))
	require.Equal(t, "inspection/ins-1", h.fl.escalations[1].Subject)
	require.Contains(t, h.fl.escalations[1].Message, "team leader 赵强")
	// Named as the office names it (it was "inspection/ins-1").
	require.Contains(t, h.fl.escalations[1].MessageZH, "逾期：长沙市（430100）综合巡查")
	rep := decodeInspection(t, report)
	require.Equal(t, 1, rep.Inspection.MissedDeadlines)
	require.False(t, rep.Inspection.Overdue)

	// Feedback referred the classified findings through their workflows and
	// started the rectification deadline: one month after 04-08.
	fb := decodeInspection(t, feedback)
	require.Equal(t, "2026-05-08", fb.Inspection.RectificationDeadline.Due.String())
	require.Len(t, h.updatesSent, 2)
	require.Equal(t, "refer/feedback-ins-1", h.updatesSent[0].UpdateID)
	var refer ReferInput
	require.NoError(t, json.Unmarshal(h.updatesSent[0].Args, &refer))
	require.Equal(t, "2026-04-08", refer.Referral.FeedbackReceivedOn)
	require.Equal(t, "长沙市安委办", refer.Referral.ReceivingAuthority)

	// Closing with an open finding is refused; once all are closed it closes
	// with the summary.
	require.ErrorAs(t, derrors.FromTemporal(closeEarly.failed), &stage)
	require.Equal(t, "FINDINGS_OPEN", stage.Reason)
	require.NotContains(t, stage.Allowed, ActionCancel, "refused for the same reason, not the way out")
	cl := decodeInspection(t, closed)
	require.Equal(t, StageClosed, cl.Inspection.Stage)
	require.Equal(t, 1, cl.Inspection.Summary.DeadlinesMissed)
	require.Equal(t, []string{"create", ActionApproveTeam, ActionNotify, ActionStation, ActionEndOnsite, "escalate", "escalate",
		ActionSubmitReport, ActionReview, ActionApprove, ActionGiveFeedback, ActionInspectionRectified, ActionClose}, h.fl.actions())
}

// TestFeedbackWaitsForEveryReferral: a finding whose referral cannot be
// sent (its workflow's ledger write unavailable past the retries) is not
// skipped as if it had refused: the feedback answers UNAVAILABLE and
// leaves the inspection APPROVED, and sent again once the ledger is back it
// refers every finding.
func TestFeedbackWaitsForEveryReferral(t *testing.T) {
	h := newInspectionHarness(t)
	h.fl.sendFails = func(in activities.SendUpdateInput) bool {
		h.imu.Lock()
		defer h.imu.Unlock()
		return in.WorkflowID == "finding/f-1" && !h.ledgerBack
	}
	steps := h.approvedOn25()
	feedback := func(at time.Time, key string) *result {
		return h.update(at.Sub(start), ActionGiveFeedback, key, GiveFeedbackInput{Change: Change{RequestID: key, Actor: office},
			FeedbackDeliveredOn: "2026-04-08", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
	}
	failed := feedback(shanghai("2026-04-08 10:00"), "f1")
	h.env.RegisterDelayedCallback(func() {
		h.imu.Lock()
		h.ledgerBack = true
		h.imu.Unlock()
	}, shanghai("2026-04-09 00:00").Sub(start))
	again := feedback(shanghai("2026-04-09 10:00"), "f2")
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, shanghai("2026-04-10 00:00").Sub(start))

	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	requireDone(t, steps...)
	require.ErrorIs(t, derrors.FromTemporal(failed.failed), derrors.ErrUnavailable, "%v", failed.failed)
	st := decodeInspection(t, again)
	require.Equal(t, StageFeedbackGiven, st.Inspection.Stage)
	h.imu.Lock()
	defer h.imu.Unlock()
	referred := map[string]bool{}
	for _, u := range h.updatesSent {
		referred[u.WorkflowID] = true
	}
	require.True(t, referred["finding/f-1"], "the finding whose referral failed is referred once the ledger is back")
	require.Equal(t, 1, slices.Index(h.fl.actions(), ActionGiveFeedback)-slices.Index(h.fl.actions(), ActionApprove),
		"one feedback recorded, the second's")
}

// TestInspectionInputCheckedBehindTheAPI: a start that did not come
// through the API is held to the inspection's rules by the workflow (here
// the charter's line-up: one leader, one deputy, 6–8 counted people): the
// creating request is answered with the violations, nothing is recorded,
// and the run fails.
func TestInspectionInputCheckedBehindTheAPI(t *testing.T) {
	var h *inspectionHarness
	newEnv := func(t *testing.T) *testsuite.TestWorkflowEnvironment {
		h = newInspectionHarness(t)
		return h.env
	}
	withAndWithoutCreateCheck(t, newEnv, func(t *testing.T, env *testsuite.TestWorkflowEnvironment, checked bool) {
		answered := awaitCreated(t, env, "c1")
		in := inspectionInput()
		in.Team = in.Team[:3]
		env.ExecuteWorkflow(InspectionWorkflow, in)

		if !checked {
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, *answered)
			require.Equal(t, []string{"create"}, h.fl.actions(), "recorded as before the check")
			return
		}
		require.Equal(t, "inspection.team", requireCreateRefused(t, env, *answered)[0])
		require.Empty(t, h.fl.actions(), "nothing is recorded")
	})
}

// TestFeedbackChecksFindingDuesFirst: a finding's own limit beyond the law
// (more than one month after the feedback) refuses the whole feedback,
// naming the field, before any finding is referred. Histories recorded
// before versionFeedbackChecksFindingDues replay as they ran: the feedback
// went on, and the finding's own referral was left to refuse the limit.
func TestFeedbackChecksFindingDuesFirst(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version workflow.Version
	}{{"checked first", 1}, {"before the check", workflow.DefaultVersion}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newInspectionHarness(t)
			if tc.version == workflow.DefaultVersion {
				h.env.OnGetVersion(versionFeedbackChecksFindingDues, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			steps := h.approvedOn25()
			feedback := h.update(shanghai("2026-04-08 10:00").Sub(start), ActionGiveFeedback, "f1", GiveFeedbackInput{
				Change: Change{RequestID: "f1", Actor: office}, FeedbackDeliveredOn: "2026-04-08", Recipients: []string{"市长"},
				ReceivingAuthority: "长沙市安委办", FindingDues: map[string]string{"f-1": "2026-05-20"}})
			h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, shanghai("2026-04-10 00:00").Sub(start))

			h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
			requireDone(t, steps...)
			h.imu.Lock()
			defer h.imu.Unlock()
			if tc.version == workflow.DefaultVersion {
				requireDone(t, feedback)
				require.Len(t, h.updatesSent, 2, "both findings were sent their referral")
				return
			}
			var invalid *derrors.InvalidError
			require.ErrorAs(t, derrors.FromTemporal(feedback.failed), &invalid, "%v", feedback.failed)
			require.Equal(t, "finding_dues[f-1]", invalid.Violations[0].Field)
			require.Contains(t, invalid.Violations[0].Rule, "2026-05-08")
			require.Empty(t, h.updatesSent, "no finding is referred")
			require.NotContains(t, h.fl.actions(), ActionGiveFeedback)
		})
	}
}

// onsiteEnded takes the inspection through the team's approval, the
// notice and the stationing to the end of on-site work, all on
// 2026-03-02, in the first four hours: the report is due 2026-03-09.
func (h *inspectionHarness) onsiteEnded() {
	h.update(time.Hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}})
	h.update(2*time.Hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-03-02"})
	h.update(3*time.Hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02", Announcement: "任务", ContactMailbox: "xuncha@example.org"})
	h.update(4*time.Hour, ActionEndOnsite, "e1", EndOnsiteInput{Change: Change{RequestID: "e1", Actor: leader}, OnsiteEndedOn: "2026-03-02"})
}

func TestInspectionCancelStopsTheReportDeadline(t *testing.T) {
	h := newInspectionHarness(t)
	h.onsiteEnded()
	cancel := h.update(5*time.Hour, ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "汛期改期"})
	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, cancel)
	require.Empty(t, h.fl.escalations)
	require.Equal(t, StageCancelled, h.row.Stage)
	require.Equal(t, "汛期改期", h.row.CancelReason)
}

// TestInspectionCalendarChangeMovesTheReportDeadline: a calendar version
// that makes a day of the report's five working days a holiday re-dates the
// running report deadline, and the re-date changes nothing else of the
// inspection.
func TestInspectionCalendarChangeMovesTheReportDeadline(t *testing.T) {
	h := newInspectionHarness(t)
	h.update(time.Hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}})
	h.update(2*time.Hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-03-02"})
	h.update(3*time.Hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02",
		Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"})
	// On-site work ends Friday 2026-03-20: the report is due 2026-03-27.
	end := h.update(shanghai("2026-03-20 18:00").Sub(start), ActionEndOnsite, "e1",
		EndOnsiteInput{Change: Change{RequestID: "e1", Actor: leader}, OnsiteEndedOn: "2026-03-20"})
	h.env.RegisterDelayedCallback(func() {
		// An amended notice makes Wednesday 2026-03-25 a rest day.
		h.loadCalendar(t, 7, holiday("2026-03-25", "2026-03-25"))
	}, shanghai("2026-03-23 09:00").Sub(start))
	cancel := h.update(shanghai("2026-03-24 10:00").Sub(start), ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, cancel)

	require.Equal(t, "2026-03-27", decodeInspection(t, end).Inspection.ReportDeadline.Due.String())
	redate := lastEvent(h.fl.events, "redate")
	require.NotNil(t, redate)
	require.Equal(t, "re-dated by calendar version 7: due 2026-03-30 (was 2026-03-27)", redate.Note)
	require.Equal(t, "2026-03-30", h.row.ReportDeadline.Due.String())
	require.Contains(t, h.row.ReportDeadline.Explanation[0], "calendar version 7")
	require.Equal(t, "2026-03-02", h.row.Records["stationed_on"], "the re-date keeps what the steps recorded")
	require.Nil(t, h.row.RectificationDeadline)
}

func decodeInspection(t *testing.T, r *result) InspectionState {
	t.Helper()
	require.True(t, r.done)
	require.NoError(t, r.rejected)
	require.NoError(t, r.failed)
	return r.istate
}

func TestFollowUpRecheckReopensFinding(t *testing.T) {
	h := newInspectionHarness(t)
	closed := newFinding(SeverityGeneral)
	closed.InspectionID, closed.Stage, closed.LedgerNumber, closed.Version = "ins-0", FindingClosed, "2026-430100-0007", 9
	var started []activities.StartWorkflowInput
	var appended []casework.Event
	h.env.OnActivity(acts.GetFinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FindingIDInput) (casework.Finding, error) {
			f := closed
			f.ID = in.ID
			switch in.ID {
			case "f-other":
				f.InspectionID = "ins-9"
			case "f-open":
				f.Stage = FindingReferred
			}
			return f, nil
		})
	h.env.OnActivity(acts.StartWorkflow, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.StartWorkflowInput) error {
			started = append(started, in)
			return nil
		})
	h.env.OnActivity(acts.AppendEvent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e casework.Event) error { appended = append(appended, e); return nil })

	h.update(time.Hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}})
	h.update(2*time.Hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-03-02"})
	h.update(3*time.Hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02", Announcement: "回头看", ContactPhone: "12345"})
	passed := h.update(4*time.Hour, ActionRecheck, "k1", RecheckInput{Change: Change{RequestID: "k1", Actor: leader}, FindingID: "f-1", Passed: true, Note: "整改到位"})
	again := h.update(4*time.Hour+30*time.Minute, ActionRecheck, "k1b", RecheckInput{Change: Change{RequestID: "k1b", Actor: leader}, FindingID: "f-1", Passed: true, Note: "再查一次"})
	failed := h.update(5*time.Hour, ActionRecheck, "k2", RecheckInput{Change: Change{RequestID: "k2", Actor: leader}, FindingID: "f-2", Passed: false, Note: "通道再次堵塞"})
	wrong := h.update(6*time.Hour, ActionRecheck, "k3", RecheckInput{Change: Change{RequestID: "k3", Actor: leader}, FindingID: "f-other", Passed: true, Note: "x"})
	open := h.update(6*time.Hour+30*time.Minute, ActionRecheck, "k4", RecheckInput{Change: Change{RequestID: "k4", Actor: leader}, FindingID: "f-open", Passed: false, Note: "y"})
	h.update(7*time.Hour, ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
	in := inspectionInput()
	in.Kind, in.FollowsInspectionID = KindFollowUp, "ins-0"
	h.env.ExecuteWorkflow(InspectionWorkflow, in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, passed, failed)

	require.ErrorContains(t, again.rejected, `finding "f-1" was re-checked by this inspection and passed already`)
	require.Len(t, appended, 1, "a passed re-check is recorded on the finding, once")
	require.Equal(t, "f-1", appended[0].SubjectID)
	require.Len(t, started, 1, "a failed re-check reopens the finding")
	require.Equal(t, "finding/f-2", started[0].WorkflowID)
	var fin FindingInput
	require.NoError(t, json.Unmarshal(started[0].Input, &fin))
	require.NotNil(t, fin.Reopen)
	require.Equal(t, "通道再次堵塞", fin.Reopen.Reason)
	require.Equal(t, "2026-03-02", fin.Reopen.From)
	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(wrong.failed), &invalid)
	require.Equal(t, "finding_id", invalid.Violations[0].Field)
	require.NotContains(t, invalid.Violations[0].Rule, "ins-9", "whose finding it is is not said")
	var stage *derrors.StageError
	require.ErrorAs(t, derrors.FromTemporal(open.failed), &stage, "a finding still open is not re-checked")
	require.Equal(t, "FINDING_NOT_CLOSED", stage.Reason)
}

func TestReopenedFindingRunsANewDeadline(t *testing.T) {
	h := newHarness(t)
	f := newFinding(SeverityGeneral)
	f.Stage, f.LedgerNumber, f.Version, f.DeadlineSeq, f.WorkflowID = FindingClosed, "2026-430100-0007", 9, 1, "finding/f-1"
	rep := h.update(48*time.Hour, ActionReportRectification, "p1", rectification("p1"))
	acc := h.update(72*time.Hour, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
	h.env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: f, Reopen: &ReopenInput{
		RequestID: "recheck/ins-2/k2", InspectionID: "ins-2", Actor: leader, Reason: "通道再次堵塞", From: "2026-03-02"}})
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, rep, acc)
	require.Equal(t, []string{"reopen", ActionReportRectification, ActionVerify}, h.fl.actions())
	require.Equal(t, FindingReferred, h.fl.events[0].StageAfter)
	require.Equal(t, FindingClosed, h.fl.events[0].StageBefore)
	require.Equal(t, 1, rep.state.Finding.ReopenCount)
	require.Equal(t, 2, rep.state.Finding.DeadlineSeq)
	require.Equal(t, 11, rep.state.Finding.Version, "reopen and report each add one version to the ledger's 9")
	require.Equal(t, FindingClosed, acc.state.Finding.Stage)
}

// TestOldRunKeepsItsInterviewAcrossACalendarLoad: an inspection from
// before versionTeamReportNoInterview whose report deadline was resolved
// before deadline.Rule.Steps (its recorded schedule has the interview step)
// keeps that step when a calendar version that moves nothing of it is
// loaded after the deploy, where the rule is built anew with Rule.Steps:
// the re-date used the new rule, found the schedule "moved" (two steps
// against three), recorded a re-date and dropped the interview.
func TestOldRunKeepsItsInterviewAcrossACalendarLoad(t *testing.T) {
	h := newInspectionHarness(t)
	h.env.OnGetVersion(versionTeamReportNoInterview, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.fl.rulesTakeEveryStep = true // resolved by the worker before the deploy
	h.onsiteEnded()
	h.env.RegisterDelayedCallback(func() {
		h.fl.mu.Lock()
		h.fl.rulesTakeEveryStep = false // the new worker from here on
		h.fl.mu.Unlock()
		h.loadCalendar(t, 7, holiday("2026-06-15", "2026-06-15")) // far from this deadline
	}, shanghai("2026-03-04 09:00").Sub(start))
	cancel := h.update(shanghai("2026-03-18 10:00").Sub(start), ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "汛期改期"})
	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, cancel)
	if e := lastEvent(h.fl.events, "redate"); e != nil {
		t.Errorf("a calendar load that moves nothing re-dated the deadline: %q", e.Note)
	}
	require.Len(t, h.fl.interviews, 1, "the old run's team report ladder proposes its interview")
}

// TestInspectionCancelledWhileOverdueEndsCleanly cancels an inspection whose
// missed report deadline went past the ladder's interview step: it is
// overdue no more, and the proposed interview is asked to cancel.
//
// The team report's ladder proposes an interview only in runs from before
// versionTeamReportNoInterview (TestLateTeamReportProposesNoInterview)
// whose report deadline was resolved before deadline.Rule.Steps; this is
// such a run.
func TestInspectionCancelledWhileOverdueEndsCleanly(t *testing.T) {
	h := newInspectionHarness(t)
	h.env.OnGetVersion(versionTeamReportNoInterview, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.fl.rulesTakeEveryStep = true
	h.onsiteEnded()
	// Report due 2026-03-09; the interview is proposed at the end of 03-16.
	var overdue InspectionState
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&overdue))
	}, shanghai("2026-03-18 09:00").Sub(start))
	cancel := h.update(shanghai("2026-03-18 10:00").Sub(start), ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "汛期改期"})
	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, cancel)

	require.True(t, overdue.Inspection.Overdue, "overdue before the cancellation")
	require.Len(t, h.fl.interviews, 1)
	require.Equal(t, StageCancelled, h.row.Stage)
	require.False(t, h.row.Overdue, "the ledger row is not overdue")
	require.False(t, decodeInspection(t, cancel).Inspection.Overdue)
	require.Len(t, h.updatesSent, 1)
	require.Equal(t, InterviewWorkflowID(LadderInterviewID(InspectionWorkflowID(h.row.ID), 1)), h.updatesSent[0].WorkflowID)
	var in CancelInterviewInput
	require.NoError(t, json.Unmarshal(h.updatesSent[0].Args, &in))
	require.Equal(t, "cancelled: inspection "+h.row.ID+" was cancelled", in.Reason)
	require.Equal(t, "已取消：巡查 "+h.row.ID+" 已取消", in.ReasonZH)
	require.True(t, in.OnlyProposed)
}

// TestInspectionDaysMustHaveCome: a step is admitted only with a day that
// has come (not after today) and does not come before the step it follows;
// a refused one changes nothing, and a day already past is still taken (a
// step recorded late). The deadlines count from these days: a typo would
// escalate at once, or put the deadline off.
func TestInspectionDaysMustHaveCome(t *testing.T) {
	h := newInspectionHarness(t)
	h.open = 1
	hour := time.Hour
	h.update(hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}})
	notifyAhead := h.update(2*hour, ActionNotify, "n0", NotifyInput{Change: Change{RequestID: "n0", Actor: office}, NotifiedOn: "2026-03-03"})
	h.update(3*hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-02-27"})
	stationBefore := h.update(4*hour, ActionStation, "s0", StationInput{Change: Change{RequestID: "s0", Actor: leader}, StationedOn: "2026-02-26",
		Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"})
	h.update(5*hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02",
		Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"})
	at := func(s string) time.Duration { return shanghai(s).Sub(start) }
	endAhead := h.update(at("2026-03-20 18:00"), ActionEndOnsite, "e0", EndOnsiteInput{Change: Change{RequestID: "e0", Actor: leader}, OnsiteEndedOn: "2026-12-20"})
	endBefore := h.update(at("2026-03-20 18:10"), ActionEndOnsite, "e0b", EndOnsiteInput{Change: Change{RequestID: "e0b", Actor: leader}, OnsiteEndedOn: "2025-03-20"})
	// Recorded on Monday for the Friday before: taken, due 5 working days
	// after the Friday.
	end := h.update(at("2026-03-23 09:00"), ActionEndOnsite, "e1", EndOnsiteInput{Change: Change{RequestID: "e1", Actor: leader}, OnsiteEndedOn: "2026-03-20"})
	h.update(at("2026-03-25 10:00"), ActionSubmitReport, "r1", SubmitReportInput{Change: Change{RequestID: "r1", Actor: leader}, ReportEvidenceID: "ev-report", Summary: "发现问题3个"})
	h.update(at("2026-03-26 10:00"), ActionReview, "v1", ReviewInput{Change: Change{RequestID: "v1", Actor: office}})
	h.update(at("2026-03-27 10:00"), ActionApprove, "p1", ApproveInput{Change: Change{RequestID: "p1", Actor: committee}})
	feedbackBefore := h.update(at("2026-04-08 10:00"), ActionGiveFeedback, "f0", GiveFeedbackInput{Change: Change{RequestID: "f0", Actor: office},
		FeedbackDeliveredOn: "2026-01-08", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
	feedbackAhead := h.update(at("2026-04-08 10:10"), ActionGiveFeedback, "f0b", GiveFeedbackInput{Change: Change{RequestID: "f0b", Actor: office},
		FeedbackDeliveredOn: "2026-04-09", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
	feedback := h.update(at("2026-04-08 10:20"), ActionGiveFeedback, "f1", GiveFeedbackInput{Change: Change{RequestID: "f1", Actor: office},
		FeedbackDeliveredOn: "2026-04-08", Recipients: []string{"市委书记", "市长"}, ReceivingAuthority: "长沙市安委办"})
	h.findingsWithdrawn(at("2026-04-09 09:00"))
	h.update(at("2026-04-09 10:00"), ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})

	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())

	refused := func(r *result, field, says string) {
		t.Helper()
		require.Error(t, r.rejected, field)
		var invalid *derrors.InvalidError
		require.ErrorAs(t, derrors.FromTemporal(r.rejected), &invalid, field)
		require.Equal(t, field, invalid.Violations[0].Field)
		require.Contains(t, invalid.Violations[0].Rule, says)
	}
	refused(notifyAhead, "notified_on", "must not be after today (2026-03-02)")
	refused(stationBefore, "stationed_on", "must not be before 2026-02-27, the inspection's notified_on")
	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(stationBefore.rejected), &invalid)
	require.Equal(t, "不能早于本次巡查的巡查预告日期（2026-02-27）", invalid.Violations[0].RuleZH, "the day named in Chinese (it read notified_on)")
	refused(endAhead, "onsite_ended_on", "must not be after today (2026-03-20)")
	refused(endBefore, "onsite_ended_on", "must not be before 2026-03-02, the inspection's stationed_on")
	refused(feedbackBefore, "feedback_delivered_on", "must not be before 2026-03-20, the inspection's onsite_ended_on")
	refused(feedbackAhead, "feedback_delivered_on", "must not be after today (2026-04-08)")
	require.NoError(t, end.failed)
	require.Equal(t, "2026-03-27", end.istate.Inspection.ReportDeadline.Due.String(), "5 working days after the day it ended")
	require.NoError(t, feedback.failed)
	require.Equal(t, "2026-04-08", feedback.istate.Inspection.Records["feedback_delivered_on"])
	require.Equal(t, "市委书记、市长", feedback.istate.Inspection.Records["feedback_recipients"], "it read [市委书记 市长]")
	for _, e := range h.fl.escalations {
		require.NotEqual(t, "OVERDUE", e.Step, "no refused day escalated anything")
	}
}

// redateAfterOverdue runs an inspection whose report, due 2026-03-27, was
// missed (OVERDUE at 03-28 00:00) when a notice loaded on 03-28 makes
// 03-23..03-27 rest days: the report is then due 2026-04-03. It returns the
// row as it was on 03-30 and the escalations of the whole run, which is
// cancelled on 04-20.
func redateAfterOverdue(t *testing.T, h *inspectionHarness) (casework.Inspection, []casework.Escalation) {
	t.Helper()
	h.update(time.Hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}})
	h.update(2*time.Hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-03-02"})
	h.update(3*time.Hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02",
		Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"})
	h.update(shanghai("2026-03-20 18:00").Sub(start), ActionEndOnsite, "e1",
		EndOnsiteInput{Change: Change{RequestID: "e1", Actor: leader}, OnsiteEndedOn: "2026-03-20"})
	h.env.RegisterDelayedCallback(func() {
		h.loadCalendar(t, 7, holiday("2026-03-23", "2026-03-27"))
	}, shanghai("2026-03-28 09:00").Sub(start))
	var on30 casework.Inspection
	h.env.RegisterDelayedCallback(func() {
		h.imu.Lock()
		on30 = h.row
		h.imu.Unlock()
	}, shanghai("2026-03-30 09:00").Sub(start))
	h.findingsWithdrawn(shanghai("2026-04-20 09:00").Sub(start))
	cancel := h.update(shanghai("2026-04-20 10:00").Sub(start), ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, cancel)
	require.Equal(t, "2026-04-03", on30.ReportDeadline.Due.String())
	return on30, h.fl.escalations
}

// steps lists escalations as "seq STEP at", in order.
func steps(escalations []casework.Escalation) []string {
	var out []string
	for _, e := range escalations {
		if e.Step == casework.StepReminder || e.Step == casework.StepOverdue {
			out = append(out, fmt.Sprintf("%d %s %s", e.DeadlineSeq, e.Step, e.FiredAt.In(calendar.Location()).Format("01-02 15:04")))
		}
	}
	return out
}

// TestRedateUndoesAMissThatWasNot: a missed deadline that a new calendar
// moves to a day still ahead is no longer overdue nor counted missed; it
// runs anew under the next number, and its OVERDUE step is taken when the
// new day has passed.
func TestRedateUndoesAMissThatWasNot(t *testing.T) {
	h := newInspectionHarness(t)
	h.open = 1
	on30, escalations := redateAfterOverdue(t, h)
	require.False(t, on30.Overdue, "not missed under the calendar now in force")
	require.Zero(t, on30.MissedDeadlines)
	require.Equal(t, 2, on30.DeadlineSeq)
	require.Contains(t, lastEvent(h.fl.events, "redate").Note, "no longer overdue")
	require.Equal(t, []string{"1 REMINDER 03-27 00:00", "1 OVERDUE 03-28 00:00", "2 REMINDER 04-03 00:00", "2 OVERDUE 04-04 00:00"}, steps(escalations))
}

// TestOldRunsStayOverdueAfterARedate: a run from before
// versionRedateUnmisses keeps the overdue mark and never takes the new
// deadline's OVERDUE step, as it did.
func TestOldRunsStayOverdueAfterARedate(t *testing.T) {
	h := newInspectionHarness(t)
	h.open = 1
	h.env.OnGetVersion(versionRedateUnmisses, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	on30, escalations := redateAfterOverdue(t, h)
	require.True(t, on30.Overdue)
	require.Equal(t, 1, on30.MissedDeadlines)
	require.Equal(t, 1, on30.DeadlineSeq)
	require.Equal(t, []string{"1 REMINDER 03-27 00:00", "1 OVERDUE 03-28 00:00"}, steps(escalations))
}

// TestLateTeamReportProposesNoInterview: a team report still missed past
// the ladder's interview step is escalated to the office, and no interview
// (约谈) of the inspected unit's leaders is proposed: the team is late, not
// the unit. The unit's own rectification deadline, missed as long, still
// proposes one. (Runs from before versionTeamReportNoInterview keep the
// team report's interview: TestInspectionCancelledWhileOverdueEndsCleanly.)
func TestLateTeamReportProposesNoInterview(t *testing.T) {
	h := newInspectionHarness(t)
	h.onsiteEnded()
	// Report due 2026-03-09; its interview step would have come at the end
	// of 03-16. The report comes on 03-18.
	at := func(s string) time.Duration { return shanghai(s).Sub(start) }
	var lateReport InspectionState
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&lateReport))
	}, at("2026-03-18 09:00"))
	report := h.update(at("2026-03-18 10:00"), ActionSubmitReport, "r1", SubmitReportInput{Change: Change{RequestID: "r1", Actor: leader}, ReportEvidenceID: "ev-report", Summary: "发现问题3个"})
	h.update(at("2026-03-19 10:00"), ActionReview, "v1", ReviewInput{Change: Change{RequestID: "v1", Actor: office}})
	h.update(at("2026-03-20 10:00"), ActionApprove, "p1", ApproveInput{Change: Change{RequestID: "p1", Actor: committee}})
	// Rectification due one month after 03-23: 04-23; still missed five
	// working days later, an interview of the unit's leaders is proposed.
	h.update(at("2026-03-23 10:00"), ActionGiveFeedback, "f1", GiveFeedbackInput{Change: Change{RequestID: "f1", Actor: office},
		FeedbackDeliveredOn: "2026-03-23", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
	cancel := h.update(at("2026-05-11 10:00"), ActionCancel, "x1", CancelInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
	h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	requireDone(t, report, cancel)

	require.True(t, lateReport.Inspection.Overdue, "the late report was escalated")
	var steps []string
	for _, e := range h.fl.escalations {
		steps = append(steps, fmt.Sprintf("%d:%s", e.DeadlineSeq, e.Step))
	}
	require.Equal(t, []string{"1:REMINDER", "1:OVERDUE", "2:REMINDER", "2:OVERDUE", "2:INTERVIEW_PROPOSED"}, steps,
		"the team report's ladder (deadline 1) proposes no interview; the rectification's (2) does")
	require.Len(t, h.fl.interviews, 1)
	require.Equal(t, 2, h.fl.interviews[0].DeadlineSeq)
	require.Equal(t, "430100", h.fl.interviews[0].UnitCode)
}

// TestInspectionDetailsSayWhatIsDue: the Web UI's details of an inspection
// say which deadline runs, the team's report or the unit's rectification
// report; they said only "2026-11-26 截止".
func TestInspectionDetailsSayWhatIsDue(t *testing.T) {
	due := func(day string) *calendar.Deadline { return &calendar.Deadline{Due: calendar.MustParseDate(day)} }
	in := casework.Inspection{Lifecycle: casework.Lifecycle{ID: "ins-1", UnitCode: "430100", Stage: StageOnsiteEnded},
		UnitName: "长沙市", Kind: "COMPREHENSIVE", Round: "2026年第一轮", ReportDeadline: due("2026-11-26")}
	c := &core[casework.Inspection]{spec: inspectionSpec, row: in}
	require.Contains(t, c.details(), "巡查报告 2026-11-26 截止")
	in.Stage, in.RectificationDeadline = StageFeedbackGiven, due("2027-01-04")
	c.row = in
	require.Contains(t, c.details(), "整改报告 2027-01-04 截止")
}

// TestOpenFindingsNamed: the refusal to close names the open findings by
// ledger number, and says nothing of numbers when none has one yet (it
// said "(, …)").
func TestOpenFindingsNamed(t *testing.T) {
	say := func(sum casework.InspectionSummary) (string, string) {
		err := openFindingsError("ins-1", StageRectificationReported, ActionClose, sum)
		return derrors.Message(err, i18n.English), derrors.Message(err, i18n.Chinese)
	}
	en, zh := say(casework.InspectionSummary{Open: 7, OpenNumbers: []string{"2026-430100-0001", "2026-430100-0002"}})
	require.Contains(t, en, "7 findings are not yet CLOSED or WITHDRAWN (2026-430100-0001, 2026-430100-0002, …)")
	require.Contains(t, zh, "尚有 7 个问题未销号或撤销（2026-430100-0001、2026-430100-0002……）")
	en, zh = say(casework.InspectionSummary{Open: 3})
	require.Contains(t, en, "3 findings are not yet CLOSED or WITHDRAWN; an inspection")
	require.Contains(t, zh, "尚有 3 个问题未销号或撤销；")
}

// reviewed takes the inspection to REVIEWED: on site from 2026-03-02 to
// 03-20, its report submitted and reviewed at the times given (Asia/Shanghai).
func (h *inspectionHarness) reviewed(submitted, reviewedAt string) []*result {
	hour := time.Hour
	return []*result{
		h.update(hour, ActionApproveTeam, "a1", ApproveTeamInput{Change: Change{RequestID: "a1", Actor: committee}}),
		h.update(2*hour, ActionNotify, "n1", NotifyInput{Change: Change{RequestID: "n1", Actor: office}, NotifiedOn: "2026-03-02"}),
		h.update(3*hour, ActionStation, "s1", StationInput{Change: Change{RequestID: "s1", Actor: leader}, StationedOn: "2026-03-02",
			Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"}),
		h.update(shanghai("2026-03-20 18:00").Sub(start), ActionEndOnsite, "e1", EndOnsiteInput{Change: Change{RequestID: "e1", Actor: leader}, OnsiteEndedOn: "2026-03-20"}),
		h.update(shanghai(submitted).Sub(start), ActionSubmitReport, "r1", SubmitReportInput{Change: Change{RequestID: "r1", Actor: leader}, ReportEvidenceID: "ev-report", Summary: "发现问题2个"}),
		h.update(shanghai(reviewedAt).Sub(start), ActionReview, "v1", ReviewInput{Change: Change{RequestID: "v1", Actor: office}}),
	}
}

// approvedOn25 takes the inspection to APPROVED on 2026-03-25 (on site
// until 03-20, reported 03-23, reviewed 03-24).
func (h *inspectionHarness) approvedOn25() []*result {
	return append(h.reviewed("2026-03-23 10:00", "2026-03-24 10:00"),
		h.update(shanghai("2026-03-25 10:00").Sub(start), ActionApprove, "p1", ApproveInput{Change: Change{RequestID: "p1", Actor: committee}}))
}

// TestFeedbackWaitsForClassification: the feedback refers the CLASSIFIED
// findings and starts their deadlines; while one is FOUND, LISTED or DIAGNOSED it
// is refused (FINDINGS_NOT_CLASSIFIED, naming them), and taken once they
// are classified. Runs from before versionFeedbackWaitsForClassification
// take it, passing those findings over, as they did.
func TestFeedbackWaitsForClassification(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("old=%v", old), func(t *testing.T) {
			h := newInspectionHarness(t)
			if old {
				h.env.OnGetVersion(versionFeedbackWaitsForClassification, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			h.unclassified = []string{"2026-430100-0002"}
			steps := h.approvedOn25()
			feedback := func(at, key string) *result {
				return h.update(shanghai(at).Sub(start), ActionGiveFeedback, key, GiveFeedbackInput{Change: Change{RequestID: key, Actor: office},
					FeedbackDeliveredOn: "2026-04-08", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
			}
			first := feedback("2026-04-08 10:00", "f1")
			h.env.RegisterDelayedCallback(func() {
				h.imu.Lock()
				defer h.imu.Unlock()
				h.unclassified = nil // classified
			}, shanghai("2026-04-08 11:00").Sub(start))
			second := feedback("2026-04-08 12:00", "f2")
			h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, shanghai("2026-04-10 00:00").Sub(start))
			h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
			requireDone(t, steps...)
			if old {
				require.NoError(t, first.failed, "taken, as before")
				require.Equal(t, StageFeedbackGiven, decodeInspection(t, first).Inspection.Stage)
				return
			}
			var stage *derrors.StageError
			require.ErrorAs(t, derrors.FromTemporal(first.failed), &stage)
			require.Equal(t, "FINDINGS_NOT_CLASSIFIED", stage.Reason)
			require.Contains(t, derrors.Message(stage, i18n.English), "1 findings are not yet classified (2026-430100-0002)")
			require.Contains(t, derrors.Message(stage, i18n.Chinese), "尚有 1 个问题未分类处置（2026-430100-0002）")
			require.Equal(t, StageFeedbackGiven, decodeInspection(t, second).Inspection.Stage)
			require.NotContains(t, decodeInspection(t, second).Inspection.Records, "approved_on", "an approval without its day records none")
			require.Equal(t, 1, slices.Index(h.fl.actions(), ActionGiveFeedback)-slices.Index(h.fl.actions(), ActionApprove),
				"one feedback recorded, the second's")
		})
	}
}

// TestCancelWaitsForFindings: an inspection is cancelled only once none
// of its findings is open (FINDINGS_OPEN, naming them, as for closing):
// those of an inspection called off went on, referred, escalated against
// the unit. Runs from before versionCancelWaitsForFindings cancel as they
// did.
func TestCancelWaitsForFindings(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("old=%v", old), func(t *testing.T) {
			h := newInspectionHarness(t)
			if old {
				h.env.OnGetVersion(versionCancelWaitsForFindings, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			h.open = 2
			steps := h.approvedOn25()
			cancel := func(at, key string) *result {
				return h.update(shanghai(at).Sub(start), ActionCancel, key, CancelInput{Change: Change{RequestID: key, Actor: office}, Reason: "被巡查单位撤并"})
			}
			first := cancel("2026-03-26 10:00", "x1")
			h.findingsWithdrawn(shanghai("2026-03-26 11:00").Sub(start))
			second := cancel("2026-03-26 12:00", "x2")
			h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())
			requireDone(t, steps...)
			require.True(t, h.env.IsWorkflowCompleted())
			if old {
				require.NoError(t, first.failed, "cancelled, as before")
				require.Equal(t, StageCancelled, decodeInspection(t, first).Inspection.Stage)
				return
			}
			var stage *derrors.StageError
			require.ErrorAs(t, derrors.FromTemporal(first.failed), &stage)
			require.Equal(t, "FINDINGS_OPEN", stage.Reason)
			require.Equal(t, ActionCancel, stage.Action)
			require.NotContains(t, stage.Allowed, ActionCancel, "not offered as the way out")
			require.NotContains(t, stage.Allowed, ActionClose)
			require.Contains(t, derrors.Message(stage, i18n.English), "2 findings are not yet CLOSED or WITHDRAWN: withdraw them (or close them out) before cancelling")
			require.Contains(t, derrors.Message(stage, i18n.Chinese), "尚有 2 个问题未销号或撤销：请先撤销（或销号）这些问题，再取消巡查")
			require.Equal(t, StageCancelled, decodeInspection(t, second).Inspection.Stage)
		})
	}
}

// TestFeedbackComesAfterTheApproval: an approval that gives its day
// (approved_on) records it: not before the on-site work ended, and the
// feedback not before it. Until 2026-12-01 the approval recorded no day,
// and a feedback dated between the on-site end and the approval (a typo
// of the on-site end's week) was taken, the unit's month counted from it.
// An approval without its day bounds nothing more than before (a backlog
// entered late).
func TestFeedbackComesAfterTheApproval(t *testing.T) {
	for _, dated := range []bool{true, false} {
		t.Run(fmt.Sprintf("dated=%v", dated), func(t *testing.T) {
			h := newInspectionHarness(t)
			at := func(s string) time.Duration { return shanghai(s).Sub(start) }
			h.reviewed("2026-03-25 10:00", "2026-03-26 10:00")
			approveBefore := h.update(at("2026-04-08 09:00"), ActionApprove, "p0", ApproveInput{Change: Change{RequestID: "p0", Actor: committee}, ApprovedOn: "2026-03-19"})
			approval := ApproveInput{Change: Change{RequestID: "p1", Actor: committee}}
			if dated {
				approval.ApprovedOn = "2026-04-07" // approved on the 7th, recorded on the 8th
			}
			approve := h.update(at("2026-04-08 09:10"), ActionApprove, "p1", approval)
			typo := h.update(at("2026-04-08 10:00"), ActionGiveFeedback, "f0", GiveFeedbackInput{Change: Change{RequestID: "f0", Actor: office},
				FeedbackDeliveredOn: "2026-03-23", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
			feedback := h.update(at("2026-04-08 10:10"), ActionGiveFeedback, "f1", GiveFeedbackInput{Change: Change{RequestID: "f1", Actor: office},
				FeedbackDeliveredOn: "2026-04-07", Recipients: []string{"市长"}, ReceivingAuthority: "长沙市安委办"})
			h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, at("2026-04-10 00:00"))
			h.env.ExecuteWorkflow(InspectionWorkflow, inspectionInput())

			var invalid *derrors.InvalidError
			require.ErrorAs(t, derrors.FromTemporal(approveBefore.rejected), &invalid, "not before the on-site end")
			require.Equal(t, "approved_on", invalid.Violations[0].Field)
			require.NoError(t, approve.failed)
			if !dated {
				require.NotContains(t, approve.istate.Inspection.Records, "approved_on")
				require.NoError(t, typo.rejected, "bounded by the on-site end alone, as before")
				return
			}
			require.Equal(t, "2026-04-07", approve.istate.Inspection.Records["approved_on"])
			require.ErrorAs(t, derrors.FromTemporal(typo.rejected), &invalid)
			require.Equal(t, "feedback_delivered_on", invalid.Violations[0].Field)
			require.Contains(t, invalid.Violations[0].Rule, "must not be before 2026-04-07, the inspection's approved_on")
			require.Contains(t, invalid.Violations[0].RuleZH, "巡查报告审定日期（2026-04-07）")
			require.NoError(t, feedback.failed)
			require.Equal(t, "2026-05-07", feedback.istate.Inspection.RectificationDeadline.Due.String(), "a month from the feedback")
		})
	}
}
