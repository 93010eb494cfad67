package workflows

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
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
)

// invLedger stands in for PostgreSQL at the edge of the invitation
// workflow tests: the invitation's rows and events, one line-up and the
// pool, the replacements recorded, the children started and the webhooks
// queued.
type invLedger struct {
	mu        sync.Mutex
	rows      map[string]casework.Invitation
	events    []casework.Event
	eventKeys map[string]bool
	lineup    casework.Lineup
	pool      casework.PoolCandidates
	children  []InvitationInput
	webhooks  []activities.QueueWebhookInput
	// changeOnce makes the first RecordReplacement lose a race.
	changeOnce bool
	// policy is the escalation policy's answer limit and version;
	// termsRead counts InvitationTerms calls.
	policy    activities.InvitationTerms
	termsRead int
	// failSteps and failKeys make that many writes of an escalation step,
	// or of an event key, fail as a ledger that is away for longer than
	// the retry window does.
	failSteps, failKeys map[string]int
}

// failing reports whether this write of what fails, counting it down.
func failing(counts map[string]int, what string) bool {
	if counts[what] > 0 {
		counts[what]--
		return true
	}
	return false
}

// errLedgerAway is a ledger write that could not be made in time.
var errLedgerAway = temporal.NewNonRetryableApplicationError("the ledger could not be written in time", "UNAVAILABLE", nil)

// actions are the actions recorded for invitation id: its own events and
// the line-up's replacements of it.
func (f *invLedger) actions(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		var data struct {
			InvitationID string `json:"invitation_id"`
		}
		_ = json.Unmarshal(e.Data, &data)
		if e.SubjectID == id || (e.Action == "drawReplacement" && data.InvitationID == id) {
			out = append(out, e.Action)
		}
	}
	return out
}

var expertActor = actor.Actor{Name: "专家", Role: actor.RoleExpert, Organisation: "厅局", Subject: "sub-x"}

// invStart is Monday 2026-03-30 09:00 in Asia/Shanghai: invitations sent
// then are due Thursday 04-02 (3 working days).
var invStart = time.Date(2026, 3, 30, 9, 0, 0, 0, calendar.Location())

type invHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	fl  *invLedger
	in  InvitationInput
}

