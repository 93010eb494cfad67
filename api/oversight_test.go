package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

// searchAttribute decodes one search attribute of a workflow.
func (s *stack) searchAttribute(workflowID, name string) any {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := s.describeWorkflow(ctx, workflowID, "")
	require.NoError(s.t, err)
	p, ok := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[name]
	if !ok {
		return nil
	}
	var v any
	require.NoError(s.t, converter.GetDefaultDataConverter().FromPayload(p, &v))
	return v
}

func TestInterviewLifecycleREST(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	finding := s.recordFinding(inspectionID, "finding", "GENERAL")
	findingID := finding["id"].(string)
	subject := "finding/" + findingID

	// Refusals name the field, the subject or the role, and change nothing.
	code, body := s.do("POST", "/v1/interviews", &member, map[string]any{"request_id": rid(t, "bad"), "subject": "tip/x"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.ElementsMatch(t, []string{"subject", "reason"}, fieldViolations(body))
	code, body = s.do("POST", "/v1/interviews", &member, map[string]any{"request_id": rid(t, "missing"), "subject": "finding/nope", "reason": "x"})
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	require.Contains(t, body["message"], `finding "nope" not found`)
	code, body = s.do("POST", "/v1/interviews", &unit, map[string]any{"request_id": rid(t, "byunit"), "subject": subject, "reason": "x"})
	require.Equal(t, http.StatusForbidden, code, "%v", body)

	propose := map[string]any{"request_id": rid(t, "propose"), "subject": subject, "reason": "隐患整改不力，约谈单位主要负责人"}
	code, iv := s.do("POST", "/v1/interviews", &member, propose)
	require.Equal(t, http.StatusOK, code, "%v", iv)
	id := iv["id"].(string)
	require.Equal(t, "PROPOSED", iv["stage"])
	require.Equal(t, "TEAM", iv["source"])
	require.Equal(t, "430100", iv["unit_code"])
	require.Equal(t, subject, iv["subject"])
	require.Equal(t, member.Name, iv["proposed_by"].(map[string]any)["name"])
	code, again := s.do("POST", "/v1/interviews", &member, propose)
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, id, again["id"], "a retried proposal is the same interview")

	step := func(action string, who actor.Actor, req map[string]any, wantCode int) map[string]any {
		t.Helper()
		req["request_id"] = rid(t, req["rid"].(string))
		delete(req, "rid")
		code, body := s.do("POST", "/v1/interviews/"+id+":"+action, &who, req)
		require.Equal(t, wantCode, code, "%s: %v", action, body)
		return body
	}

	body = step("hold", office, map[string]any{"rid": "early", "held_on": today().String(),
		"attendees": []string{"李明"}, "minutes": "纪要", "requirements": "要求"}, http.StatusConflict)
	info := errorInfo(body)
	require.NotNil(t, info, "%v", body)
	require.Equal(t, "STAGE_NOT_ALLOWED", info["reason"])
	require.Equal(t, "PROPOSED", info["metadata"].(map[string]any)["stage"])
	require.Equal(t, "approve,cancel", info["metadata"].(map[string]any)["allowed"])
	step("approve", unit, map[string]any{"rid": "approve-unit"}, http.StatusForbidden)

	body = step("approve", committee, map[string]any{"rid": "approve", "note": "同意"}, http.StatusOK)
	require.Equal(t, "APPROVED", body["stage"])
	require.Equal(t, committee.Name, body["approved_by"].(map[string]any)["name"])

	body = step("hold", office, map[string]any{"rid": "hold-empty", "held_on": "yesterday"}, http.StatusBadRequest)
	require.Equal(t, []string{"held_on", "attendees", "minutes", "requirements"}, fieldViolations(body))
	body = step("hold", office, map[string]any{"rid": "hold-future", "held_on": today().AddDays(3).String(),
		"attendees": []string{"李明"}, "minutes": "纪要", "requirements": "要求"}, http.StatusBadRequest)
	require.Equal(t, []string{"held_on"}, fieldViolations(body))

	held := step("hold", office, map[string]any{"rid": "hold", "held_on": today().String(),
		"attendees": []string{"长沙市副市长 李明", "长沙市应急管理局局长 陈华"}, "minutes": "通报问题，听取整改汇报",
		"requirements": "5个工作日内报送整改落实情况"}, http.StatusOK)
	require.Equal(t, "HELD", held["stage"])
	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	want, err := cal.AddWorkingDays(today(), 5)
	require.NoError(t, err)
	deadline := held["follow_up_deadline"].(map[string]any)
	require.Equal(t, want.Due.String(), deadline["due"])
	require.NotEmpty(t, deadline["explanation"])
	require.Equal(t, "HELD", s.searchAttribute(workflows.InterviewWorkflowID(id), "XunchaStage"))
	require.Equal(t, "430100", s.searchAttribute(workflows.InterviewWorkflowID(id), "XunchaUnit"))
	require.NotNil(t, s.searchAttribute(workflows.InterviewWorkflowID(id), "XunchaDueAt"), "the running deadline is searchable")
	require.Equal(t, false, s.searchAttribute(workflows.InterviewWorkflowID(id), "XunchaOverdue"))

	code, got := s.do("GET", "/v1/interviews/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "HELD", got["stage"])
	require.Equal(t, today().String(), got["held_on"])
	code, list := s.do("GET", "/v1/interviews?subject="+url.QueryEscape(subject), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["interviews"], 1)
	code, list = s.do("GET", "/v1/interviews?unit_code=999999", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Empty(t, list["interviews"])

	step("reportFollowUp", unit, map[string]any{"rid": "report-empty"}, http.StatusBadRequest)
	ev := s.evidence("follow-up report of " + t.Name())
	body = step("reportFollowUp", unit, map[string]any{"rid": "report", "report": "已召开专题会议，完成整改", "evidence_ids": []string{ev}}, http.StatusOK)
	require.Equal(t, "FOLLOW_UP_REPORTED", body["stage"])
	require.Equal(t, []any{ev}, body["follow_up_evidence_ids"], "the report's evidence is shown with it")
	require.NotNil(t, body["follow_up_report_time"])
	require.EqualValues(t, 0, body["missed_deadlines"])
	body = step("cancel", office, map[string]any{"rid": "cancel-noreason"}, http.StatusBadRequest)
	require.Equal(t, []string{"note"}, fieldViolations(body))
	closed := step("close", office, map[string]any{"rid": "close"}, http.StatusOK)
	require.Equal(t, "CLOSED", closed["stage"])

	// The workflow ends; a retried close is answered from the ledger, any
	// other change refused with the stage.
	require.Eventually(t, func() bool {
		desc, err := s.describeWorkflow(t.Context(), workflows.InterviewWorkflowID(id), "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}, 20*time.Second, 100*time.Millisecond)
	body = step("close", office, map[string]any{"rid": "close"}, http.StatusOK)
	require.Equal(t, "CLOSED", body["stage"])
	body = step("cancel", office, map[string]any{"rid": "cancel-late", "note": "晚了"}, http.StatusConflict)
	require.Equal(t, "CLOSED", errorInfo(body)["metadata"].(map[string]any)["stage"])

	events, err := s.Ledger.Events(t.Context(), casework.SubjectInterview, id)
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	require.Equal(t, []string{"propose", "approve", "hold", "reportFollowUp", "close"}, actions)
	// The same log through the API, with who, why and which evidence (it
	// had no route), for whoever reads the interview.
	code, logged := s.do("GET", "/v1/interviews/"+id+"/events", &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", logged)
	var apiActions []string
	for _, e := range logged["events"].([]any) {
		apiActions = append(apiActions, e.(map[string]any)["action"].(string))
	}
	require.Equal(t, actions, apiActions)
	require.Equal(t, "同意", logged["events"].([]any)[1].(map[string]any)["note"], "the approval's note")
	require.Equal(t, []any{ev}, logged["events"].([]any)[3].(map[string]any)["evidence_ids"])
	code, _ = s.do("GET", "/v1/interviews/"+id+"/events", &zhuzhou, nil)
	require.Equal(t, http.StatusNotFound, code, "another unit does not reach it")
	row, err := s.Ledger.GetInterview(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, "CLOSED", row.Stage)
	require.Equal(t, []string{ev}, row.FollowUpEvidenceIDs)
	s.replayHistory("interview-held", workflows.InterviewWorkflowID(id))
}

// TestNoInterviewAboutAnEndedSubject: an interview about a finding that
// has ended (withdrawn, closed) or an inspection that has is refused (409
// SUBJECT_ENDED, in Chinese by default) and nothing is recorded; a retry of
// the proposal is answered alike. It was recorded PROPOSED and waited for
// ever: nothing cancels an interview of an ended subject.
func TestNoInterviewAboutAnEndedSubject(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	id := s.recordFinding(inspectionID, "finding", "GENERAL")["id"].(string)
	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}, "WITHDRAWN")
	propose := map[string]any{"request_id": rid(t, "propose"), "subject": "finding/" + id, "reason": "约谈单位主要负责人"}
	for range 2 { // the proposal, and its retry
		resp, body := s.askIn("", "POST", "/v1/interviews", s.authorization(office), propose)
		require.Equal(t, http.StatusConflict, resp.StatusCode, "%v", body)
		require.Equal(t, "SUBJECT_ENDED", errorInfo(body)["reason"], "%v", body)
		require.Equal(t, "finding/"+id+" 处于 已撤销：已经结束，不再就其提请约谈", body["message"])
	}
	code, list := s.do("GET", "/v1/interviews?subject=finding/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Empty(t, list["interviews"], "nothing recorded")
	// The finding's open sibling may still be the subject of one.
	open := s.recordFinding(inspectionID, "open", "GENERAL")["id"].(string)
	code, iv := s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": rid(t, "open"), "subject": "finding/" + open, "reason": "约谈"})
	require.Equal(t, http.StatusOK, code, "%v", iv)
}

func TestExposuresREST(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	subject := "inspection/" + inspectionID
	rec := map[string]any{
		"request_id": rid(t, "entry"), "kind": "ENTRY_ANNOUNCEMENT", "subject": subject, "outlet": "湖南日报",
		"link": "https://hnrb.example.cn/2026/a.html", "published_on": today().String(), "title": "省安全生产巡查组进驻长沙市",
	}
	code, body := s.do("POST", "/v1/exposures", &member, rec)
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	code, first := s.do("POST", "/v1/exposures", &office, rec)
	require.Equal(t, http.StatusOK, code, "%v", first)
	require.Equal(t, "ENTRY_ANNOUNCEMENT", first["kind"])
	require.Equal(t, office.Name, first["recorded_by"].(map[string]any)["name"])
	code, again := s.do("POST", "/v1/exposures", &office, rec)
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, first["id"], again["id"], "a retry records nothing new")

	code, body = s.do("POST", "/v1/exposures", &office, map[string]any{
		"kind": "RUMOUR", "subject": "tip/1", "link": "javascript:alert(1)", "published_on": "2026-02-30",
	})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"request_id", "kind", "subject", "outlet", "title", "link", "published_on"}, fieldViolations(body))
	code, body = s.do("POST", "/v1/exposures", &office, map[string]any{
		"request_id": rid(t, "hazard"), "kind": "MAJOR_HAZARD", "subject": subject, "outlet": "湖南卫视",
		"published_on": today().String(), "title": "重大隐患曝光",
	})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"subject"}, fieldViolations(body))
	code, body = s.do("POST", "/v1/exposures", &office, map[string]any{
		"request_id": rid(t, "nope"), "kind": "SYSTEMIC_RISK", "subject": "finding/nope", "outlet": "湖南卫视",
		"published_on": today().String(), "title": "系统性风险",
	})
	require.Equal(t, http.StatusNotFound, code, "%v", body)

	// An exposure fits its subject and has been published: a major hazard's
	// is of a finding that is one, a look-back's of a follow-up inspection,
	// and none is dated after today. All three were taken.
	general, major := s.recordFinding(inspectionID, "general", "GENERAL"), s.recordFinding(inspectionID, "major", "MAJOR")
	exposure := func(key, kind, subject, published string) (int, map[string]any) {
		return s.do("POST", "/v1/exposures", &office, map[string]any{"request_id": rid(t, key), "kind": kind, "subject": subject,
			"outlet": "湖南卫视", "published_on": published, "title": "曝光"})
	}
	code, body = exposure("general-hazard", "MAJOR_HAZARD", "finding/"+general["id"].(string), today().String())
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"kind"}, fieldViolations(body))
	code, body = exposure("major-hazard", "MAJOR_HAZARD", "finding/"+major["id"].(string), today().String())
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = exposure("look-back", "LOOK_BACK_RESULT", subject, today().String())
	require.Equal(t, http.StatusBadRequest, code, "a comprehensive inspection has no look-back: %v", body)
	require.Equal(t, []string{"kind"}, fieldViolations(body))
	// Said in Chinese with the kinds named (it read "为 GENERAL HAZARD").
	resp, zh := s.askIn("", "POST", "/v1/exposures", s.authorization(office), map[string]any{"request_id": rid(t, "general-hazard-zh"),
		"kind": "MAJOR_HAZARD", "subject": "finding/" + general["id"].(string), "outlet": "湖南卫视", "published_on": today().String(), "title": "曝光"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v", zh)
	require.Equal(t, fmt.Sprintf("kind：必须与对象相符：重大事故隐患曝光针对重大事故隐患，而问题 %s 为一般事故隐患", general["id"]), zh["message"])
	// A systemic risk's is of a finding that is one (or of an inspection),
	// a rectification's result of a finding or inspection whose
	// rectification was reported: both were taken of a general hazard just
	// listed, and of an inspection still on site.
	for _, c := range []struct{ key, kind, subject string }{
		{"systemic-of-hazard", "SYSTEMIC_RISK", "finding/" + general["id"].(string)},
		{"result-of-listed", "RECTIFICATION_RESULT", "finding/" + general["id"].(string)},
		{"result-of-onsite", "RECTIFICATION_RESULT", subject},
	} {
		code, body = exposure(c.key, c.kind, c.subject, today().String())
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", c.key, body)
		require.Equal(t, []string{"kind"}, fieldViolations(body), c.key)
	}
	code, body = exposure("tomorrow", "SYSTEMIC_RISK", subject, today().AddDays(1).String())
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"published_on"}, fieldViolations(body))

	// Stationing the team published its entry already; this is the second.
	code, list := s.do("GET", "/v1/exposures?subject="+url.QueryEscape(subject), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	exposures := list["exposures"].([]any)
	require.NotEmpty(t, exposures)
	require.Equal(t, first["id"], exposures[len(exposures)-1].(map[string]any)["id"], "oldest first (the finding's are on the finding)")
	for _, e := range exposures {
		require.Equal(t, subject, e.(map[string]any)["subject"])
	}
	code, body = s.do("GET", "/v1/exposures?subject=nonsense", &office, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"subject"}, fieldViolations(body))

	events, err := s.Ledger.Events(t.Context(), casework.SubjectInspection, inspectionID)
	require.NoError(t, err)
	var exposed int
	for _, e := range events {
		if e.Action == "expose" && strings.Contains(string(e.Data), first["id"].(string)) {
			exposed++
			require.Equal(t, signedIn(office), e.Actor)
		}
	}
	require.Equal(t, 1, exposed, "one event on the subject")
}

