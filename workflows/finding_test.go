package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
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
)

// fakeLedger stands in for PostgreSQL at the edge of the workflow unit tests:
// it records what the activities were asked to write, with the same
// idempotency rules (event keys, versions, escalation keys).
type fakeLedger struct {
	mu          sync.Mutex
	row         casework.Finding
	events      []casework.Event
	eventKeys   map[string]bool
	records     []activities.RecordFindingInput
	escalations []casework.Escalation
	deliveries  []activities.DeliverWebhookInput
	inline      int // announcements delivered inside the lifecycle (before webhookOutboxChange)
	queued      int // announcements handed to the outbox
	listings    int // ProposedInterviews calls
	subscribers []string
	calendar    *calendar.Calendar
	policy      casework.EscalationPolicy
	// rulesTakeEveryStep resolves every rule as recorded before
	// deadline.Rule.Steps: with every step of the office's ladder, as a
	// run whose deadline was resolved then replays it.
	rulesTakeEveryStep bool
	interviews         []InterviewInput
	// attempts counts ApplyFindingChange calls by event action.
	attempts map[string]int
	// sendUpdate answers the SendUpdate activity (nil: it is accepted);
	// sent lists what it was asked.
	sendUpdate func(activities.SendUpdateInput) activities.SendUpdateResult
	// sendFails, when set, fails the SendUpdate activity (retryably) for
	// the updates it names: the other workflow's ledger write unavailable.
	sendFails func(activities.SendUpdateInput) bool
	sent      []activities.SendUpdateInput
	// down makes ApplyFindingChange fail as when the database is away.
	down bool
	// signoffReads counts SignoffTerms calls.
	signoffReads int
}

// refuseLikePostgres answers what PostgreSQL answers for a text value with
// a NUL byte: SQLSTATE 22021 (character_not_in_repertoire).
func refuseLikePostgres(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if strings.Contains(string(b), `\u0000`) {
		return fmt.Errorf("updating the row: %w", &pgconn.PgError{Severity: "ERROR", Code: "22021",
			Message: `invalid byte sequence for encoding "UTF8": 0x00`})
	}
	return nil
}

func (f *fakeLedger) appendEvent(e casework.Event) {
	if f.eventKeys[e.Key] {
		return
	}
	f.eventKeys[e.Key] = true
	f.events = append(f.events, e)
}

func (f *fakeLedger) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Action)
	}
	return out
}

type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	fl  *fakeLedger
}

var (
	office    = actor.Actor{Name: "王芳", Role: actor.RoleOffice, Organisation: "省安委办"}
	leader    = actor.Actor{Name: "赵强", Role: actor.RoleTeamLeader, Organisation: "第一巡查组"}
	member    = actor.Actor{Name: "钱敏", Role: actor.RoleTeamMember, Organisation: "第一巡查组"}
	unitActor = actor.Actor{Name: "孙丽", Role: actor.RoleUnit, Organisation: "长沙市应急管理局"}
)

// start is Monday 2026-03-02 09:00 in Asia/Shanghai.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, calendar.Location())

func shanghai(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Location())
	if err != nil {
		panic(err)
	}
	return t
}

// atLevelOne runs the workflows as runs started at code level 1 do (a
// history recorded before levelTwo): each change asks its own
// workflow.GetVersion, which the test can then answer.
func atLevelOne(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion(versionLocalLedger, workflow.DefaultVersion, levelTwo).Return(workflow.Version(1))
}

// amendedCalendar is cal with its 2026 notice as amend leaves it, as
// calendar version id ("calendar version <id>").
func amendedCalendar(t *testing.T, cal *calendar.Calendar, id int64, amend func(*calendar.Notice)) *calendar.Calendar {
	t.Helper()
	n, _, err := cal.Year(2026)
	require.NoError(t, err)
	amend(&n)
	out, err := cal.With(n, calendar.Version{ID: id, Label: fmt.Sprintf("calendar version %d", id)})
	require.NoError(t, err)
	return out
}

// holiday makes the days from start to end (YYYY-MM-DD) a rest day of a
// notice.
func holiday(start, end string) func(*calendar.Notice) {
	return func(n *calendar.Notice) {
		n.Holidays = append(n.Holidays, calendar.Holiday{Name: "测试假日", Start: calendar.MustParseDate(start), End: calendar.MustParseDate(end)})
	}
}

// qingmingFromApril2 moves the 2026 Qingming holiday to start on 04-02.
func qingmingFromApril2(n *calendar.Notice) {
	for i, hol := range n.Holidays {
		if hol.Start == calendar.MustParseDate("2026-04-04") {
			n.Holidays[i].Start = calendar.MustParseDate("2026-04-02")
		}
	}
}

// loadCalendar gives the fake ledger the calendar amended as version id
// and tells the workflow, as loading a calendar version does.
func (h *harness) loadCalendar(t *testing.T, id int64, amend func(*calendar.Notice)) {
	h.fl.mu.Lock()
	h.fl.calendar = amendedCalendar(t, h.fl.calendar, id, amend)
	h.fl.mu.Unlock()
	h.env.SignalWorkflow(SignalCalendarChanged, CalendarChangedSignal{Version: id})
}

