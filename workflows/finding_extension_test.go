package workflows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// The extension tests run on the default calendar from start (Monday
// 2026-03-02): the finding is referred with the feedback received that day,
// so its rectification deadline is 2026-04-02 (a Thursday), the default
// ladder firing a reminder at the end of 04-01, the overdue step at the end
// of 04-02 and an interview proposal at the end of 04-10 (Qingming,
// 04-04..04-06, is skipped).

const day = 24 * time.Hour

// referredAt diagnoses, classifies and refers the harness's finding in its
// first three hours.
func (h *harness) referredAt() {
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY", "SUPERVISE"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
}

// askFor is the unit's request for due.
func askFor(requestID, due string) RequestExtensionInput {
	return RequestExtensionInput{Change: Change{RequestID: requestID, Actor: unitActor}, Due: due,
		Reason: "重大隐患治理需停产改造，工程周期长于整改期限", EvidenceIDs: []string{"ev-works-plan"}}
}

// approve approves the pending request (due "" grants the day asked for).
func approve(requestID, due string) DecideExtensionInput {
	return DecideExtensionInput{Change: Change{RequestID: requestID, Actor: office}, Approve: true, Due: due}
}

// at is the delay from start to a moment in Asia/Shanghai.
func at(s string) time.Duration { return shanghai(s).Sub(start) }

// escalationsOf lists the steps taken for deadline seq, in order.
func (h *harness) escalationsOf(seq int) []casework.Escalation {
	var out []casework.Escalation
	for _, e := range h.fl.escalations {
		if e.DeadlineSeq == seq {
			out = append(out, e)
		}
	}
	return out
}

