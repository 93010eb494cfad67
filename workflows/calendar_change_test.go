package workflows

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
)

// runCalendarChange runs one CalendarChangeWorkflow run over ids (the open
// deadlines, sorted) and returns the workflows it told, its result, and the
// input of the run it continued as (nil when it finished).
func runCalendarChange(t *testing.T, ids []string, in CalendarChangeInput, oldRun bool) (told []string, res CalendarChangeResult, next *CalendarChangeInput) {
	t.Helper()
	env := newTestEnv()
	env.RegisterActivity(&activities.Activities{})
	env.RegisterWorkflowWithOptions(CalendarChangeWorkflow, workflow.RegisterOptions{Name: CalendarChangeWorkflowName})
	if oldRun {
		env.OnGetVersion(versionCalendarChangePages, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	env.OnActivity(acts.OpenDeadlines, mock.Anything).Return(
		func(context.Context) (activities.OpenDeadlinesResult, error) {
			return activities.OpenDeadlinesResult{WorkflowIDs: ids}, nil
		})
	env.OnSignalExternalWorkflow("default-test-namespace", mock.Anything, "", SignalCalendarChanged, mock.Anything).Return(
		func(_, id, _, _ string, _ any) error {
			told = append(told, id)
			return nil
		})
	env.ExecuteWorkflow(CalendarChangeWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	if err := env.GetWorkflowError(); err != nil {
		var cont *workflow.ContinueAsNewError
		require.ErrorAs(t, err, &cont)
		require.Equal(t, CalendarChangeWorkflowName, cont.WorkflowType.Name)
		next = &CalendarChangeInput{}
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(cont.Input, next))
		return told, res, next
	}
	require.NoError(t, env.GetWorkflowResult(&res))
	return told, res, nil
}

// TestCalendarChangeContinuesAsNew: 1,200 open deadlines are told in runs
// of calendarChangePage, each continuing as new with those after the last
// it told, every one exactly once and in order. One run telling them all
// passed Temporal's history limit from about ten thousand.
func TestCalendarChangeContinuesAsNew(t *testing.T) {
	var ids []string
	for i := range 1200 {
		ids = append(ids, fmt.Sprintf("finding/f-%04d", i))
	}
	var told []string
	in := CalendarChangeInput{Version: 7}
	runs := 0
	for {
		runs++
		got, res, next := runCalendarChange(t, ids, in, false)
		told = append(told, got...)
		if next == nil {
			require.Equal(t, 1200, res.Signalled)
			break
		}
		require.Len(t, got, calendarChangePage)
		require.Equal(t, CalendarChangeInput{Version: 7, After: got[len(got)-1], Signalled: len(told)}, *next)
		in = *next
	}
	require.Equal(t, 3, runs)
	require.Equal(t, ids, told)

	// A run from before versionCalendarChangePages tells them all itself.
	told, res, next := runCalendarChange(t, ids, CalendarChangeInput{Version: 7}, true)
	require.Nil(t, next)
	require.Equal(t, ids, told)
	require.Equal(t, 1200, res.Signalled)
}

// TestRedateNamesTheVersionItUsed: two notices loaded one after the other,
// the first's signal taken when the second is in force: the re-date uses
// the second, and its event says so (it named the first, and the second's
// signal, finding nothing moved, recorded nothing).
func TestRedateNamesTheVersionItUsed(t *testing.T) {
	h := newHarness(t)
	h.referredAt()
	h.env.RegisterDelayedCallback(func() {
		h.fl.mu.Lock()
		v7 := amendedCalendar(t, h.fl.calendar, 7, qingmingFromApril2)
		h.fl.calendar = amendedCalendar(t, v7, 8, holiday("2026-04-07", "2026-04-08"))
		h.fl.mu.Unlock()
		h.env.SignalWorkflow(SignalCalendarChanged, CalendarChangedSignal{Version: 7})
		h.env.SignalWorkflow(SignalCalendarChanged, CalendarChangedSignal{Version: 8})
	}, 5*day)
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityGeneral))
	requireDone(t, wd)
	require.Contains(t, h.fl.row.Deadline.Explanation[0], "calendar version 8")
	var redates []string
	for _, e := range h.fl.events {
		if e.Action == "redate" {
			redates = append(redates, e.Note)
		}
	}
	require.Len(t, redates, 1, "one re-date: the second signal finds nothing moved")
	require.Contains(t, redates[0], "re-dated by calendar version 8")
}
