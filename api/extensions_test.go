package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// TestFindingExtensionsREST walks extensions (延期) of a MAJOR hazard's
// rectification deadline through the API: a wrong stage is a 409 naming
// it; the unit asks, a second request while one waits is refused, the
// office approves the day asked for (the deadline, its search attribute and
// the record move, the original day is kept); then the office enters a
// paper request on the unit's behalf through gRPC and refuses it. Each step
// is an event in order and a webhook; a retry changes nothing.
func TestFindingExtensionsREST(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventExtensionRequested, workflows.EventExtensionDecided)
	f := s.recordFinding(s.createInspection(), "record", "MAJOR")
	id := f["id"].(string)
	works := s.evidence("重大隐患治理方案及工期计划")

	ask := func(key, due string) map[string]any {
		return map[string]any{"request_id": rid(t, key), "due": due, "reason": "重大隐患需停产改造，工程周期长于整改期限",
			"evidence_ids": []string{works}}
	}
	// Before the referral no deadline runs: the stage refuses, naming itself.
	code, body := s.do("POST", "/v1/findings/"+id+":requestExtension", &unit, ask("early", today().AddDays(40).String()))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	info := errorInfo(body)
	require.Equal(t, "STAGE_NOT_ALLOWED", info["reason"])
	require.Equal(t, map[string]any{"subject": "finding/" + id, "action": "requestExtension", "stage": "LISTED",
		"allowed": "diagnose,withdraw"}, info["metadata"])

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	referred := s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	due := mustDate(t, referred["deadline"].(map[string]any)["due"].(string))
	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	later, err := cal.AddWorkingDays(due, 10)
	require.NoError(t, err)
	limit, err := cal.AddMonths(due, 1)
	require.NoError(t, err)

	// Fields first: a day not after the running deadline's, no evidence.
	code, body = s.do("POST", "/v1/findings/"+id+":requestExtension", &unit, map[string]any{"request_id": rid(t, "bad"),
		"due": due.String(), "reason": "需要更多时间"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"evidence_ids"}, fieldViolations(body))
	code, body = s.do("POST", "/v1/findings/"+id+":requestExtension", &unit, ask("same-day", due.String()))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"due"}, fieldViolations(body))
	code, body = s.do("POST", "/v1/findings/"+id+":requestExtension", &unit, ask("too-far", limit.Due.AddDays(1).String()))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, violationRule(body, "due"), "must be no later than "+limit.Due.String())

	asked := s.step(id, "requestExtension", unit, ask("ask-1", later.Due.String()), "REFERRED")
	require.Equal(t, due.String(), asked["deadline"].(map[string]any)["due"], "the deadline runs on while the office decides")
	ext := asked["extensions"].([]any)[0].(map[string]any)
	require.Equal(t, "PENDING", ext["state"])
	require.Equal(t, later.Due.String(), ext["requested_due"])
	require.Equal(t, due.String(), ext["original_due"])
	require.Equal(t, []any{workflows.AwaitingExtensionDecision}, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"))
	require.Equal(t, unit.Name, ext["requested_by"].(map[string]any)["name"])
	code, again := s.do("POST", "/v1/findings/"+id+":requestExtension", &unit, ask("ask-1", later.Due.String()))
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, asked, again, "a retry answers as the first time")

	code, body = s.do("POST", "/v1/findings/"+id+":requestExtension", &unit, ask("ask-twice", later.Due.AddDays(1).String()))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, workflows.ReasonExtensionPending, errorInfo(body)["reason"])
	code, body = s.do("POST", "/v1/findings/"+id+":decideExtension", &unit, map[string]any{"request_id": rid(t, "self"), "approve": true})
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	requested := hooks.await(workflows.EventExtensionRequested, id, nil)
	require.Equal(t, f["ledger_number"], requested.Data["ledger_number"])

	approved := s.step(id, "decideExtension", office, map[string]any{"request_id": rid(t, "approve-1"), "approve": true,
		"reason": "同意延期，请按计划推进治理工程"}, "REFERRED")
	deadline := approved["deadline"].(map[string]any)
	require.Equal(t, later.Due.String(), deadline["due"])
	require.Contains(t, deadline["explanation"].([]any)[0], "an extension approved by the office")
	require.Equal(t, due.String(), approved["original_due"])
	require.Nil(t, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"), "decided")
	ext = approved["extensions"].([]any)[0].(map[string]any)
	require.Equal(t, "APPROVED", ext["state"])
	require.Equal(t, later.Due.String(), ext["approved_due"])
	require.Equal(t, office.Name, ext["decided_by"].(map[string]any)["name"])
	require.NotEqual(t, true, approved["overdue"])
	dueAt, err := time.Parse(time.RFC3339, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaDueAt").(string))
	require.NoError(t, err)
	require.True(t, later.Due.End().Equal(dueAt), "XunchaDueAt %s follows the extension", dueAt)
	decided := hooks.await(workflows.EventExtensionDecided, id, nil)
	require.Equal(t, "APPROVED", decided.Data["extension"].(map[string]any)["state"])

	// The office enters the unit's paper request, through gRPC, and
	// refuses it; the refusal leaves the deadline where it is.
	findings := xunchav1.NewFindingServiceClient(s.Conn)
	second, err := findings.RequestExtension(s.ctx(office), &xunchav1.RequestExtensionRequest{Id: id, RequestId: rid(t, "ask-2"),
		Due: later.Due.AddDays(7).String(), Reason: "设备到货延迟", EvidenceIds: []string{works}, OnBehalfOf: "430100"})
	require.NoError(t, err)
	require.Len(t, second.GetExtensions(), 2)
	require.Equal(t, xunchav1.Extension_PENDING, second.GetExtensions()[1].GetState())
	require.Equal(t, "430100", second.GetExtensions()[1].GetRequestedBy().GetOnBehalfOf())
	require.Equal(t, later.Due.String(), second.GetExtensions()[1].GetPreviousDue())
	require.Equal(t, due.String(), second.GetExtensions()[1].GetOriginalDue())
	refused := s.step(id, "decideExtension", office, map[string]any{"request_id": rid(t, "refuse-2"),
		"reason": "设备可先行租用，不予再次延期"}, "REFERRED")
	require.Equal(t, later.Due.String(), refused["deadline"].(map[string]any)["due"])
	require.Equal(t, "REFUSED", refused["extensions"].([]any)[1].(map[string]any)["state"])
	_, err = findings.DecideExtension(s.ctx(office), &xunchav1.DecideExtensionRequest{Id: id, RequestId: rid(t, "none"), Approve: true})
	st := status.Convert(err)
	require.Equal(t, codes.FailedPrecondition, st.Code(), "%v", err)
	require.Len(t, st.Details(), 1)
	require.Equal(t, workflows.ReasonNoPendingExtension, st.Details()[0].(*errdetails.ErrorInfo).GetReason())

	actions, events := s.events(id)
	require.Equal(t, []string{"record", "notify", "list", "diagnose", "classify", "refer",
		"requestExtension", "decideExtension", "requestExtension", "decideExtension"}, actions)
	require.Equal(t, []any{works}, events[6]["evidence_ids"])
	var data map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[7]["data_json"].(string)), &data))
	require.Equal(t, due.String(), data["old_due"])
	require.Equal(t, later.Due.String(), data["new_due"])
	require.Equal(t, "430100", events[8]["actor"].(map[string]any)["on_behalf_of"])
	require.Contains(t, events[9]["note"], "设备可先行租用")

	code, got := s.do("GET", "/v1/findings/"+id, &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Len(t, got["extensions"], 2, "the unit sees its extensions")
	require.Equal(t, due.String(), got["original_due"])
	row, err := s.Ledger.GetFinding(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, later.Due, row.Deadline.Due, "the ledger holds the extended deadline")
	require.Equal(t, 2, row.DeadlineSeq)

	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "测试结束"}, "WITHDRAWN")
	s.awaitClosed(id)
	s.replayHistory("local-ledger-finding-extended", workflows.FindingWorkflowID(id))
}

