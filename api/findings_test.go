package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/testenv"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// Actors of the finding tests besides office.
var (
	member = actor.Actor{Name: "张伟", Role: actor.RoleTeamMember, Organisation: "省安全生产巡查第一组"}
	unit   = actor.Actor{Name: "李四", Role: actor.RoleUnit, Organisation: "长沙市应急管理局"}
	// zhuzhou is a unit user of 430200 (userOf).
	zhuzhou = actor.Actor{Name: "周红", Role: actor.RoleUnit, Organisation: "株洲市应急管理局"}
	// unitless is a unit user whose token names no unit code.
	unitless   = actor.Actor{Name: "吴六", Role: actor.RoleUnit, Organisation: "未配置单位"}
	committee  = actor.Actor{Name: "刘主任", Role: actor.RoleCommittee, Organisation: "省安全生产委员会"}
	teamLeader = actor.Actor{Name: "赵强", Role: actor.RoleTeamLeader, Organisation: "省安全生产巡查第一组"}
)

// rid makes a request ID unique to the test: the Temporal dev server is
// shared by every test of the package, and IDs derive from request IDs.
func rid(t testing.TB, name string) string { return t.Name() + "/" + name }

// today is the current day in Asia/Shanghai.
func today() calendar.Date { return calendar.DateOf(time.Now()) }

// createInspection creates an inspection of unit 430100 and returns its ID.
func (s *stack) createInspection() string {
	s.t.Helper()
	code, body := s.do("POST", "/v1/inspections", &office, inspectionBody(rid(s.t, "inspection")))
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	id := body["id"].(string)
	s.station(id)
	return id
}

// station takes an inspection from PLANNED to STATIONED, when findings can
// be recorded. The unit was notified and the team entered three months ago
// (a step may be recorded late, never before the step it follows), so that
// a test may end the on-site work, or give the feedback, long enough ago
// for the report's or the rectification's deadline to be overdue.
func (s *stack) station(id string) {
	s.t.Helper()
	steps := []struct {
		action string
		who    actor.Actor
		body   map[string]any
		stage  string
	}{
		{"approveTeam", committee, map[string]any{"request_id": rid(s.t, id+"/approveTeam")}, "PLANNED"},
		{"notify", office, map[string]any{"request_id": rid(s.t, id+"/notify"), "notified_on": today().AddDays(-91).String()}, "NOTIFIED"},
		{"station", teamLeader, map[string]any{"request_id": rid(s.t, id+"/station"), "stationed_on": today().AddDays(-90).String(),
			"announcement": "巡查任务、时间和要求", "contact_phone": "0731-12345678", "contact_mailbox": "长沙市某信箱"}, "STATIONED"},
	}
	for _, st := range steps {
		code, body := s.do("POST", "/v1/inspections/"+id+":"+st.action, &st.who, st.body)
		require.Equal(s.t, http.StatusOK, code, "%s: %v", st.action, body)
		require.Equal(s.t, st.stage, body["stage"], st.action)
	}
}

// upload sends content declared as image/jpeg through POST /v1/evidence
// and returns the answer (see uploadAs); the content must be a JPEG.
func (s *stack) upload(who *actor.Actor, kind string, content []byte, query url.Values) (int, map[string]any) {
	s.t.Helper()
	return s.uploadAs(who, kind, "image/jpeg", content, query)
}

// evidence uploads content as a plain-text DOCUMENT, as the team member
// who records findings, and returns its evidence ID.
func (s *stack) evidence(content string) string {
	s.t.Helper()
	return s.evidenceOf(member, content)
}

// evidenceOf is evidence uploaded by who: a change may name only evidence
// its caller can read (its own upload, or evidence of an object in reach).
func (s *stack) evidenceOf(who actor.Actor, content string) string {
	s.t.Helper()
	code, body := s.uploadAs(&who, "DOCUMENT", "text/plain", []byte(content), url.Values{"file_name": {"材料.txt"}})
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	return body["id"].(string)
}

// findingBody is a RecordFindingRequest.
func findingBody(requestID, severity string, evidenceIDs ...string) map[string]any {
	return map[string]any{
		"request_id":            requestID,
		"title":                 "危化品仓库未设置可燃气体报警装置",
		"description":           "检查发现某危化品仓库未按规定设置可燃气体检测报警装置。",
		"kind":                  "HAZARD",
		"severity":              severity,
		"content_area":          3,
		"evidence_ids":          evidenceIDs,
		"rectification_opinion": "立即停止使用该仓库，限期安装报警装置。",
	}
}