// details are the workflow's current details, as the Web UI shows them.
func (h *harness) details() string {
	h.t.Helper()
	v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(h.t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(h.t, v.Get(&meta))
	return meta.GetCurrentDetails()
}

// requireFired checks the steps of one deadline and when each fired.
func requireFired(t *testing.T, got []casework.Escalation, want map[string]string) {
	t.Helper()
	require.Len(t, got, len(want), "%v", got)
	for _, e := range got {
		when, ok := want[e.Step]
		require.True(t, ok, "unexpected step %s", e.Step)
		require.True(t, shanghai(when).Equal(e.FiredAt), "%s fired at %s, want %s", e.Step, e.FiredAt.In(calendar.Location()), when)
	}
}

// TestFindingExtensionApproved: a MAJOR hazard's unit asks for more time
// before the deadline; the office approves the day asked for. The deadline
// moves, the old ladder never fires, the new one fires at the new instants
// under a new deadline number, and the record keeps the original day, the
// request and who approved it.
func TestFindingExtensionApproved(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	asked := h.update(10*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-20"))
	var pending FindingState
	h.env.RegisterDelayedCallback(func() { pending = h.query() }, 11*day)
	var askedDetails, approvedDetails string
	h.env.RegisterDelayedCallback(func() { askedDetails = h.details() }, 11*day)
	approved := h.update(12*day, ActionDecideExtension, "a1", approve("a1", ""))
	h.env.RegisterDelayedCallback(func() { approvedDetails = h.details() }, 13*day)
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, asked, approved, wd)

	// The Web UI's details say where the extension stands.
	require.Equal(t, "**2026-430100-0007 · 危化品仓库消防通道堵塞** — 阶段：已移交督办；整改报告 2026-04-02 截止"+
		"；已申请延期至 2026-04-20，待省安委办决定", askedDetails)
	require.Equal(t, "**2026-430100-0007 · 危化品仓库消防通道堵塞** — 阶段：已移交督办；整改报告 2026-04-20 截止"+
		"；已延期 1 次，原期限 2026-04-02", approvedDetails)

	// Asked: pending, nothing else changed; the ladder runs on.
	ext := asked.state.Finding.Extensions
	require.Len(t, ext, 1)
	require.Equal(t, casework.Extension{Seq: 1, Round: 0, DeadlineSeq: 1, State: casework.ExtensionPending,
		PreviousDue: "2026-04-02", OriginalDue: "2026-04-02", RequestedDue: "2026-04-20",
		Reason: "重大隐患治理需停产改造，工程周期长于整改期限", EvidenceIDs: []string{"ev-works-plan"},
		RequestedBy: unitActor, RequestedAt: start.Add(10 * day).UTC()}, ext[0])
	require.Equal(t, FindingReferred, asked.state.Finding.Stage)
	require.Equal(t, "2026-04-02", asked.state.Finding.Deadline.Due.String())
	require.Len(t, pending.Pending, 3, "a pending request does not stop the ladder")

	// Approved: the new deadline, number 2, with the original day kept.
	f := approved.state.Finding
	require.Equal(t, FindingReferred, f.Stage)
	require.Equal(t, "2026-04-20", f.Deadline.Due.String())
	require.Equal(t, shanghai("2026-04-21 00:00"), f.Deadline.DueAt.In(calendar.Location()))
	require.Contains(t, f.Deadline.Explanation[0], "an extension approved by the office")
	require.Equal(t, 2, f.DeadlineSeq)
	require.Equal(t, "2026-04-02", f.OriginalDue)
	require.Equal(t, casework.ExtensionApproved, f.Extensions[0].State)
	require.Equal(t, "2026-04-20", f.Extensions[0].ApprovedDue)
	require.Equal(t, office, *f.Extensions[0].DecidedBy)
	require.Equal(t, start.Add(12*day).UTC(), *f.Extensions[0].DecidedAt)
	require.Len(t, approved.state.Pending, 3)
	require.True(t, shanghai("2026-04-21 00:00").Equal(approved.state.Pending[1].At), "overdue at the new deadline")

	// The old deadline's ladder never fired; the new one did, at its
	// instants: the end of the working day before 04-20 (Friday 04-17),
	// the end of 04-20, and 5 working days later (04-27).
	require.Empty(t, h.escalationsOf(1))
	requireFired(t, h.escalationsOf(2), map[string]string{
		casework.StepReminder:          "2026-04-18 00:00",
		casework.StepOverdue:           "2026-04-21 00:00",
		casework.StepInterviewProposed: "2026-04-28 00:00",
	})
	require.Len(t, h.fl.interviews, 1)
	require.Equal(t, 2, h.fl.interviews[0].DeadlineSeq)

	require.Equal(t, []string{"record", "notify", "list", ActionDiagnose, ActionClassify, ActionRefer,
		ActionRequestExtension, ActionDecideExtension, "escalate", "escalate", "escalate", ActionWithdraw}, h.fl.actions())
	request, decision := h.fl.events[6], h.fl.events[7]
	require.Equal(t, unitActor, request.Actor)
	require.Equal(t, FindingReferred, request.StageBefore)
	require.Equal(t, FindingReferred, request.StageAfter)
	require.JSONEq(t, `["ev-works-plan"]`, string(request.Evidence))
	require.Contains(t, request.Note, "extension 1 requested: due 2026-04-20 asked for (due 2026-04-02 now)")
	require.Equal(t, office, decision.Actor)
	require.Equal(t, "extension 1 approved: due 2026-04-20 (was 2026-04-02; originally 2026-04-02)", decision.Note)
	var data map[string]any
	require.NoError(t, json.Unmarshal(decision.Data, &data))
	require.Equal(t, "2026-04-02", data["old_due"])
	require.Equal(t, "2026-04-20", data["new_due"])

	// Webhooks: the major hazard, the request, the decision, the steps.
	var types []string
	for _, d := range h.fl.deliveries {
		types = append(types, d.EventType)
	}
	require.Equal(t, []string{EventMajorFinding, EventExtensionRequested, EventExtensionDecided,
		EventFindingEscalated, EventFindingEscalated, EventFindingEscalated}, types)
	require.Equal(t, "finding/f-1/extension/1/decided/wh-1", h.fl.deliveries[2].DeliveryID)
	var payload struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(h.fl.deliveries[2].Payload, &payload))
	require.Equal(t, "2026-04-20", payload.Data["due"])
	require.Equal(t, casework.ExtensionApproved, payload.Data["extension"].(map[string]any)["state"])
}

