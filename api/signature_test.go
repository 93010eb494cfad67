package api_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/workflows"
)

// TestChangesMustBeSigned acts on findings past the API, as whoever reaches
// the Temporal frontend could: a client without the key ring sends an
// Update naming the office, a client copies a signed Update out of one
// finding's history into another finding and into the same one under
// another ID, and a client without the ring starts a finding's workflow.
// Each is refused before anything is recorded; the same changes through
// the API go through.
func TestChangesMustBeSigned(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	a := s.recordFinding(inspectionID, "a", "GENERAL")["id"].(string)
	b := s.recordFinding(inspectionID, "b", "GENERAL")["id"].(string)
	s.step(a, "diagnose", member, diagnosis(rid(t, "diagnose-a")), "DIAGNOSED")

	unchanged := func(id string) {
		t.Helper()
		row, err := s.Ledger.GetFinding(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, "LISTED", row.Stage, "finding %s", id)
		actions, _ := s.events(id)
		require.NotContains(t, actions, workflows.ActionDiagnose, "finding %s", id)
	}
	refusedUnsigned := func(err error, what string) {
		t.Helper()
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%s: %v", what, err)
		require.Equal(t, payloadcrypt.ReasonNotSigned, app.Type(), "%s: %v", what, err)
	}
	forged := workflows.DiagnoseInput{
		Change:    workflows.Change{RequestID: rid(t, "forged"), Actor: office},
		Diagnosis: casework.Diagnosis{Cause: "伪造", ResponsibleParties: []string{"某公司"}, RiskLevel: "LOW"},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// A client without the ring: its input is plain JSON, unsigned.
	plain := plainClient(t)
	send := func(tc client.Client, updateID string) error {
		h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.FindingWorkflowID(b), UpdateID: updateID, UpdateName: workflows.ActionDiagnose,
			Args: []any{forged}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			return err
		}
		return h.Get(ctx, nil)
	}
	refusedUnsigned(send(plain, "forged-plain"), "a plaintext Update")
	unchanged(b)

	// A client with a ring of its own, the key named as the real one: the
	// worker cannot read its input, nor its signature.
	foreign := testenv.PayloadCodecOf(t, testenv.PayloadKey(t, "test-1")).ClientOptions(client.Options{
		HostPort: testenv.TemporalAddress(t), Namespace: testenv.Namespace})
	foreignClient, err := client.DialContext(ctx, foreign)
	require.NoError(t, err)
	t.Cleanup(foreignClient.Close)
	require.Error(t, send(foreignClient, "forged-foreign"), "an Update under another ring")
	unchanged(b)

	// The diagnosis of a, as its history holds it (header and encrypted
	// input), sent again to b, and to a under another Update ID.
	var accepted *updatepb.Input
	for _, e := range rawHistory(t, plain, workflows.FindingWorkflowID(a)).GetEvents() {
		if in := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput(); in.GetName() == workflows.ActionDiagnose {
			accepted = in
		}
	}
	require.NotNil(t, accepted, "a's history holds its diagnosis")
	require.Contains(t, accepted.GetHeader().GetFields(), payloadcrypt.UpdateSignatureHeader)
	replay := func(workflowID, updateID string) error {
		resp, err := plain.WorkflowService().UpdateWorkflowExecution(ctx, &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace:         testenv.Namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID},
			Request:           &updatepb.Request{Meta: &updatepb.Meta{UpdateId: updateID, Identity: "replay"}, Input: accepted},
			WaitPolicy:        &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
		})
		if err != nil {
			return err
		}
		if f := resp.GetOutcome().GetFailure(); f != nil {
			return temporal.GetDefaultFailureConverter().FailureToError(f)
		}
		return nil
	}
	refusedUnsigned(replay(workflows.FindingWorkflowID(b), "replayed-to-b"), "a's signed diagnosis sent to b")
	unchanged(b)
	refusedUnsigned(replay(workflows.FindingWorkflowID(a), "replayed-to-a"), "a's signed diagnosis sent again under another ID")
	actions, _ := s.events(a)
	require.Equal(t, 1, countOf(actions, workflows.ActionDiagnose), "a was diagnosed once")

	// A start without the ring: a finding's workflow for a finding the
	// API never recorded fails before its first ledger write.
	ghost := casework.Finding{
		Lifecycle:    casework.Lifecycle{ID: "f-ghost", RequestID: rid(t, "ghost"), UnitCode: "430100", Stage: workflows.FindingFound},
		InspectionID: inspectionID, UnitName: "长沙市", Title: "伪造的问题", Description: "伪造", Kind: "HAZARD", Severity: "GENERAL",
		ContentArea: 1, EvidenceIDs: []string{"ev-ghost"},
	}
	opts, in, workflowType := workflows.CreatingStart(ghost, s.queue)
	run, err := plain.ExecuteWorkflow(ctx, opts, workflowType, in)
	require.NoError(t, err, "the server takes the start; the worker refuses it")
	refusedUnsigned(run.Get(ctx, nil), "an unsigned start")
	_, err = s.Ledger.GetFinding(t.Context(), ghost.ID)
	require.ErrorIs(t, err, derrors.ErrNotFound, "the refused start wrote nothing")

	// The same diagnosis through the API goes through.
	s.step(b, "diagnose", member, diagnosis(rid(t, "diagnose-b")), "DIAGNOSED")
}

