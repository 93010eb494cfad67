package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// ivLedger stands in for PostgreSQL at the edge of the interview workflow
// tests, with the ledger's idempotency rules (event keys, versions,
// escalation keys).
type ivLedger struct {
	mu          sync.Mutex
	rows        map[string]casework.Interview
	events      []casework.Event
	eventKeys   map[string]bool
	escalations []casework.Escalation
	deliveries  []activities.DeliverWebhookInput
	inline      int // announcements delivered inside the lifecycle (before webhookOutboxChange)
	queued      int // announcements handed to the outbox
	calendar    *calendar.Calendar
	records     int // RecordInterview calls
	// recordFails and recordRefusal make that many RecordInterview calls
	// fail: as a ledger away past the retry window, or refusing the row.
	recordFails int
	recordErr   error
	// subjectEnded is the last RecordInterview's SubjectEnded.
	subjectEnded []string
}

func (f *ivLedger) appendEvent(e casework.Event) {
	key := e.SubjectID + "\x00" + e.Key
	if e.Key == "" || f.eventKeys[key] {
		return
	}
	f.eventKeys[key] = true
	f.events = append(f.events, e)
}

func (f *ivLedger) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Action)
	}
	return out
}

func (f *ivLedger) row(id string) casework.Interview {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows[id]
}

type ivHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	fl  *ivLedger
}

var ivCommittee = actor.Actor{Name: "周建国", Role: actor.RoleCommittee, Organisation: "省安全生产委员会"}

// ivStart is Monday 2026-03-30 09:00 in Asia/Shanghai: the interview is
// proposed then; the Qingming holiday (04-04..04-06) falls in its
// follow-up period.
var ivStart = time.Date(2026, 3, 30, 9, 0, 0, 0, calendar.Location())

func newIvHarness(t *testing.T) *ivHarness { return newIvHarnessRecordingIn(t, 0) }

// newIvHarnessRecordingIn is newIvHarness with a RecordInterview activity
// that takes the given time.
func newIvHarnessRecordingIn(t *testing.T, recordDelay time.Duration) *ivHarness {
	t.Helper()
	env := newTestEnv()
	env.SetStartTime(ivStart)
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflowWithOptions(InterviewWorkflow, workflow.RegisterOptions{Name: InterviewWorkflowName})
	fl := &ivLedger{rows: map[string]casework.Interview{}, eventKeys: map[string]bool{}, calendar: calendar.Builtin()}
	env.OnActivity(acts.RecordInterview, mock.Anything, mock.Anything).After(recordDelay).Return(
		func(_ context.Context, in activities.RecordInterviewInput) error {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.records++
			fl.subjectEnded = in.SubjectEnded
			if fl.recordFails > 0 {
				fl.recordFails--
				return fl.recordErr
			}
			if _, ok := fl.rows[in.Interview.ID]; !ok {
				fl.rows[in.Interview.ID] = in.Interview
			}
			e := in.Event
			e.SubjectType, e.SubjectID = casework.SubjectInterview, in.Interview.ID
			fl.appendEvent(e)
			return nil
		})
	env.OnActivity(acts.ApplyInterviewChange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InterviewChangeInput) error {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			if in.Interview.Version > fl.rows[in.Interview.ID].Version {
				fl.rows[in.Interview.ID] = in.Interview
			}
			fl.appendEvent(in.Event)
			return nil
		})
	env.OnActivity(acts.EscalateInterview, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EscalateInterviewInput) (activities.EscalateResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			esc := in.Escalation
			esc.ID = casework.EscalationID(esc.Subject, esc.DeadlineSeq, esc.Step)
			for _, e := range fl.escalations {
				if e.ID == esc.ID {
					return activities.EscalateResult{Escalation: e}, nil
				}
			}
			fl.escalations = append(fl.escalations, esc)
			if in.Interview.Version > fl.rows[in.Interview.ID].Version {
				fl.rows[in.Interview.ID] = in.Interview
			}
			fl.appendEvent(in.Event)
			return activities.EscalateResult{Escalation: esc}, nil
		})
	env.OnActivity(acts.ResolveDeadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveDeadlineInput) (deadline.Resolved, error) {
			fl.mu.Lock()
			cal := fl.calendar
			fl.mu.Unlock()
			res, err := deadline.Resolve(cal, casework.DefaultEscalationPolicy(), in.Rule)
			return res, derrors.ToTemporal(err)
		})
	env.OnActivity(acts.Subscribers, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.SubscribersInput) (activities.SubscribersResult, error) {
			return activities.SubscribersResult{WebhookIDs: []string{"wh-1"}}, nil
		})
	// Histories recorded before webhookOutboxChange deliver inline ...
	env.OnActivity(acts.DeliverWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeliverWebhookInput) (activities.DeliverWebhookResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.deliveries = append(fl.deliveries, in)
			fl.inline++
			return activities.DeliverWebhookResult{StatusCode: 204}, nil
		})
	// ... new ones queue each subscriber's delivery in the outbox.
	env.OnActivity(acts.QueueWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.QueueWebhookInput) (activities.QueueWebhookResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			var res activities.QueueWebhookResult
			for _, id := range []string{"wh-1"} {
				d := activities.DeliverWebhookInput{WebhookID: id, DeliveryID: in.DeliveryKey + "/" + id, EventType: in.EventType, Payload: in.Payload}
				fl.deliveries = append(fl.deliveries, d)
				res.DeliveryIDs = append(res.DeliveryIDs, d.DeliveryID)
			}
			fl.queued++
			return res, nil
		})
	return &ivHarness{t: t, env: env, fl: fl}
}