// TestEscalationPolicyExtensionLimits: the policy shows the extension
// limits (the defaults until the office sets some), takes new ones with
// the ladder, and names each broken rule.
func TestEscalationPolicyExtensionLimits(t *testing.T) {
	s := setup(t)
	code, p := s.do("GET", "/v1/escalation-policy", &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", p)
	require.Equal(t, map[string]any{"max_count": float64(2), "total_months": float64(1), "total_working_days": float64(0),
		"severities": []any{"MAJOR"}}, p["extension_limits"])

	steps := []any{map[string]any{"step": "OVERDUE", "working_days": 0}}
	code, body := s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "bad"), "steps": steps,
		"extension_limits": map[string]any{"max_count": 3, "total_months": 1, "total_working_days": 10, "severities": []string{"GENERAL", "GENERAL"}}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"extension_limits.total_months", "extension_limits.severities[1]"}, fieldViolations(body))
	code, body = s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "unknown"), "steps": steps,
		"extension_limits": map[string]any{"max_count": 1, "total_months": 1, "severities": []string{"MINOR"}}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body)[0], "extension_limits.severities")

	set := map[string]any{"request_id": rid(t, "set"), "steps": steps,
		"extension_limits": map[string]any{"max_count": 3, "total_working_days": 20, "severities": []string{"MAJOR", "GENERAL"}}}
	code, p = s.do("PUT", "/v1/escalation-policy", &office, set)
	require.Equal(t, http.StatusOK, code, "%v", p)
	require.Equal(t, map[string]any{"max_count": float64(3), "total_months": float64(0), "total_working_days": float64(20),
		"severities": []any{"GENERAL", "MAJOR"}}, p["extension_limits"])
	code, got := s.do("GET", "/v1/escalation-policy", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, p, got)

	// The same request_id with other limits is another request.
	set["extension_limits"] = map[string]any{"max_count": 0}
	code, body = s.do("PUT", "/v1/escalation-policy", &office, set)
	require.Equal(t, http.StatusConflict, code, "%v", body)
}
