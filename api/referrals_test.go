package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/internal/actor"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

var (
	// commission receives the clues referred to 长沙市纪委监委.
	commission = actor.Actor{Name: "黄磊", Role: actor.RoleReceiver, Organisation: "长沙市纪委监委"}
	// otherCommission is another city's: it reaches none of them.
	otherCommission = actor.Actor{Name: "郑八", Role: actor.RoleReceiver, Organisation: "株洲市纪委监委"}
)

// clueFinding records a VIOLATION_CLUE finding, classifies it REFER_CLUE
// and refers it (REFERRED); it returns its ID.
func (s *stack) clueFinding(inspectionID, name string) string {
	s.t.Helper()
	body := findingBody(rid(s.t, name), "", s.evidence("clue of "+s.t.Name()+"/"+name))
	body["kind"], body["title"] = "VIOLATION_CLUE", "仓库主管部门负责人涉嫌违规审批"
	delete(body, "severity")
	code, got := s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, body)
	require.Equal(s.t, http.StatusOK, code, "%v", got)
	id := got["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(s.t, name+"-diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, map[string]any{"request_id": rid(s.t, name+"-classify"), "dispositions": []string{"RECTIFY", "REFER_CLUE"}}, "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(s.t, name+"-refer"), today().String(), ""), "REFERRED")
	return id
}

// referredClue is a clueFinding whose clue the office referred to
// commission, naming it (no route needed).
func (s *stack) referredClue(inspectionID, name string) string {
	s.t.Helper()
	id := s.clueFinding(inspectionID, name)
	s.step(id, "referClue", office, map[string]any{"request_id": rid(s.t, name+"-referClue"), "clue_kind": "DISCIPLINE",
		"cadre_rank": "DIVISION", "receiver": commission.Organisation, "override_reason": "测试：直接移交"}, "REFERRED")
	return id
}

// TestReferralRoutesREST: the office keeps the routing table; bad input
// names its fields and changes nothing; every change is an event; others
// read it, receivers do not.
func TestReferralRoutesREST(t *testing.T) {
	s := setup(t)
	code, body := s.do("PUT", "/v1/referral-routes", &office, map[string]any{"request_id": rid(t, "bad"),
		"unit_level": "CITY", "clue_kind": "DISCIPLINE", "ack_working_days": 31})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"cadre_rank", "receiver"}, fieldViolations(body))
	code, body = s.do("PUT", "/v1/referral-routes", &office, map[string]any{"request_id": rid(t, "bad-days"),
		"unit_level": "CITY", "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION", "receiver": "长沙市纪委监委", "ack_working_days": 31})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"ack_working_days"}, fieldViolations(body))
	code, body = s.do("PUT", "/v1/referral-routes", &office, map[string]any{"request_id": rid(t, "unknown"),
		"unit_level": "TOWN", "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION", "receiver": "x", "ack_working_days": 5})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)

	set := map[string]any{"request_id": rid(t, "set"), "unit_level": "CITY", "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION",
		"receiver": "长沙市纪委监委", "ack_working_days": 5, "note": "《中国共产党纪律检查机关监督执纪工作规则》"}
	code, route := s.do("PUT", "/v1/referral-routes", &office, set)
	require.Equal(t, http.StatusOK, code, "%v", route)
	require.Equal(t, "长沙市纪委监委", route["receiver"])
	require.Equal(t, office.Name, route["updated_by"].(map[string]any)["name"])
	code, again := s.do("PUT", "/v1/referral-routes", &office, set)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, route, again, "a retry answers as the first time")
	code, body = s.do("PUT", "/v1/referral-routes", &unit, set)
	require.Equal(t, http.StatusForbidden, code, "%v", body)

	code, list := s.do("GET", "/v1/referral-routes", &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["routes"], 1)
	code, _ = s.do("GET", "/v1/referral-routes", &commission, nil)
	require.Equal(t, http.StatusForbidden, code, "a receiver sees only what was referred to it")

	code, body = s.do("POST", "/v1/referral-routes:remove", &office, map[string]any{"request_id": rid(t, "remove"),
		"unit_level": "CITY", "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION", "note": "改由派驻纪检监察组办理"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("POST", "/v1/referral-routes:remove", &office, map[string]any{"request_id": rid(t, "remove-again"),
		"unit_level": "CITY", "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION"})
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	code, list = s.do("GET", "/v1/referral-routes", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, list["routes"])

	events, err := s.Ledger.Events(t.Context(), "referral_route", "CITY/DISCIPLINE/DIVISION")
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, "set_referral_route", events[0].Action)
	require.Equal(t, "remove_referral_route", events[1].Action)
	require.Contains(t, events[1].Note, "改由派驻纪检监察组办理")
}