func newInterviewInput() InterviewInput {
	return InterviewInput{
		ID: "iv-1", RequestID: "prop-1", Subject: "finding/f-1", UnitCode: "430100",
		Reason: "整改报告逾期未报", Source: InterviewSourceOffice, ProposedBy: office,
	}
}

// ivResult is what one update answered.
type ivResult struct {
	state    InterviewState
	rejected error // refused by the validator
	failed   error // accepted but the handler failed
	done     bool
}

// update sends an update at the instant at (workflow clock).
func (h *ivHarness) update(at time.Time, name, requestID string, arg any) *ivResult {
	r := &ivResult{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, UpdateID(name, requestID), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.rejected = err; r.done = true },
			OnComplete: func(v any, err error) {
				r.done = true
				r.failed = err
				if err == nil {
					r.state = decodeInterviewState(h.t, v)
				}
			},
		}, arg)
	}, at.Sub(ivStart))
	return r
}

func decodeInterviewState(t *testing.T, v any) InterviewState {
	switch s := v.(type) {
	case InterviewState:
		return s
	case converter.EncodedValue:
		var st InterviewState
		require.NoError(t, s.Get(&st))
		return st
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var st InterviewState
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

func (h *ivHarness) query() InterviewState {
	v, err := h.env.QueryWorkflow(QueryState)
	require.NoError(h.t, err)
	var st InterviewState
	require.NoError(h.t, v.Get(&st))
	return st
}

func (h *ivHarness) run(in InterviewInput) {
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: InterviewWorkflowID(in.ID)})
	h.env.ExecuteWorkflow(InterviewWorkflow, in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
}

func requireAnswered(t *testing.T, rs ...*ivResult) {
	t.Helper()
	for i, r := range rs {
		require.True(t, r.done, "update %d never answered", i)
		require.NoError(t, r.rejected, "update %d rejected", i)
		require.NoError(t, r.failed, "update %d failed", i)
	}
}

func holdInput(requestID, heldOn string) HoldInterviewInput {
	return HoldInterviewInput{Change: Change{RequestID: requestID, Actor: office}, HeldOn: heldOn,
		Attendees: []string{"长沙市副市长 李明", "长沙市应急管理局局长 陈华"},
		Minutes:   "通报问题，听取整改情况汇报", Requirements: "5个工作日内报送整改落实情况"}
}

func TestInterviewLifecycle(t *testing.T) {
	h := newIvHarness(t)
	approve := h.update(shanghai("2026-03-31 10:00"), ActionApproveInterview, "a1",
		ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: ivCommittee}, Note: "同意约谈"})
	hold := h.update(shanghai("2026-04-01 16:00"), ActionHoldInterview, "h1", holdInput("h1", "2026-04-01"))
	// Held, it is not cancelled, before its follow-up or after it (it was,
	// and a follow-up reported then sat on an interview nothing could close).
	cancelHeld := h.update(shanghai("2026-04-02 09:00"), ActionCancelInterview, "x1", CancelInterviewInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "误点"})
	report := h.update(shanghai("2026-04-03 11:00"), ActionReportInterviewFollowUp, "r1",
		ReportInterviewFollowUpInput{Change: Change{RequestID: "r1", Actor: unitActor}, Report: "已完成整改", EvidenceIDs: []string{"ev-9"}})
	cancelReported := h.update(shanghai("2026-04-03 12:00"), ActionCancelInterview, "x2", CancelInterviewInput{Change: Change{RequestID: "x2", Actor: office}, Reason: "误点"})
	closed := h.update(shanghai("2026-04-07 09:00"), ActionCloseInterview, "c1", CloseInterviewInput{Change: Change{RequestID: "c1", Actor: office}})
	h.run(newInterviewInput())
	requireAnswered(t, approve, hold, report, closed)
	for _, r := range []*ivResult{cancelHeld, cancelReported} {
		var stage *derrors.StageError
		require.ErrorAs(t, derrors.FromTemporal(r.rejected), &stage)
		require.Equal(t, "INTERVIEW_HELD", stage.Reason)
		require.NotContains(t, stage.Allowed, ActionCancelInterview)
	}
	require.Equal(t, "interview/iv-1 已于 2026-04-01 举行：其记录予以保留，被约谈单位报送整改落实情况后予以办结",
		derrors.Message(derrors.FromTemporal(cancelHeld.rejected), i18n.Chinese))
	// No refusal offers cancel as the way on once held.
	require.Equal(t, []string{ActionReportInterviewFollowUp}, InterviewMachine.Allowed(InterviewHeld))
	require.Equal(t, []string{ActionCloseInterview}, InterviewMachine.Allowed(InterviewFollowUpReported))
	require.Equal(t, []string{ActionApproveInterview, ActionCancelInterview}, InterviewMachine.Allowed(InterviewProposed))

	require.Equal(t, InterviewApproved, approve.state.Interview.Stage)
	require.Equal(t, &ivCommittee, approve.state.Interview.ApprovedBy)
	require.Equal(t, InterviewHeld, hold.state.Interview.Stage)
	// 5 working days after 2026-04-01, the Qingming holiday (04-04..04-06)
	// skipped: 04-02, 04-03, 04-07, 04-08, 04-09.
	require.Equal(t, "2026-04-09", hold.state.Interview.FollowUpDeadline.Due.String())
	require.True(t, shanghai("2026-04-10 00:00").Equal(hold.state.Interview.FollowUpDeadline.DueAt))
	require.Equal(t, 5, hold.state.Interview.FollowUpWorkingDays)
	require.Equal(t, 1, hold.state.Interview.DeadlineSeq)
	require.Len(t, hold.state.Pending, 2, "reminder and overdue; no interview about an interview")
	require.Equal(t, InterviewFollowUpReported, report.state.Interview.Stage)
	require.Empty(t, report.state.Pending, "the report stops the deadline")
	require.Equal(t, InterviewClosed, closed.state.Interview.Stage)

	require.Equal(t, []string{"propose", ActionApproveInterview, ActionHoldInterview, ActionReportInterviewFollowUp,
		ActionCloseInterview}, h.fl.actions())
	require.Empty(t, h.fl.escalations)
	require.Empty(t, h.fl.deliveries)
	row := h.fl.row("iv-1")
	require.Equal(t, InterviewClosed, row.Stage)
	require.Equal(t, "interview/iv-1", row.WorkflowID)
	require.Equal(t, len(h.fl.events), row.Version, "one version per recorded change")
	require.Equal(t, "follow-up reported in time", h.fl.events[3].Note)
	for _, e := range h.fl.events {
		require.Equal(t, casework.SubjectInterview, e.SubjectType)
		require.Equal(t, "iv-1", e.SubjectID)
	}
}