// marker is a string that appears nowhere unless a test puts it there.
func marker(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// payloadData collects the data of every Payload inside m, at any depth.
func payloadData(m protoreflect.Message) []string {
	var out []string
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		out = append(out, string(p.GetData()))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				out = append(out, payloadData(v.List().Get(i).Message())...)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				out = append(out, payloadData(mv.Message())...)
				return true
			})
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			out = append(out, payloadData(v.Message())...)
		}
		return true
	})
	return out
}

// protoTexts is m as protojson text, plus the decoded data of its payloads
// (which protojson shows in base64).
func protoTexts(t testing.TB, m proto.Message) []string {
	t.Helper()
	text, err := protojson.Marshal(m)
	require.NoError(t, err)
	return append([]string{string(text)}, payloadData(m.ProtoReflect())...)
}

// historyTexts is every event of a workflow's history as protojson text and
// payload data, decrypted with the stack's payload codec: what is checked
// is what the workflows recorded, not only what the Temporal server sees.
func (s *stack) historyTexts(workflowID string) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := s.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(s.t, err)
		require.NoError(s.t, s.Codec.DecodeMessage(ctx, e))
		out = append(out, protoTexts(s.t, e)...)
	}
	require.NotEmpty(s.t, out, "history of %s", workflowID)
	return out
}