// TestClueReferralREST walks a referral through the API: the routing table
// proposes 长沙市纪委监委 and the office confirms; a hazard is refused
// (409, NOT_A_CLUE); the commission — and no other body — sees the finding
// and acknowledges (回执); it opens a case; the finding cannot close before
// the handling result (409, REFERRAL_OUTCOME_PENDING); with it, it closes.
// Each step is an event in order and a webhook; a retry changes nothing.
func TestClueReferralREST(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventReferralReferred, workflows.EventReferralOutcome)
	code, body := s.do("PUT", "/v1/referral-routes", &office, map[string]any{"request_id": rid(t, "route"), "unit_level": "CITY",
		"clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION", "receiver": commission.Organisation, "ack_working_days": 3})
	require.Equal(t, http.StatusOK, code, "%v", body)
	inspection := s.createInspection()
	hazard := s.recordFinding(inspection, "hazard", "GENERAL")["id"].(string)
	id := s.clueFinding(inspection, "clue")
	other := s.clueFinding(inspection, "other")

	refer := map[string]any{"request_id": rid(t, "referClue"), "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION",
		"note": "涉嫌违规审批"}
	// A hazard carries no clue; the fields are checked first.
	code, body = s.do("POST", "/v1/findings/"+hazard+":referClue", &office, refer)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "STAGE_NOT_ALLOWED", errorInfo(body)["reason"], "a LISTED hazard")
	code, body = s.do("POST", "/v1/findings/"+id+":referClue", &office, map[string]any{"request_id": rid(t, "bad"),
		"clue_kind": "DISCIPLINE", "override_reason": "无"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"cadre_rank", "override_reason"}, fieldViolations(body))
	code, body = s.do("POST", "/v1/findings/"+id+":referClue", &office, map[string]any{"request_id": rid(t, "other-body"),
		"clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION", "receiver": "长沙市委组织部"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"override_reason"}, fieldViolations(body))
	require.Contains(t, violationRule(body, "override_reason"), "not to 长沙市纪委监委")

	// The commission sees nothing before the referral.
	code, _ = s.do("GET", "/v1/findings/"+id, &commission, nil)
	require.Equal(t, http.StatusNotFound, code)

	referred := s.step(id, "referClue", office, refer, "REFERRED")
	ref := referred["clue_referrals"].([]any)[0].(map[string]any)
	require.Equal(t, "AWAITING_RECEIPT", ref["state"])
	require.Equal(t, "CITY", ref["unit_level"])
	require.Equal(t, commission.Organisation, ref["receiver"])
	require.Equal(t, commission.Organisation, ref["proposed_receiver"])
	require.Equal(t, float64(3), ref["ack_working_days"])
	require.Equal(t, []any{workflows.AwaitingReferralReceipt}, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"))
	require.Contains(t, ref["ack_deadline"].(map[string]any)["rule"], "3 working days after "+today().String())
	code, again := s.do("POST", "/v1/findings/"+id+":referClue", &office, refer)
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, referred, again, "a retry answers as the first time")
	require.Contains(t, s.describeDetails(workflows.FindingWorkflowID(id)), "线索已移交长沙市纪委监委，")
	sent := hooks.await(workflows.EventReferralReferred, id, nil)
	require.Equal(t, commission.Organisation, sent.Data["referral"].(map[string]any)["receiver"])

	// The commission reaches this finding only; another body none.
	code, got := s.do("GET", "/v1/findings/"+id, &commission, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Len(t, got["clue_referrals"], 1)
	code, _ = s.do("GET", "/v1/findings/"+other, &commission, nil)
	require.Equal(t, http.StatusNotFound, code)
	code, list := s.do("GET", "/v1/findings", &commission, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["findings"], 1)
	code, _ = s.do("GET", "/v1/findings/"+id, &otherCommission, nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = s.do("POST", "/v1/findings/"+id+":acknowledgeReferral", &otherCommission, map[string]any{"request_id": rid(t, "stranger")})
	require.Equal(t, http.StatusNotFound, code)
	code, _ = s.do("GET", "/v1/inspections/"+inspection, &commission, nil)
	require.Equal(t, http.StatusForbidden, code)

	// The other finding went first to the organisation department (the
	// office enters its paper receipt), then to the commission: the
	// commission sees its own referral only, with its events.
	s.step(other, "referClue", office, map[string]any{"request_id": rid(t, "other-1"), "clue_kind": "DERELICTION", "cadre_rank": "DIVISION",
		"receiver": "长沙市委组织部", "override_reason": "涉及人员由组织部门管理"}, "REFERRED")
	code, body = s.do("POST", "/v1/findings/"+other+":referClue", &office, map[string]any{"request_id": rid(t, "other-too-soon"),
		"clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION"})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, workflows.ReasonReferralOpen, errorInfo(body)["reason"])
	s.step(other, "acknowledgeReferral", office, map[string]any{"request_id": rid(t, "other-paper"), "seq": 1, "note": "纸质回执已收"}, "REFERRED")
	s.step(other, "referClue", office, map[string]any{"request_id": rid(t, "other-2"), "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION"}, "REFERRED")
	code, got = s.do("GET", "/v1/findings/"+other, &commission, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Len(t, got["clue_referrals"], 1)
	require.Equal(t, float64(2), got["clue_referrals"].([]any)[0].(map[string]any)["seq"])
	code, evs := s.do("GET", "/v1/findings/"+other+"/events", &commission, nil)
	require.Equal(t, http.StatusOK, code, "%v", evs)
	var seen []string
	for _, e := range evs["events"].([]any) {
		seen = append(seen, e.(map[string]any)["action"].(string))
	}
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "referClue"}, seen)
	code, got = s.do("GET", "/v1/findings/"+other, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, got["clue_referrals"], 2, "the office sees every referral")

	// An outcome before the receipt is refused.
	code, body = s.do("POST", "/v1/findings/"+id+":reportReferralOutcome", &commission, map[string]any{"request_id": rid(t, "early"),
		"outcome": "NOT_FILED", "summary": "不予立案"})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, workflows.ReasonReferralNotAcknowledged, errorInfo(body)["reason"])

	acked := s.step(id, "acknowledgeReferral", commission, map[string]any{"request_id": rid(t, "ack"), "receipt_number": "长纪回〔2026〕12号"}, "REFERRED")
	a := acked["clue_referrals"].([]any)[0].(map[string]any)
	require.Equal(t, "ACKNOWLEDGED", a["state"])
	require.Equal(t, commission.Name, a["acknowledged_by"].(map[string]any)["name"])
	require.Equal(t, []any{workflows.AwaitingReferralOutcome}, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"))

	// Through gRPC: the case is opened (立案).
	findings := xunchav1.NewFindingServiceClient(s.Conn)
	filed, err := findings.ReportReferralOutcome(s.ctx(commission), &xunchav1.ReportReferralOutcomeRequest{Id: id, RequestId: rid(t, "filed"),
		Outcome: xunchav1.ReferralOutcome_FILED, Summary: "已立案审查", CaseNumber: "长纪案〔2026〕3号"})
	require.NoError(t, err)
	require.Equal(t, xunchav1.ClueReferral_FILED, filed.GetClueReferrals()[0].GetState())

	// The unit reports, but the finding cannot close before the result.
	ev := s.evidence("整改报告")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), ev), "RECTIFIED")
	_, err = findings.VerifyFinding(s.ctx(office), &xunchav1.VerifyFindingRequest{Id: id, RequestId: rid(t, "early-close"), Accept: true})
	st := status.Convert(err)
	require.Equal(t, codes.FailedPrecondition, st.Code(), "%v", err)
	require.Equal(t, workflows.ReasonReferralOutcomePending, st.Details()[0].(*errdetails.ErrorInfo).GetReason())

	// The receiver uploads its own decision (处分决定书): it reads it back,
	// another city's commission and the inspected unit do not reach it.
	code, up := s.uploadAs(&commission, "DOCUMENT", "text/plain", []byte("长纪处〔2026〕7号 处分决定书"), url.Values{"file_name": {"处分决定书.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", up)
	decision := up["id"].(string)
	code, _ = s.do("GET", "/v1/evidence/"+decision, &commission, nil)
	require.Equal(t, http.StatusOK, code, "the uploader reads its own evidence")
	code, _ = s.do("GET", "/v1/evidence/"+decision, &otherCommission, nil)
	require.Equal(t, http.StatusNotFound, code, "another receiver does not")
	code, _ = s.do("GET", "/v1/evidence/"+decision, &unit, nil)
	require.Equal(t, http.StatusNotFound, code, "nor does the inspected unit")
	concluded := s.step(id, "reportReferralOutcome", commission, map[string]any{"request_id": rid(t, "concluded"),
		"outcome": "CONCLUDED", "summary": "给予党内严重警告处分", "evidence_ids": []string{decision}}, "RECTIFIED")
	require.Equal(t, "CONCLUDED", concluded["clue_referrals"].([]any)[0].(map[string]any)["state"])
	require.Nil(t, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaAwaiting"), "the referral is settled")
	outcome := hooks.await(workflows.EventReferralOutcome, id, func(e webhookEvent) bool {
		return e.Data["referral"].(map[string]any)["state"] == "CONCLUDED"
	})
	require.Equal(t, "给予党内严重警告处分", outcome.Data["referral"].(map[string]any)["outcomes"].([]any)[1].(map[string]any)["summary"])
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "close"), "accept": true}, "CLOSED")

	actions, events := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "referClue", "acknowledgeReferral",
		"reportReferralOutcome", "reportRectification", "reportReferralOutcome", "verify"}, actions)
	require.Equal(t, commission.Organisation, events[6]["actor"].(map[string]any)["organisation"])
	var data map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[5]["data_json"].(string)), &data))
	require.Equal(t, commission.Organisation, data["referral"].(map[string]any)["proposed_receiver"])
	require.Equal(t, []any{decision}, events[9]["evidence_ids"])

	s.awaitClosed(id)
	s.replayHistory("local-ledger-finding-clue-referred", workflows.FindingWorkflowID(id))
}