func TestInterviewChangeWaitsForTheProposalToBeRecorded(t *testing.T) {
	h := newIvHarnessRecordingIn(t, time.Minute)
	recordedBefore := -1
	h.env.RegisterDelayedCallback(func() {
		h.fl.mu.Lock()
		recordedBefore = h.fl.records
		h.fl.mu.Unlock()
	}, 10*time.Second)
	approve := h.update(ivStart.Add(10*time.Second), ActionApproveInterview, "a1", ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: office}})
	cancel := h.update(ivStart.Add(time.Hour), ActionCancelInterview, "x1", CancelInterviewInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
	h.run(newInterviewInput())
	requireAnswered(t, approve, cancel)
	require.Equal(t, 0, recordedBefore, "the approval arrived while the proposal was being recorded")
	require.Equal(t, InterviewApproved, approve.state.Interview.Stage)
	require.Equal(t, []string{"propose", ActionApproveInterview, ActionCancelInterview}, h.fl.actions())
}

func TestInterviewFollowUpEscalates(t *testing.T) {
	h := newIvHarness(t)
	h.update(shanghai("2026-03-31 10:00"), ActionApproveInterview, "a1", ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: office}})
	h.update(shanghai("2026-04-01 16:00"), ActionHoldInterview, "h1", holdInput("h1", "2026-04-01"))
	var beforeReminder, afterReminder, afterOverdue InterviewState
	h.env.RegisterDelayedCallback(func() { beforeReminder = h.query() }, shanghai("2026-04-08 23:59").Sub(ivStart))
	h.env.RegisterDelayedCallback(func() { afterReminder = h.query() }, shanghai("2026-04-09 00:01").Sub(ivStart))
	h.env.RegisterDelayedCallback(func() { afterOverdue = h.query() }, shanghai("2026-04-10 00:01").Sub(ivStart))
	late := h.update(shanghai("2026-04-20 10:00"), ActionReportInterviewFollowUp, "r1",
		ReportInterviewFollowUpInput{Change: Change{RequestID: "r1", Actor: unitActor}, Report: "迟报的整改情况"})
	closed := h.update(shanghai("2026-04-21 10:00"), ActionCloseInterview, "c1", CloseInterviewInput{Change: Change{RequestID: "c1", Actor: office}})
	h.run(newInterviewInput())
	requireAnswered(t, late, closed)

	// Due 2026-04-09: the reminder at the end of the working day before
	// (04-08), overdue at the end of 04-09; the office's INTERVIEW_PROPOSED
	// step is not taken for an interview.
	want := []struct {
		step string
		at   time.Time
	}{
		{casework.StepReminder, shanghai("2026-04-09 00:00")},
		{casework.StepOverdue, shanghai("2026-04-10 00:00")},
	}
	require.Len(t, h.fl.escalations, len(want))
	for i, w := range want {
		esc := h.fl.escalations[i]
		require.Equal(t, w.step, esc.Step)
		require.True(t, w.at.Equal(esc.FiredAt), "%s fired at %s, want %s", w.step, esc.FiredAt, w.at)
		require.Equal(t, "interview/iv-1", esc.Subject)
		require.Equal(t, 1, esc.DeadlineSeq)
		require.Equal(t, "430100", esc.UnitCode)
		require.True(t, shanghai("2026-04-10 00:00").Equal(esc.DueAt))
	}
	require.Contains(t, h.fl.escalations[1].Message, "was due 2026-04-09")

	require.Empty(t, beforeReminder.Escalations)
	require.Len(t, afterReminder.Escalations, 1)
	require.False(t, afterReminder.Interview.Overdue)
	require.True(t, afterOverdue.Interview.Overdue)
	require.Equal(t, 1, afterOverdue.Interview.MissedDeadlines)
	require.Empty(t, afterOverdue.Pending)

	require.False(t, late.state.Interview.Overdue, "the report ends the overdue state")
	require.Equal(t, 1, late.state.Interview.MissedDeadlines)
	require.Equal(t, "follow-up reported after the deadline 2026-04-09", h.fl.events[5].Note)

	// Each step was posted to the subscriber once, with a stable delivery ID.
	require.Len(t, h.fl.deliveries, 2)
	for i, d := range h.fl.deliveries {
		require.Equal(t, EventInterviewEscalated, d.EventType)
		require.Equal(t, fmt.Sprintf("interview/iv-1/1/%s/wh-1", want[i].step), d.DeliveryID)
		var payload map[string]any
		require.NoError(t, json.Unmarshal(d.Payload, &payload))
		require.Equal(t, EventInterviewEscalated, payload["type"])
		data := payload["data"].(map[string]any)
		require.Equal(t, "finding/f-1", data["subject"])
		require.Equal(t, "2026-04-09", data["due"])
	}
	require.Equal(t, []string{"propose", ActionApproveInterview, ActionHoldInterview, "escalate", "escalate",
		ActionReportInterviewFollowUp, ActionCloseInterview}, h.fl.actions())
	require.Contains(t, WebhookEventTypes, EventInterviewEscalated)
}