func newInvHarness(t *testing.T) *invHarness {
	t.Helper()
	env := newTestEnv()
	env.SetStartTime(invStart)
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflowWithOptions(InvitationWorkflow, workflow.RegisterOptions{Name: InvitationWorkflowName})
	draw := testDraw(11)
	drawn, err := Draw(draw)
	require.NoError(t, err)
	l := casework.Lineup{ID: "l-1", UnitCode: draw.UnitCode, UnitName: "湘潭市", PlannedStart: draw.PlannedStart,
		PlannedEnd: draw.PlannedEnd, ContentAreas: draw.ContentAreas, Seed: draw.Seed, ConflictYears: draw.ConflictYears,
		TeamSize: draw.TeamSize, State: casework.LineupInviting, Members: drawn.Members, Draws: 1, Version: 3}
	for i := range l.Members {
		l.Members[i].State = casework.MemberInvited
		l.Members[i].InvitationID = InvitationID(l.ID, l.Members[i].ExpertID)
	}
	fl := &invLedger{rows: map[string]casework.Invitation{}, eventKeys: map[string]bool{}, lineup: l, pool: draw.Pool,
		failSteps: map[string]int{}, failKeys: map[string]int{},
		policy: activities.InvitationTerms{AnswerWorkingDays: casework.DefaultInvitationAnswerWorkingDays}}
	env.OnActivity(acts.InvitationTerms, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.InvitationTermsInput) (activities.InvitationTerms, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.termsRead++
			return fl.policy, nil
		})
	env.OnActivity(acts.ApplyInvitationChange, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.InvitationChangeInput) error {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			if failing(fl.failKeys, in.Event.Key) {
				return errLedgerAway
			}
			if in.Invitation.Version > fl.rows[in.Invitation.ID].Version {
				fl.rows[in.Invitation.ID] = in.Invitation
				for i, m := range fl.lineup.Members {
					if m.InvitationID == in.Invitation.ID && casework.MemberActive(m.State) {
						switch in.Invitation.Stage {
						case InvitationDeclined, InvitationExpired:
							fl.lineup.Members[i].State = casework.MemberDeclined
							fl.lineup.Version++
						}
					}
				}
			}
			if k := in.Invitation.ID + "\x00" + in.Event.Key; in.Event.Key != "" && !fl.eventKeys[k] {
				fl.eventKeys[k] = true
				fl.events = append(fl.events, in.Event)
			}
			return nil
		})
	env.OnActivity(acts.EscalateInvitation, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.EscalateInvitationInput) (activities.EscalateResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			if failing(fl.failSteps, in.Escalation.Step) {
				return activities.EscalateResult{}, errLedgerAway
			}
			fl.rows[in.Invitation.ID] = in.Invitation
			fl.events = append(fl.events, in.Event)
			return activities.EscalateResult{Escalation: in.Escalation}, nil
		})
	env.OnActivity(acts.ResolveDeadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveDeadlineInput) (deadline.Resolved, error) {
			res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), in.Rule)
			return res, derrors.ToTemporal(err)
		})
	env.OnActivity(acts.LineupPool, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LineupPoolInput) (activities.LineupPoolResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			l := fl.lineup
			l.Members = slices.Clone(l.Members)
			return activities.LineupPoolResult{Lineup: l, Pool: fl.pool}, nil
		})
	env.OnActivity(acts.RecordReplacement, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordReplacementInput) (activities.RecordReplacementResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			if fl.changeOnce {
				fl.changeOnce = false
				fl.lineup.Version++
			}
			if in.Version != fl.lineup.Version {
				return activities.RecordReplacementResult{}, derrors.ToTemporal(&derrors.StageError{Reason: "LINEUP_CHANGED",
					Subject: "lineup/l-1", Action: "replace", Message: "changed"})
			}
			fl.lineup.Members = append(fl.lineup.Members, in.Member)
			fl.lineup.Draws++
			fl.lineup.Version++
			fl.events = append(fl.events, in.Event)
			return activities.RecordReplacementResult{Lineup: fl.lineup}, nil
		})
	env.OnActivity(acts.QueueWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.QueueWebhookInput) (activities.QueueWebhookResult, error) {
			fl.mu.Lock()
			defer fl.mu.Unlock()
			fl.webhooks = append(fl.webhooks, in)
			return activities.QueueWebhookResult{DeliveryIDs: []string{in.DeliveryKey + "/wh-1"}}, nil
		})
	// The replacement's own invitation is another workflow: recorded here.
	env.SetOnChildWorkflowStartedListener(func(_ *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		var in InvitationInput
		require.NoError(t, args.Get(&in))
		fl.mu.Lock()
		defer fl.mu.Unlock()
		fl.children = append(fl.children, in)
	})
	m := l.Members[3]
	in := InvitationInput{ID: m.InvitationID, RequestID: "invite/l-1", LineupID: l.ID, Member: m, SecondFrom: l.PlannedStart,
		SecondTo: l.PlannedEnd, InspectedUnit: "湘潭市", InvitedBy: office}
	return &invHarness{t: t, env: env, fl: fl, in: in}
}

type invResult struct {
	state    InvitationState
	rejected error
	failed   error
	done     bool
}

func (h *invHarness) update(at time.Time, name, requestID string, arg any) *invResult {
	r := &invResult{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, UpdateID(name, requestID), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.rejected = err; r.done = true },
			OnComplete: func(v any, err error) {
				r.done, r.failed = true, err
				if err == nil {
					b, merr := json.Marshal(v)
					require.NoError(h.t, merr)
					require.NoError(h.t, json.Unmarshal(b, &r.state))
				}
			},
		}, arg)
	}, at.Sub(invStart))
	return r
}

func (h *invHarness) run() {
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: InvitationWorkflowID(h.in.ID)})
	h.env.ExecuteWorkflow(InvitationWorkflow, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
}

func (h *invHarness) row() casework.Invitation {
	h.fl.mu.Lock()
	defer h.fl.mu.Unlock()
	return h.fl.rows[h.in.ID]
}

