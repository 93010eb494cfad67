package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/workflows"
)

// TestClusterFlows walks the charter's procedure on the cluster: an
// inspection from plan to CLOSED, two findings (a MAJOR hazard whose first
// rectification is rejected, and a GENERAL one) from record to CLOSED, the
// report deadline missed — the ladder escalates and proposes an interview,
// which is held and closed. Every request goes to the next API process.
func TestClusterFlows(t *testing.T) {
	e := environment(t)
	r := newREST(e)
	ctx := t.Context()
	ins := "/v1/inspections/"

	created := r.must(t, http.MethodPost, "/v1/inspections", office, inspectionBody("flow-plan", "COMPREHENSIVE"))
	id := created["id"].(string)
	require.Equal(t, "PLANNED", created["stage"])
	for _, s := range stationSteps("flow-") {
		r.step(t, ins+id, s.action, s.who, s.body, s.stage)
	}

	// Two findings; the MAJOR hazard is notified and handed over at once.
	var findings []string
	for i, severity := range []string{"MAJOR", "GENERAL"} {
		ev, err := r.evidence(ctx, fmt.Sprintf("现场检查记录 %d", i))
		require.NoError(t, err)
		f := r.must(t, http.MethodPost, ins+id+"/findings", member, findingBody(fmt.Sprintf("flow-finding-%d", i), severity, ev))
		require.Equal(t, "LISTED", f["stage"])
		require.Regexp(t, `^\d{4}-430100-\d{4}$`, f["ledger_number"])
		findings = append(findings, f["id"].(string))
		r.step(t, "/v1/findings/"+f["id"].(string), "diagnose", member, diagnosis(fmt.Sprintf("flow-diagnose-%d", i)), "DIAGNOSED")
		r.step(t, "/v1/findings/"+f["id"].(string), "classify", office, classification(fmt.Sprintf("flow-classify-%d", i)), "CLASSIFIED")
	}
	actions := eventActions(t, r, "/v1/findings/"+findings[0]+"/events")
	require.Equal(t, []string{"record", "notify", "list", "diagnose", "classify"}, actions)

	// On-site work ended 20 days ago: the 5-working-day report deadline has
	// passed and stayed missed, so the ladder escalates to the office at
	// once (and proposes no interview: the team is late, not the unit).
	ended := today().AddDays(-20)
	r.step(t, ins+id, "endOnsite", teamLeader, map[string]any{"request_id": "flow-endOnsite", "onsite_ended_on": ended.String()}, "ONSITE_ENDED")
	require.Eventually(t, func() bool {
		code, body, err := r.do(ctx, http.MethodGet, "/v1/escalations?subject=inspection/"+id, office, nil)
		if err != nil || code != http.StatusOK {
			return false
		}
		for _, esc := range body["escalations"].([]any) {
			if esc.(map[string]any)["step"] == "OVERDUE" {
				return true
			}
		}
		return false
	}, time.Minute, 250*time.Millisecond, "the missed report deadline escalates")
	// The office summons the unit's leaders itself.
	interview := r.must(t, http.MethodPost, "/v1/interviews", office, map[string]any{"request_id": "flow-i0",
		"subject": "inspection/" + id, "reason": "巡查发现重大事故隐患，约谈单位主要负责人"})
	require.Equal(t, "OFFICE", interview["source"])
	iid := interview["id"].(string)
	r.step(t, "/v1/interviews/"+iid, "approve", office, map[string]any{"request_id": "flow-i1", "note": "同意约谈"}, "APPROVED")
	r.step(t, "/v1/interviews/"+iid, "hold", office, map[string]any{"request_id": "flow-i2", "held_on": today().String(),
		"attendees": []string{"长沙市常务副市长"}, "minutes": "约谈纪要", "requirements": "五个工作日内报送整改情况"}, "HELD")
	r.step(t, "/v1/interviews/"+iid, "reportFollowUp", unitUser, map[string]any{"request_id": "flow-i3", "report": "已召开专题会议部署整改"}, "FOLLOW_UP_REPORTED")
	r.step(t, "/v1/interviews/"+iid, "close", office, map[string]any{"request_id": "flow-i4"}, "CLOSED")

	// The late report, its review and approval; the feedback refers the
	// findings and starts their rectification deadline.
	report, err := r.evidence(ctx, "巡查报告")
	require.NoError(t, err)
	got := r.step(t, ins+id, "submitReport", teamLeader, map[string]any{"request_id": "flow-report", "report_evidence_id": report,
		"summary": "发现问题2项，其中重大事故隐患1项"}, "REPORTED")
	require.Equal(t, float64(1), got["missed_deadlines"])
	r.step(t, ins+id, "review", office, map[string]any{"request_id": "flow-review"}, "REVIEWED")
	r.step(t, ins+id, "approve", committee, map[string]any{"request_id": "flow-approve"}, "APPROVED")
	r.step(t, ins+id, "giveFeedback", office, map[string]any{"request_id": "flow-feedback", "feedback_delivered_on": today().String(),
		"recipients": []string{"市长"}, "receiving_authority": "长沙市安委办"}, "FEEDBACK_GIVEN")

	// Rectified and verified; the MAJOR hazard's first report is rejected.
	for i, fid := range findings {
		path := "/v1/findings/" + fid
		require.Equal(t, "REFERRED", r.must(t, http.MethodGet, path, office, nil)["stage"])
		ev, err := r.evidenceAs(ctx, unitUser, fmt.Sprintf("整改照片 %d", i))
		require.NoError(t, err)
		r.step(t, path, "reportRectification", unitUser, rectificationReport(fmt.Sprintf("flow-rect-%d", i), ev), "RECTIFIED")
		if i == 0 {
			got := r.step(t, path, "verify", office, map[string]any{"request_id": "flow-reject", "accept": false, "reason": "报警装置未联动"}, "REFERRED")
			require.EqualValues(t, 1, got["reopen_count"])
			r.step(t, path, "reportRectification", unitUser, rectificationReport("flow-rect-again", ev), "RECTIFIED")
		}
		r.step(t, path, "verify", office, map[string]any{"request_id": fmt.Sprintf("flow-accept-%d", i), "accept": true}, "CLOSED")
	}
	rect, err := r.evidenceAs(ctx, unitUser, "整改报告")
	require.NoError(t, err)
	r.step(t, ins+id, "reportRectification", unitUser, map[string]any{"request_id": "flow-unit-report", "report": "整改报告：2项问题全部整改",
		"evidence_ids": []string{rect}}, "RECTIFICATION_REPORTED")
	got = r.step(t, ins+id, "close", office, map[string]any{"request_id": "flow-close"}, "CLOSED")
	summary := got["summary"].(map[string]any)
	require.Equal(t, float64(2), summary["findings"])
	require.Equal(t, float64(2), summary["closed"])

	// A retry of the last change answers the same and records nothing.
	again := r.step(t, ins+id, "close", office, map[string]any{"request_id": "flow-close"}, "CLOSED")
	require.Equal(t, got, again)
	require.Equal(t, []string{"record", "notify", "list", "diagnose", "classify", "refer", "reportRectification", "verify",
		"reportRectification", "verify"}, eventActions(t, r, "/v1/findings/"+findings[0]+"/events"))

	// Temporal agrees: every workflow of the flow completed, its last
	// search-attribute stage and its result the ledger's stage.
	conn := ledgerConn(t, e)
	for _, wf := range []struct{ path, subjectType, id, workflowID string }{
		{ins + id, casework.SubjectInspection, id, workflows.InspectionWorkflowID(id)},
		{"/v1/findings/" + findings[0], casework.SubjectFinding, findings[0], workflows.FindingWorkflowID(findings[0])},
		{"/v1/findings/" + findings[1], casework.SubjectFinding, findings[1], workflows.FindingWorkflowID(findings[1])},
		{"/v1/interviews/" + iid, casework.SubjectInterview, iid, workflows.InterviewWorkflowID(iid)},
	} {
		stage := r.must(t, http.MethodGet, wf.path, office, nil)["stage"].(string)
		require.Equal(t, "CLOSED", stage, wf.path)
		requireCompletedAt(t, e, wf.workflowID, stage)
		requireStagesAgree(t, e, conn, wf.subjectType, wf.id, wf.workflowID)
	}
	r.mu.Lock()
	served := fmt.Sprint(r.served)
	r.mu.Unlock()
	for _, base := range r.bases {
		require.Positive(t, r.served[base], "every API process answered: %s", served)
	}
	t.Logf("answers per API process: %s; workflow tasks per worker: %s", served, taskWorkers(t, e,
		workflows.InspectionWorkflowID(id), workflows.FindingWorkflowID(findings[0]), workflows.FindingWorkflowID(findings[1]), workflows.InterviewWorkflowID(iid)))
}