func TestInterviewRefusedStepsRecordNothing(t *testing.T) {
	h := newIvHarness(t)
	early := h.update(shanghai("2026-03-30 10:00"), ActionHoldInterview, "h0", holdInput("h0", "2026-03-30"))
	byUnit := h.update(shanghai("2026-03-30 11:00"), ActionApproveInterview, "a0", ApproveInterviewInput{Change: Change{RequestID: "a0", Actor: unitActor}})
	approve := h.update(shanghai("2026-03-30 12:00"), ActionApproveInterview, "a1", ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: office}})
	empty := h.update(shanghai("2026-03-30 13:00"), ActionHoldInterview, "h1", HoldInterviewInput{Change: Change{RequestID: "h1", Actor: office}, HeldOn: "2026-3-30"})
	future := h.update(shanghai("2026-03-30 14:00"), ActionHoldInterview, "h2", holdInput("h2", "2026-04-02"))
	before := h.update(shanghai("2026-03-30 15:00"), ActionHoldInterview, "h3", holdInput("h3", "2026-03-27"))
	tooLong := holdInput("h4", "2026-03-30")
	tooLong.FollowUpWorkingDays = 61
	long := h.update(shanghai("2026-03-30 16:00"), ActionHoldInterview, "h4", tooLong)
	byMember := h.update(shanghai("2026-03-30 17:00"), ActionCancelInterview, "x0", CancelInterviewInput{Change: Change{RequestID: "x0", Actor: member}, Reason: "不需要"})
	noReason := h.update(shanghai("2026-03-30 18:00"), ActionCancelInterview, "x1", CancelInterviewInput{Change: Change{RequestID: "x1", Actor: office}})
	cancel := h.update(shanghai("2026-03-30 19:00"), ActionCancelInterview, "x2", CancelInterviewInput{Change: Change{RequestID: "x2", Actor: office}, Reason: "单位已主动整改"})
	h.run(newInterviewInput())
	requireAnswered(t, approve, cancel)

	var stage *derrors.StageError
	require.ErrorAs(t, derrors.FromTemporal(early.rejected), &stage)
	require.Equal(t, InterviewProposed, stage.Stage)
	require.Equal(t, ActionHoldInterview, stage.Action)
	require.Equal(t, []string{ActionApproveInterview, ActionCancelInterview}, stage.Allowed)
	require.ErrorIs(t, derrors.FromTemporal(byUnit.rejected), derrors.ErrPermissionDenied)
	require.ErrorContains(t, derrors.FromTemporal(byUnit.rejected), `not by role "unit"`)
	require.ErrorIs(t, derrors.FromTemporal(byMember.rejected), derrors.ErrPermissionDenied)

	fields := func(r *ivResult) []string {
		t.Helper()
		var invalid *derrors.InvalidError
		require.ErrorAs(t, derrors.FromTemporal(r.rejected), &invalid)
		var out []string
		for _, v := range invalid.Violations {
			out = append(out, v.Field)
		}
		return out
	}
	require.Equal(t, []string{"held_on", "attendees", "minutes", "requirements"}, fields(empty))
	require.Equal(t, []string{"held_on"}, fields(future))
	require.Equal(t, []string{"held_on"}, fields(before))
	require.Equal(t, []string{"follow_up_working_days"}, fields(long))
	require.Equal(t, []string{"note"}, fields(noReason))

	require.Equal(t, []string{"propose", ActionApproveInterview, ActionCancelInterview}, h.fl.actions())
	require.Equal(t, InterviewCancelled, h.fl.row("iv-1").Stage)
	require.Equal(t, "单位已主动整改", h.fl.row("iv-1").CancelReason)
}