// lastEvent is the last of events whose action is action, nil without one.
func lastEvent(events []casework.Event, action string) *casework.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Action == action {
			return &events[i]
		}
	}
	return nil
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env := newTestEnv()
	env.SetStartTime(start)
	registerLevelThree(env)
	env.RegisterActivity(&activities.Activities{})
	fl := &fakeLedger{eventKeys: map[string]bool{}, attempts: map[string]int{}, calendar: calendar.Builtin(), policy: casework.DefaultEscalationPolicy(), subscribers: []string{"wh-1"}}
	env.OnActivity(acts.RecordFinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordFindingInput) (activities.RecordFindingResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.records = append(fl.records, in)
			fl.row = in.Finding
			fl.appendEvent(casework.Event{Key: in.EventKey, Action: "record", StageAfter: in.Finding.Stage, Actor: in.Finding.FoundBy})
			if in.Listed { // as ledger.Store.RecordListedFinding
				fl.row.Stage, fl.row.Version, fl.row.LedgerNumber = FindingListed, 2, "2026-430100-0007"
				fl.appendEvent(casework.Event{SubjectType: casework.SubjectFinding, SubjectID: in.Finding.ID, Key: "list/" + in.Finding.RequestID, Action: "list", StageBefore: FindingFound,
					StageAfter: FindingListed, Actor: actor.System, Note: "entered in the problem ledger as 2026-430100-0007",
					OccurredAt: in.Finding.CreatedAt})
			}
			return activities.RecordFindingResult{LedgerNumber: "2026-430100-0007"}, nil
		})
	applyChange := func(_ context.Context, in activities.FindingChangeInput) error {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		fl.attempts[in.Event.Action]++
		if fl.down {
			return activities.LedgerError("applying "+in.Event.Action, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
		}
		if err := refuseLikePostgres(in); err != nil {
			return activities.LedgerError(fmt.Sprintf("applying %s to finding %q", in.Event.Action, in.Finding.ID), err)
		}
		if in.Finding.Version > fl.row.Version {
			fl.row = in.Finding
		}
		fl.appendEvent(in.Event)
		return nil
	}
	env.OnActivity(acts.ApplyFindingChange, mock.Anything, mock.Anything).Return(applyChange)
	// As activities.ApplyFindingDeadline: the rule resolved as
	// ResolveDeadline does, then the change written with the deadline.
	env.OnActivity(acts.ApplyFindingDeadline, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.FindingDeadlineInput) (deadline.Resolved, error) {
			fl.mu.Lock()
			cal, policy := fl.calendar, fl.policy
			fl.mu.Unlock()
			res, err := deadline.Resolve(cal, policy, in.Rule)
			if err != nil {
				return res, derrors.ToTemporal(err)
			}
			in.Finding.Deadline = &res.Deadline
			data := map[string]json.RawMessage{}
			if err := json.Unmarshal(in.Event.Data, &data); err != nil {
				return res, err
			}
			data["deadline"] = dataJSON(res.Deadline)
			in.Event.Data = dataJSON(data)
			return res, applyChange(ctx, activities.FindingChangeInput{Finding: in.Finding, Event: in.Event})
		})
	env.OnActivity(acts.Escalate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EscalateInput) (activities.EscalateResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			esc := in.Escalation
			esc.ID = fmt.Sprintf("esc-%d-%s", esc.DeadlineSeq, esc.Step)
			for _, e := range fl.escalations {
				if e.ID == esc.ID {
					return activities.EscalateResult{Escalation: e}, nil
				}
			}
			fl.escalations = append(fl.escalations, esc)
			if in.Finding.Version > fl.row.Version {
				fl.row = in.Finding
			}
			fl.appendEvent(in.Event)
			return activities.EscalateResult{Escalation: esc}, nil
		})
	env.OnActivity(acts.ResolveDeadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveDeadlineInput) (deadline.Resolved, error) {
			fl.mu.Lock()
			cal, policy := fl.calendar, fl.policy
			if fl.rulesTakeEveryStep {
				in.Rule.Steps = nil
			}
			fl.mu.Unlock()
			res, err := deadline.Resolve(cal, policy, in.Rule)
			return res, derrors.ToTemporal(err)
		})
	env.OnActivity(acts.ExtensionTerms, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ExtensionTermsInput) (deadline.ExtensionTerms, error) {
			fl.mu.Lock()
			cal, policy := fl.calendar, fl.policy
			fl.mu.Unlock()
			terms, err := deadline.ExtensionTermsFor(cal, policy, in.OriginalDue)
			return terms, derrors.ToTemporal(err)
		})
	// As activities.CloseFinding: the sign-off terms read as SignoffTerms
	// does, then the close-out written unless they name signers.
	env.OnActivity(acts.CloseFinding, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.CloseFindingInput) (activities.CloseFindingResult, error) {
			fl.mu.Lock()
			fl.signoffReads++
			terms := activities.SignoffTerms{PolicyVersion: fl.policy.Version,
				Rule: casework.SignoffRuleFor(fl.policy.SignoffRules, in.Finding.Kind, in.Finding.Severity)}
			fl.mu.Unlock()
			if terms.Rule != nil {
				return activities.CloseFindingResult{Terms: terms}, nil
			}
			if in.OnlyToSign {
				return activities.CloseFindingResult{Terms: terms}, nil
			}
			err := applyChange(ctx, activities.FindingChangeInput{Finding: in.Finding, Event: in.Event})
			return activities.CloseFindingResult{Terms: terms, Closed: err == nil}, err
		})
	env.OnActivity(acts.SignoffTerms, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SignoffTermsInput) (activities.SignoffTerms, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.signoffReads++
			return activities.SignoffTerms{PolicyVersion: fl.policy.Version,
				Rule: casework.SignoffRuleFor(fl.policy.SignoffRules, in.Kind, in.Severity)}, nil
		})
	env.OnActivity(acts.Subscribers, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.SubscribersInput) (activities.SubscribersResult, error) {
			return activities.SubscribersResult{WebhookIDs: fl.subscribers}, nil
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
			for _, id := range fl.subscribers {
				d := activities.DeliverWebhookInput{WebhookID: id, DeliveryID: in.DeliveryKey + "/" + id, EventType: in.EventType, Payload: in.Payload}
				fl.deliveries = append(fl.deliveries, d)
				res.DeliveryIDs = append(res.DeliveryIDs, d.DeliveryID)
			}
			fl.queued++
			return res, nil
		})
	env.OnActivity(acts.ProposedInterviews, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProposedInterviewsInput) (activities.InterviewIDsResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.listings++
			ids := []string{}
			for _, iv := range fl.interviews {
				if iv.Subject == in.Subject && in.Source == InterviewSourceLadder {
					ids = append(ids, LadderInterviewID(iv.Subject, iv.DeadlineSeq))
				}
			}
			return activities.InterviewIDsResult{IDs: ids}, nil
		})
	env.OnActivity(acts.SendUpdate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendUpdateInput) (activities.SendUpdateResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.sent = append(fl.sent, in)
			if fl.sendFails != nil && fl.sendFails(in) {
				return activities.SendUpdateResult{}, errors.New("sending refer to " + in.WorkflowID + ": the ledger could not be written in time; retry later")
			}
			if fl.sendUpdate == nil {
				return activities.SendUpdateResult{}, nil
			}
			return fl.sendUpdate(in), nil
		})
	// Interviews the ladder proposes are child workflows of their own
	// (tested in interview_test.go); here only their proposal is recorded.
	env.RegisterWorkflowWithOptions(InterviewWorkflow, workflow.RegisterOptions{Name: InterviewWorkflowName})
	env.OnWorkflow(InterviewWorkflowName, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in InterviewInput) (LifecycleResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.interviews = append(fl.interviews, in)
			return LifecycleResult{Stage: "PROPOSED"}, nil
		})
	return &harness{t: t, env: env, fl: fl}
}

