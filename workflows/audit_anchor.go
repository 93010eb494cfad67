package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
)

// The daily audit anchor (issue 11 item 3) is a Temporal Schedule rather
// than a timer in each worker: it runs once a day however many workers
// poll, survives restarts, catches up a missed day, and is visible (and can
// be triggered or paused) in the Web UI and with `temporal schedule`.

const (
	// AuditAnchorWorkflowName is the type of the workflow that writes the
	// daily anchor of the audit chains.
	AuditAnchorWorkflowName = "AuditAnchorWorkflow"
	// AuditAnchorScheduleID is the schedule that starts it every day.
	AuditAnchorScheduleID = "xuncha-audit-anchor"
	// AuditAnchorWorkflowID is the ID of the scheduled workflow (Temporal
	// appends the scheduled time).
	AuditAnchorWorkflowID = "audit-anchor"
)

// auditAnchorHourUTC is when the anchor is taken: 17:00 UTC, 01:00 in
// Asia/Shanghai, after the day's access chains have closed. UTC keeps the
// schedule independent of the server's time-zone data.
const auditAnchorHourUTC = 17

// AuditAnchorInput starts AuditAnchorWorkflow; it has no settings yet.
type AuditAnchorInput struct{}

// auditAnchorOptions allow the anchor (sealing, pruning, every head read)
// a long run, retried for an hour.
var auditAnchorOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Minute,
	ScheduleToCloseTimeout: 2 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Minute,
		BackoffCoefficient:     2,
		MaximumInterval:        15 * time.Minute,
		MaximumAttempts:        8,
		NonRetryableErrorTypes: derrors.NonRetryableTypes,
	},
}

// AuditAnchorWorkflow writes one anchor of the audit chains
// (activities.WriteAuditAnchor).
func AuditAnchorWorkflow(ctx workflow.Context, _ AuditAnchorInput) (activities.WriteAuditAnchorResult, error) {
	var res activities.WriteAuditAnchorResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, auditAnchorOptions), acts.WriteAuditAnchor,
		activities.WriteAuditAnchorInput{TakenBy: casework.AnchorBySchedule}).Get(ctx, &res)
	return res, err
}

// EnsureAuditAnchorSchedule creates the daily anchor's schedule, starting
// AuditAnchorWorkflow on taskQueue, unless it exists (created is false). An
// existing schedule is left as it is: an operator may have paused it.
func EnsureAuditAnchorSchedule(ctx context.Context, c client.Client, taskQueue string) (created bool, _ error) {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: AuditAnchorScheduleID,
		Spec: client.ScheduleSpec{
			Calendars: []client.ScheduleCalendarSpec{{Hour: []client.ScheduleRange{{Start: auditAnchorHourUTC}}}},
		},
		Action: &client.ScheduleWorkflowAction{
			ID: AuditAnchorWorkflowID, Workflow: AuditAnchorWorkflowName, TaskQueue: taskQueue,
			Args: []any{AuditAnchorInput{}},
		},
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "xuncha: the daily anchor of the audit chains (xuncha audit verify checks them)",
	})
	switch {
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("creating the schedule %s: %w", AuditAnchorScheduleID, err)
	}
	return true, nil
}
