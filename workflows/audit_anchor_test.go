package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
)

// TestAuditAnchorStartsUnsigned: its schedule starts the anchor without a
// client's signature, so the workers' check of starts leaves this type
// alone (payloadcrypt.ScheduledTypes), and only it.
func TestAuditAnchorStartsUnsigned(t *testing.T) {
	require.Equal(t, map[string]bool{AuditAnchorWorkflowName: true}, payloadcrypt.ScheduledTypes)
}

// TestAuditAnchorWorkflow: the scheduled workflow writes one anchor as the
// schedule, retrying a database that does not answer.
func TestAuditAnchorWorkflow(t *testing.T) {
	env := newTestEnv()
	env.RegisterActivity(&activities.Activities{})
	calls := 0
	env.OnActivity(acts.WriteAuditAnchor, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WriteAuditAnchorInput) (activities.WriteAuditAnchorResult, error) {
			calls++
			require.Equal(t, casework.AnchorBySchedule, in.TakenBy)
			if calls == 1 {
				return activities.WriteAuditAnchorResult{}, temporal.NewApplicationError("connection refused", "LEDGER_UNAVAILABLE")
			}
			return activities.WriteAuditAnchorResult{Seq: 7, Hash: "ab"}, nil
		})
	env.ExecuteWorkflow(AuditAnchorWorkflow, AuditAnchorInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res activities.WriteAuditAnchorResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.EqualValues(t, 7, res.Seq)
	require.Equal(t, 2, calls)
}

// newTestEnv is a time-skipping test environment whose deadlock detector
// allows a workflow task 10 s instead of 1 s: under the race detector on a
// loaded 2-core machine a task that takes milliseconds can take a second
// (TestAuditAnchorWorkflow tripped it once). A workflow that really blocks
// still fails.
func newTestEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: 10 * time.Second})
	return env
}