func newFinding(severity string) casework.Finding {
	kind := KindHazard
	if severity == "" {
		kind = KindResponsibility
	}
	return casework.Finding{
		Lifecycle: casework.Lifecycle{ID: "f-1", RequestID: "rec-1", UnitCode: "430100"}, InspectionID: "ins-1", UnitName: "长沙市",
		Title: "危化品仓库消防通道堵塞", Description: "仓库东侧消防通道被货物堵塞", Kind: kind, Severity: severity,
		ContentArea: 5, EvidenceIDs: []string{"ev-1"}, RectificationOpinion: "立即清理通道", FoundBy: member,
	}
}

// result is what one update answered.
type result struct {
	state    FindingState
	istate   InspectionState
	rejected error // refused by the validator
	failed   error // accepted but the handler failed
	done     bool
}

// update sends an update after delay (workflow clock) and returns where its
// answer will be.
func (h *harness) update(delay time.Duration, name, requestID string, arg any) *result {
	r := &result{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, UpdateID(name, requestID), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.rejected = err; r.done = true },
			OnComplete: func(v any, err error) {
				r.done = true
				r.failed = err
				if err == nil {
					r.state = decodeState(h.t, v)
					r.istate = decodeAs[InspectionState](h.t, v)
				}
			},
		}, arg)
	}, delay)
	return r
}

func decodeState(t *testing.T, v any) FindingState { return decodeAs[FindingState](t, v) }

// decodeAs reads an update's result, whichever form the test environment
// hands it over in.
func decodeAs[T any](t *testing.T, v any) T {
	var out T
	switch s := v.(type) {
	case T:
		return s
	case converter.EncodedValue:
		require.NoError(t, s.Get(&out))
		return out
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	if json.Unmarshal(b, &out) != nil {
		var zero T
		return zero
	}
	return out
}

func (h *harness) run(f casework.Finding) {
	h.env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: f})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
}

func (h *harness) query() FindingState {
	v, err := h.env.QueryWorkflow(QueryState)
	require.NoError(h.t, err)
	var st FindingState
	require.NoError(h.t, v.Get(&st))
	return st
}

func diagnosis() DiagnoseInput {
	return DiagnoseInput{Change: Change{RequestID: "d1", Actor: leader}, Diagnosis: casework.Diagnosis{
		Cause: "仓储管理制度未落实", ResponsibleParties: []string{"仓库负责人"}, RiskLevel: "HIGH",
		LegalBasis: "《安全生产法》第二十八条", RectificationOpinion: "立即清理",
	}}
}

func referral(requestID, feedback, due string) ReferInput {
	return ReferInput{Change: Change{RequestID: requestID, Actor: office}, Referral: casework.Referral{
		ReceivingAuthority: "长沙市安委办", FeedbackReceivedOn: feedback, Due: due,
	}}
}

func rectification(requestID string) ReportRectificationInput {
	return ReportRectificationInput{Change: Change{RequestID: requestID, Actor: unitActor}, Report: "通道已清理", HandlingOfResponsible: "仓库负责人诫勉谈话", EvidenceIDs: []string{"ev-2"}}
}

func requireDone(t *testing.T, rs ...*result) {
	t.Helper()
	for i, r := range rs {
		require.True(t, r.done, "update %d never answered", i)
		require.NoError(t, r.rejected, "update %d rejected", i)
		require.NoError(t, r.failed, "update %d failed", i)
	}
}

// TestRectifyAgainAtBothLevels runs a referral and a rejected verification
// as a level-1 run does (the deadline resolved, then the change written:
// two ledger calls) and as a level-2 run does (one call,
// activities.ApplyFindingDeadline): the ledger holds the same rows and
// events, deadlines and their explanations in the events' data included.
func TestRectifyAgainAtBothLevels(t *testing.T) {
	run := func(t *testing.T, levelOne bool) *harness {
		h := newHarness(t)
		if levelOne {
			atLevelOne(h.env)
		}
		day := 24 * time.Hour
		h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
		h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
		h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
		h.update(10*day, ActionReportRectification, "p1", rectification("p1"))
		h.update(11*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: false, Reason: "证据不足"})
		h.update(12*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "重复记录"})
		h.run(newFinding(SeverityGeneral))
		return h
	}
	one, two := run(t, true), run(t, false)
	require.Equal(t, 1, one.fl.attempts[ActionRefer])
	require.Equal(t, one.fl.events, two.fl.events)
	require.Equal(t, one.fl.row, two.fl.row)
	var refer map[string]any
	for _, e := range two.fl.events {
		if e.Action == ActionRefer {
			require.NoError(t, json.Unmarshal(e.Data, &refer))
		}
	}
	require.Contains(t, refer, "deadline")
	require.Contains(t, refer, "referral")
}

