package temporalcluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xuncha/xuncha/internal/searchattr"
)

// SetUpNamespace does in-process what `xuncha temporal setup` does to a
// cluster — creates the namespace if missing, with the given retention,
// and registers xuncha's search attributes on it — then waits until the
// namespace is usable (AwaitNamespace). It is for a process that runs a
// cluster and xuncha's workers itself, such as a benchmark; the cluster
// tier runs the command, as an operator does.
func SetUpNamespace(ctx context.Context, tc client.Client, namespace string, retention time.Duration) error {
	_, err := tc.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("temporalcluster: creating namespace %q: %w", namespace, err)
	}
	if err := searchattr.Register(ctx, tc.OperatorService(), namespace); err != nil {
		return fmt.Errorf("temporalcluster: %w", err)
	}
	return AwaitNamespace(ctx, tc, namespace)
}

// AwaitNamespace waits, two minutes at most, until the namespace of tc is
// usable end to end: a probe workflow, run by a worker of this process,
// upserts every search attribute xuncha's workflows use and completes. A
// start alone is not enough: the frontend knows newly registered attributes
// before the history service, which refuses a workflow task's upsert of an
// attribute it does not know yet (BadSearchAttributes) until its namespace
// cache refreshes; Temporal retries the task until it does.
func AwaitNamespace(ctx context.Context, tc client.Client, namespace string) error {
	probe, err := searchattr.ProbeUpdates()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	const queue = "temporalcluster-probe"
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		return workflow.UpsertTypedSearchAttributes(ctx, probe...)
	}, workflow.RegisterOptions{Name: "Probe"})
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	var lastErr error
	for i := 0; ; i++ {
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                    fmt.Sprintf("temporalcluster-probe-%d-%d", time.Now().UnixNano(), i),
			TaskQueue:             queue,
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.Stage.ValueSet("PROBE")),
		}, "Probe")
		if err == nil {
			if lastErr = run.Get(ctx, nil); lastErr == nil {
				return nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporalcluster: namespace %s not usable: %w", namespace, lastErr)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