// ladderParent stands for a lifecycle whose ladder reached the
// INTERVIEW_PROPOSED step: it proposes twice (a step retried) and lets the
// interview record itself before it ends.
func ladderParent(ctx workflow.Context, in InterviewInput) error {
	for range 2 {
		if err := proposeInterviewFromLadder(ctx, ledgerRunner{}, in); err != nil {
			return err
		}
	}
	return workflow.Sleep(ctx, time.Minute)
}

func TestProposeInterviewFromLadder(t *testing.T) {
	h := newIvHarness(t)
	h.env.RegisterWorkflow(ladderParent)
	// The interview outlives its parent (ParentClosePolicy ABANDON): the
	// test ends with the parent.
	h.env.SetDetachedChildWait(false)
	h.env.ExecuteWorkflow(ladderParent, InterviewInput{Subject: "finding/f-7", UnitCode: "430100", DeadlineSeq: 2,
		Reason: "整改报告逾期5个工作日仍未报送"})
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())

	require.Equal(t, "finding-f-7-2", LadderInterviewID("finding/f-7", 2))
	row := h.fl.row("finding-f-7-2")
	require.Equal(t, "interview/finding-f-7-2", row.WorkflowID)
	require.Equal(t, InterviewSourceLadder, row.Source)
	require.Equal(t, actor.System, row.ProposedBy)
	require.Equal(t, "ladder/finding-f-7-2", row.RequestID)
	require.Equal(t, InterviewProposed, row.Stage)
	require.Equal(t, []string{"propose"}, h.fl.actions(), "proposed once")
}

func TestProposeInterviewFromLadderRefusesBadInput(t *testing.T) {
	h := newIvHarness(t)
	h.env.RegisterWorkflow(ladderParent)
	h.env.ExecuteWorkflow(ladderParent, InterviewInput{Subject: "finding-f-7", DeadlineSeq: 1})
	require.True(t, h.env.IsWorkflowCompleted())
	err := h.env.GetWorkflowError()
	require.Error(t, err)
	require.ErrorContains(t, err, "subject")
	require.ErrorContains(t, err, "unit_code")
	require.ErrorContains(t, err, "reason")
	require.Empty(t, h.fl.actions())
}

func TestInterviewCalendarChangeMovesFollowUpDeadline(t *testing.T) {
	h := newIvHarness(t)
	h.update(shanghai("2026-03-31 10:00"), ActionApproveInterview, "a1", ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: office}})
	h.update(shanghai("2026-04-01 16:00"), ActionHoldInterview, "h1", holdInput("h1", "2026-04-01"))
	var amended *calendar.Calendar
	h.env.RegisterDelayedCallback(func() {
		// An amended notice makes 2026-04-02..04-06 the Qingming holiday.
		h.fl.mu.Lock()
		h.fl.calendar = amendedCalendar(t, h.fl.calendar, 7, qingmingFromApril2)
		amended = h.fl.calendar
		h.fl.mu.Unlock()
		h.env.SignalWorkflow(SignalCalendarChanged, CalendarChangedSignal{Version: 7})
	}, shanghai("2026-04-01 18:00").Sub(ivStart))
	// Held, so ended by its follow-up and its close (a held interview is
	// not cancelled).
	report := h.update(shanghai("2026-04-30 10:00"), ActionReportInterviewFollowUp, "r1",
		ReportInterviewFollowUpInput{Change: Change{RequestID: "r1", Actor: unitActor}, Report: "已按约谈要求整改", EvidenceIDs: []string{"ev-followup"}})
	closed := h.update(shanghai("2026-04-30 11:00"), ActionCloseInterview, "c1", CloseInterviewInput{Change: Change{RequestID: "c1", Actor: office}})
	h.run(newInterviewInput())
	requireAnswered(t, report, closed)

	want, err := amended.AddWorkingDays(calendar.MustParseDate("2026-04-01"), 5)
	require.NoError(t, err)
	require.NotEqual(t, "2026-04-09", want.Due.String())
	row := h.fl.row("iv-1")
	require.Equal(t, want.Due, row.FollowUpDeadline.Due)
	redate := lastEvent(h.fl.events, "redate")
	require.NotNil(t, redate)
	require.Equal(t, fmt.Sprintf("re-dated by calendar version 7: due %s (was 2026-04-09)", want.Due), redate.Note)
	// The ladder moved with the deadline: overdue at the end of the new due day.
	require.Len(t, h.fl.escalations, 2)
	require.Equal(t, casework.StepOverdue, h.fl.escalations[1].Step)
	require.True(t, want.Due.End().Equal(h.fl.escalations[1].FiredAt), "overdue fired at %s", h.fl.escalations[1].FiredAt)
}

