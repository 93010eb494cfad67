package workflows

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/updatechain"
)

// ruleLedger is a finding's row and event keys under the ledger's rule for
// a change (ledger.Store.appendChange): the row moves when the change's
// version is above it, the event is written when its key is new, and a key
// recorded before with the row moving on is refused (ALREADY_EXISTS).
type ruleLedger struct {
	mu   sync.Mutex
	row  casework.Finding
	keys map[string]bool
	// lostAck: the write of this key is committed by the activity's last
	// attempt, whose answer never reaches the workflow; every earlier
	// attempt finds PostgreSQL away.
	lostAck string
	events  []string
}

func (g *ruleLedger) record(_ context.Context, in activities.RecordFindingInput) (activities.RecordFindingResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.row = in.Finding
	g.row.Stage, g.row.Version = FindingListed, 2
	g.keys[in.EventKey], g.keys["list/"+in.Finding.RequestID] = true, true
	return activities.RecordFindingResult{LedgerNumber: "2026-430100-0007"}, nil
}

func (g *ruleLedger) apply(ctx context.Context, in activities.FindingChangeInput) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	down := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	if in.Event.Key == g.lostAck && (activity.GetInfo(ctx).IsLocalActivity || activity.GetInfo(ctx).Attempt < 24) {
		return activities.LedgerError("applying "+in.Event.Action, down)
	}
	moved, inserted := in.Finding.Version > g.row.Version, !g.keys[in.Event.Key]
	if moved && !inserted {
		return activities.LedgerError("applying", derrors.New(derrors.ErrAlreadyExists, "the change %q was recorded before", in.Event.Key))
	}
	if moved {
		g.row = in.Finding
	}
	if inserted {
		g.keys[in.Event.Key] = true
		g.events = append(g.events, in.Event.Key)
	}
	if in.Event.Key == g.lostAck {
		return activities.LedgerError("applying "+in.Event.Action, down) // committed, its answer lost
	}
	return nil
}

// TestLostAnswerHeals: a change the ledger committed whose answer the
// workflow never heard (UNAVAILABLE) is sent again by the client under the
// next Update ID of its chain, and later changes go on: the ledger's rule
// records the resent change's event beside the row it already holds.
func TestLostAnswerHeals(t *testing.T) {
	env := newTestEnv()
	env.SetStartTime(start)
	registerLevelThree(env)
	env.RegisterActivity(&activities.Activities{})
	g := &ruleLedger{keys: map[string]bool{}, lostAck: UpdateID(ActionDiagnose, "d0")}
	env.OnActivity(acts.RecordFinding, mock.Anything, mock.Anything).Return(g.record)
	env.OnActivity(acts.ApplyFindingChange, mock.Anything, mock.Anything).Return(g.apply)
	h := &harness{t: t, env: env}
	first := h.update(time.Hour, ActionDiagnose, "d0", diagnosis())
	resent := &result{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(ActionDiagnose, updatechain.ID(UpdateID(ActionDiagnose, "d0"), 2), &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { resent.rejected = err; resent.done = true },
			OnComplete: func(_ any, err error) { resent.failed = err; resent.done = true },
		}, diagnosis())
	}, time.Hour+30*time.Minute)
	wd := h.update(2*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "重复登记"})
	env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: newFinding(SeverityGeneral)})

	require.True(t, first.done)
	require.ErrorIs(t, derrors.FromTemporal(first.failed), derrors.ErrUnavailable, "%v", first.failed)
	requireDone(t, resent, wd)
	require.Equal(t, FindingWithdrawn, g.row.Stage)
	require.Equal(t, FindingWithdrawn, wd.state.Finding.Stage)
}

// TestForgedCalendarSignalTakesNoRedate: a calendar-changed signal anyone
// who reaches Temporal can send, naming a calendar version not loaded yet,
// re-dates with the calendar in force (here the office changed its
// ladder); when that version is loaded and really signalled, its re-date
// still moves the deadline. Re-dates are keyed by what they were resolved
// with, not by the signal's word (redateKey): keyed by the signal's
// version, the forged re-date took the real one's key, and the ledger
// refused the real one.
func TestForgedCalendarSignalTakesNoRedate(t *testing.T) {
	env := newTestEnv()
	env.SetStartTime(start)
	registerLevelThree(env)
	env.RegisterActivity(&activities.Activities{})
	g := &ruleLedger{keys: map[string]bool{}}
	cal, policy := calendar.Builtin(), casework.DefaultEscalationPolicy()
	env.OnActivity(acts.RecordFinding, mock.Anything, mock.Anything).Return(g.record)
	env.OnActivity(acts.ApplyFindingChange, mock.Anything, mock.Anything).Return(g.apply)
	env.OnActivity(acts.ResolveDeadline, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveDeadlineInput) (deadline.Resolved, error) {
			g.mu.Lock()
			defer g.mu.Unlock()
			return deadline.Resolve(cal, policy, in.Rule)
		})
	env.OnActivity(acts.ApplyFindingDeadline, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.FindingDeadlineInput) (deadline.Resolved, error) {
			g.mu.Lock()
			res, err := deadline.Resolve(cal, policy, in.Rule)
			g.mu.Unlock()
			if err != nil {
				return res, err
			}
			in.Finding.Deadline = &res.Deadline
			return res, g.apply(ctx, activities.FindingChangeInput{Finding: in.Finding, Event: in.Event})
		})
	h := &harness{t: t, env: env}
	h.update(time.Hour/4, ActionDiagnose, "d1", diagnosis())
	h.update(time.Hour/2, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY"}})
	ref := h.update(time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
	env.RegisterDelayedCallback(func() {
		g.mu.Lock()
		policy.Version = 2
		policy.Steps[0].WorkingDays = -3 // the office moves its reminder
		g.mu.Unlock()
	}, 2*time.Hour)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalCalendarChanged, CalendarChangedSignal{Version: 2}) // forged: no version 2 yet
	}, 3*time.Hour)
	env.RegisterDelayedCallback(func() {
		g.mu.Lock()
		cal = amendedCalendar(t, cal, 2, holiday("2026-04-01", "2026-04-03"))
		g.mu.Unlock()
		env.SignalWorkflow(SignalCalendarChanged, CalendarChangedSignal{Version: 2}) // the real one
	}, 4*time.Hour)
	var st FindingState
	env.RegisterDelayedCallback(func() { st = h.query() }, 5*time.Hour)
	h.update(6*time.Hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	env.ExecuteWorkflow(FindingWorkflow, FindingInput{Finding: newFinding(SeverityGeneral)})

	requireDone(t, ref)
	resolved, err := deadline.Resolve(cal, policy, deadline.Rectification("feedback_received_on", "2026-03-02", ""))
	require.NoError(t, err)
	require.NotEqual(t, ref.state.Finding.Deadline.Due, resolved.Deadline.Due, "calendar 2 moves the deadline")
	require.Equal(t, resolved.Deadline.Due, st.Finding.Deadline.Due, "the workflow's deadline after calendar 2")
	require.Equal(t, resolved.Deadline.Due, g.row.Deadline.Due, "the ledger's deadline after calendar 2")
	var redates []string
	for _, key := range g.events {
		if strings.HasPrefix(key, "redate/") {
			redates = append(redates, key)
		}
	}
	require.Equal(t, []string{"redate/1/0/p2", "redate/1/2/p2"}, redates, "the forged signal's re-date (the new ladder) and calendar 2's")
}