// eventActions lists the actions of an events collection.
func eventActions(t *testing.T, r *rest, path string) []string {
	t.Helper()
	var actions []string
	for _, ev := range r.must(t, http.MethodGet, path, office, nil)["events"].([]any) {
		actions = append(actions, ev.(map[string]any)["action"].(string))
	}
	return actions
}

// requireCompletedAt checks that workflowID completed with stage: its
// XunchaStage search attribute and its result's stage.
func requireCompletedAt(t *testing.T, e *env, workflowID, stage string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var status enumspb.WorkflowExecutionStatus
	var attr string
	require.Eventually(t, func() bool {
		desc, err := e.describe(ctx, workflowID)
		if err != nil {
			return false
		}
		status = desc.GetWorkflowExecutionInfo().GetStatus()
		attr = ""
		if p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[searchattr.Stage.GetName()]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &attr)
		}
		return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}, time.Minute, 200*time.Millisecond, "%s finishes", workflowID)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, status, workflowID)
	require.Equal(t, stage, attr, "%s: Temporal's stage (search attribute)", workflowID)
	var result struct {
		Stage string `json:"stage"`
	}
	require.NoError(t, e.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, &result), workflowID)
	require.Equal(t, stage, result.Stage, "%s: Temporal's stage (result)", workflowID)
}