func TestFindingClosedLoopWithRejectedVerification(t *testing.T) {
	h := newHarness(t)
	day := 24 * time.Hour
	diag := h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	class := h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY", "SUPERVISE"}})
	ref := h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	rep1 := h.update(10*day, ActionReportRectification, "p1", rectification("p1"))
	rej := h.update(11*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: false, Reason: "证据不足"})
	rep2 := h.update(12*day, ActionReportRectification, "p2", rectification("p2"))
	acc := h.update(13*day, ActionVerify, "v2", VerifyInput{Change: Change{RequestID: "v2", Actor: office}, Accept: true})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, diag, class, ref, rep1, rej, rep2, acc)

	require.Equal(t, FindingDiagnosed, diag.state.Finding.Stage)
	require.Equal(t, "仓储管理制度未落实", diag.state.Finding.Diagnosis.Cause)
	require.Equal(t, FindingClassified, class.state.Finding.Stage)
	require.Equal(t, FindingReferred, ref.state.Finding.Stage)
	// One month after 2026-03-02 is 2026-04-02, a Thursday and a working day.
	require.Equal(t, "2026-04-02", ref.state.Finding.Deadline.Due.String())
	require.Equal(t, shanghai("2026-04-03 00:00"), ref.state.Finding.Deadline.DueAt.In(calendar.Location()))
	require.Len(t, ref.state.Pending, 3)
	require.Equal(t, FindingRectified, rep1.state.Finding.Stage)
	require.Empty(t, rep1.state.Pending, "a report in time cancels the ladder")

	require.Equal(t, FindingReferred, rej.state.Finding.Stage)
	require.Equal(t, 1, rej.state.Finding.ReopenCount)
	require.Equal(t, 2, rej.state.Finding.DeadlineSeq)
	// Rejected on 2026-03-13: the new limit is one month later, 2026-04-13 (Monday).
	require.Equal(t, "2026-04-13", rej.state.Finding.Deadline.Due.String())
	require.Equal(t, FindingClosed, acc.state.Finding.Stage)

	require.Equal(t, []string{"record", "list", ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification,
		ActionVerify, ActionReportRectification, ActionVerify}, h.fl.actions())
	require.Empty(t, h.fl.escalations)
	require.Empty(t, h.fl.deliveries)
	require.Equal(t, FindingClosed, h.fl.row.Stage)
	require.Equal(t, "2026-430100-0007", h.fl.row.LedgerNumber)
	require.Equal(t, len(h.fl.events), h.fl.row.Version, "one version per recorded change")
	for _, e := range h.fl.events[1:] {
		require.Equal(t, "f-1", e.SubjectID)
		require.NotEmpty(t, e.Key)
	}
	verifyEvent := h.fl.events[6]
	require.Equal(t, FindingRectified, verifyEvent.StageBefore)
	require.Equal(t, FindingReferred, verifyEvent.StageAfter)
	require.Equal(t, "证据不足", verifyEvent.Note)
	require.Equal(t, office, verifyEvent.Actor)
}

func TestFindingEscalationLadder(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	var overdueAt FindingState
	h.env.RegisterDelayedCallback(func() { overdueAt = h.query() }, shanghai("2026-04-05 12:00").Sub(start))
	wd := h.update(60*24*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "合并到其他问题"})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, wd)

	// Due 2026-04-02: reminder at the end of the working day before (04-01),
	// overdue at the end of 04-02, interview proposed at the end of the 5th
	// working day after it: 04-03, (04-04..04-06 Qingming), 04-07, 04-08,
	// 04-09, 04-10.
	require.Len(t, h.fl.escalations, 3)
	want := []struct {
		step string
		at   time.Time
	}{
		{casework.StepReminder, shanghai("2026-04-02 00:00")},
		{casework.StepOverdue, shanghai("2026-04-03 00:00")},
		{casework.StepInterviewProposed, shanghai("2026-04-11 00:00")},
	}
	for i, w := range want {
		require.Equal(t, w.step, h.fl.escalations[i].Step)
		require.True(t, w.at.Equal(h.fl.escalations[i].FiredAt), "%s fired at %s, want %s", w.step, h.fl.escalations[i].FiredAt, w.at)
		require.Equal(t, 1, h.fl.escalations[i].DeadlineSeq)
	}
	require.True(t, overdueAt.Finding.Overdue)
	require.Equal(t, 1, overdueAt.Finding.MissedDeadlines)
	require.Len(t, overdueAt.Escalations, 2)
	require.Len(t, overdueAt.Pending, 1)

	// Each step was posted to the subscriber once, with a stable delivery ID.
	require.Len(t, h.fl.deliveries, 3)
	for i, d := range h.fl.deliveries {
		require.Equal(t, EventFindingEscalated, d.EventType)
		require.Equal(t, fmt.Sprintf("finding/f-1/1/%s/wh-1", want[i].step), d.DeliveryID)
	}
	require.Equal(t, []string{"record", "list", ActionDiagnose, ActionClassify, ActionRefer, "escalate", "escalate", "escalate", ActionWithdraw}, h.fl.actions())
	// The last step proposed an interview of the unit's leaders.
	require.Len(t, h.fl.interviews, 1)
	require.Equal(t, "finding/f-1", h.fl.interviews[0].Subject)
	require.Equal(t, "430100", h.fl.interviews[0].UnitCode)
	require.Equal(t, 1, h.fl.interviews[0].DeadlineSeq)
	require.Contains(t, h.fl.interviews[0].Reason, "an interview (约谈) of the leaders of unit 长沙市 (430100) is proposed")
	require.Contains(t, h.fl.interviews[0].ReasonZH, "提请约谈单位长沙市（430100）的负责人", "the ladder proposes in Chinese too, naming the unit")
	require.Equal(t, FindingWithdrawn, h.fl.row.Stage)
}

func TestFindingDeadlineMetJustInTime(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	// One minute before 24:00 on the due day.
	rep := h.update(shanghai("2026-04-02 23:59").Sub(start), ActionReportRectification, "p1", rectification("p1"))
	acc := h.update(90*24*time.Hour, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, rep, acc)

	require.Len(t, h.fl.escalations, 1, "only the reminder fired")
	require.Equal(t, casework.StepReminder, h.fl.escalations[0].Step)
	require.False(t, rep.state.Finding.Overdue)
	require.Zero(t, rep.state.Finding.MissedDeadlines)
	require.Equal(t, FindingClosed, h.fl.row.Stage)
	require.Len(t, h.fl.deliveries, 1)
}