// recordFinding records a GENERAL hazard and returns the answer.
func (s *stack) recordFinding(inspectionID, name, severity string) map[string]any {
	s.t.Helper()
	ev := s.evidence("evidence of " + s.t.Name() + "/" + name)
	code, body := s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, findingBody(rid(s.t, name), severity, ev))
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	require.Equal(s.t, "LISTED", body["stage"])
	return body
}

// step sends a stage change and requires the stage it leads to.
func (s *stack) step(id, action string, who actor.Actor, body map[string]any, wantStage string) map[string]any {
	s.t.Helper()
	code, got := s.do("POST", "/v1/findings/"+id+":"+action, &who, body)
	require.Equal(s.t, http.StatusOK, code, "%s: %v", action, got)
	require.Equal(s.t, wantStage, got["stage"], "%s", action)
	return got
}

// awaitClosed waits until finding id's workflow has finished.
func (s *stack) awaitClosed(id string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		desc, err := s.describeWorkflow(context.Background(), "finding/"+id, "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetCloseTime() != nil
	}, 20*time.Second, 100*time.Millisecond, "the workflow of %s finishes", id)
}

func diagnosis(requestID string) map[string]any {
	return map[string]any{"request_id": requestID, "diagnosis": map[string]any{
		"cause":               "企业安全投入不足，主要负责人未履行职责",
		"responsible_parties": []string{"某化工有限公司", "园区安监站"},
		"risk_level":          "HIGH",
		"legal_basis":         "《危险化学品安全管理条例》第二十条",
	}}
}

func classification(requestID string) map[string]any {
	return map[string]any{"request_id": requestID, "dispositions": []string{"RECTIFY", "SUPERVISE"}}
}

func referral(requestID, feedbackReceivedOn, due string) map[string]any {
	b := map[string]any{"request_id": requestID, "receiving_authority": "长沙市安全生产委员会办公室",
		"feedback_received_on": feedbackReceivedOn}
	if due != "" {
		b["due"] = due
	}
	return b
}

func rectificationReport(requestID, evidenceID string) map[string]any {
	return map[string]any{"request_id": requestID, "report": "已安装可燃气体报警装置并通过验收",
		"handling_of_responsible": "对仓库负责人给予警告处分", "evidence_ids": []string{evidenceID}}
}

// events lists a finding's event actions through the API.
func (s *stack) events(id string) (actions []string, events []map[string]any) {
	s.t.Helper()
	code, body := s.do("GET", "/v1/findings/"+id+"/events", &office, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	list, _ := body["events"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		actions = append(actions, m["action"].(string))
		events = append(events, m)
	}
	return actions, events
}

// errorInfo returns the ErrorInfo detail of a REST error body.
func errorInfo(body map[string]any) map[string]any {
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		if dm["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			return dm
		}
	}
	return nil
}

// receiver is an office system receiving xuncha's webhooks; it checks each
// signature with the subscription's secret.
type receiver struct {
	t      testing.TB
	server *httptest.Server

	mu       sync.Mutex
	secret   string
	received []webhookEvent
	refused  []string
}

// webhookEvent is one verified delivery.
type webhookEvent struct {
	Type     string
	Delivery string
	Data     map[string]any
}

// subscribe starts a receiver and subscribes it to eventTypes.
func (s *stack) subscribe(eventTypes ...string) *receiver {
	s.t.Helper()
	r := &receiver{t: s.t}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	s.t.Cleanup(r.server.Close)
	code, body := s.do("POST", "/v1/webhooks", &office, map[string]any{
		"request_id": rid(s.t, "webhook"), "url": r.server.URL + "/xuncha", "event_types": eventTypes,
	})
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	secret := body["secret"].(string)
	require.Regexp(s.t, `^[0-9a-f]{64}$`, secret, "a generated secret is 32 random bytes, hex")
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		err = activities.VerifyWebhookSignature(r.secret, req.Header.Get(activities.HeaderWebhookSignature), body, time.Now(), 5*time.Minute)
	}
	var payload struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err == nil {
		err = json.Unmarshal(body, &payload)
	}
	if err != nil {
		r.refused = append(r.refused, err.Error())
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	r.received = append(r.received, webhookEvent{Type: payload.Type, Delivery: req.Header.Get(activities.HeaderWebhookDelivery), Data: payload.Data})
	w.WriteHeader(http.StatusNoContent)
}