func TestInvitationAcceptedNotifiesTheUnit(t *testing.T) {
	h := newInvHarness(t)
	refused := h.update(shanghai("2026-03-31 10:00"), ActionJudgeDecline, "j0",
		JudgeDeclineInput{Change: Change{RequestID: "j0", Actor: office}, Judgement: JudgementJustified})
	accept := h.update(shanghai("2026-03-31 11:00"), ActionAcceptInvitation, "a1", AnswerInvitationInput{Change: Change{RequestID: "a1", Actor: expertActor}})
	h.run()
	require.ErrorContains(t, refused.rejected, "judgeDecline is not allowed in stage INVITED")
	require.True(t, accept.done)
	require.NoError(t, accept.rejected)
	require.NoError(t, accept.failed)
	require.Equal(t, InvitationAccepted, accept.state.Invitation.Stage)
	require.Equal(t, "2026-04-02", h.row().AnswerDeadline.Due.String(), "3 working days after Monday 03-30")
	require.Equal(t, []string{"invite", ActionAcceptInvitation}, h.fl.actions(h.in.ID))
	require.Len(t, h.fl.webhooks, 1)
	require.Equal(t, EventSecondmentNotice, h.fl.webhooks[0].EventType)
	var body struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(h.fl.webhooks[0].Payload, &body))
	require.Equal(t, h.in.Member.UnitCode, body.Data["unit_code"])
	require.Equal(t, "2026-05-11", body.Data["from"])
	require.Equal(t, "2026-05-22", body.Data["to"])
	require.Empty(t, h.fl.children, "an acceptance draws nobody")
}

func TestInvitationDeclineDrawsAReplacementAndAnUnjustifiedOneRequestsCriticism(t *testing.T) {
	h := newInvHarness(t)
	h.fl.changeOnce = true // another change of the line-up wins the first try
	noReason := h.update(shanghai("2026-03-31 09:00"), ActionDeclineInvitation, "d0", DeclineInvitationInput{Change: Change{RequestID: "d0", Actor: expertActor}})
	decline := h.update(shanghai("2026-03-31 10:00"), ActionDeclineInvitation, "d1",
		DeclineInvitationInput{Change: Change{RequestID: "d1", Actor: expertActor}, Reason: "单位工作忙"})
	byExpert := h.update(shanghai("2026-04-01 09:00"), ActionJudgeDecline, "j0",
		JudgeDeclineInput{Change: Change{RequestID: "j0", Actor: expertActor}, Judgement: JudgementJustified})
	judge := h.update(shanghai("2026-04-01 10:00"), ActionJudgeDecline, "j1",
		JudgeDeclineInput{Change: Change{RequestID: "j1", Actor: office}, Judgement: JudgementUnjustified, Note: "工作忙不是拒绝抽选的正当理由"})
	h.run()
	require.ErrorContains(t, noReason.rejected, "reason: must not be empty")
	require.ErrorContains(t, byExpert.rejected, "permission denied")
	require.NoError(t, decline.failed)
	require.NoError(t, judge.rejected)
	require.NoError(t, judge.failed)
	require.Equal(t, InvitationDeclineUnjustified, judge.state.Invitation.Stage)

	// The replacement's invitation runs on its own; nobody answers it in
	// this test, so it lapses in turn and draws the next: a chain, each
	// replacing the one before, nobody twice.
	require.NotEmpty(t, h.fl.children)
	seen := map[string]bool{h.in.Member.ExpertID: true}
	for i, c := range h.fl.children {
		require.False(t, seen[c.Member.ExpertID], "child %d drew someone already drawn", i)
		seen[c.Member.ExpertID] = true
		if i > 0 {
			require.Equal(t, h.fl.children[i-1].Member.ExpertID, c.Member.Replaces)
		}
	}
	child := h.fl.children[0]
	require.Equal(t, h.in.Member.ExpertID, child.Member.Replaces)
	require.Equal(t, 2, child.Member.Draw)
	require.Equal(t, InvitationID("l-1", child.Member.ExpertID), child.ID)
	require.NotContains(t, []string{h.in.Member.ExpertID}, child.Member.ExpertID)
	after := slices.Clone(h.fl.lineup.Members[:h.fl.lineup.TeamSize])
	for i := range after {
		if after[i].ExpertID == h.in.Member.ExpertID {
			after[i].State = casework.MemberDeclined
		}
	}
	require.NoError(t, CheckLineup(h.fl.lineup.ContentAreas, append(after, child.Member), h.fl.pool.Experts),
		"the team rules hold with the replacement")
	require.Equal(t, child.Member.ExpertID, h.row().ReplacedBy)

	require.Equal(t, []string{"invite", ActionDeclineInvitation, "drawReplacement", "replaced", "requestCriticism"}, h.fl.actions(h.in.ID))
	i := slices.IndexFunc(h.fl.webhooks, func(w activities.QueueWebhookInput) bool { return w.EventType == EventCriticismRequested })
	require.GreaterOrEqual(t, i, 0, "the request for criticism is posted")
	require.Equal(t, InvitationWorkflowID(h.in.ID)+"/criticism", h.fl.webhooks[i].DeliveryKey)
	require.Contains(t, string(h.fl.webhooks[i].Payload), `"unit_code":"`+h.in.Member.UnitCode+`"`)
	require.Contains(t, string(h.fl.webhooks[i].Payload), "单位工作忙")
}