// TestFindingExtensionRefused: the office refuses with a reason; the
// deadline and its ladder stay as they were, and the refusal is recorded.
func TestFindingExtensionRefused(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	h.update(10*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-20"))
	refused := h.update(12*day, ActionDecideExtension, "n1",
		DecideExtensionInput{Change: Change{RequestID: "n1", Actor: office}, Reason: "整改措施可分步实施，不予延期"})
	wd := h.update(at("2026-04-05 10:00"), ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, refused, wd)

	f := refused.state.Finding
	require.Equal(t, "2026-04-02", f.Deadline.Due.String())
	require.Equal(t, 1, f.DeadlineSeq)
	require.Empty(t, f.OriginalDue, "nothing was extended")
	require.Equal(t, casework.ExtensionRefused, f.Extensions[0].State)
	require.Equal(t, "整改措施可分步实施，不予延期", f.Extensions[0].DecisionReason)
	require.Empty(t, f.Extensions[0].ApprovedDue)
	require.Equal(t, office, *f.Extensions[0].DecidedBy)
	requireFired(t, h.escalationsOf(1), map[string]string{
		casework.StepReminder: "2026-04-02 00:00",
		casework.StepOverdue:  "2026-04-03 00:00",
	})
	require.Equal(t, "extension 1 refused: 整改措施可分步实施，不予延期", h.fl.events[7].Note)
	require.Equal(t, EventExtensionDecided, h.fl.deliveries[2].EventType)
}

// TestFindingPendingExtensionDoesNotStopTheLadder: a request the office
// leaves waiting changes no timer — the reminder and the overdue step fire
// at the original instants. Approved late, after the deadline passed, it
// starts a new deadline: the finding is overdue no more (the miss stays as
// history) and the old deadline's interview step never comes.
func TestFindingPendingExtensionDoesNotStopTheLadder(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	h.update(10*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-30"))
	var overdue FindingState
	h.env.RegisterDelayedCallback(func() { overdue = h.query() }, at("2026-04-03 12:00"))
	tooLate := h.update(at("2026-04-04 10:00"), ActionDecideExtension, "a0", approve("a0", "2026-04-03"))
	late := h.update(at("2026-04-07 10:00"), ActionDecideExtension, "a1", approve("a1", ""))
	wd := h.update(90*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, late, wd)

	require.True(t, overdue.Finding.Overdue)
	require.Equal(t, casework.ExtensionPending, overdue.Finding.Extensions[0].State)
	requireFired(t, h.escalationsOf(1), map[string]string{
		casework.StepReminder: "2026-04-02 00:00",
		casework.StepOverdue:  "2026-04-03 00:00",
	})

	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(tooLate.rejected), &invalid, "an approved day already past")
	require.Equal(t, "due", invalid.Violations[0].Field)

	f := late.state.Finding
	require.False(t, f.Overdue, "a new deadline runs")
	require.Equal(t, 1, f.MissedDeadlines, "the miss stays as history")
	require.Equal(t, 2, f.DeadlineSeq)
	require.Equal(t, "2026-04-30", f.Deadline.Due.String())
	require.Len(t, h.escalationsOf(2), 3, "the new deadline's whole ladder")
	require.Len(t, h.fl.interviews, 1, "only the new deadline's interview step proposed one")
	require.Equal(t, 2, h.fl.interviews[0].DeadlineSeq)
}

// TestFindingExtensionRequestAfterTheDeadline: up to 24:00 of the due day
// a request is taken; a minute later it is refused, recording nothing.
func TestFindingExtensionRequestAfterTheDeadline(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	inTime := h.update(at("2026-04-02 23:59"), ActionRequestExtension, "x1", askFor("x1", "2026-04-20"))
	refusal := h.update(at("2026-04-02 23:59")+30*time.Second, ActionDecideExtension, "n1",
		DecideExtensionInput{Change: Change{RequestID: "n1", Actor: office}, Reason: "材料不全"})
	after := h.update(at("2026-04-03 00:01"), ActionRequestExtension, "x2", askFor("x2", "2026-04-20"))
	wd := h.update(at("2026-04-03 10:00"), ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, inTime, refusal, wd)
	requireReason(t, derrors.FromTemporal(after.rejected), ReasonExtensionAfterDeadline)
	require.Len(t, wd.state.Finding.Extensions, 1, "the late request recorded nothing")
}

// TestFindingExtensionLimits enforces the office's limits, each refusal
// recording nothing: the count, the total (counted with the calendar from
// the original day), the severities, and none at all.
func TestFindingExtensionLimits(t *testing.T) {
	twice := casework.ExtensionLimits{MaxCount: 2, TotalMonths: 1, Severities: []string{SeverityMajor}}
	// 1 month after 2026-04-02 is 05-02, in the Labour Day holiday
	// (05-01..05-05): the total ends on the next working day.
	latest := "2026-05-06"
	tests := []struct {
		name     string
		limits   casework.ExtensionLimits
		severity string
		// steps are sent a day apart from 2026-03-10; want is the refusal
		// of the last one: a reason, or a field.
		steps []any
		want  string
	}{
		{"a second extension over a count of one", casework.ExtensionLimits{MaxCount: 1, TotalMonths: 2, Severities: []string{SeverityMajor}}, SeverityMajor,
			[]any{askFor("x1", "2026-04-10"), approve("a1", ""), askFor("x2", "2026-04-20")}, ReasonExtensionLimit},
		{"past the total", twice, SeverityMajor,
			[]any{askFor("x1", "2026-05-07")}, "due"},
		{"the total used up", twice, SeverityMajor,
			[]any{askFor("x1", latest), approve("a1", ""), askFor("x2", "2026-05-20")}, ReasonExtensionLimit},
		{"an approval past the total", twice, SeverityMajor,
			[]any{askFor("x1", "2026-04-20"), approve("a1", "2026-05-07")}, "due"},
		{"a GENERAL hazard by default", casework.DefaultExtensionLimits(), SeverityGeneral,
			[]any{askFor("x1", "2026-04-20")}, ReasonExtensionSeverity},
		{"no extensions at all", casework.ExtensionLimits{}, SeverityMajor,
			[]any{askFor("x1", "2026-04-20")}, ReasonExtensionLimit},
		{"a second request while one waits", twice, SeverityMajor,
			[]any{askFor("x1", "2026-04-20"), askFor("x2", "2026-04-25")}, ReasonExtensionPending},
		{"a decision with nothing pending", twice, SeverityMajor,
			[]any{approve("a1", "")}, ReasonNoPendingExtension},
		{"a day not after the deadline", twice, SeverityMajor,
			[]any{askFor("x1", "2026-04-02")}, "due"},
		{"an approval not after the deadline", twice, SeverityMajor,
			[]any{askFor("x1", "2026-04-20"), approve("a1", "2026-04-01")}, "due"},
		{"a unit deciding", twice, SeverityMajor,
			[]any{askFor("x1", "2026-04-20"), DecideExtensionInput{Change: Change{RequestID: "a1", Actor: unitActor}, Approve: true}}, "PERMISSION_DENIED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.fl.policy.Extensions = tt.limits
			h.referredAt()
			var last *result
			for i, step := range tt.steps {
				when := 8*day + time.Duration(i)*day
				switch in := step.(type) {
				case RequestExtensionInput:
					last = h.update(when, ActionRequestExtension, in.RequestID, in)
				case DecideExtensionInput:
					last = h.update(when, ActionDecideExtension, in.RequestID, in)
				}
			}
			var before FindingState
			h.env.RegisterDelayedCallback(func() { before = h.query() }, 8*day+time.Duration(len(tt.steps)-1)*day-time.Minute)
			var after FindingState
			h.env.RegisterDelayedCallback(func() { after = h.query() }, 8*day+time.Duration(len(tt.steps)-1)*day+time.Hour)
			h.update(30*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
			h.run(newFinding(tt.severity))

			require.True(t, last.done)
			err := last.rejected
			if err == nil {
				err = last.failed
			}
			require.Error(t, err, "the last step is refused")
			refusal := derrors.FromTemporal(err)
			switch tt.want {
			case "due":
				var invalid *derrors.InvalidError
				require.ErrorAs(t, refusal, &invalid, "%v", refusal)
				require.Equal(t, "due", invalid.Violations[0].Field)
			case "PERMISSION_DENIED":
				require.ErrorIs(t, refusal, derrors.ErrPermissionDenied)
			default:
				requireReason(t, refusal, tt.want)
			}
			require.Equal(t, before.Finding, after.Finding, "the refusal changed nothing")
		})
	}

	t.Run("the limit reached exactly, and findings without a severity", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.fl.policy.Extensions = twice
		h.referredAt()
		h.update(8*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-15"))
		h.update(9*day, ActionDecideExtension, "a1", approve("a1", ""))
		h.update(10*day, ActionRequestExtension, "x2", askFor("x2", latest))
		second := h.update(11*day, ActionDecideExtension, "a2", approve("a2", ""))
		h.update(30*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
		h.run(newFinding(""))
		requireDone(t, second)
		f := second.state.Finding
		require.Equal(t, latest, f.Deadline.Due.String())
		require.Equal(t, "2026-04-02", f.OriginalDue, "counted from the original day, not the first extension's")
		require.Equal(t, 3, f.DeadlineSeq)
		require.Equal(t, "2026-04-15", f.Extensions[1].PreviousDue)
	})
}

// TestFindingExtensionsPerRound: a rejected verification sets a new
// deadline of the office's; its extensions count afresh, from its own
// original day.
func TestFindingExtensionsPerRound(t *testing.T) {
	h := newHarness(t)
	h.fl.policy.Extensions = casework.ExtensionLimits{MaxCount: 1, TotalMonths: 1, Severities: []string{SeverityMajor}}
	h.referredAt()
	h.update(5*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-10"))
	h.update(6*day, ActionDecideExtension, "a1", approve("a1", ""))
	once := h.update(7*day, ActionRequestExtension, "x2", askFor("x2", "2026-04-20"))
	h.update(8*day, ActionReportRectification, "p1", rectification("p1"))
	rejected := h.update(9*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Reason: "证据不足"})
	h.update(10*day, ActionRequestExtension, "x3", askFor("x3", "2026-04-20"))
	approved := h.update(11*day, ActionDecideExtension, "a3", approve("a3", ""))
	h.update(30*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, rejected, approved)

	requireReason(t, derrors.FromTemporal(once.failed), ReasonExtensionLimit)
	require.Empty(t, rejected.state.Finding.OriginalDue, "the rejection set a new deadline of the office's")
	// Rejected on 2026-03-11: the new deadline is 2026-04-13 (04-11 is a Saturday).
	require.Equal(t, "2026-04-13", rejected.state.Finding.Deadline.Due.String())
	f := approved.state.Finding
	require.Len(t, f.Extensions, 2)
	require.Equal(t, 1, f.Extensions[1].Round)
	require.Equal(t, casework.ExtensionApproved, f.Extensions[1].State)
	require.Equal(t, "2026-04-13", f.OriginalDue)
	require.Equal(t, "2026-04-20", f.Deadline.Due.String())
	require.Equal(t, 4, f.DeadlineSeq, "referral, extension, rejection, extension")
}

// TestFindingPendingExtensionLapses: a request still waiting when the
// unit reports its rectification is closed as LAPSED, by the system, so
// nothing stays pending; why is said in Chinese too (it was English only),
// and the report's event names the request it made lapse (no event did).
func TestFindingPendingExtensionLapses(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	h.update(5*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-10"))
	reported := h.update(6*day, ActionReportRectification, "p1", rectification("p1"))
	undecidable := h.update(7*day, ActionDecideExtension, "a1", approve("a1", ""))
	h.update(8*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, reported)

	e := reported.state.Finding.Extensions[0]
	require.Equal(t, casework.ExtensionLapsed, e.State)
	require.Equal(t, actor.System, *e.DecidedBy)
	require.Equal(t, "the rectification was reported before a decision", e.DecisionReason)
	require.Equal(t, "省安委办作出决定前已报送整改情况", e.DecisionReasonZH)
	requireReason(t, derrors.FromTemporal(undecidable.rejected), "STAGE_NOT_ALLOWED")
	report := lastEvent(h.fl.events, ActionReportRectification)
	require.NotNil(t, report)
	var data struct {
		Lapsed map[string]int `json:"lapsed"`
	}
	require.NoError(t, json.Unmarshal(report.Data, &data))
	require.Equal(t, map[string]int{"extension": e.Seq}, data.Lapsed)
}

// TestFindingExtendedDeadlineFollowsTheCalendar: a calendar version loaded
// after an approval re-dates the extended deadline's ladder like any
// other: the approved day stays, the reminder moves to the working day
// before it under the new calendar, and the steps keep the new deadline's
// number.
func TestFindingExtendedDeadlineFollowsTheCalendar(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	h.update(10*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-20"))
	approved := h.update(12*day, ActionDecideExtension, "a1", approve("a1", ""))
	h.env.RegisterDelayedCallback(func() {
		// An amended notice makes Friday 2026-04-17 a rest day.
		h.loadCalendar(t, 7, holiday("2026-04-17", "2026-04-17"))
	}, 20*day)
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, approved, wd)

	require.Equal(t, ActionWithdraw, h.fl.actions()[len(h.fl.actions())-1])
	redate := lastEvent(h.fl.events, "redate")
	require.NotNil(t, redate, "the ladder moved, so the change is recorded")
	require.Equal(t, "re-dated by calendar version 7: due 2026-04-20 (was 2026-04-20); the due day is unchanged, its reminders and escalations computed anew (escalation policy version 0)", redate.Note)
	requireFired(t, h.escalationsOf(2), map[string]string{
		casework.StepReminder:          "2026-04-17 00:00",
		casework.StepOverdue:           "2026-04-21 00:00",
		casework.StepInterviewProposed: "2026-04-28 00:00",
	})
	require.Equal(t, "2026-04-20", h.fl.row.Deadline.Due.String())
	require.Contains(t, h.fl.row.Deadline.Explanation[0], "an extension approved by the office")
}

// TestReferralFeedbackMustHaveCome: the rectification deadline counts from
// the day the unit received the feedback; a day after today is refused
// (it would put the deadline off) and changes nothing, a day past is taken.
func TestReferralFeedbackMustHaveCome(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	ahead := h.update(3*time.Hour, ActionRefer, "r0", referral("r0", "2026-03-03", ""))
	referred := h.update(4*time.Hour, ActionRefer, "r1", referral("r1", "2026-02-27", ""))
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, referred, wd)

	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(ahead.rejected), &invalid)
	require.Equal(t, "feedback_received_on", invalid.Violations[0].Field)
	require.Contains(t, invalid.Violations[0].Rule, "must not be after today (2026-03-02)")
	require.Equal(t, "2026-03-27", referred.state.Finding.Deadline.Due.String(), "one month after the day it was received")
}

// TestExtensionToARestDayIsNotedAsItRuns: an extension approved to a rest
// day runs to the working day after (Civil Code art. 203); the decision's
// event says that day, and that the day approved was a rest day (it gave
// the day approved alone).
func TestExtensionToARestDayIsNotedAsItRuns(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	h.update(5*day, ActionRequestExtension, "x1", askFor("x1", "2026-04-11")) // a Saturday
	decided := h.update(6*day, ActionDecideExtension, "a1", approve("a1", ""))
	h.update(8*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, decided)
	require.Equal(t, "2026-04-13", decided.state.Finding.Deadline.Due.String())
	e := lastEvent(h.fl.events, ActionDecideExtension)
	require.NotNil(t, e)
	require.Contains(t, e.Note, "approved: due 2026-04-13")
	require.Contains(t, e.Note, "2026-04-11, the day approved, is a rest day")
}
