package workflows

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/activities"
)

// Register adds every workflow and activity to a worker.
func Register(r worker.Registry, a *activities.Activities) {
	RegisterWorkflows(r)
	r.RegisterActivity(a)
}

// WorkflowRegistry is where workflows are registered: a worker, or a replayer
// checking recorded histories.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// RegisterWorkflows adds every workflow under its name.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(InspectionWorkflow, workflow.RegisterOptions{Name: InspectionWorkflowName})
	r.RegisterWorkflowWithOptions(FindingWorkflow, workflow.RegisterOptions{Name: FindingWorkflowName})
	r.RegisterWorkflowWithOptions(FindingWorkflow, workflow.RegisterOptions{Name: FindingWorkflowBefore3Name})
	r.RegisterWorkflowWithOptions(CalendarChangeWorkflow, workflow.RegisterOptions{Name: CalendarChangeWorkflowName})
	r.RegisterWorkflowWithOptions(InterviewWorkflow, workflow.RegisterOptions{Name: InterviewWorkflowName})
	r.RegisterWorkflowWithOptions(InvitationWorkflow, workflow.RegisterOptions{Name: InvitationWorkflowName})
	r.RegisterWorkflowWithOptions(WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: WebhookDeliveryWorkflowName})
	r.RegisterWorkflowWithOptions(AuditAnchorWorkflow, workflow.RegisterOptions{Name: AuditAnchorWorkflowName})
	r.RegisterWorkflowWithOptions(FindingImportWorkflow, workflow.RegisterOptions{Name: FindingImportWorkflowName})
}

// Worker polls the task queue and runs xuncha's workflows and activities.
type Worker struct {
	// Temporal is the connected client.
	Temporal client.Client
	// TaskQueue to poll (default DefaultTaskQueue).
	TaskQueue string
	// Activities is the activities' receiver.
	Activities *activities.Activities
	// Log is the structured logger.
	Log *zap.Logger
	// AuditAnchors, when set, creates the daily audit anchor's schedule
	// (EnsureAuditAnchorSchedule) on this task queue if it is missing.
	// `xuncha worker` and `xuncha dev` set it.
	AuditAnchors bool
}

// WorkerStopTimeout is how long a stopping worker lets its running
// activities finish before it cancels them: within the 30 s a container
// is given after SIGTERM (docker-compose.yml; 60 s in deploy/k8s). With
// none, Stop cancelled them at once (an audit anchor, an import's start,
// a webhook in flight, which was then sent again).
const WorkerStopTimeout = 25 * time.Second

// workerOptions are the options of every worker Run starts.
func workerOptions() worker.Options {
	return worker.Options{WorkerStopTimeout: WorkerStopTimeout}
}

// Run polls until ctx ends, then stops, letting running tasks finish
// (WorkerStopTimeout).
func (w *Worker) Run(ctx context.Context) error {
	queue := w.TaskQueue
	if queue == "" {
		queue = DefaultTaskQueue
	}
	wk := worker.New(w.Temporal, queue, workerOptions())
	as := *w.Activities
	if as.AdoptFinding == nil {
		as.AdoptFinding = StartAdopting(w.Temporal, queue)
	}
	// The webhook outbox's dispatcher runs beside the worker, woken by
	// every QueueWebhook of this process; other processes' dispatchers
	// share the outbox safely.
	outbox := &activities.Dispatcher{Activities: &as}
	if as.Queued == nil {
		as.Queued = outbox.Wake
	}
	Register(wk, &as)
	if err := wk.Start(); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("starting worker on task queue %q: %w", queue, err)
	}
	w.Log.Info("worker polling", zap.String("task_queue", queue))
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		outbox.Run(ctx)
	}()
	if w.AuditAnchors {
		created, err := EnsureAuditAnchorSchedule(ctx, w.Temporal, queue)
		switch {
		case err != nil && ctx.Err() == nil:
			// The worker still runs its lifecycles; `xuncha audit anchor`
			// or the next start makes up for the missing schedule.
			w.Log.Error("the daily audit anchor is not scheduled", zap.Error(err))
		case created:
			w.Log.Info("scheduled the daily audit anchor", zap.String("schedule", AuditAnchorScheduleID))
		}
	}
	<-ctx.Done()
	wk.Stop()
	<-dispatched
	w.Log.Info("worker stopped")
	return nil
}