// describe describes the latest run of workflowID.
func (e *env) describe(ctx context.Context, workflowID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return e.temporal.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID}})
}

// requireStagesAgree checks that the ledger and Temporal went through the
// same stages, in order, and returns them: the ledger's events (their stage
// after) and the workflow's XunchaStage search attribute, as started and as
// each change published it. Repeats (a change that keeps the stage) count
// once.
func requireStagesAgree(t *testing.T, e *env, conn *pgx.Conn, subjectType, id, workflowID string) []string {
	t.Helper()
	ctx := t.Context()
	rows, err := conn.Query(ctx, `SELECT stage_after FROM events WHERE subject_type = $1 AND subject_id = $2 AND stage_after <> '' ORDER BY id`, subjectType, id)
	require.NoError(t, err)
	var ledgerStages []string
	for rows.Next() {
		var stage string
		require.NoError(t, rows.Scan(&stage))
		ledgerStages = appendChanged(ledgerStages, stage)
	}
	require.NoError(t, rows.Err())

	var temporalStages []string
	startedListed := false
	it := e.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		var fields map[string]*commonpb.Payload
		started := ev.GetWorkflowExecutionStartedEventAttributes()
		if started != nil {
			fields = started.GetSearchAttributes().GetIndexedFields()
		} else if a := ev.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			fields = a.GetSearchAttributes().GetIndexedFields()
		}
		if p := fields[searchattr.Stage.GetName()]; p != nil {
			var stage string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &stage))
			temporalStages = appendChanged(temporalStages, stage)
			startedListed = startedListed || (started != nil && stage == workflows.FindingListed)
		}
	}
	require.NotEmpty(t, ledgerStages, workflowID)
	published := ledgerStages
	if startedListed && len(published) > 1 && published[0] == workflows.FindingFound && published[1] == workflows.FindingListed {
		// Since code level 3 a new finding that its record lists at once
		// starts with the listed finding's attributes
		// (workflows.CreatingStart): its FOUND, written in the same
		// transaction as its listing, is the ledger's alone.
		published = published[1:]
	}
	require.Equal(t, published, temporalStages, "%s: the ledger's stages (events) and Temporal's (search attribute)", workflowID)
	return ledgerStages
}

// appendChanged appends stage unless it repeats the last one.
func appendChanged(stages []string, stage string) []string {
	if len(stages) > 0 && stages[len(stages)-1] == stage {
		return stages
	}
	return append(stages, stage)
}

// ledgerConn connects to the ledger's database for checks.
func ledgerConn(t *testing.T, e *env) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), e.pgDB)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(t.Context())) })
	return conn
}

// taskWorkers counts the workflow tasks of the given workflows per worker
// identity (informational: which worker process ran what).
func taskWorkers(t *testing.T, e *env, workflowIDs ...string) string {
	t.Helper()
	counts := map[string]int{}
	for _, id := range workflowIDs {
		it := e.temporal.GetWorkflowHistory(t.Context(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
				identity, _, _ := strings.Cut(a.GetIdentity(), "@")
				counts["pid "+identity]++
			}
		}
	}
	return fmt.Sprint(counts)
}