func TestFindingLateReportStopsTheLadder(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	rep := h.update(shanghai("2026-04-03 00:01").Sub(start), ActionReportRectification, "p1", rectification("p1"))
	acc := h.update(90*24*time.Hour, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, rep, acc)
	require.Len(t, h.fl.escalations, 2, "reminder and overdue, no interview proposed")
	require.Equal(t, 1, rep.state.Finding.MissedDeadlines)
	require.False(t, rep.state.Finding.Overdue, "the report ends the overdue state")
	require.Contains(t, h.fl.events[len(h.fl.events)-2].Note, "after the deadline 2026-04-02")
}

func TestFindingCalendarChangeMovesRunningDeadline(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	h.env.RegisterDelayedCallback(func() {
		// An amended notice makes 2026-04-02..04-06 the Qingming holiday.
		h.loadCalendar(t, 7, qingmingFromApril2)
	}, 5*24*time.Hour)
	wd := h.update(60*24*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, wd)

	redate := lastEvent(h.fl.events, "redate")
	require.NotNil(t, redate)
	require.Equal(t, "re-dated by calendar version 7: due 2026-04-07 (was 2026-04-02)", redate.Note)
	// The ladder moved with the deadline: reminder at the end of 04-01 (still
	// the working day before, 04-02..04-06 now being holidays), overdue at
	// the end of 04-07.
	require.Equal(t, casework.StepOverdue, h.fl.escalations[1].Step)
	require.True(t, shanghai("2026-04-08 00:00").Equal(h.fl.escalations[1].FiredAt), "overdue fired at %s", h.fl.escalations[1].FiredAt)
	require.Equal(t, "2026-04-07", h.fl.row.Deadline.Due.String())
	require.Contains(t, h.fl.row.Deadline.Explanation[0], "calendar version 7")
}

func TestFindingMajorHazardNotifiedAtOnce(t *testing.T) {
	h := newHarness(t)
	wd := h.update(time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "重复记录"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, wd)
	require.Equal(t, []string{"record", "notify", "list", ActionWithdraw}, h.fl.actions())
	require.Len(t, h.fl.deliveries, 1)
	require.Equal(t, EventMajorFinding, h.fl.deliveries[0].EventType)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(h.fl.deliveries[0].Payload, &payload))
	data := payload["data"].(map[string]any)
	require.Equal(t, "立即清理通道", data["rectification_opinion"])
	require.Equal(t, "2026-430100-0007", data["ledger_number"])
}

func TestFindingRefusedChangesRecordNothing(t *testing.T) {
	h := newHarness(t)
	early := h.update(time.Hour, ActionRefer, "r0", referral("r0", "2026-03-02", ""))
	noCause := DiagnoseInput{Change: Change{RequestID: "d0", Actor: leader}, Diagnosis: casework.Diagnosis{ResponsibleParties: []string{"x"}, RiskLevel: "LOW"}}
	bad := h.update(2*time.Hour, ActionDiagnose, "d0", noCause)
	byUnit := h.update(3*time.Hour, ActionDiagnose, "d9", DiagnoseInput{Change: Change{RequestID: "d9", Actor: unitActor}, Diagnosis: diagnosis().Diagnosis})
	ok := h.update(4*time.Hour, ActionDiagnose, "d1", diagnosis())
	again := h.update(5*time.Hour, ActionDiagnose, "d1", diagnosis())
	class := h.update(6*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	tooLong := h.update(7*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", "2026-04-03"))
	wd := h.update(8*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityGeneral))

	var stage *derrors.StageError
	require.ErrorAs(t, derrors.FromTemporal(early.rejected), &stage)
	require.Equal(t, FindingListed, stage.Stage)
	require.Equal(t, []string{ActionDiagnose, ActionWithdraw}, stage.Allowed)
	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(bad.rejected), &invalid)
	require.Equal(t, "diagnosis.cause", invalid.Violations[0].Field)
	require.ErrorIs(t, derrors.FromTemporal(byUnit.rejected), derrors.ErrPermissionDenied)
	requireDone(t, ok, class, wd)
	// The same update ID again is answered by the first result (Temporal
	// deduplicates), or refused because the stage moved on; either way
	// nothing is recorded twice.
	require.True(t, again.done)
	// A limit beyond one month is refused before anything changes.
	require.ErrorAs(t, derrors.FromTemporal(tooLong.failed), &invalid)
	require.Equal(t, "due", invalid.Violations[0].Field)

	require.Equal(t, []string{"record", "list", ActionDiagnose, ActionClassify, ActionWithdraw}, h.fl.actions())
}

