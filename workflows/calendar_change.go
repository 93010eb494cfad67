package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
)

// CalendarChangeInput names the calendar version just loaded. A run that
// continued as new (calendarChangePage) passes on the last workflow it
// told (After: the next run tells those after it, in order) and the count
// so far.
type CalendarChangeInput struct {
	Version   int64  `json:"version"`
	After     string `json:"after,omitempty"`
	Signalled int    `json:"signalled,omitempty"`
}

// versionCalendarChangePages: a run tells at most calendarChangePage
// lifecycles, then continues as new with the rest. In one run, ten
// thousand open deadlines (five history events each) passed Temporal's
// limit of 51,200 events: the run was terminated, and those after it were
// never re-dated.
const versionCalendarChangePages = "calendar-change-pages"

// calendarChangePage is how many lifecycles one run tells.
const calendarChangePage = 500

// CalendarChangeResult says how many lifecycles were told.
type CalendarChangeResult struct {
	Signalled int `json:"signalled"`
}

// CalendarChangeWorkflow tells every lifecycle with a running deadline that a
// calendar version was loaded; each re-dates itself and records why. Being a
// workflow, the fan-out survives a crash of whoever loaded the version.
func CalendarChangeWorkflow(ctx workflow.Context, in CalendarChangeInput) (CalendarChangeResult, error) {
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var open activities.OpenDeadlinesResult
	if err := workflow.ExecuteActivity(actx, acts.OpenDeadlines).Get(ctx, &open); err != nil {
		return CalendarChangeResult{}, fmt.Errorf("listing running deadlines: %w", err)
	}
	paged := workflow.GetVersion(ctx, versionCalendarChangePages, workflow.DefaultVersion, 1) >= 1
	res := CalendarChangeResult{Signalled: in.Signalled}
	told := 0
	for _, id := range open.WorkflowIDs {
		if paged && id <= in.After {
			continue // told by an earlier run (the list is sorted)
		}
		if paged && told == calendarChangePage {
			return res, workflow.NewContinueAsNewError(ctx, CalendarChangeWorkflowName,
				CalendarChangeInput{Version: in.Version, After: in.After, Signalled: res.Signalled})
		}
		told++
		in.After = id
		err := workflow.SignalExternalWorkflow(ctx, id, "", SignalCalendarChanged, CalendarChangedSignal{Version: in.Version}).Get(ctx, nil)
		if err != nil {
			// A lifecycle that closed meanwhile has no deadline to move.
			workflow.GetLogger(ctx).Warn("could not signal", "workflow", id, "error", err)
			continue
		}
		res.Signalled++
	}
	return res, nil
}

// receiveCalendarChanges runs for the life of a workflow with deadlines:
// each calendar-changed signal re-dates its running deadline.
func receiveCalendarChanges(ctx workflow.Context, subject string, redate func(workflow.Context, CalendarChangedSignal) error) {
	ch := workflow.GetSignalChannel(ctx, SignalCalendarChanged)
	for {
		var sig CalendarChangedSignal
		ch.Receive(ctx, &sig)
		if err := redate(ctx, sig); err != nil {
			workflow.GetLogger(ctx).Error("re-dating failed", "subject", subject, "version", sig.Version, "error", err)
		}
	}
}