// await waits until an event of eventType about finding id arrived and
// returns it.
func (r *receiver) await(eventType, findingID string, match func(webhookEvent) bool) webhookEvent {
	r.t.Helper()
	var got webhookEvent
	require.Eventually(r.t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range r.received {
			if e.Type == eventType && e.Data["finding_id"] == findingID && (match == nil || match(e)) {
				got = e
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "webhook %s about %s", eventType, findingID)
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Empty(r.t, r.refused, "every delivery carries a valid signature")
	return got
}

func TestFindingLifecycleREST(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventMajorFinding, workflows.EventFindingEscalated)
	code, listed := s.do("GET", "/v1/webhooks", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, listed["webhooks"], 1)
	require.Empty(t, listed["webhooks"].([]any)[0].(map[string]any)["secret"], "the secret is shown only on creation")

	inspectionID := s.createInspection()

	// Evidence first: the same blob uploaded twice is the same evidence.
	photo := picture(t, "jpeg", "the warehouse without a gas alarm")
	code, ev := s.upload(&member, "PHOTO", photo, nil)
	require.Equal(t, http.StatusOK, code, "%v", ev)
	sum := sha256.Sum256(photo)
	require.Equal(t, "ev-"+hex.EncodeToString(sum[:8]), ev["id"])
	require.Equal(t, hex.EncodeToString(sum[:]), ev["sha256"])
	require.EqualValues(t, len(photo), ev["size"])
	require.Equal(t, "image/jpeg", ev["content_type"])
	require.Equal(t, "现场照片.jpg", ev["file_name"])
	require.Equal(t, map[string]any{"name": member.Name, "role": member.Role, "organisation": member.Organisation}, ev["uploaded_by"])
	code, again := s.upload(&office, "PHOTO", photo, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, ev, again)
	evidenceID := ev["id"].(string)
	code, meta := s.do("GET", "/v1/evidence/"+evidenceID, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, ev, meta)
	resp, err := s.getAs(office, "/v1/evidence/"+evidenceID+"/content")
	require.NoError(t, err)
	content, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, photo, content)
	require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	// A MAJOR hazard: listed with a ledger number, notified at once.
	code, f := s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, findingBody(rid(t, "record"), "MAJOR", evidenceID))
	require.Equal(t, http.StatusOK, code, "%v", f)
	id := f["id"].(string)
	require.Regexp(t, `^f-[0-9a-f]{16}$`, id)
	require.Equal(t, "LISTED", f["stage"])
	require.Regexp(t, `^`+regexp.QuoteMeta(fmt.Sprint(today().Year))+`-430100-0001$`, f["ledger_number"])
	require.Equal(t, "finding/"+id, f["workflow_id"])
	require.Equal(t, "MAJOR", f["severity"])
	require.Equal(t, map[string]any{"code": "430100", "name": "长沙市"}, f["unit"])
	major := hooks.await(workflows.EventMajorFinding, id, nil)
	require.Equal(t, f["ledger_number"], major.Data["ledger_number"])

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	referred := s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	cal, err := s.Ledger.Calendar(context.Background())
	require.NoError(t, err)
	month, err := cal.AddMonths(today(), 1)
	require.NoError(t, err)
	deadline := referred["deadline"].(map[string]any)
	require.Equal(t, month.Due.String(), deadline["due"], "no due given: one month after the feedback")
	require.NotEmpty(t, deadline["explanation"])

	rectificationEvidence := s.evidence("photo of the installed alarm")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-1"), rectificationEvidence), "RECTIFIED")
	rejected := s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify-1"), "accept": false,
		"reason": "报警装置未接入监控中心"}, "REFERRED")
	require.EqualValues(t, 1, rejected["reopen_count"])
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-2"), rectificationEvidence), "RECTIFIED")
	closedBody := map[string]any{"request_id": rid(t, "verify-2"), "accept": true, "reason": "整改到位"}
	closed := s.step(id, "verify", office, closedBody, "CLOSED")
	require.EqualValues(t, 1, closed["reopen_count"])

	row, err := s.Ledger.GetFinding(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "CLOSED", row.Stage)
	require.Equal(t, 1, row.ReopenCount)
	require.Equal(t, f["ledger_number"], row.LedgerNumber)

	wantActions := []string{"record", "notify", "list", "diagnose", "classify", "refer", "reportRectification",
		"verify", "reportRectification", "verify"}
	actions, events := s.events(id)
	require.Equal(t, wantActions, actions)
	require.Equal(t, []any{evidenceID}, events[0]["evidence_ids"])
	require.Equal(t, []any{rectificationEvidence}, events[6]["evidence_ids"])
	require.Equal(t, "报警装置未接入监控中心", events[7]["note"])
	require.Equal(t, map[string]any{"name": unit.Name, "role": unit.Role, "organisation": unit.Organisation}, events[6]["actor"])
	var data map[string]any
	require.NoError(t, json.Unmarshal([]byte(events[3]["data_json"].(string)), &data))
	require.Equal(t, "HIGH", data["risk_level"])

	// Retrying a request returns the first answer and records nothing, also
	// once the workflow has finished (the ledger answers).
	s.awaitClosed(id)
	code, closedAgain := s.do("POST", "/v1/findings/"+id+":verify", &office, closedBody)
	require.Equal(t, http.StatusOK, code, "%v", closedAgain)
	require.Equal(t, closed, closedAgain)
	code, recordedAgain := s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, findingBody(rid(t, "record"), "MAJOR", evidenceID))
	require.Equal(t, http.StatusOK, code, "%v", recordedAgain)
	require.Equal(t, id, recordedAgain["id"])
	actions, _ = s.events(id)
	require.Equal(t, wantActions, actions)

	code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "CLOSED", got["stage"])
	require.Len(t, got["last_events"], len(wantActions))
	require.Equal(t, false, got["overdue"])

	code, list := s.do("GET", "/v1/findings?inspection_id="+inspectionID+"&stage=CLOSED", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["findings"], 1)
	code, list = s.do("GET", "/v1/findings?stage=REFERRED", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Empty(t, list["findings"])
}