// TestInterviewProposalCancelledWhenItsSubjectEnds sends the cancellation a
// withdrawn finding sends its ladder's proposal: the system may cancel a
// PROPOSED interview (recorded with the reason), nothing approved, and
// nothing without OnlyProposed.
func TestInterviewProposalCancelledWhenItsSubjectEnds(t *testing.T) {
	ended := CancelInterviewInput{Change: Change{RequestID: "finding/f-1/withdraw", Actor: actor.System},
		Reason: "cancelled: finding f-1 was withdrawn", ReasonZH: "已取消：问题 f-1 已撤销", OnlyProposed: true}
	t.Run("proposed", func(t *testing.T) {
		h := newIvHarness(t)
		plain := ended
		plain.RequestID, plain.OnlyProposed = "x0", false
		bySystem := h.update(ivStart.Add(time.Minute), ActionCancelInterview, "x0", plain)
		cancel := h.update(ivStart.Add(time.Hour), ActionCancelInterview, ended.RequestID, ended)
		h.run(newInterviewInput())
		require.ErrorIs(t, derrors.FromTemporal(bySystem.rejected), derrors.ErrPermissionDenied)
		requireAnswered(t, cancel)
		require.Equal(t, InterviewCancelled, cancel.state.Interview.Stage)
		require.Equal(t, []string{"propose", ActionCancelInterview}, h.fl.actions())
		e := h.fl.events[1]
		require.Equal(t, "cancelled: finding f-1 was withdrawn", e.Note)
		require.Equal(t, actor.System, e.Actor)
		require.Equal(t, InterviewProposed, e.StageBefore)
		require.Equal(t, "cancelled: finding f-1 was withdrawn", h.fl.row("iv-1").CancelReason)
		require.Equal(t, "已取消：问题 f-1 已撤销", h.fl.row("iv-1").CancelReasonZH)
	})
	t.Run("approved", func(t *testing.T) {
		h := newIvHarness(t)
		approve := h.update(ivStart.Add(time.Minute), ActionApproveInterview, "a1", ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: ivCommittee}})
		refused := h.update(ivStart.Add(time.Hour), ActionCancelInterview, ended.RequestID, ended)
		byOffice := h.update(ivStart.Add(2*time.Hour), ActionCancelInterview, "x1", CancelInterviewInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
		h.run(newInterviewInput())
		requireAnswered(t, approve, byOffice)
		var stage *derrors.StageError
		require.ErrorAs(t, derrors.FromTemporal(refused.rejected), &stage)
		require.Equal(t, "INTERVIEW_NOT_PROPOSED", stage.Reason)
		require.Equal(t, InterviewApproved, stage.Stage)
		require.Equal(t, []string{"propose", ActionApproveInterview, ActionCancelInterview}, h.fl.actions())
		require.Equal(t, "测试结束", h.fl.events[2].Note, "only the office's cancellation was recorded")
	})
}

// stoppingLadderParent stands for a lifecycle whose ladder proposes an
// interview from its own goroutine and is then stopped (a rectification
// report, a withdrawal), as ladder.stop cancels the ladder's context.
func stoppingLadderParent(ctx workflow.Context, in InterviewInput) error {
	lctx, stop := workflow.WithCancel(ctx)
	proposed := workflow.NewChannel(ctx)
	workflow.Go(lctx, func(ctx workflow.Context) {
		if err := proposeInterviewFromLadder(ctx, ledgerRunner{}, in); err != nil {
			workflow.GetLogger(ctx).Error("proposing failed", "error", err)
		}
		proposed.Send(ctx, true)
		_ = workflow.Sleep(ctx, 24*time.Hour) // the ladder waits for its next step
	})
	proposed.Receive(ctx, nil)
	if err := workflow.Sleep(ctx, time.Minute); err != nil { // the interview records itself
		return err
	}
	stop()
	return workflow.Sleep(ctx, time.Hour)
}