// mentions reports the texts that contain any of the markers.
func mentions(texts []string, markers ...string) []string {
	var out []string
	for _, text := range texts {
		for _, m := range markers {
			if strings.Contains(text, m) {
				out = append(out, text)
			}
		}
	}
	return out
}

func TestTipReporterIdentityNeverLeaks(t *testing.T) {
	s := setup(t)
	name, contact := marker(t, "举报人"), marker(t, "tel-")
	inspectionID := s.createInspection()
	var answers []string // every REST answer, as JSON text
	do := func(method, path string, who *actor.Actor, body any, wantCode int) map[string]any {
		t.Helper()
		code, out := s.do(method, path, who, body)
		require.Equal(t, wantCode, code, "%s %s: %v", method, path, out)
		b, err := json.Marshal(out)
		require.NoError(t, err)
		answers = append(answers, string(b))
		return out
	}

	// Bad input names its fields.
	bad := do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "bad"), "channel": "PIGEON", "received_on": "soon", "reporter": map[string]any{},
	}, http.StatusBadRequest)
	require.Equal(t, []string{"channel", "received_on", "content", "reporter"}, fieldViolations(bad))
	do("POST", "/v1/inspections/"+inspectionID+"/tips", &unit, map[string]any{"request_id": rid(t, "unit")}, http.StatusForbidden)
	do("POST", "/v1/inspections/nope/tips", &member, map[string]any{"request_id": rid(t, "nope"), "channel": "LETTER",
		"received_on": today().String(), "content": "x"}, http.StatusNotFound)

	receive := map[string]any{
		"request_id": rid(t, "tip"), "channel": "LETTER", "received_on": today().String(),
		"content":  "某危化品仓库夜间违规储存，未设置可燃气体报警装置。",
		"reporter": map[string]any{"name": name, "contact": contact},
	}
	tip := do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, receive, http.StatusOK)
	tipID := tip["id"].(string)
	require.Equal(t, true, tip["reporter_identified"])
	require.Equal(t, "RECEIVED", tip["stage"])
	again := do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, receive, http.StatusOK)
	require.Equal(t, tipID, again["id"], "a retried receipt is the same tip")

	anonymous := do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "anonymous"), "channel": "HOTLINE", "received_on": today().String(), "content": "匿名来电反映问题",
	}, http.StatusOK)
	require.Equal(t, false, anonymous["reporter_identified"])

	// Triage: a member may not; both or neither choice is refused; a
	// dismissal needs only the reason.
	do("POST", "/v1/tips/"+tipID+":triage", &member, map[string]any{"request_id": rid(t, "t0"), "dismiss_reason": "x"}, http.StatusForbidden)
	neither := do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, map[string]any{"request_id": rid(t, "t1")}, http.StatusBadRequest)
	require.Equal(t, []string{"dismiss_reason"}, fieldViolations(neither))
	dismissed := do("POST", "/v1/tips/"+anonymous["id"].(string)+":triage", &teamLeader,
		map[string]any{"request_id": rid(t, "t2"), "dismiss_reason": "经核查不属实"}, http.StatusOK)
	require.Equal(t, "DISMISSED", dismissed["stage"])

	ev := s.evidence("scan of the letter of " + t.Name())
	findingReq := findingBody("ignored", "GENERAL", ev)
	delete(findingReq, "request_id")
	noTitle := findingBody("ignored", "GENERAL", ev)
	delete(noTitle, "title")
	invalid := do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, map[string]any{"request_id": rid(t, "t3"), "finding": noTitle}, http.StatusBadRequest)
	require.Equal(t, []string{"finding.title"}, fieldViolations(invalid))
	triage := map[string]any{"request_id": rid(t, "t4"), "finding": findingReq}
	triaged := do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, triage, http.StatusOK)
	require.Equal(t, "FINDING", triaged["stage"])
	findingID := triaged["finding_id"].(string)
	require.NotEmpty(t, findingID)
	retried := do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, triage, http.StatusOK)
	require.Equal(t, findingID, retried["finding_id"], "a retried triage records nothing new")
	do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, map[string]any{"request_id": rid(t, "t5"), "dismiss_reason": "改主意"}, http.StatusConflict)

	got := do("GET", "/v1/tips/"+tipID, &office, nil, http.StatusOK)
	require.Equal(t, findingID, got["finding_id"])
	list := do("GET", "/v1/inspections/"+inspectionID+"/tips", &office, nil, http.StatusOK)
	require.Len(t, list["tips"], 2)
	finding := do("GET", "/v1/findings/"+findingID, &office, nil, http.StatusOK)
	require.Equal(t, inspectionID, finding["inspection_id"])
	require.Equal(t, "LISTED", finding["stage"])
	do("GET", "/v1/findings/"+findingID+"/events", &office, nil, http.StatusOK)
	do("GET", "/v1/findings?inspection_id="+inspectionID, &office, nil, http.StatusOK)
	do("GET", "/v1/inspections/"+inspectionID, &office, nil, http.StatusOK)

	// The identity is really stored: sealed, bound to the tip's ID.
	row, err := s.Ledger.GetTip(t.Context(), tipID)
	require.NoError(t, err)
	require.NotEmpty(t, row.ReporterCiphertext)
	require.NotContains(t, string(row.ReporterCiphertext), name)
	require.NotContains(t, string(row.ReporterCiphertext), contact)
	plain, err := s.Tips.Open(row.ReporterCiphertext, []byte(tipID))
	require.NoError(t, err)
	var identity struct{ Name, Contact string }
	require.NoError(t, json.Unmarshal(plain, &identity))
	require.Equal(t, name, identity.Name)
	require.Equal(t, contact, identity.Contact)
	_, err = s.Tips.Open(row.ReporterCiphertext, []byte(anonymous["id"].(string)))
	require.Error(t, err, "the ciphertext opens only for its own tip")

	// ... and nowhere else.
	require.Empty(t, mentions(answers, name, contact), "REST answers")
	var events []string
	for _, subject := range []struct{ typ, id string }{
		{ledger.SubjectTip, tipID}, {casework.SubjectFinding, findingID}, {casework.SubjectInspection, inspectionID},
	} {
		list, err := s.Ledger.Events(t.Context(), subject.typ, subject.id)
		require.NoError(t, err)
		require.NotEmpty(t, list)
		for _, e := range list {
			b, err := json.Marshal(e)
			require.NoError(t, err)
			events = append(events, string(b))
		}
	}
	require.Empty(t, mentions(events, name, contact), "ledger events")

	var histories []string
	for _, wid := range []string{workflows.FindingWorkflowID(findingID), workflows.InspectionWorkflowID(inspectionID)} {
		histories = append(histories, s.historyTexts(wid)...)
		desc, err := s.describeWorkflow(t.Context(), wid, "")
		require.NoError(t, err)
		info := desc.GetWorkflowExecutionInfo()
		require.NotEmpty(t, info.GetSearchAttributes().GetIndexedFields())
		require.Empty(t, mentions(protoTexts(t, info.GetSearchAttributes()), name, contact), "search attributes of %s", wid)
		require.NoError(t, s.Codec.DecodeMessage(t.Context(), desc))
		require.Empty(t, mentions(protoTexts(t, desc), name, contact), "description of %s", wid)
	}
	require.Empty(t, mentions(histories, name, contact), "Temporal histories")
	// The scan sees through payloads: the finding's title, which the
	// history does carry, is found.
	require.NotEmpty(t, mentions(histories, findingReq["title"].(string)), "the history scan decodes payloads")

	var logLines []string
	for _, entry := range s.Logs.All() {
		b, err := json.Marshal(entry.ContextMap())
		require.NoError(t, err)
		logLines = append(logLines, entry.LoggerName+" "+entry.Message+" "+string(b))
	}
	require.Empty(t, mentions(logLines, name, contact), "logs")
	require.NotEmpty(t, mentions(logLines, tipID), "the logs name the tip by its ID")
}