// TestFindingPoisonedChangeIsRefusedAndTheNextOneWorks sends a diagnosis the
// ledger can never store (a NUL byte, which PostgreSQL refuses): the update
// is refused at once — one attempt, no retries — with a non-retryable
// INVALID_ARGUMENT, the workflow's state stays as it was, and the next
// changes (a good diagnosis, then a withdrawal) go through.
func TestFindingPoisonedChangeIsRefusedAndTheNextOneWorks(t *testing.T) {
	h := newHarness(t)
	poisoned := diagnosis()
	poisoned.RequestID = "d0"
	poisoned.Diagnosis.Cause = "仓储管理\x00制度未落实"
	bad := h.update(time.Hour, ActionDiagnose, "d0", poisoned)
	var afterBad FindingState
	var answeredWithinASecond bool
	h.env.RegisterDelayedCallback(func() {
		afterBad = h.query()
		answeredWithinASecond = bad.done
	}, time.Hour+time.Second)
	good := h.update(2*time.Hour, ActionDiagnose, "d1", diagnosis())
	wd := h.update(3*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "重复记录"})
	h.run(newFinding(SeverityGeneral))

	require.True(t, bad.done)
	require.NoError(t, bad.rejected, "the validator does not look into the ledger")
	require.Error(t, bad.failed)
	require.True(t, answeredWithinASecond, "the refusal came at once, not after retries")
	var app *temporal.ApplicationError
	require.ErrorAs(t, bad.failed, &app)
	require.True(t, app.NonRetryable())
	refusal := derrors.FromTemporal(bad.failed)
	require.ErrorIs(t, refusal, derrors.ErrInvalidArgument)
	require.Contains(t, refusal.Error(), `applying diagnose to finding "f-1"`)
	require.Contains(t, refusal.Error(), "NUL byte")
	require.NotContains(t, refusal.Error(), "invalid byte sequence", "the database's text is not for clients")
	require.Equal(t, 2, h.fl.attempts[ActionDiagnose], "one attempt for the refused diagnosis, one for the good one")

	require.Equal(t, FindingListed, afterBad.Finding.Stage, "the refused change left the state as it was")
	require.Nil(t, afterBad.Finding.Diagnosis)
	requireDone(t, good, wd)
	require.Equal(t, "仓储管理制度未落实", good.state.Finding.Diagnosis.Cause)
	require.Equal(t, FindingWithdrawn, wd.state.Finding.Stage)
	require.Equal(t, []string{"record", "list", ActionDiagnose, ActionWithdraw}, h.fl.actions())
	require.Equal(t, 4, h.fl.row.Version, "versions count only the changes written")
}

// withdrawAfterTheLadder runs a finding whose rectification deadline is
// missed past the ladder's interview step, then withdrawn.
func withdrawAfterTheLadder(t *testing.T, h *harness) *result {
	t.Helper()
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	// The interview is proposed at the end of 2026-04-10 (TestFindingEscalationLadder).
	wd := h.update(shanghai("2026-04-15 10:00").Sub(start), ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "合并到其他问题"})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, wd)
	require.Len(t, h.fl.interviews, 1, "the ladder proposed an interview")
	require.Len(t, h.fl.escalations, 3)
	return wd
}

// TestFindingWithdrawnAfterTheLadderEndsCleanly withdraws an overdue
// finding whose ladder proposed an interview: it is overdue no more (state,
// ledger row), and the proposal is cancelled by the system, saying why.
func TestFindingWithdrawnAfterTheLadderEndsCleanly(t *testing.T) {
	h := newHarness(t)
	wd := withdrawAfterTheLadder(t, h)

	require.Equal(t, FindingWithdrawn, wd.state.Finding.Stage)
	require.False(t, wd.state.Finding.Overdue)
	require.False(t, h.fl.row.Overdue, "the ledger row is not overdue")
	require.Equal(t, 1, h.fl.row.MissedDeadlines, "the miss stays as history")

	require.Len(t, h.fl.sent, 1)
	sent := h.fl.sent[0]
	require.Equal(t, InterviewWorkflowID(LadderInterviewID("finding/f-1", 1)), sent.WorkflowID)
	require.Equal(t, ActionCancelInterview, sent.UpdateName)
	require.Equal(t, UpdateID(ActionCancelInterview, "finding/f-1/withdraw"), sent.UpdateID)
	var cancel CancelInterviewInput
	require.NoError(t, json.Unmarshal(sent.Args, &cancel))
	require.Equal(t, CancelInterviewInput{Change: Change{RequestID: "finding/f-1/withdraw", Actor: actor.System},
		Reason: "cancelled: finding f-1 was withdrawn", ReasonZH: "已取消：问题 f-1 已撤销", OnlyProposed: true}, cancel)
	require.NoError(t, cancel.Validate())
}

// TestFindingWithdrawnBeforeTheChangeKeepsItsProposals replays the branch
// of histories recorded before versionEndCancelsProposals: the withdrawal
// still clears the overdue mark, but sends nothing to the interviews.
func TestFindingWithdrawnBeforeTheChangeKeepsItsProposals(t *testing.T) {
	h := newHarness(t)
	atLevelOne(h.env)
	h.env.OnGetVersion(versionEndCancelsProposals, workflow.DefaultVersion, 2).Return(workflow.DefaultVersion)
	wd := withdrawAfterTheLadder(t, h)
	require.False(t, wd.state.Finding.Overdue)
	require.Empty(t, h.fl.sent, "no cancellation on the old branch")
}

// TestFindingClosedCancelsNothingApproved closes a finding whose ladder's
// interview was approved meanwhile: the interview refuses the system's
// cancellation and goes ahead; the close succeeds.
func TestFindingClosedCancelsNothingApproved(t *testing.T) {
	h := newHarness(t)
	h.fl.sendUpdate = func(in activities.SendUpdateInput) activities.SendUpdateResult {
		return activities.SendUpdateResult{Refused: in.WorkflowID + " is APPROVED, no longer a proposal"}
	}
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	rep := h.update(shanghai("2026-04-15 10:00").Sub(start), ActionReportRectification, "p1", rectification("p1"))
	acc := h.update(shanghai("2026-04-16 10:00").Sub(start), ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, rep, acc)
	require.Equal(t, FindingClosed, acc.state.Finding.Stage)
	require.False(t, acc.state.Finding.Overdue)
	require.Len(t, h.fl.sent, 1, "the close asked the ladder's interview to cancel")
	var cancel CancelInterviewInput
	require.NoError(t, json.Unmarshal(h.fl.sent[0].Args, &cancel))
	require.Equal(t, "cancelled: finding f-1 was closed", cancel.Reason)
	require.Equal(t, "已取消：问题 f-1 已销号", cancel.ReasonZH)
}