func TestRetryWhileRunningIsDeduplicated(t *testing.T) {
	s := setup(t)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)
	first := s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	again := s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	require.Equal(t, first, again, "the first answer, although the finding moved on")
	actions, _ := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose", "classify"}, actions)
}

// TestCreateRetriedAfterTheWorkflowEnded: a create retried once the
// finding's workflow has ended (withdrawn) is answered as the first was
// (Temporal keeps the create's Update outcome); another request naming
// the same finding ID is refused (createdBefore), and nothing is recorded
// twice.
func TestCreateRetriedAfterTheWorkflowEnded(t *testing.T) {
	s := setup(t)
	inspection := s.createInspection()
	ev := s.evidence("evidence of " + t.Name())
	body := findingBody(rid(t, "record"), "GENERAL", ev)
	body["finding_id"] = fmt.Sprintf("f-ended-%d", time.Now().UnixNano())
	code, first := s.do("POST", "/v1/inspections/"+inspection+"/findings", &member, body)
	require.Equal(t, http.StatusOK, code, "%v", first)
	id := first["id"].(string)
	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}, "WITHDRAWN")

	code, again := s.do("POST", "/v1/inspections/"+inspection+"/findings", &member, body)
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, first, again, "the first answer, although the finding moved on")

	other := findingBody(rid(t, "other"), "GENERAL", ev)
	other["finding_id"] = body["finding_id"]
	code, refused := s.do("POST", "/v1/inspections/"+inspection+"/findings", &member, other)
	require.Equal(t, http.StatusConflict, code, "%v", refused)
	require.Contains(t, refused["message"], "recorded by another request")
	actions, _ := s.events(id)
	require.Equal(t, []string{"record", "list", "withdraw"}, actions)
}