// TestInvitationWithdrawnStopsItsLadder: the office withdraws an open
// invitation with a reason; nobody else may, and not without one. The
// withdrawal is the invitation's end: its ladder takes no step after it,
// and nobody is drawn in its place.
func TestInvitationWithdrawnStopsItsLadder(t *testing.T) {
	h := newInvHarness(t)
	noReason := h.update(shanghai("2026-03-31 09:00"), ActionWithdrawInvitation, "w0",
		WithdrawInvitationInput{Change: Change{RequestID: "w0", Actor: office}})
	byExpert := h.update(shanghai("2026-03-31 09:30"), ActionWithdrawInvitation, "w1",
		WithdrawInvitationInput{Change: Change{RequestID: "w1", Actor: expertActor}, Reason: "不再需要"})
	withdraw := h.update(shanghai("2026-03-31 10:00"), ActionWithdrawInvitation, "w2",
		WithdrawInvitationInput{Change: Change{RequestID: "w2", Actor: office}, Reason: "巡查计划调整，第二组撤销"})
	h.run()
	require.ErrorContains(t, noReason.rejected, "reason: must not be empty")
	require.ErrorContains(t, byExpert.rejected, "permission denied")
	require.NoError(t, withdraw.rejected)
	require.NoError(t, withdraw.failed)
	require.Equal(t, InvitationWithdrawn, withdraw.state.Invitation.Stage)
	row := h.row()
	require.Equal(t, InvitationWithdrawn, row.Stage)
	require.Equal(t, "巡查计划调整，第二组撤销", row.Note)
	require.Zero(t, row.MissedDeadlines)
	require.Equal(t, []string{"invite", ActionWithdrawInvitation}, h.fl.actions(h.in.ID), "no escalation after the withdrawal")
	require.Empty(t, h.fl.children, "a withdrawn invitation draws nobody")
	for _, w := range h.fl.webhooks {
		require.NotEqual(t, EventInvitationEscalated, w.EventType, w.DeliveryKey)
	}
}

func TestSilentInvitationLapsesAndDrawsAReplacement(t *testing.T) {
	h := newInvHarness(t)
	early := h.update(shanghai("2026-04-02 10:00"), "state-check", "s1", nil)
	h.run()
	require.True(t, early.done, "an unknown update is refused while the invitation waits")
	row := h.row()
	require.Equal(t, InvitationExpired, row.Stage)
	require.Equal(t, 1, row.MissedDeadlines)
	require.Equal(t, []string{"invite", "escalate", "escalate", ActionExpireInvitation, "drawReplacement", "replaced"}, h.fl.actions(h.in.ID))
	require.NotEmpty(t, h.fl.children)
	require.Equal(t, h.in.Member.ExpertID, h.fl.children[0].Member.Replaces)
	require.Equal(t, 2, h.fl.children[0].Member.Draw)
	var escalated int
	for _, w := range h.fl.webhooks {
		if w.EventType == EventInvitationEscalated && strings.HasPrefix(w.DeliveryKey, InvitationWorkflowID(h.in.ID)+"/") {
			escalated++
		}
	}
	require.Equal(t, 2, escalated, "the reminder and the lapse")
}