// countOf counts the entries of list equal to v.
func countOf(list []string, v string) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

// TestSignedChangesAreNotReplayed replays what the histories hold into
// the runs Temporal would take them in: a cron schedule's runs, which
// Temporal starts after a refused first one as its continuation (with and
// without a signature of the first), and a finding's earlier Updates into
// the run its reopening started, where their Update IDs are new to
// Temporal. Each is refused: the cron runs by the start check, the
// reopened run's Updates by the ledger, where their events are recorded
// already; the row and its events stay as they were.
func TestSignedChangesAreNotReplayed(t *testing.T) {
	s := setup(t)
	z := s.createInspection()
	plain := plainClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	for _, tc := range []struct {
		name   string
		client client.Client
	}{{"unsigned", plain}, {"signed", s.Temporal}} {
		ghost := casework.Finding{
			Lifecycle:    casework.Lifecycle{ID: "f-cron-" + tc.name, RequestID: rid(t, "cron-"+tc.name), UnitCode: "430100", Stage: workflows.FindingFound},
			InspectionID: z, UnitName: "长沙市", Title: "伪造的问题", Description: "伪造", Kind: "HAZARD", Severity: "GENERAL",
			ContentArea: 1, EvidenceIDs: []string{"ev-ghost"},
		}
		opts, in, workflowType := workflows.CreatingStart(ghost, s.queue)
		opts.CronSchedule = "@every 2s"
		_, err := tc.client.ExecuteWorkflow(ctx, opts, workflowType, in)
		require.NoError(t, err, tc.name)
		t.Cleanup(func() { _ = plain.TerminateWorkflow(context.Background(), opts.ID, "", "test cleanup") })
		require.Never(t, func() bool {
			_, err := s.Ledger.GetFinding(t.Context(), ghost.ID)
			return err == nil
		}, 7*time.Second, 250*time.Millisecond, "%s: a cron start reached the ledger", tc.name)
	}

	// A finding closed out, then reopened by a failed re-check: its new run
	// is handed the closed run's report and verification again.
	id := s.recordFinding(z, "record", "GENERAL")["id"].(string)
	s.closeOut(id, today().String())
	s.awaitClosed(id)
	wid := workflows.FindingWorkflowID(id)
	var replays []*updatepb.Request
	for _, e := range rawHistory(t, plain, wid).GetEvents() {
		req := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
		if n := req.GetInput().GetName(); n == workflows.ActionReportRectification || n == workflows.ActionVerify {
			replays = append(replays, req)
		}
	}
	require.Len(t, replays, 2)
	s.failRecheck(z, id)
	require.Eventually(t, func() bool {
		row, err := s.Ledger.GetFinding(t.Context(), id)
		return err == nil && row.Stage == "REFERRED"
	}, 20*time.Second, 100*time.Millisecond, "the finding is reopened")
	reopened, err := s.Ledger.GetFinding(t.Context(), id)
	require.NoError(t, err)
	before, _ := s.events(id)
	for _, req := range replays {
		resp, err := plain.WorkflowService().UpdateWorkflowExecution(ctx, &workflowservice.UpdateWorkflowExecutionRequest{
			Namespace:         testenv.Namespace,
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wid},
			Request:           &updatepb.Request{Meta: &updatepb.Meta{UpdateId: req.GetMeta().GetUpdateId(), Identity: "replay"}, Input: req.GetInput()},
			WaitPolicy:        &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED},
		})
		require.NoError(t, err)
		require.NotNil(t, resp.GetOutcome().GetFailure(), "%s replayed into the reopened run was taken", req.GetInput().GetName())
	}
	row, err := s.Ledger.GetFinding(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, reopened.Stage, row.Stage)
	require.Equal(t, reopened.Version, row.Version)
	after, _ := s.events(id)
	require.Equal(t, before, after)

	// The reopened finding goes on through the API.
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-2"), s.evidenceOf(unit, "整改照片 "+t.Name())), "RECTIFIED")
}