func TestFindingRefusals(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	f := s.recordFinding(inspectionID, "record", "GENERAL")
	id := f["id"].(string)

	t.Run("stage does not allow it", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":refer", &office, referral(rid(t, "refer-listed"), today().String(), ""))
		require.Equal(t, http.StatusConflict, code, "%v", body)
		info := errorInfo(body)
		require.NotNil(t, info, "%v", body)
		require.Equal(t, "STAGE_NOT_ALLOWED", info["reason"])
		meta := info["metadata"].(map[string]any)
		require.Equal(t, "LISTED", meta["stage"])
		require.Equal(t, "diagnose,withdraw", meta["allowed"])
		require.Equal(t, "refer", meta["action"])
	})
	t.Run("diagnosis without cause", func(t *testing.T) {
		b := diagnosis(rid(t, "no-cause"))
		delete(b["diagnosis"].(map[string]any), "cause")
		code, body := s.do("POST", "/v1/findings/"+id+":diagnose", &member, b)
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.Contains(t, fieldViolations(body), "diagnosis.cause")
	})

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	before, _ := s.events(id)

	t.Run("limit past one month", func(t *testing.T) {
		feedback := calendar.MustDate(2026, 3, 10)
		code, body := s.do("POST", "/v1/findings/"+id+":refer", &office, referral(rid(t, "refer-long"), feedback.String(), "2026-04-15"))
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.Contains(t, fieldViolations(body), "due")
		require.Contains(t, body["message"], "2026-04-10")
	})
	t.Run("due before feedback", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":refer", &office, referral(rid(t, "refer-early"), "2026-03-10", "2026-03-01"))
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.Contains(t, fieldViolations(body), "due")
	})
	t.Run("calendar year without data", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":refer", &office, referral(rid(t, "refer-2099"), "2099-03-10", ""))
		require.Equal(t, http.StatusConflict, code, "%v", body)
		require.Equal(t, "CALENDAR_NO_DATA", errorInfo(body)["reason"])
	})
	t.Run("refer by a team member", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":refer", &member, referral(rid(t, "refer-member"), today().String(), ""))
		require.Equal(t, http.StatusForbidden, code, "%v", body)
	})
	t.Run("withdraw by the unit", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":withdraw", &unit, map[string]any{"request_id": rid(t, "withdraw"), "reason": "不是问题"})
		require.Equal(t, http.StatusForbidden, code, "%v", body)
	})
	t.Run("unknown evidence", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":reportRectification", &unit, map[string]any{"request_id": rid(t, "report"),
			"report": "已整改", "handling_of_responsible": "警告", "evidence_ids": []string{"ev-0000000000000000"}})
		// REFERRED is not reached yet, but the evidence is checked first.
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.Contains(t, fieldViolations(body), "evidence_ids[0]")
	})
	t.Run("no actor", func(t *testing.T) {
		code, body := s.do("POST", "/v1/findings/"+id+":withdraw", nil, map[string]any{"request_id": rid(t, "withdraw"), "reason": "不是问题"})
		require.Equal(t, http.StatusUnauthorized, code, "%v", body)
	})
	after, _ := s.events(id)
	require.Equal(t, before, after, "refused changes record nothing")
	require.Equal(t, []string{"record", "list", "diagnose", "classify"}, after)

	t.Run("unknown finding", func(t *testing.T) {
		code, body := s.do("GET", "/v1/findings/f-missing", &office, nil)
		require.Equal(t, http.StatusNotFound, code, "%v", body)
		code, body = s.do("POST", "/v1/findings/f-missing:diagnose", &member, diagnosis(rid(t, "missing")))
		require.Equal(t, http.StatusNotFound, code, "%v", body)
		require.Contains(t, body["message"], "f-missing")
		code, _ = s.do("GET", "/v1/findings/f-missing/events", &office, nil)
		require.Equal(t, http.StatusNotFound, code)
	})
	t.Run("record refusals", func(t *testing.T) {
		ev := s.evidence("record refusals")
		code, body := s.do("POST", "/v1/inspections/ins-missing/findings", &member, findingBody(rid(t, "missing"), "GENERAL", ev))
		require.Equal(t, http.StatusNotFound, code, "%v", body)
		require.Contains(t, body["message"], "ins-missing")

		code, body = s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, findingBody(rid(t, "ghost"), "GENERAL", ev, "ev-0000000000000000"))
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.Equal(t, []string{"evidence_ids[1]"}, fieldViolations(body))

		b := findingBody(rid(t, "major"), "MAJOR", ev)
		delete(b, "rectification_opinion")
		delete(b, "title")
		code, body = s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, b)
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.ElementsMatch(t, []string{"title", "rectification_opinion"}, fieldViolations(body))

		code, body = s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &unit, findingBody(rid(t, "by-unit"), "GENERAL", ev))
		require.Equal(t, http.StatusForbidden, code, "%v", body)
	})
	t.Run("list filters", func(t *testing.T) {
		code, body := s.do("GET", "/v1/findings?overdue=maybe", &office, nil)
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		require.Contains(t, fieldViolations(body), "overdue")
		code, body = s.do("GET", "/v1/findings?stage=42", &office, nil)
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
		code, body = s.do("GET", "/v1/findings?overdue=false&kind=HAZARD&severity=GENERAL&unit_code=430100", &office, nil)
		require.Equal(t, http.StatusOK, code, "%v", body)
		require.Len(t, body["findings"], 1)
	})

	// Withdrawn, the finding takes no further change.
	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}, "WITHDRAWN")
	s.awaitClosed(id)
	code, body := s.do("POST", "/v1/findings/"+id+":refer", &office, referral(rid(t, "refer-withdrawn"), today().String(), ""))
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, body["message"], "no further changes")
	info := errorInfo(body)
	require.NotNil(t, info, "%v", body)
	require.Equal(t, "WITHDRAWN", info["metadata"].(map[string]any)["stage"])
	code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "WITHDRAWN", got["stage"])
	require.Equal(t, "与另一问题重复", got["withdraw_reason"])
}