// TestUnitSeesNoClueReferral: the inspected unit reads its clue finding
// and learns from its dispositions that the clue is referred, as the
// feedback tells it, but not the referral: the receiving body, its receipt,
// the case number and the outcome (its own cadres' case) stay with the
// receiving body, the office and the team. They were in every answer the
// unit got about the finding.
func TestUnitSeesNoClueReferral(t *testing.T) {
	s := setup(t)
	code, body := s.do("PUT", "/v1/referral-routes", &office, map[string]any{"request_id": rid(t, "route"), "unit_level": "CITY",
		"clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION", "receiver": commission.Organisation, "ack_working_days": 3})
	require.Equal(t, http.StatusOK, code, "%v", body)
	inspection := s.createInspection()
	id := s.clueFinding(inspection, "clue")
	s.step(id, "referClue", office, map[string]any{"request_id": rid(t, "referClue"), "clue_kind": "DISCIPLINE", "cadre_rank": "DIVISION",
		"note": "经研究移交审查"}, "REFERRED")
	s.step(id, "acknowledgeReferral", commission, map[string]any{"request_id": rid(t, "ack"), "receipt_number": "长纪回〔2026〕12号"}, "REFERRED")
	s.step(id, "reportReferralOutcome", commission, map[string]any{"request_id": rid(t, "filed"), "outcome": "FILED",
		"summary": "已对王某某立案审查", "case_number": "长纪案〔2026〕3号"}, "REFERRED")

	secret := []string{"长纪回〔2026〕12号", "长纪案〔2026〕3号", "王某某", commission.Organisation, "经研究移交审查"}
	requireUnseen := func(what string, answer map[string]any) {
		t.Helper()
		raw, err := json.Marshal(answer)
		require.NoError(t, err)
		for _, word := range secret {
			require.NotContains(t, string(raw), word, "%s shows the unit %q", what, word)
		}
	}
	code, got := s.do("GET", "/v1/findings/"+id, &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Empty(t, got["clue_referrals"])
	require.Contains(t, got["dispositions"], "REFER_CLUE", "the unit knows the clue is referred")
	requireUnseen("the finding", got)
	code, list := s.do("GET", "/v1/findings?inspection_id="+inspection, &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["findings"], 1)
	requireUnseen("the list", list)
	code, evs := s.do("GET", "/v1/findings/"+id+"/events", &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", evs)
	var actions []string
	for _, e := range evs["events"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer"}, actions)
	requireUnseen("the events", evs)
	// The unit's own change answers alike.
	reported := s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), s.evidence("整改报告")), "RECTIFIED")
	requireUnseen("the unit's own report's answer", reported)

	// The office and the team see the referral.
	for _, who := range []*actor.Actor{&office, &member} {
		code, got = s.do("GET", "/v1/findings/"+id, who, nil)
		require.Equal(t, http.StatusOK, code, "%v", got)
		require.Len(t, got["clue_referrals"], 1, who.Role)
	}
}