// TestFindingChangeGivesUpWhenTheLedgerStaysAway keeps the database away
// longer than the ledger activities retry: the change is retried with
// backoff, then answers UNAVAILABLE instead of holding the workflow for
// ever; once the database is back the next change goes through.
func TestFindingChangeGivesUpWhenTheLedgerStaysAway(t *testing.T) {
	for _, tt := range []struct {
		name    string
		version workflow.Version
	}{
		{"activities (before versionLocalLedger)", workflow.DefaultVersion},
		{"a local attempt, then activities", 1},
		{"a local attempt, then activities (level 2)", levelTwo},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.env.OnGetVersion(versionLocalLedger, workflow.DefaultVersion, levelTwo).Return(tt.version)
			var answered time.Time
			var failed error
			h.env.RegisterDelayedCallback(func() {
				h.fl.mu.Lock()
				h.fl.down = true
				h.fl.mu.Unlock()
				h.env.UpdateWorkflow(ActionDiagnose, UpdateID(ActionDiagnose, "d0"), &testsuite.TestUpdateCallback{
					OnAccept: func() {},
					OnReject: func(err error) { t.Errorf("diagnosis rejected: %v", err) },
					OnComplete: func(_ any, err error) {
						answered, failed = h.env.Now(), err
						h.fl.mu.Lock()
						h.fl.down = false
						h.fl.mu.Unlock()
					},
				}, diagnosis())
			}, time.Hour)
			good := h.update(2*time.Hour, ActionDiagnose, "d1", diagnosis())
			wd := h.update(3*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
			h.run(newFinding(SeverityGeneral))

			require.ErrorIs(t, derrors.FromTemporal(failed), derrors.ErrUnavailable, "%v", failed)
			waited := answered.Sub(start.Add(time.Hour))
			require.GreaterOrEqual(t, waited, ledgerRetryWindow-time.Minute, "retried for the whole window")
			require.LessOrEqual(t, waited, ledgerRetryWindow+time.Minute, "and no longer")
			require.Greater(t, h.fl.attempts[ActionDiagnose], 10, "retried with backoff")
			requireDone(t, good, wd)
			require.Equal(t, []string{"record", "list", ActionDiagnose, ActionWithdraw}, h.fl.actions())
			require.Equal(t, "diagnose/d1", h.fl.events[2].Key, "the failed change wrote nothing")
		})
	}
}

// TestFindingRefusedByTheLedgerFailsItsRun: a finding the ledger refuses as
// its row is written (outside the recording window) answers the creating
// request with the refusal, records nothing, and fails its run, so that a
// retry of the same request may start the ID again.
func TestFindingRefusedByTheLedgerFailsItsRun(t *testing.T) {
	env := newTestEnv()
	env.SetStartTime(start)
	env.RegisterActivity(&activities.Activities{})
	var stages []string
	env.OnActivity(acts.RecordFinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordFindingInput) (activities.RecordFindingResult, error) {
			stages = in.InspectionStages
			return activities.RecordFindingResult{}, activities.LedgerError("recording finding "+in.Finding.ID, &derrors.StageError{
				Reason: "STAGE_NOT_ALLOWED", Subject: "inspection/ins-1", Action: "recordFinding", Stage: StageReported,
				Allowed: in.InspectionStages, Message: "inspection \"ins-1\" is REPORTED"})
		})
	answered := awaitCreated(t, env, "r-1")
	f := newFinding(SeverityGeneral)
	f.RequestID = "r-1"
	env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: f})

	require.True(t, env.IsWorkflowCompleted())
	require.Equal(t, FindingRecordingStages, stages, "the workflow names the recording window")
	var stage *derrors.StageError
	require.ErrorAs(t, derrors.FromTemporal(*answered), &stage, "%v", *answered)
	require.Equal(t, "STAGE_NOT_ALLOWED", stage.Reason)
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, "CREATE_REFUSED", app.Type())
}

// TestFindingInputCheckedBehindTheAPI: a start that did not come through
// the API (which asks ValidateFinding as it builds the input) is held to
// the same rules by the workflow: the creating request is answered with
// the fields' violations, nothing is recorded, and the run fails. A run
// without the version's marker (its input passed the rules of its day, a
// stricter rule since refuses it) records as it did.
func TestFindingInputCheckedBehindTheAPI(t *testing.T) {
	newEnv := func(*testing.T) *testsuite.TestWorkflowEnvironment {
		env := newTestEnv()
		env.SetStartTime(start)
		env.RegisterActivity(&activities.Activities{})
		return env
	}
	withAndWithoutCreateCheck(t, newEnv, func(t *testing.T, env *testsuite.TestWorkflowEnvironment, checked bool) {
		recorded := false
		env.OnActivity(acts.RecordFinding, mock.Anything, mock.Anything).Return(
			func(context.Context, activities.RecordFindingInput) (activities.RecordFindingResult, error) {
				recorded = true
				return activities.RecordFindingResult{LedgerNumber: "2026-430100-0001"}, nil
			})
		answered := awaitCreated(t, env, "r-1")
		f := newFinding(SeverityGeneral)
		f.RequestID, f.Title, f.Kind = "r-1", " ", "GOSSIP"
		env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: f})

		if !checked {
			require.True(t, env.IsWorkflowCompleted())
			require.True(t, recorded, "recorded as before the check")
			require.NoError(t, *answered)
			return
		}
		require.Equal(t, []string{"title", "kind", "severity"}, requireCreateRefused(t, env, *answered))
		require.False(t, recorded, "nothing is recorded")
	})
}

// TestFindingEndWithoutProposalsAsksNothing: a finding whose ladder never
// proposed an interview ends without a ledger read (version 2); histories
// of version 1 ask the ledger at every end and replay so.
func TestFindingEndWithoutProposalsAsksNothing(t *testing.T) {
	for _, tt := range []struct {
		version  workflow.Version
		listings int
	}{{2, 0}, {1, 1}} {
		t.Run(fmt.Sprintf("version %d", tt.version), func(t *testing.T) {
			h := newHarness(t)
			atLevelOne(h.env)
			h.env.OnGetVersion(versionEndCancelsProposals, workflow.DefaultVersion, 2).Return(tt.version)
			h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
			wd := h.update(2*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "重复登记"})
			h.run(newFinding(SeverityGeneral))
			requireDone(t, wd)
			require.Equal(t, FindingWithdrawn, wd.state.Finding.Stage)
			require.Equal(t, tt.listings, h.fl.listings)
			require.Empty(t, h.fl.sent)
		})
	}
}