func TestEvidenceUploadRefusals(t *testing.T) {
	s := setup(t)
	content := []byte("a document")
	tests := []struct {
		name  string
		kind  string
		query url.Values
		field string
	}{
		{"unknown kind", "SMELL", nil, "kind"},
		{"hash of other content", "DOCUMENT", url.Values{"sha256": {hex.EncodeToString(make([]byte, 32))}}, "sha256"},
		{"hash not hex", "DOCUMENT", url.Values{"sha256": {"xyz"}}, "sha256"},
		{"capture time not RFC 3339", "DOCUMENT", url.Values{"captured_at": {"2026-11-20 09:30"}}, "captured_at"},
		{"file name with a path", "DOCUMENT", url.Values{"file_name": {"../etc/passwd"}}, "file_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.uploadAs(&member, tt.kind, "text/plain", content, tt.query)
			require.Equal(t, http.StatusBadRequest, code, "%v", body)
			require.Contains(t, fieldViolations(body), tt.field)
			require.Equal(t, float64(3), body["code"], "the gateway's error shape: google.rpc.Status")
		})
	}
	t.Run("no actor", func(t *testing.T) {
		code, body := s.uploadAs(nil, "DOCUMENT", "text/plain", content, nil)
		require.Equal(t, http.StatusUnauthorized, code, "%v", body)
		require.Contains(t, body["message"], "no bearer token")
	})
	t.Run("unknown evidence", func(t *testing.T) {
		code, body := s.do("GET", "/v1/evidence/ev-0000000000000000", &office, nil)
		require.Equal(t, http.StatusNotFound, code, "%v", body)
		code, _ = s.do("GET", "/v1/evidence/ev-0000000000000000/content", &office, nil)
		require.Equal(t, http.StatusNotFound, code)
	})
	missing, err := s.Ledger.MissingEvidence(context.Background(), []string{"ev-" + func() string {
		sum := sha256.Sum256(content)
		return hex.EncodeToString(sum[:8])
	}()})
	require.NoError(t, err)
	require.Len(t, missing, 1, "nothing was recorded")
}

// names is a resolver for tests: example.org is public, localhost is
// loopback, nothing else resolves.
type names map[string][]netip.Addr