// describeDetails is the Web UI's details of a workflow (its current
// details, read with the metadata query).
func (s *stack) describeDetails(workflowID string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.Temporal.QueryWorkflow(ctx, workflowID, "", "__temporal_workflow_metadata")
	require.NoError(s.t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(s.t, v.Get(&meta))
	return meta.GetCurrentDetails()
}

// TestAttachedEvidenceIsNotHandedOn: evidence a change attached where the
// reach rules do not look (here a receiving body's case decision, on its
// referral's outcome) cannot be named by someone who cannot read it. The
// unit saw the decision's ID on its own finding (it no longer sees the
// referral: TestUnitSeesNoClueReferral), and an ID may come to it another
// way; naming it in its rectification report used to pass as "a fresh
// upload nobody named yet", and the unit could read the decision from then
// on.
func TestAttachedEvidenceIsNotHandedOn(t *testing.T) {
	s := setup(t)
	inspection := s.createInspection()
	id := s.referredClue(inspection, "clue")
	s.step(id, "acknowledgeReferral", commission, map[string]any{"request_id": rid(t, "ack"), "receipt_number": "长纪回〔2026〕12号"}, "REFERRED")
	code, up := s.uploadAs(&commission, "DOCUMENT", "text/plain", []byte("长纪处〔2026〕7号 处分决定书"), url.Values{"file_name": {"处分决定书.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", up)
	decision := up["id"].(string)
	s.step(id, "reportReferralOutcome", commission, map[string]any{"request_id": rid(t, "filed"),
		"outcome": "FILED", "summary": "已立案审查", "case_number": "长纪案〔2026〕3号", "evidence_ids": []string{decision}}, "REFERRED")

	code, _ = s.do("GET", "/v1/evidence/"+decision, &unit, nil)
	require.Equal(t, http.StatusNotFound, code, "the unit does not reach the decision")
	code, body := s.do("POST", "/v1/findings/"+id+":reportRectification", &unit, rectificationReport(rid(t, "launder"), decision))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, violationRule(body, "evidence_ids[0]"), "does not exist", "%v", body)
	code, _ = s.do("GET", "/v1/evidence/"+decision, &unit, nil)
	require.Equal(t, http.StatusNotFound, code, "and still does not")

	// The unit's own upload, named by nothing yet, is still its to name.
	code, own := s.uploadAs(&unit, "DOCUMENT", "text/plain", []byte("整改报告"), url.Values{"file_name": {"整改报告.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", own)
	code, body = s.do("POST", "/v1/findings/"+id+":reportRectification", &unit, rectificationReport(rid(t, "own"), own["id"].(string)))
	require.Equal(t, http.StatusOK, code, "%v", body)
}

// TestClueIsReferredBeforeItClosesOut: a violation clue classified
// REFER_CLUE went round with the inspection's feedback, its unit reported
// a rectification, and the office's verification closed it out: the problem
// list said 移交问题线索 and 已销号, and nobody with jurisdiction was ever
// told. The verification is refused until the clue is referred.
func TestClueIsReferredBeforeItClosesOut(t *testing.T) {
	s := setup(t)
	id := s.createInspection()
	P := "/v1/inspections/" + id
	step := func(who actor.Actor, path string, body map[string]any, want string) {
		t.Helper()
		code, got := s.do("POST", path, &who, body)
		require.Equal(t, http.StatusOK, code, "%s: %v", path, got)
		require.Equal(t, want, got["stage"], path)
	}
	b := findingBody(rid(t, "clue"), "", s.evidence("clue "+t.Name()))
	b["kind"], b["title"] = "VIOLATION_CLUE", "副市长违规干预危化品企业执法"
	delete(b, "severity")
	code, clue := s.do("POST", P+"/findings", &member, b)
	require.Equal(t, http.StatusOK, code, "%v", clue)
	f := "/v1/findings/" + clue["id"].(string)
	step(member, f+":diagnose", diagnosis(rid(t, "d")), "DIAGNOSED")
	step(office, f+":classify", map[string]any{"request_id": rid(t, "c"), "dispositions": []string{"REFER_CLUE"}}, "CLASSIFIED")
	step(office, f+":refer", referral(rid(t, "r"), today().String(), ""), "REFERRED")
	step(unit, f+":reportRectification", rectificationReport(rid(t, "p"), s.evidenceOf(unit, "rectified "+t.Name())), "RECTIFIED")

	code, body := s.do("POST", f+":verify", &office, map[string]any{"request_id": rid(t, "v"), "accept": true})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "CLUE_NOT_REFERRED", errorInfo(body)["reason"], "%v", body)
	code, got := s.do("GET", f, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "RECTIFIED", got["stage"], "nothing changed")
}

// TestClueInHandIsNotWithdrawn: a finding whose clue a body is handling is
// withdrawn only once the body reports the outcome (409 REFERRAL_OPEN,
// nothing changed); until 2026-12-01 the withdrawal ended the finding and
// the commission's result could never be recorded.
func TestClueInHandIsNotWithdrawn(t *testing.T) {
	s := setup(t)
	ins := s.createInspection()
	cl := s.referredClue(ins, "cl")
	s.step(cl, "acknowledgeReferral", commission, map[string]any{"request_id": rid(t, "ack"), "receipt_number": "长纪回〔2026〕1号"}, "REFERRED")
	s.step(cl, "reportReferralOutcome", commission, map[string]any{"request_id": rid(t, "filed"), "outcome": "FILED",
		"summary": "已立案审查", "case_number": "长纪案〔2026〕9号"}, "REFERRED")
	withdraw := map[string]any{"request_id": rid(t, "w"), "reason": "登记有误，撤销后重新登记"}
	code, body := s.do("POST", "/v1/findings/"+cl+":withdraw", &office, withdraw)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "REFERRAL_OPEN", errorInfo(body)["reason"], "%v", body)
	s.step(cl, "reportReferralOutcome", commission, map[string]any{"request_id": rid(t, "concluded"), "outcome": "CONCLUDED",
		"summary": "给予党内警告处分"}, "REFERRED")
	withdraw["request_id"] = rid(t, "w2")
	s.step(cl, "withdraw", office, withdraw, "WITHDRAWN")
}
