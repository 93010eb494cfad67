package api_test

import (
	"context"

	"go.temporal.io/api/workflowservice/v1"
)

// describeWorkflow returns the server's description of a workflow execution
// (runID "" is the latest run). It goes through client.DescribeWorkflow, which
// replaced the deprecated DescribeWorkflowExecution, and hands back the raw
// response the tests read the execution info and pending activities from.
func (s *stack) describeWorkflow(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	desc, err := s.Temporal.DescribeWorkflow(ctx, workflowID, runID)
	if err != nil {
		return nil, err
	}
	return desc.RawResponse, nil
}
