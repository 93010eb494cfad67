package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
)

// CalendarChangeInput names the calendar version just loaded.
type CalendarChangeInput struct {
	Version int64 `json:"version"`
}

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
	var res CalendarChangeResult
	for _, id := range open.WorkflowIDs {
		//lint:ignore S1016 the signal is its own wire type (STYLE habit 3); a conversion would tie it to the input's fields
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