// TestInvitationAnswerLimitFromPolicy: an invitation sent reads its answer
// limit from the escalation policy in force and records the policy's
// version, on its row and in the invite event.
func TestInvitationAnswerLimitFromPolicy(t *testing.T) {
	h := newInvHarness(t)
	h.fl.policy = activities.InvitationTerms{PolicyVersion: 7, AnswerWorkingDays: 2}
	h.in.AnswerWorkingDays = 9 // an old input's limit: not used any more
	accept := h.update(shanghai("2026-03-31 11:00"), ActionAcceptInvitation, "a1", AnswerInvitationInput{Change: Change{RequestID: "a1", Actor: expertActor}})
	h.run()
	require.NoError(t, accept.failed)
	row := h.row()
	require.Equal(t, 2, row.AnswerWorkingDays)
	require.Equal(t, int64(7), row.PolicyVersion)
	require.Equal(t, "2026-04-01", row.AnswerDeadline.Due.String(), "2 working days after Monday 03-30")
	require.Equal(t, 1, h.fl.termsRead)
	var data struct {
		AnswerWorkingDays int   `json:"answer_working_days"`
		PolicyVersion     int64 `json:"policy_version"`
	}
	require.NoError(t, json.Unmarshal(h.fl.events[0].Data, &data))
	require.Equal(t, "invite", h.fl.events[0].Action)
	require.Equal(t, 2, data.AnswerWorkingDays)
	require.Equal(t, int64(7), data.PolicyVersion)
}

