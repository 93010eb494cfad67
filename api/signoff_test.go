package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/internal/actor"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// department is a competent department's signer: 省住房和城乡建设厅, a
// member unit of the Safety Committee, signing in the committee role.
var department = actor.Actor{Name: "李明", Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"}

// majorHazardSignoffRule is the rule of issue 14 item 3: a MAJOR hazard
// closes once the competent department and then the office signed it off.
var majorHazardSignoffRule = map[string]any{"kind": "HAZARD", "severity": "MAJOR", "ordered": true, "signers": []any{
	map[string]any{"role": "committee", "organisation": department.Organisation}, map[string]any{"role": "office"},
}}

// TestFindingSignoffREST walks a MAJOR hazard's close-out (销号) through the
// API under a policy that wants the competent department's sign-off and
// then the office's. The office's verification leaves it RECTIFIED,
// waiting (search attribute, Web UI details, webhook); a signer out of
// turn, a committee member of another organisation, a unit and a sign-off
// without evidence are refused and change nothing; the department refuses
// with a new last day and the finding is REFERRED again; after the next
// report and verification the department signs (REST; a retry answers the
// same) and the office signs last (gRPC): CLOSED. The events are listed in
// order; the history is kept for the replay test.
func TestFindingSignoffREST(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventSignoffRequested, workflows.EventSignedOff, workflows.EventSignoffRefused)
	code, p := s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "policy"),
		"steps":         []any{map[string]any{"step": "OVERDUE", "working_days": 0}},
		"signoff_rules": []any{majorHazardSignoffRule}})
	require.Equal(t, http.StatusOK, code, "%v", p)
	require.Equal(t, []any{map[string]any{"kind": "HAZARD", "severity": "MAJOR", "ordered": true, "signers": []any{
		map[string]any{"role": "committee", "organisation": department.Organisation},
		map[string]any{"role": "office", "organisation": ""}}, "working_days": float64(0)}}, p["signoff_rules"])

	f := s.recordFinding(s.createInspection(), "record", "MAJOR")
	id := f["id"].(string)
	// The department uploads its own evidence: the signed close-out form,
	// the re-check's photo.
	upload := func(content string) string {
		code, body := s.uploadAs(&department, "DOCUMENT", "text/plain", []byte(content), url.Values{"file_name": {"销号审批表.txt"}})
		require.Equal(t, http.StatusOK, code, "%v", body)
		return body["id"].(string)
	}
	form := upload("重大事故隐患销号审批表（住建厅意见：同意销号）")
	photo := upload("复查照片：消防通道仍有占用")
	sign := func(key string, approve bool, reason string) map[string]any {
		return map[string]any{"request_id": rid(t, key), "approve": approve, "reason": reason, "evidence_ids": []string{form}}
	}

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-1"), s.evidenceOf(unit, "整改报告一")), "RECTIFIED")

	// Before the office's verification nothing waits for a signature.
	code, body := s.do("POST", "/v1/findings/"+id+":signOff", &department, sign("early", true, ""))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, workflows.ReasonNoSignoffPending, errorInfo(body)["reason"])

	verified := s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify-1"), "accept": true,
		"reason": "整改资料齐全"}, "RECTIFIED")
	so := verified["signoffs"].([]any)[0].(map[string]any)
	require.Equal(t, "PENDING", so["state"])
	require.Equal(t, true, so["ordered"])
	require.Equal(t, office.Name, so["requested_by"].(map[string]any)["name"])
	// The signers have the default 10 working days; the policy's overdue
	// step applies to their deadline.
	signoffDue := so["deadline"].(map[string]any)["due"].(string)
	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	want, err := cal.AddWorkingDays(today(), 10)
	require.NoError(t, err)
	require.Equal(t, want.Due.String(), signoffDue)
	require.NotEmpty(t, so["deadline"].(map[string]any)["explanation"])
	require.Equal(t, true, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaSignoffPending"))
	require.Equal(t, []any{workflows.AwaitingSignoff}, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"))
	require.Contains(t, s.details(workflows.FindingWorkflowID(id)),
		"— 阶段：已报整改；已验收，会签 0/2，待省住房和城乡建设厅（省安委会成员单位）、省安委办签署，会签 "+signoffDue+" 截止")
	requested := hooks.await(workflows.EventSignoffRequested, id, nil)
	require.Equal(t, f["ledger_number"], requested.Data["ledger_number"])

	// Refused, each naming why, and nothing recorded: a second
	// verification, the office out of turn, a committee member of another
	// organisation, a unit, no evidence.
	code, body = s.do("POST", "/v1/findings/"+id+":verify", &office, map[string]any{"request_id": rid(t, "verify-again"), "accept": true})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, workflows.ReasonSignoffPending, errorInfo(body)["reason"])
	code, body = s.do("POST", "/v1/findings/"+id+":signOff", &office, sign("office-first", true, ""))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	info := errorInfo(body)
	require.Equal(t, workflows.ReasonSignoffOutOfOrder, info["reason"])
	require.Equal(t, map[string]any{"subject": "finding/" + id, "action": "signOff", "stage": "RECTIFIED",
		"allowed": "verify,signOff,referClue,acknowledgeReferral,reportReferralOutcome,withdraw"}, info["metadata"])
	code, body = s.do("POST", "/v1/findings/"+id+":signOff", &committee, sign("stranger", true, ""))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, workflows.ReasonNotASigner, errorInfo(body)["reason"])
	code, body = s.do("POST", "/v1/findings/"+id+":signOff", &unit, sign("unit", true, ""))
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	code, body = s.do("POST", "/v1/findings/"+id+":signOff", &department, map[string]any{"request_id": rid(t, "no-evidence"),
		"approve": false, "due": "2026-02-30"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"reason", "due", "evidence_ids"}, fieldViolations(body))

	// The department refuses: REFERRED again, a new deadline, the reopen
	// counted.
	due := today().AddDays(20).String()
	refusal := sign("refuse", false, "复查发现消防通道仍有占用，整改不到位")
	refusal["evidence_ids"], refusal["due"] = []string{photo}, due
	refused := s.step(id, "signOff", department, refusal, "REFERRED")
	require.Equal(t, due, refused["deadline"].(map[string]any)["due"])
	require.Equal(t, float64(1), refused["reopen_count"])
	so = refused["signoffs"].([]any)[0].(map[string]any)
	require.Equal(t, "REFUSED", so["state"])
	sig := so["signatures"].([]any)[0].(map[string]any)
	require.Equal(t, []any{photo}, sig["evidence_ids"])
	require.Equal(t, department.Organisation, sig["signed_by"].(map[string]any)["organisation"])
	require.NotEqual(t, true, sig["signed"])
	require.Equal(t, false, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaSignoffPending"))
	require.Nil(t, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"), "nothing awaited of anyone but the unit")
	hooks.await(workflows.EventSignoffRefused, id, nil)

	// The next report and verification start a new round; both sign.
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-2"), s.evidenceOf(unit, "整改报告二")), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify-2"), "accept": true}, "RECTIFIED")
	signed := s.step(id, "signOff", department, sign("dept", true, "同意销号"), "RECTIFIED")
	code, again := s.do("POST", "/v1/findings/"+id+":signOff", &department, sign("dept", true, "同意销号"))
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, signed, again, "a retry answers as the first time")
	findings := xunchav1.NewFindingServiceClient(s.Conn)
	_, err = findings.SignOffFinding(s.ctx(department), &xunchav1.SignOffFindingRequest{Id: id, RequestId: rid(t, "dept-twice"),
		Approve: true, EvidenceIds: []string{form}})
	st := status.Convert(err)
	require.Equal(t, codes.FailedPrecondition, st.Code(), "%v", err)
	require.Equal(t, workflows.ReasonAlreadySigned, st.Details()[0].(*errdetails.ErrorInfo).GetReason())
	closed, err := findings.SignOffFinding(s.ctx(office), &xunchav1.SignOffFindingRequest{Id: id, RequestId: rid(t, "office"),
		Approve: true, Reason: "同意销号", EvidenceIds: []string{form}})
	require.NoError(t, err)
	require.Equal(t, xunchav1.Finding_CLOSED, closed.GetStage())
	require.Len(t, closed.GetSignoffs(), 2)
	last := closed.GetSignoffs()[1]
	require.Equal(t, xunchav1.Signoff_COMPLETE, last.GetState())
	require.Equal(t, int32(1), last.GetRound())
	require.Len(t, last.GetSignatures(), 2)
	require.Equal(t, int32(1), last.GetSignatures()[1].GetSigner())
	require.Equal(t, office.Name, last.GetSignatures()[1].GetSignedBy().GetName())
	done := hooks.await(workflows.EventSignedOff, id, func(e webhookEvent) bool { return e.Data["stage"] == "CLOSED" })
	require.Equal(t, "COMPLETE", done.Data["signoff"].(map[string]any)["state"])

	actions, events := s.events(id)
	require.Equal(t, []string{"record", "notify", "list", "diagnose", "classify", "refer", "reportRectification",
		"verify", "signOff", "reportRectification", "verify", "signOff", "signOff"}, actions)
	require.Equal(t, "RECTIFIED", events[7]["stage_after"])
	require.Contains(t, events[7]["note"], "the close-out awaits the sign-off of 省住房和城乡建设厅 (committee), role office (in this order)")
	require.Equal(t, "REFERRED", events[8]["stage_after"])
	require.Equal(t, []any{photo}, events[8]["evidence_ids"])
	var data map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[8]["data_json"].(string)), &data))
	require.Equal(t, due, data["deadline"].(map[string]any)["due"])
	require.Equal(t, "RECTIFIED", events[11]["stage_after"])
	require.Equal(t, department.Name, events[11]["actor"].(map[string]any)["name"])
	require.Equal(t, "CLOSED", events[12]["stage_after"])

	row, err := s.Ledger.GetFinding(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, "CLOSED", row.Stage)
	require.Len(t, row.Signoffs, 2, "the ledger holds both rounds")
	s.awaitClosed(id)
	// Recorded since the sign-off has a deadline (versionSignoffDeadline);
	// local-ledger-finding-signed-off keeps a round from before it.
	s.replayHistory("signoff-deadline-finding-signed-off", workflows.FindingWorkflowID(id))
}