// TestReopenedThoughTheLedgerWasAway: a failed re-check reopens a closed
// finding in a new run; its first write fails while the ledger is away past
// the retry window, and is made again later (versionReopenRetries), so the
// finding does not stay CLOSED while the inspection records the re-check
// as failed. A run from before the change fails as it did.
func TestReopenedThoughTheLedgerWasAway(t *testing.T) {
	reopen := func(t *testing.T, h *harness) {
		f := newFinding(SeverityGeneral)
		f.Stage, f.LedgerNumber, f.Version, f.DeadlineSeq, f.WorkflowID = FindingClosed, "2026-430100-0007", 9, 1, "finding/f-1"
		h.fl.row = f
		h.fl.down = true
		h.env.RegisterDelayedCallback(func() {
			h.fl.mu.Lock()
			defer h.fl.mu.Unlock()
			h.fl.down = false
		}, 25*time.Minute)
		h.env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: f, Reopen: &ReopenInput{
			RequestID: "recheck/ins-2/k2", InspectionID: "ins-2", Actor: leader, Reason: "通道再次堵塞", From: "2026-03-02"}})
	}
	t.Run("away", func(t *testing.T) {
		h := newHarness(t)
		rep := h.update(48*time.Hour, ActionReportRectification, "p1", rectification("p1"))
		wd := h.update(72*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
		reopen(t, h)
		require.True(t, h.env.IsWorkflowCompleted())
		require.NoError(t, h.env.GetWorkflowError())
		requireDone(t, rep, wd)
		require.Equal(t, []string{"reopen", ActionReportRectification, ActionWithdraw}, h.fl.actions())
		require.Greater(t, h.fl.attempts["reopen"], 10, "retried within the window, and again later")
		require.Equal(t, 1, rep.state.Finding.ReopenCount)
	})
	t.Run("before the change", func(t *testing.T) {
		h := newHarness(t)
		h.env.OnGetVersion(versionReopenRetries, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		reopen(t, h)
		require.True(t, h.env.IsWorkflowCompleted())
		require.ErrorContains(t, h.env.GetWorkflowError(), "the ledger could not be written in time")
		require.Empty(t, h.fl.actions())
	})
}

// awaitCreated sends the creating request's await-created Update as the
// run starts, as the API's create does, and returns where its answer (nil,
// or the refusal) will be once the workflow has run.
func awaitCreated(t *testing.T, env *testsuite.TestWorkflowEnvironment, requestID string) *error {
	t.Helper()
	answered := new(error)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAwaitCreated, AwaitCreatedUpdateID(requestID), &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { t.Errorf("await-created rejected: %v", err) },
			OnComplete: func(_ any, err error) { *answered = err },
		}, AwaitCreatedInput{RequestID: requestID})
	}, 0)
	return answered
}

// withAndWithoutCreateCheck runs test once as a run that asks
// create-input-checked (checked) and once as one without its marker: a
// run from before the check, or whose input passed the rules of its day,
// which records as it did (cancelled after an hour, not to wait for ever).
func withAndWithoutCreateCheck(t *testing.T, newEnv func(t *testing.T) *testsuite.TestWorkflowEnvironment,
	test func(t *testing.T, env *testsuite.TestWorkflowEnvironment, checked bool),
) {
	for _, checked := range []bool{true, false} {
		t.Run(fmt.Sprintf("checked=%v", checked), func(t *testing.T) {
			env := newEnv(t)
			if !checked {
				env.OnGetVersion(versionCreateInputChecked, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
				env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
			}
			test(t, env, checked)
		})
	}
}

// requireCreateRefused checks that the creating request was answered with
// the input's violations and the run failed CREATE_REFUSED, and returns
// the violations' fields.
func requireCreateRefused(t *testing.T, env *testsuite.TestWorkflowEnvironment, answered error) []string {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(answered), &invalid, "%v", answered)
	var fields []string
	for _, v := range invalid.Violations {
		fields = append(fields, v.Field)
	}
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, "CREATE_REFUSED", app.Type())
	return fields
}

// TestChangeAnswersEchoTheirFingerprint: each change's answer carries the
// fingerprint its input came with (the API's check of an answer Temporal
// gives from an earlier update of the same ID), and so does the event the
// change writes under the Update's ID (the ledger's, once the history is
// gone); a change sent without one is answered and recorded without one,
// and the state query carries none.
func TestChangeAnswersEchoTheirFingerprint(t *testing.T) {
	h := newHarness(t)
	d := diagnosis()
	d.Fingerprint = []byte("fingerprint of the diagnosis")
	diag := h.update(time.Hour, ActionDiagnose, "d1", d)
	class := h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader,
		Fingerprint: []byte("fingerprint of the classification")}, Dispositions: []string{"RECTIFY"}})
	ref := h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	var query FindingState
	h.env.RegisterDelayedCallback(func() { query = h.query() }, 4*time.Hour)
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, 5*time.Hour)
	h.env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: newFinding(SeverityGeneral)})
	requireDone(t, diag, class, ref)

	require.Equal(t, FindingDiagnosed, diag.state.Finding.Stage)
	require.Equal(t, []byte("fingerprint of the diagnosis"), diag.state.AnswerTo())
	require.Equal(t, []byte("fingerprint of the classification"), class.state.AnswerTo())
	require.Empty(t, ref.state.AnswerTo(), "sent without a fingerprint")
	require.Equal(t, FindingReferred, query.Finding.Stage)
	require.Empty(t, query.AnswerTo(), "the state answers no change")

	recorded := map[string][]byte{}
	for _, e := range h.fl.events {
		recorded[e.Action] = e.RequestFingerprint
	}
	require.Equal(t, []byte("fingerprint of the diagnosis"), recorded[ActionDiagnose])
	require.Equal(t, []byte("fingerprint of the classification"), recorded[ActionClassify])
	require.Contains(t, recorded, ActionRefer)
	require.Empty(t, recorded[ActionRefer], "sent without a fingerprint")
	require.Empty(t, recorded["record"], "no Update's event")
}