// TestLadderInterviewOutlivesTheLadder stops the ladder that proposed an
// interview: the interview stays a proposal for the office to decide. On the
// branch of histories from before versionLadderInterviewOutlivesLadder the
// stop cancels the interview's workflow, which then records CANCELLED
// (versionInterviewRecordsCancellation) instead of leaving a PROPOSED row
// nobody can act on.
func TestLadderInterviewOutlivesTheLadder(t *testing.T) {
	in := InterviewInput{Subject: "finding/f-7", UnitCode: "430100", DeadlineSeq: 1, Reason: "整改报告逾期5个工作日仍未报送"}
	run := func(t *testing.T, h *ivHarness) {
		h.env.RegisterWorkflow(stoppingLadderParent)
		h.env.SetDetachedChildWait(false)
		h.env.ExecuteWorkflow(stoppingLadderParent, in)
		require.True(t, h.env.IsWorkflowCompleted())
		require.NoError(t, h.env.GetWorkflowError())
	}
	t.Run("now", func(t *testing.T) {
		h := newIvHarness(t)
		run(t, h)
		require.Equal(t, InterviewProposed, h.fl.row("finding-f-7-1").Stage)
		require.Equal(t, []string{"propose"}, h.fl.actions())
	})
	t.Run("before", func(t *testing.T) {
		h := newIvHarness(t)
		atLevelOne(h.env)
		h.env.OnGetVersion(versionLadderInterviewOutlivesLadder, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		run(t, h)
		row := h.fl.row("finding-f-7-1")
		require.Equal(t, InterviewCancelled, row.Stage, "the cancelled workflow says so in the ledger")
		require.Equal(t, "cancelled: the interview's workflow was cancelled", row.CancelReason)
		require.Equal(t, "已取消：约谈的工作流程被取消", row.CancelReasonZH)
		require.Equal(t, []string{"propose", ActionCancelInterview}, h.fl.actions())
	})
}

// TestInterviewOnAnEndedSubjectIsRefused: the ledger refuses a proposal
// whose subject has ended (SUBJECT_ENDED, named by the stages the workflow
// passes); the proposing request is answered with the refusal, a change
// sent while the proposal was being recorded too, and the run ends
// recording nothing (CREATE_REFUSED). The proposal was recorded and waited
// for ever. Runs from before versionInterviewRefusalAnswers fail with it.
func TestInterviewOnAnEndedSubjectIsRefused(t *testing.T) {
	ended := derrors.StageError{Reason: "SUBJECT_ENDED", Subject: "finding/f-1", Action: "proposeInterview", Stage: FindingWithdrawn,
		Message: "finding/f-1 is WITHDRAWN"}
	setUp := func(t *testing.T) (*ivHarness, *error, *ivResult) {
		h := newIvHarnessRecordingIn(t, time.Minute)
		h.fl.recordFails, h.fl.recordErr = 1, activities.LedgerError("recording interview iv-1", &ended)
		created := awaitCreated(t, h.env, "prop-1")
		approve := h.update(ivStart.Add(10*time.Second), ActionApproveInterview, "a1", ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: office}})
		return h, created, approve
	}
	t.Run("refused", func(t *testing.T) {
		h, created, approve := setUp(t)
		h.env.ExecuteWorkflow(InterviewWorkflow, newInterviewInput())
		require.True(t, h.env.IsWorkflowCompleted())
		require.Equal(t, []string{FindingClosed, FindingWithdrawn}, h.fl.subjectEnded, "the workflow names the stages that end a finding")
		for _, answered := range []error{*created, approve.failed} {
			var stage *derrors.StageError
			require.ErrorAs(t, derrors.FromTemporal(answered), &stage, "%v", answered)
			require.Equal(t, "SUBJECT_ENDED", stage.Reason)
		}
		var app *temporal.ApplicationError
		require.ErrorAs(t, h.env.GetWorkflowError(), &app)
		require.Equal(t, "CREATE_REFUSED", app.Type())
		require.Empty(t, h.fl.actions(), "nothing recorded")
	})
	t.Run("before the change", func(t *testing.T) {
		h, _, _ := setUp(t)
		h.env.OnGetVersion(versionInterviewRefusalAnswers, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		h.env.ExecuteWorkflow(InterviewWorkflow, newInterviewInput())
		require.True(t, h.env.IsWorkflowCompleted())
		require.ErrorContains(t, h.env.GetWorkflowError(), "recording interview")
		var app *temporal.ApplicationError
		require.False(t, errors.As(h.env.GetWorkflowError(), &app) && app.Type() == "CREATE_REFUSED", "the run failed as it did")
	})
}