// TestEscalationPolicySignoffRules: the policy has no sign-off rules until
// the office sets some, and each broken rule is named.
func TestEscalationPolicySignoffRules(t *testing.T) {
	s := setup(t)
	code, p := s.do("GET", "/v1/escalation-policy", &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", p)
	require.Empty(t, p["signoff_rules"])

	steps := []any{map[string]any{"step": "OVERDUE", "working_days": 0}}
	code, body := s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "bad"), "steps": steps,
		"signoff_rules": []any{
			map[string]any{"kind": "RESPONSIBILITY", "severity": "MAJOR", "signers": []any{map[string]any{"role": "office"}}},
			map[string]any{"kind": "HAZARD", "signers": []any{map[string]any{"role": "unit"}, map[string]any{}}},
			map[string]any{"signers": []any{map[string]any{"organisation": "省应急管理厅"}}},
			map[string]any{"kind": "SYSTEMIC_RISK", "working_days": 61, "signers": []any{map[string]any{"role": "office"}}},
		}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"signoff_rules[0].severity", "signoff_rules[1].signers[0].role", "signoff_rules[1].signers[1].role",
		"signoff_rules[2].kind", "signoff_rules[3].working_days"}, fieldViolations(body))
	code, got := s.do("GET", "/v1/escalation-policy", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, got["signoff_rules"], "a refused policy changes nothing")

	code, p = s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "set"), "steps": steps,
		"signoff_rules": []any{majorHazardSignoffRule}})
	require.Equal(t, http.StatusOK, code, "%v", p)
	require.Len(t, p["signoff_rules"], 1)
	code, got = s.do("GET", "/v1/escalation-policy", &unit, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, p, got)

	// Sent with the version it replaces, a policy read before another
	// change is refused (409) and changes nothing; with the version in
	// force it is set.
	inForce, err := strconv.ParseInt(p["version"].(string), 10, 64)
	require.NoError(t, err)
	stale := strconv.FormatInt(inForce-1, 10)
	code, body = s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "stale"), "steps": steps,
		"expected_version": stale})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, body["message"], fmt.Sprintf("is at version %d, not %s", inForce, stale))
	require.Equal(t, "VERSION_CHANGED", errorInfo(body)["reason"], "a reason a client can act on: %v", body)
	code, got = s.do("GET", "/v1/escalation-policy", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, p, got, "the refused policy changed nothing")
	code, body = s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "current"), "steps": steps,
		"signoff_rules": []any{majorHazardSignoffRule}, "expected_version": p["version"]})
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.NotEqual(t, p["version"], body["version"])
}

// details are a workflow's current details, as the Web UI shows them.
func (s *stack) details(workflowID string) string {
	s.t.Helper()
	v, err := s.Temporal.QueryWorkflow(context.Background(), workflowID, "", "__temporal_workflow_metadata")
	require.NoError(s.t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(s.t, v.Get(&meta))
	return meta.GetCurrentDetails()
}