// databaseTexts is every row of every table of the stack's database, as
// text, read raw by its owner (a superuser), the way someone with a copy of
// the database would see it.
func (s *stack) databaseTexts() []string {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.OwnerURL)
	require.NoError(s.t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`)
	require.NoError(s.t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(s.t, err)
	require.Contains(s.t, tables, "tips")
	var out []string
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		require.NoError(s.t, err)
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(s.t, err)
		for _, text := range texts {
			out = append(out, table+": "+text)
		}
	}
	return out
}

// TestTipContentNeverStoredInPlaintext receives tips through the API and
// reads the whole database raw: what a tip says is nowhere, in no form, yet
// the API answers it to those who may read it.
func TestTipContentNeverStoredInPlaintext(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	content := marker(t, "举报内容：夜间违规储存危化品，编号") + "。"
	name := marker(t, "举报人")
	code, tip := s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "tip"), "channel": "LETTER", "received_on": today().String(), "content": content,
		"reporter": map[string]any{"name": name},
	})
	require.Equal(t, http.StatusOK, code, "%v", tip)
	require.Equal(t, content, tip["content"])
	tipID := tip["id"].(string)
	code, got := s.do("GET", "/v1/tips/"+tipID, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, content, got["content"])

	texts := s.databaseTexts()
	require.NotEmpty(t, mentions(texts, tipID), "the scan reads the tips table")
	for _, form := range []string{content, hex.EncodeToString([]byte(content)), base64.StdEncoding.EncodeToString([]byte(content)),
		strings.TrimSuffix(content, "。"), name} {
		require.Empty(t, mentions(texts, form), "the database holds %q", form)
	}
}

// TestTriageIsTheTipsOnce: a triage's answer holds the tip's content, so it
// is a read, recorded like any other; a tip already triaged into a finding
// answers only the request that did it (its retry), and refuses another
// without its content; nobody can record a finding under the key a tip's
// triage uses, to have the triage linked to it; a tip is received on a day
// that has come.
func TestTriageIsTheTipsOnce(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	code, tip := s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "tip"), "channel": "LETTER", "received_on": today().String(), "content": "某企业夜间偷排废水。"})
	require.Equal(t, http.StatusOK, code, "%v", tip)
	tipID := tip["id"].(string)

	// Squatting the triage's key is refused.
	squat := findingBody("tip-"+tipID, "GENERAL", s.evidence("unrelated "+t.Name()))
	squat["title"] = "无关的问题"
	code, body := s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, squat)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, violationRule(body, "request_id"), `must not begin with "tip-"`)

	start := time.Now().Add(-time.Second)
	ev := s.evidence("scan of the letter of " + t.Name())
	findingReq := findingBody("ignored", "GENERAL", ev)
	delete(findingReq, "request_id")
	triage := map[string]any{"request_id": rid(t, "t1"), "finding": findingReq}
	code, triaged := s.do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, triage)
	require.Equal(t, http.StatusOK, code, "%v", triaged)
	require.Equal(t, "某企业夜间偷排废水。", triaged["content"])
	code, finding := s.do("GET", "/v1/findings/"+triaged["finding_id"].(string), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", finding)
	require.Equal(t, findingReq["title"], finding["title"], "the triage's own finding")
	code, retried := s.do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, triage)
	require.Equal(t, http.StatusOK, code, "%v", retried)
	require.Equal(t, triaged["finding_id"], retried["finding_id"])

	other := map[string]any{"request_id": rid(t, "t2"), "finding": findingReq}
	code, refused := s.do("POST", "/v1/tips/"+tipID+":triage", &office, other)
	require.Equal(t, http.StatusConflict, code, "%v", refused)
	require.NotContains(t, refused, "content")

	var reads int
	for _, r := range s.accessRecords(start) {
		if r.Action == "/xuncha.v1.TipService/TriageTip" && r.Resource == "tips/"+tipID && r.Outcome == ledger.AccessRead {
			reads++
		}
	}
	require.Equal(t, 2, reads, "the triage and its retry, each a read of the content")

	code, body = s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "ahead"), "channel": "LETTER", "received_on": today().AddDays(1).String(), "content": "x"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, violationRule(body, "received_on"), "must not be after today")
}

// TestTriagesOfOneTipAtOnce: a triage into a finding and a dismissal of the
// same tip, sent at once (the dismissal a little later each round, to land
// in the triage's every step): exactly one of them is done, and the tip and
// the problem list agree. A dismissal that came between the triage's check
// of the tip and its finding's record left a finding no tip pointed to, its
// triage answered 409.
func TestTriagesOfOneTipAtOnce(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	ev := s.evidence("scan " + t.Name())
	findings := 0
	for i := range 6 {
		code, tip := s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
			"request_id": rid(t, fmt.Sprint("tip", i)), "channel": "LETTER", "received_on": today().String(),
			"content": fmt.Sprint("举报内容", i)})
		require.Equal(t, http.StatusOK, code, "%v", tip)
		tipID := tip["id"].(string)
		fb := findingBody("ignored", "GENERAL", ev)
		delete(fb, "request_id")
		fb["title"] = fmt.Sprint("举报转来的问题 ", i)
		var wg sync.WaitGroup
		var fcode int
		var fbody map[string]any
		wg.Go(func() {
			fcode, fbody = s.do("POST", "/v1/tips/"+tipID+":triage", &teamLeader, map[string]any{"request_id": rid(t, fmt.Sprint("f", i)), "finding": fb})
		})
		time.Sleep(time.Duration(8*i) * time.Millisecond)
		dcode, dbody := s.do("POST", "/v1/tips/"+tipID+":triage", &office, map[string]any{"request_id": rid(t, fmt.Sprint("d", i)), "dismiss_reason": "经核查不属实"})
		wg.Wait()
		require.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, []int{fcode, dcode}, "round %d: %v %v", i, fbody, dbody)
		_, got := s.do("GET", "/v1/tips/"+tipID, &office, nil)
		if fcode == http.StatusOK {
			findings++
			require.Equal(t, "FINDING", got["stage"], "round %d", i)
			require.Equal(t, fbody["finding_id"], got["finding_id"], "round %d", i)
		} else {
			require.Equal(t, "DISMISSED", got["stage"], "round %d", i)
		}
	}
	_, list := s.do("GET", "/v1/findings?inspection_id="+inspectionID+"&page_size=500", &office, nil)
	listed, _ := list["findings"].([]any)
	require.Equal(t, findings, len(listed), "a finding for each tip that became one, and none besides")
}

// TestReportWaitsForTheTips: the team reports once every tip is triaged,
// and tips are received from the inspection's notice until then. A tip
// nobody triaged held nothing back (the inspection went on to CLOSED with
// the tip RECEIVED), and a tip was received for a cancelled inspection.
func TestReportWaitsForTheTips(t *testing.T) {
	s := setup(t)
	id := s.createInspection()
	tipBody := func(name string) map[string]any {
		return map[string]any{"request_id": rid(t, name), "channel": "HOTLINE", "received_on": today().String(), "content": "某化工厂夜间违规动火作业"}
	}
	early := tipBody("early")
	early["received_on"] = "2001-01-01"
	code, body := s.do("POST", "/v1/inspections/"+id+"/tips", &member, early)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, violationRule(body, "received_on"), "must not be before")
	code, tip := s.do("POST", "/v1/inspections/"+id+"/tips", &member, tipBody("tip"))
	require.Equal(t, http.StatusOK, code, "%v", tip)
	s.inspectionStep(id, "endOnsite", teamLeader, map[string]any{"request_id": rid(t, "end"), "onsite_ended_on": today().String()}, "ONSITE_ENDED")
	report := map[string]any{"request_id": rid(t, "report"), "report_evidence_id": s.evidence("inspection report " + t.Name()), "summary": "发现问题0项"}
	code, body = s.do("POST", "/v1/inspections/"+id+":submitReport", &teamLeader, report)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "TIPS_UNTRIAGED", errorInfo(body)["reason"], "%v", body)
	require.Contains(t, body["message"], tip["id"])

	code, body = s.do("POST", "/v1/tips/"+tip["id"].(string)+":triage", &teamLeader, map[string]any{"request_id": rid(t, "dismiss"), "dismiss_reason": "经核查不属实"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	s.inspectionStep(id, "submitReport", teamLeader, report, "REPORTED")
	code, body = s.do("POST", "/v1/inspections/"+id+"/tips", &member, tipBody("late"))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "STAGE_NOT_ALLOWED", errorInfo(body)["reason"], "%v", body)

	code, cancelled := s.do("POST", "/v1/inspections", &office, inspectionBody(rid(t, "cancelled")))
	require.Equal(t, http.StatusOK, code, "%v", cancelled)
	code, body = s.do("POST", "/v1/inspections/"+cancelled["id"].(string)+":cancel", &office, map[string]any{"request_id": rid(t, "cancel"), "reason": "计划调整"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("POST", "/v1/inspections/"+cancelled["id"].(string)+"/tips", &office, tipBody("on-cancelled"))
	require.Equal(t, http.StatusConflict, code, "%v", body)
}