// TestInterviewInputCheckedBehindTheAPI: a proposal that did not come
// through the API (or the ladder), which ask InterviewInput.Validate, is
// held to the same rules by the workflow: the proposing request is
// answered with the violations, nothing is recorded, and the run fails.
func TestInterviewInputCheckedBehindTheAPI(t *testing.T) {
	var h *ivHarness
	newEnv := func(t *testing.T) *testsuite.TestWorkflowEnvironment {
		h = newIvHarnessRecordingIn(t, time.Minute)
		return h.env
	}
	withAndWithoutCreateCheck(t, newEnv, func(t *testing.T, env *testsuite.TestWorkflowEnvironment, checked bool) {
		created := awaitCreated(t, env, "prop-1")
		in := newInterviewInput()
		in.Source = "RUMOUR"
		env.ExecuteWorkflow(InterviewWorkflow, in)

		if !checked {
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, *created)
			require.Equal(t, "propose", h.fl.actions()[0], "recorded as before the check")
			return
		}
		require.Equal(t, "source", requireCreateRefused(t, env, *created)[0])
		require.Empty(t, h.fl.actions(), "nothing recorded")
	})
}

// TestInterviewRecordedThoughTheLedgerWasAway: an interview whose first
// write fails as a ledger away past the retry window fails writes it again
// later (versionInterviewRetriesRecord) and goes on; a ladder's proposal,
// whose ID no second run may take, is no longer lost. A refusal still ends
// the run at once, and a run from before the change fails as it did.
func TestInterviewRecordedThoughTheLedgerWasAway(t *testing.T) {
	t.Run("away", func(t *testing.T) {
		h := newIvHarness(t)
		h.fl.recordFails, h.fl.recordErr = 2, errLedgerAway
		approve := h.update(shanghai("2026-04-02 10:00"), ActionApproveInterview, "a1",
			ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: ivCommittee}, Note: "同意约谈"})
		cancel := h.update(shanghai("2026-04-02 11:00"), "cancel", "x1",
			CancelInterviewInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "测试结束"})
		h.run(newInterviewInput())
		requireAnswered(t, approve, cancel)
		require.Equal(t, 3, h.fl.records, "two failures, then the write")
		require.Equal(t, []string{"propose", ActionApproveInterview, "cancel"}, h.fl.actions())
	})
	t.Run("refused", func(t *testing.T) {
		h := newIvHarness(t)
		h.fl.recordFails, h.fl.recordErr = 1, derrors.ToTemporal(derrors.New(derrors.ErrFailedPrecondition, "refused"))
		h.env.ExecuteWorkflow(InterviewWorkflow, newInterviewInput())
		require.True(t, h.env.IsWorkflowCompleted())
		require.ErrorContains(t, h.env.GetWorkflowError(), "recording interview")
		require.Equal(t, 1, h.fl.records, "a refusal is not tried again")
	})
	t.Run("before the change", func(t *testing.T) {
		h := newIvHarness(t)
		h.env.OnGetVersion(versionInterviewRetriesRecord, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		h.fl.recordFails, h.fl.recordErr = 1, errLedgerAway
		h.env.ExecuteWorkflow(InterviewWorkflow, newInterviewInput())
		require.True(t, h.env.IsWorkflowCompleted())
		require.ErrorContains(t, h.env.GetWorkflowError(), "recording interview")
		require.Equal(t, 1, h.fl.records)
	})
}

// TestHoldThenQueuedCancel: a cancellation admitted while the interview
// was approved, queued behind a hold, finds it held: refused as one that
// arrives then (it cancelled the held interview). A run from before
// versionCancelNotHeld cancels it, as it did.
func TestHoldThenQueuedCancel(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("old=%v", old), func(t *testing.T) {
			h := newIvHarness(t)
			if old {
				h.env.OnGetVersion(versionCancelNotHeld, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			h.update(shanghai("2026-03-31 10:00"), ActionApproveInterview, "a1",
				ApproveInterviewInput{Change: Change{RequestID: "a1", Actor: ivCommittee}, Note: "同意约谈"})
			hold := h.update(shanghai("2026-04-01 16:00"), ActionHoldInterview, "h1", holdInput("h1", "2026-04-01"))
			cancel := h.update(shanghai("2026-04-01 16:00"), ActionCancelInterview, "x1", CancelInterviewInput{Change: Change{RequestID: "x1", Actor: office}, Reason: "误点"})
			if !old {
				h.update(shanghai("2026-04-03 11:00"), ActionReportInterviewFollowUp, "r1",
					ReportInterviewFollowUpInput{Change: Change{RequestID: "r1", Actor: unitActor}, Report: "已完成整改", EvidenceIDs: []string{"ev-9"}})
				h.update(shanghai("2026-04-07 09:00"), ActionCloseInterview, "c1", CloseInterviewInput{Change: Change{RequestID: "c1", Actor: office}})
			}
			h.run(newInterviewInput())
			requireAnswered(t, hold)
			require.NoError(t, cancel.rejected, "admitted: the interview was approved when it arrived")
			if old {
				require.NoError(t, cancel.failed)
				require.Equal(t, InterviewCancelled, cancel.state.Interview.Stage)
				return
			}
			var stage *derrors.StageError
			require.ErrorAs(t, derrors.FromTemporal(cancel.failed), &stage)
			require.Equal(t, "INTERVIEW_HELD", stage.Reason)
			require.Equal(t, InterviewClosed, h.fl.row("iv-1").Stage, "held, reported, closed")
		})
	}
}
