package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// Workflow starts fn, a workflow function of the test's own, on the shared
// Temporal dev server, with a worker of its own on a task queue named after
// the test, and returns a client and the workflow's ID. When the test ends,
// the workflow is terminated, the worker stopped and the client closed.
func Workflow(t testing.TB, fn any) (client.Client, string) {
	t.Helper()
	tc, err := client.Dial(client.Options{HostPort: TemporalAddress(t)})
	if err != nil {
		t.Fatalf("testenv: dialling Temporal: %v", err)
	}
	t.Cleanup(tc.Close)
	name := strings.ReplaceAll(t.Name(), "/", "-")
	w := worker.New(tc, "testenv-"+name, worker.Options{})
	w.RegisterWorkflow(fn)
	if err := w.Start(); err != nil {
		t.Fatalf("testenv: starting the worker: %v", err)
	}
	t.Cleanup(w.Stop)
	id := fmt.Sprintf("testenv-%s-%d", name, os.Getpid())
	if _, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: "testenv-" + name}, fn); err != nil {
		t.Fatalf("testenv: starting the test's workflow: %v", err)
	}
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.WithoutCancel(t.Context()), id, "", "test over") })
	return tc, id
}