func (n names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := n[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

var testNames = names{
	"example.org": {netip.MustParseAddr("93.184.215.14")},
	"localhost":   {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
}

func TestWebhookRefusals(t *testing.T) {
	// No allow-list: public receivers only, as `xuncha server` by default.
	s := setupWith(t, &egress.Policy{Resolver: testNames})
	apiPort := s.BaseURL[strings.LastIndex(s.BaseURL, ":")+1:]
	tests := []struct {
		name  string
		body  map[string]any
		who   actor.Actor
		code  int
		field string
		rule  string
	}{
		{"relative url", map[string]any{"url": "/hook"}, office, http.StatusBadRequest, "url", "absolute http:// or https:// URL"},
		{"ftp url", map[string]any{"url": "ftp://example.org/hook"}, office, http.StatusBadRequest, "url", "absolute http:// or https:// URL"},
		{"credentials", map[string]any{"url": "https://user:pw@example.org/hook"}, office, http.StatusBadRequest, "url", "must not carry credentials"},
		{"the API's own port", map[string]any{"url": "http://127.0.0.1:" + apiPort + "/v1/inspections"}, office, http.StatusBadRequest, "url", "127.0.0.1 is a loopback address"},
		{"localhost", map[string]any{"url": "http://localhost/hook"}, office, http.StatusBadRequest, "url", `host "localhost" resolves to 127.0.0.1, a loopback address`},
		{"private", map[string]any{"url": "http://10.0.0.1/hook"}, office, http.StatusBadRequest, "url", "10.0.0.1 is a private (RFC 1918) address"},
		{"IPv6 loopback", map[string]any{"url": "http://[::1]:8080/hook"}, office, http.StatusBadRequest, "url", "::1 is a loopback address"},
		{"metadata service", map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, office, http.StatusBadRequest, "url", "169.254.169.254 is a link-local address"},
		{"unresolvable", map[string]any{"url": "https://nowhere.invalid/hook"}, office, http.StatusBadRequest, "url", `host "nowhere.invalid" does not resolve`},
		{"unknown event", map[string]any{"url": "https://example.org/hook", "event_types": []string{"finding.major", "finding.lost"}}, office, http.StatusBadRequest, "event_types[1]", "must be one of"},
		{"short secret", map[string]any{"url": "https://example.org/hook", "secret": "too-short"}, office, http.StatusBadRequest, "secret", "at least 16 characters"},
		{"not office", map[string]any{"url": "https://example.org/hook"}, member, http.StatusForbidden, "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["request_id"] = fmt.Sprintf("%s-%d", rid(t, "bad"), i)
			code, body := s.do("POST", "/v1/webhooks", &tt.who, tt.body)
			require.Equal(t, tt.code, code, "%v", body)
			if tt.field != "" {
				require.Contains(t, fieldViolations(body), tt.field)
				require.Contains(t, violationRule(body, tt.field), tt.rule)
			}
		})
	}
	code, list := s.do("GET", "/v1/webhooks", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, list["webhooks"], "a refused webhook is not recorded")
	create := map[string]any{"request_id": rid(t, "ok"), "url": "https://example.org/hook", "secret": "a-secret-of-24-characters"}
	code, created := s.do("POST", "/v1/webhooks", &office, create)
	require.Equal(t, http.StatusOK, code, "%v", created)
	require.Equal(t, "a-secret-of-24-characters", created["secret"])
	code, again := s.do("POST", "/v1/webhooks", &office, create)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, created, again)

	id := created["id"].(string)
	code, _ = s.do("DELETE", "/v1/webhooks/"+id, &member, nil)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = s.do("DELETE", "/v1/webhooks/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code)
	code, list = s.do("GET", "/v1/webhooks", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, list["webhooks"])
	code, body := s.do("DELETE", "/v1/webhooks/wh-missing", &office, nil)
	require.Equal(t, http.StatusNotFound, code, "%v", body)
}

func TestWorkerRestartMidLifecycle(t *testing.T) {
	s := setup(t)
	inspection := s.createInspection()
	f := s.recordFinding(inspection, "record", "GENERAL")
	id := f["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")

	s.StopWorker()
	// The inspection's read too (before the change below is sent, whose
	// request would time out meanwhile).
	code, got := s.do("GET", "/v1/inspections/"+inspection, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, inspection, got["id"])
	type answer struct {
		code int
		body map[string]any
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		code, body, err := s.request("POST", "/v1/findings/"+id+":classify", &office, classification(rid(t, "classify")))
		answered <- answer{code, body, err}
	}()
	select {
	case a := <-answered:
		t.Fatalf("answered without a worker: %d %v %v", a.code, a.body, a.err)
	case <-time.After(2 * time.Second):
	}
	// Without a worker the ledger answers reads, once the live query gives
	// up (queryTimeout).
	code, got = s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "DIAGNOSED", got["stage"])

	s.StartWorker()
	select {
	case a := <-answered:
		require.NoError(t, a.err)
		require.Equal(t, http.StatusOK, a.code, "%v", a.body)
		require.Equal(t, "CLASSIFIED", a.body["stage"])
	case <-time.After(60 * time.Second):
		t.Fatal("the update did not complete after the worker restarted")
	}

	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	s.StopWorker()
	s.StartWorker()
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), s.evidenceOf(unit, "after restart")), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify"), "accept": true}, "CLOSED")

	actions, _ := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "reportRectification", "verify"}, actions,
		"each change exactly once")
}