// TestInvitationAnswerLimitBeforePolicy: a history from before
// versionAnswerLimitFromPolicy keeps the limit of its input and reads no
// policy.
func TestInvitationAnswerLimitBeforePolicy(t *testing.T) {
	h := newInvHarness(t)
	atLevelOne(h.env)
	h.env.OnGetVersion(versionAnswerLimitFromPolicy, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.fl.policy = activities.InvitationTerms{PolicyVersion: 7, AnswerWorkingDays: 2}
	h.in.AnswerWorkingDays = 5
	accept := h.update(shanghai("2026-03-31 11:00"), ActionAcceptInvitation, "a1", AnswerInvitationInput{Change: Change{RequestID: "a1", Actor: expertActor}})
	h.run()
	require.NoError(t, accept.failed)
	row := h.row()
	require.Equal(t, 5, row.AnswerWorkingDays)
	require.Zero(t, row.PolicyVersion)
	require.Equal(t, "2026-04-07", row.AnswerDeadline.Due.String(), "5 working days after Monday 03-30, Qingming 04-04..06 skipped")
	require.Zero(t, h.fl.termsRead, "no policy read")
	require.NotContains(t, string(h.fl.events[0].Data), "policy_version")
}

// TestSilentInvitationLapsesThoughTheLedgerWasAway: the OVERDUE step's
// write, and then the lapse's, fail as a ledger away for longer than the
// retry window fails them. Each is made again later on a durable timer:
// the invitation lapses and draws its replacement all the same. Before
// versionLadderRetriesStep the step was dropped and the invitation waited,
// INVITED, for ever; before versionInvitationRetriesExpire the failed
// lapse failed the run.
func TestSilentInvitationLapsesThoughTheLedgerWasAway(t *testing.T) {
	h := newInvHarness(t)
	h.fl.failSteps[casework.StepOverdue] = 2
	h.fl.failKeys["expire"] = 1
	h.run()
	row := h.row()
	require.Equal(t, InvitationExpired, row.Stage)
	require.Equal(t, 1, row.MissedDeadlines)
	require.Equal(t, []string{"invite", "escalate", "escalate", ActionExpireInvitation, "drawReplacement", "replaced"}, h.fl.actions(h.in.ID))
	require.Zero(t, h.fl.failSteps[casework.StepOverdue]+h.fl.failKeys["expire"], "every failure was met")
	require.NotEmpty(t, h.fl.children, "the replacement is drawn")
}

// TestOldRunsDropAFailedStep: a run from before versionLadderRetriesStep
// keeps its old course when a step's write fails: the step is dropped, the
// invitation does not lapse, and the office's withdrawal is what ends it.
func TestOldRunsDropAFailedStep(t *testing.T) {
	h := newInvHarness(t)
	h.env.OnGetVersion(versionLadderRetriesStep, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.fl.failSteps[casework.StepOverdue] = 1
	withdraw := h.update(shanghai("2026-04-20 10:00"), ActionWithdrawInvitation, "w",
		WithdrawInvitationInput{Change: Change{RequestID: "w", Actor: office}, Reason: "无人答复"})
	h.run()
	require.NoError(t, withdraw.failed)
	row := h.row()
	require.Equal(t, InvitationWithdrawn, row.Stage)
	require.Zero(t, row.MissedDeadlines)
	require.Equal(t, []string{"invite", "escalate", ActionWithdrawInvitation}, h.fl.actions(h.in.ID), "the reminder only")
}

// TestOldRunsFailOnAFailedLapse: before versionInvitationRetriesExpire a
// lapse whose write failed failed the run.
func TestOldRunsFailOnAFailedLapse(t *testing.T) {
	h := newInvHarness(t)
	h.env.OnGetVersion(versionInvitationRetriesExpire, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.fl.failKeys["expire"] = 1
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: InvitationWorkflowID(h.in.ID)})
	h.env.ExecuteWorkflow(InvitationWorkflow, h.in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.ErrorContains(t, h.env.GetWorkflowError(), "the ledger could not be written in time")
	require.Equal(t, InvitationInvited, h.row().Stage)
}

// TestReplacementStaysInThePoolToTheEnd: the person a lapse would draw in
// the place of the silent one leaves the pool in the middle of the
// inspection: someone else is drawn. A run from before
// versionPoolThroughEnd still draws them, as it did.
func TestReplacementStaysInThePoolToTheEnd(t *testing.T) {
	first := newInvHarness(t)
	first.run()
	require.NotEmpty(t, first.fl.children)
	drawn := first.fl.children[0].Member.ExpertID
	midway := calendar.MustParseDate(first.fl.lineup.PlannedStart).AddDays(1).String()

	for _, old := range []bool{false, true} {
		h := newInvHarness(t)
		if old {
			h.env.OnGetVersion(versionPoolThroughEnd, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		i := slices.IndexFunc(h.fl.pool.Experts, func(x casework.Expert) bool { return x.ID == drawn })
		require.GreaterOrEqual(t, i, 0)
		h.fl.pool.Experts[i].LeftOn, h.fl.pool.Experts[i].LeaveReason = midway, "退休"
		h.run()
		require.NotEmpty(t, h.fl.children, "old %v", old)
		if old {
			require.Equal(t, drawn, h.fl.children[0].Member.ExpertID, "the old rule: in the pool on the start day")
		} else {
			require.NotEqual(t, drawn, h.fl.children[0].Member.ExpertID, "leaves on %s, mid-inspection", midway)
		}
	}
}

// TestReplacementConflictCodesAnyCase: the person a lapse would draw works
// for the inspected organisation, its code written in lower case: someone
// else is drawn. A run from before versionCodesAnyCase still draws them.
func TestReplacementConflictCodesAnyCase(t *testing.T) {
	first := newInvHarness(t)
	first.fl.lineup.UnitCode = "HN-YJT"
	first.run()
	require.NotEmpty(t, first.fl.children)
	drawn := first.fl.children[0].Member.ExpertID

	for _, old := range []bool{false, true} {
		h := newInvHarness(t)
		h.fl.lineup.UnitCode = "HN-YJT"
		if old {
			h.env.OnGetVersion(versionCodesAnyCase, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		i := slices.IndexFunc(h.fl.pool.Experts, func(x casework.Expert) bool { return x.ID == drawn })
		require.GreaterOrEqual(t, i, 0)
		h.fl.pool.Experts[i].UnitCode = "hn-yjt"
		h.run()
		require.NotEmpty(t, h.fl.children, "old %v", old)
		if old {
			require.Equal(t, drawn, h.fl.children[0].Member.ExpertID, "the old rule: codes compared exactly")
		} else {
			require.NotEqual(t, drawn, h.fl.children[0].Member.ExpertID, "works for the inspected organisation")
		}
	}
}
