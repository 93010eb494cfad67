//go:build lifecyclebench

package lifecyclebench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/workflows"
)

// findingTemporal drives the same finding lifecycle as finding, but sends
// the API's Temporal calls itself — the same update-with-start, Update names,
// IDs and inputs the FindingServer sends — without the API in front (no
// gRPC, no actor or validation, no ledger reads or idempotency keys).
// Comparing it with the API path tells the API's share from the workflow's.
func (b *bench) findingTemporal(ctx context.Context, key string) (string, []time.Duration, error) {
	tc := b.s.Temporal
	ev := b.evidenceOf(key)
	sum := sha256.Sum256([]byte(key))
	f := casework.Finding{
		Lifecycle:    casework.Lifecycle{ID: fmt.Sprintf("f-%x", sum[:8]), RequestID: key + "/record", UnitCode: "430100"},
		InspectionID: b.inspectionOf(key),
		UnitName:     "长沙市", // the benchmark's inspection's unit
		Title:        "危化品仓库未设置可燃气体报警装置", Description: "检查发现某危化品仓库未按规定设置可燃气体检测报警装置。",
		Kind: "HAZARD", Severity: "GENERAL", ContentArea: 3, EvidenceIDs: []string{ev.found},
		RectificationOpinion: "限期安装报警装置。", FoundBy: member,
	}
	workflowID := workflows.FindingWorkflowID(f.ID)
	changes := []struct {
		action, requestID string
		input             any
	}{
		{workflows.ActionDiagnose, key + "/diagnose", workflows.DiagnoseInput{Change: workflows.Change{RequestID: key + "/diagnose", Actor: member},
			Diagnosis: casework.Diagnosis{Cause: "企业安全投入不足，主要负责人未履行职责", ResponsibleParties: []string{"某化工有限公司"},
				RiskLevel: "HIGH", LegalBasis: "《危险化学品安全管理条例》第二十条"}}},
		{workflows.ActionClassify, key + "/classify", workflows.ClassifyInput{Change: workflows.Change{RequestID: key + "/classify", Actor: office},
			Dispositions: []string{"RECTIFY"}}},
		{workflows.ActionRefer, key + "/refer", workflows.ReferInput{Change: workflows.Change{RequestID: key + "/refer", Actor: office},
			Referral: casework.Referral{ReceivingAuthority: "长沙市安全生产委员会办公室", FeedbackReceivedOn: today()}}},
		{workflows.ActionReportRectification, key + "/report", workflows.ReportRectificationInput{Change: workflows.Change{RequestID: key + "/report", Actor: unit},
			Report: "已安装可燃气体报警装置并通过验收", HandlingOfResponsible: "对仓库负责人给予警告处分", EvidenceIDs: []string{ev.rectified}}},
		{workflows.ActionVerify, key + "/verify", workflows.VerifyInput{Change: workflows.Change{RequestID: key + "/verify", Actor: office}, Accept: true, Reason: "整改到位"}},
	}

	durations := make([]time.Duration, 1+len(changes))
	var st workflows.FindingState
	start := time.Now()
	opts, in, workflowType := workflows.CreatingStart(f, taskQueue)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING // as the API's create
	startOp := tc.NewWithStartWorkflowOperation(opts, workflowType, in)
	h, err := tc.UpdateWithStartWorkflow(payloadcrypt.WithStart(ctx, opts, workflowType, in), client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: startOp,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: workflows.AwaitCreatedUpdateID(f.RequestID), UpdateName: workflows.UpdateAwaitCreated,
			Args: []any{workflows.AwaitCreatedInput{RequestID: f.RequestID}}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	durations[0] = time.Since(start)
	if err != nil {
		return workflowID, durations, fmt.Errorf("record %s: %w", key, err)
	}
	for i, c := range changes {
		start := time.Now()
		h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflowID, UpdateID: workflows.UpdateID(c.action, c.requestID), UpdateName: c.action,
			Args: []any{c.input}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, &st)
		}
		durations[i+1] = time.Since(start)
		if err != nil {
			return workflowID, durations, fmt.Errorf("%s %s: %w", c.action, key, err)
		}
	}
	if st.Finding.Stage != workflows.FindingClosed {
		return workflowID, durations, fmt.Errorf("finding %s ended %s, not %s", f.ID, st.Finding.Stage, workflows.FindingClosed)
	}
	return workflowID, durations, nil
}