func TestCalendarLoadRedatesRunningDeadline(t *testing.T) {
	s := setup(t)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	referred := s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	due := calendar.MustParseDate(referred["deadline"].(map[string]any)["due"].(string))

	// The office loads an amended notice that makes the due day a holiday.
	year := fmt.Sprint(due.Year)
	code, current := s.do("GET", "/v1/calendar/"+year, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", current)
	notice := amendedNotice(t, current, due)
	notice["request_id"] = rid(t, "calendar")
	code, version := s.do("PUT", "/v1/calendar/"+year, &office, notice)
	require.Equal(t, http.StatusOK, code, "%v", version)
	versionID := fmt.Sprint(version["id"])

	cal, err := s.Ledger.Calendar(context.Background())
	require.NoError(t, err)
	month, err := cal.AddMonths(today(), 1)
	require.NoError(t, err)
	require.True(t, month.Due.After(due), "the new calendar moves the limit past %s", due)

	require.Eventually(t, func() bool {
		code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
		return code == http.StatusOK && got["deadline"].(map[string]any)["due"] == month.Due.String()
	}, 20*time.Second, 200*time.Millisecond, "the running deadline is re-dated to %s", month.Due)
	actions, events := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "redate"}, actions)
	require.Contains(t, events[5]["note"], "calendar version "+versionID)
	require.Equal(t, "REFERRED", events[5]["stage_after"])
	row, err := s.Ledger.GetFinding(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, month.Due, row.Deadline.Due)
	s.replayHistory("finding-redated", workflows.FindingWorkflowID(id))

	// Loading the same version again re-dates nothing twice.
	code, _ = s.do("PUT", "/v1/calendar/"+year, &office, notice)
	require.Equal(t, http.StatusOK, code)
	time.Sleep(time.Second)
	again, _ := s.events(id)
	require.Equal(t, actions, again)
}

// amendedNotice turns GET /v1/calendar/{year} into a LoadCalendarYearRequest
// with one more holiday, on day.
func amendedNotice(t *testing.T, current map[string]any, day calendar.Date) map[string]any {
	t.Helper()
	var holidays, makeup []any
	names := map[string]string{} // plain name -> the display name GET shows
	for _, h := range current["holidays"].([]any) {
		hm := h.(map[string]any)
		holidays = append(holidays, map[string]any{"name": hm["name"], "start": hm["start"], "end": hm["end"]})
		display := hm["name"].(string)
		plain, _, _ := strings.Cut(display, " (")
		names[plain] = display
	}
	for _, m := range current["makeup_days"].([]any) {
		mm := m.(map[string]any)
		name := mm["name"].(string)
		if display, ok := names[name]; ok {
			name = display
		}
		makeup = append(makeup, map[string]any{"date": mm["date"], "name": name})
	}
	holidays = append(holidays, map[string]any{"name": "测试补休", "start": day.String(), "end": day.String()})
	return map[string]any{
		"doc_number": "测试〔" + fmt.Sprint(day.Year) + "〕1号",
		"holidays":   holidays, "makeup_days": makeup, "note": "amended: " + day.String() + " becomes a holiday",
	}
}

// TestWebhookAllowList checks that the operator's allow-list lets named
// local receivers through, and only those.
func TestWebhookAllowList(t *testing.T) {
	t.Parallel()
	store, _ := testenv.Ledger(t)
	policy, err := egress.ParseAllowList("10.0.0.0/8, localhost:8081, [::1]:9000")
	require.NoError(t, err)
	policy.Resolver = testNames
	srv := &api.WebhookServer{Ledger: store, Egress: policy, Log: testenv.Logger(t)}
	ctx := actor.NewContext(t.Context(), office)
	tests := []struct {
		url  string
		rule string // "" means accepted
	}{
		{"http://10.0.0.1/hook", ""},
		{"https://10.200.3.4:8443/hook", ""},
		{"http://localhost:8081/hook", ""},
		{"http://[::1]:9000/hook", ""},
		{"https://example.org/hook", ""},
		{"http://localhost:8082/hook", `host "localhost" resolves to 127.0.0.1, a loopback address`},
		{"http://127.0.0.1:8081/hook", "127.0.0.1 is a loopback address"},
		{"http://[::1]:9001/hook", "::1 is a loopback address"},
		{"http://192.168.1.10/hook", "192.168.1.10 is a private (RFC 1918) address"},
		{"http://169.254.169.254/", "169.254.169.254 is a link-local address"},
	}
	for i, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			wh, err := srv.CreateWebhook(ctx, &xunchav1.CreateWebhookRequest{
				RequestId: fmt.Sprintf("%s-%d", rid(t, "allow"), i), Url: tt.url})
			if tt.rule == "" {
				require.NoError(t, err)
				require.Equal(t, tt.url, wh.GetUrl())
				return
			}
			var invalid *derrors.InvalidError
			require.ErrorAs(t, err, &invalid)
			require.Len(t, invalid.Violations, 1)
			require.Equal(t, "url", invalid.Violations[0].Field)
			require.Contains(t, invalid.Violations[0].Rule, tt.rule)
		})
	}
}
