package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/workflows"
)

// TestRefusedCreatesReplay: a create whose input the workflow refuses (a
// start that did not come through the API, which would have refused it
// first, sent here with the stack's own signing client) answers its
// creating request with the violations, records nothing, fails its run,
// and leaves a history that replays: a finding listed at once, a MAJOR
// hazard (notified before it is listed), an inspection, an interview.
// With XUNCHA_RECORD_HISTORIES=1 the histories are kept in
// workflows/testdata/replay.
func TestRefusedCreatesReplay(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	ctx := t.Context()
	finding := func(id, severity string) casework.Finding {
		return casework.Finding{
			Lifecycle:    casework.Lifecycle{ID: id, RequestID: rid(t, id), UnitCode: "430100", Stage: workflows.FindingFound},
			InspectionID: inspectionID, UnitName: "长沙市", Title: " ", Description: "通道堵塞", Kind: "HAZARD", Severity: severity,
			ContentArea: 11, EvidenceIDs: []string{"ev-none"}, FoundBy: member,
		}
	}
	type create struct {
		name, requestID string
		opts            client.StartWorkflowOptions
		workflowType    string
		input           any
		fields          []string
	}
	var creates []create
	for _, f := range []casework.Finding{finding("f-refused-listed", "GENERAL"), finding("f-refused-major", "MAJOR")} {
		opts, in, workflowType := workflows.CreatingStart(f, s.queue)
		creates = append(creates, create{"refused-create-" + f.ID, f.RequestID, opts, workflowType, in, []string{"title", "content_area"}})
	}
	team := workflows.InspectionInput{ID: "ins-refused", RequestID: rid(t, "ins-refused"), Unit: workflows.Unit{Code: "430100", Name: "长沙市"},
		Kind: workflows.KindComprehensive, Round: "2026年第一轮", PlannedStart: "2026-03-02", PlannedEnd: "2026-03-20", ContentAreas: []int{1},
		Team: []casework.TeamMember{{Name: "赵强", Role: workflows.TeamLeader, Rank: workflows.RankInspector2}}, Actor: office}
	creates = append(creates, create{"refused-create-inspection", team.RequestID, client.StartWorkflowOptions{
		ID: "inspection/" + team.ID, TaskQueue: s.queue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: workflows.InspectionSearchAttributes(team),
	}, workflows.InspectionWorkflowName, team, []string{"inspection.team"}})
	interview := workflows.InterviewInput{ID: "iv-refused", RequestID: rid(t, "iv-refused"), Subject: "inspection/" + inspectionID,
		UnitCode: "430100", Reason: "整改不力", Source: "RUMOUR", ProposedBy: office}
	creates = append(creates, create{"refused-create-interview", interview.RequestID, client.StartWorkflowOptions{
		ID: workflows.InterviewWorkflowID(interview.ID), TaskQueue: s.queue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: workflows.InterviewSearchAttributes(interview),
	}, workflows.InterviewWorkflowName, interview, []string{"source"}})

	for _, c := range creates {
		c.opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
		handle, err := s.Temporal.UpdateWithStartWorkflow(payloadcrypt.WithStart(ctx, c.opts, c.workflowType, c.input), client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: s.Temporal.NewWithStartWorkflowOperation(c.opts, c.workflowType, c.input),
			UpdateOptions: client.UpdateWorkflowOptions{
				UpdateID: workflows.AwaitCreatedUpdateID(c.requestID), UpdateName: workflows.UpdateAwaitCreated,
				Args: []any{workflows.AwaitCreatedInput{RequestID: c.requestID}}, WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		require.NoError(t, err, c.name)
		answer := handle.Get(ctx, nil)
		var invalid *derrors.InvalidError
		require.ErrorAs(t, derrors.FromTemporal(answer), &invalid, "%s: %v", c.name, answer)
		var fields []string
		for _, v := range invalid.Violations {
			fields = append(fields, v.Field)
		}
		require.Subset(t, fields, c.fields, c.name)
		runErr := s.Temporal.GetWorkflow(context.WithoutCancel(ctx), c.opts.ID, "").Get(ctx, nil)
		var app *temporal.ApplicationError
		require.True(t, errors.As(runErr, &app) && app.Type() == "CREATE_REFUSED", "%s: %v", c.name, runErr)
		s.replayHistory(c.name, c.opts.ID)
	}
	for _, id := range []string{"f-refused-listed", "f-refused-major"} {
		_, err := s.Ledger.GetFinding(ctx, id)
		require.ErrorIs(t, err, derrors.ErrNotFound, "%s: nothing recorded", id)
	}
	_, err := s.Ledger.GetInspection(ctx, "ins-refused")
	require.ErrorIs(t, err, derrors.ErrNotFound, "nothing recorded")
	_, err = s.Ledger.GetInterview(ctx, "iv-refused")
	require.ErrorIs(t, err, derrors.ErrNotFound, "nothing recorded")
}
