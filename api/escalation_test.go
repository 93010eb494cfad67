package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

func TestMissedDeadlineEscalates(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventFindingEscalated)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")

	// The unit received the feedback two months ago: the month has passed.
	feedback := time.Now().In(calendar.Location()).AddDate(0, -2, 0).Format("2006-01-02")
	referred := s.step(id, "refer", office, referral(rid(t, "refer"), feedback, ""), "REFERRED")
	dueAt, err := time.Parse(time.RFC3339, referred["deadline"].(map[string]any)["due_at"].(string))
	require.NoError(t, err)
	require.True(t, dueAt.Before(time.Now()))

	// Five working days after the due day have passed too (the default
	// ladder proposes an interview then), unless the calendar says otherwise.
	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	due := referred["deadline"].(map[string]any)["due"].(string)
	interview, err := cal.AddWorkingDays(mustDate(t, due), 5)
	require.NoError(t, err)
	wantSteps := []string{"OVERDUE"}
	if interview.DueAt.Before(time.Now()) {
		wantSteps = append(wantSteps, "INTERVIEW_PROPOSED")
	}

	subject := url.QueryEscape("finding/" + id)
	require.Eventually(t, func() bool {
		code, body := s.do("GET", "/v1/escalations?subject="+subject, &office, nil)
		list, _ := body["escalations"].([]any)
		return code == http.StatusOK && len(list) == len(wantSteps)
	}, 20*time.Second, 200*time.Millisecond, "escalations %v", wantSteps)

	// A subject no escalation can have is refused, not answered with an
	// empty page: the bare ID, a kind that does not escalate.
	for _, bad := range []string{id, "webhook/" + id, "finding/", "finding/a/b"} {
		code, body := s.do("GET", "/v1/escalations?subject="+url.QueryEscape(bad), &office, nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", bad, body)
		require.Equal(t, []string{"subject"}, fieldViolations(body), bad)
		require.Contains(t, body["message"], `"finding/<id>"`)
	}

	code, body := s.do("GET", "/v1/escalations?unit_code=430100", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	var steps []string
	for _, e := range body["escalations"].([]any) {
		em := e.(map[string]any)
		require.Equal(t, "finding/"+id, em["subject"])
		require.Equal(t, "430100", em["unit_code"])
		require.NotEmpty(t, em["message"])
		steps = append(steps, em["step"].(string))
	}
	require.ElementsMatch(t, wantSteps, steps, "a reminder after the deadline is skipped")

	// The message in the caller's language: English here (the tests' client
	// asks for it), Chinese by default.
	ledgerNumber := f["ledger_number"].(string)
	zhFinding, err := xunchav1.NewFindingServiceClient(s.Conn).GetFinding(
		metadata.AppendToOutgoingContext(s.ctx(office), "accept-language", "zh-CN"), &xunchav1.GetFindingRequest{Id: id})
	require.NoError(t, err)
	messages := map[string]string{}
	for _, e := range zhFinding.GetEscalations() {
		messages[e.GetStep()] = e.GetMessage()
	}
	require.Equal(t, "逾期："+ledgerNumber+" 的整改报告应于 "+due+" 报送；已升级至省安委办", messages["OVERDUE"])
	for _, e := range body["escalations"].([]any) {
		if em := e.(map[string]any); em["step"] == "OVERDUE" {
			require.Equal(t, "overdue: the rectification report of "+ledgerNumber+" was due "+due+"; escalated to the office", em["message"])
		}
	}

	code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, true, got["overdue"])
	require.EqualValues(t, 1, got["missed_deadlines"])
	require.Len(t, got["escalations"], len(wantSteps))
	require.Equal(t, "REFERRED", got["stage"])

	code, list := s.do("GET", "/v1/findings?overdue=true", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["findings"], 1)
	require.Equal(t, id, list["findings"].([]any)[0].(map[string]any)["id"])
	code, list = s.do("GET", "/v1/findings?overdue=false", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Empty(t, list["findings"])

	e := hooks.await(workflows.EventFindingEscalated, id, func(e webhookEvent) bool {
		esc, _ := e.Data["escalation"].(map[string]any)
		return esc["step"] == "OVERDUE"
	})
	require.Equal(t, f["ledger_number"], e.Data["ledger_number"])
	require.NotEmpty(t, e.Delivery)
	// The deadline explained in both languages: it was English only.
	require.NotEmpty(t, e.Data["deadline"])
	require.Regexp(t, han, fmt.Sprint(e.Data["deadline_zh"]))

	actions, _ := s.events(id)
	want := []string{"record", "list", "diagnose", "classify", "refer"}
	for range wantSteps {
		want = append(want, "escalate")
	}
	require.Equal(t, want, actions)

	// Reporting late stops the clock and clears the mark; the miss stays.
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), s.evidenceOf(unit, "late report")), "RECTIFIED")
	code, got = s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, false, got["overdue"])
	require.EqualValues(t, 1, got["missed_deadlines"])
}

func TestEscalationPolicy(t *testing.T) {
	s := setup(t)
	code, p := s.do("GET", "/v1/escalation-policy", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", p)
	require.Equal(t, "0", p["version"], "the built-in default")
	require.EqualValues(t, 3, p["invitation_answer_working_days"], "the default answer limit")
	require.Equal(t, []any{
		map[string]any{"step": "REMINDER", "working_days": float64(-1)},
		map[string]any{"step": "OVERDUE", "working_days": float64(0)},
		map[string]any{"step": "INTERVIEW_PROPOSED", "working_days": float64(5)},
	}, p["steps"])

	ladder := map[string]any{"request_id": rid(t, "ladder"), "steps": []any{
		map[string]any{"step": "INTERVIEW_PROPOSED", "working_days": 3},
		map[string]any{"step": "OVERDUE", "working_days": 0},
		map[string]any{"step": "REMINDER", "working_days": -2},
	}}
	code, _ = s.do("PUT", "/v1/escalation-policy", &member, ladder)
	require.Equal(t, http.StatusForbidden, code)
	code, body := s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"steps": ladder["steps"]})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body), "request_id")
	code, body = s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "bad"), "steps": []any{
		map[string]any{"step": "REMINDER", "working_days": 2},
	}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.ElementsMatch(t, []string{"steps[0].working_days", "steps"}, fieldViolations(body))
	code, body = s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "bad-answer"),
		"steps": ladder["steps"], "invitation_answer_working_days": 0})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"invitation_answer_working_days"}, fieldViolations(body))
	require.Contains(t, fmt.Sprint(body), "must be between 1 and 30 working days")
	code, got := s.do("GET", "/v1/escalation-policy", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "0", got["version"], "a refused policy changes nothing")

	code, set := s.do("PUT", "/v1/escalation-policy", &office, ladder)
	require.Equal(t, http.StatusOK, code, "%v", set)
	require.NotEqual(t, "0", set["version"])
	require.Equal(t, "REMINDER", set["steps"].([]any)[0].(map[string]any)["step"], "stored in firing order")
	require.Equal(t, office.Name, set["updated_by"].(map[string]any)["name"])
	code, again := s.do("PUT", "/v1/escalation-policy", &office, ladder)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, set, again)
	require.EqualValues(t, 3, set["invitation_answer_working_days"], "absent: the default")
	code, got = s.do("GET", "/v1/escalation-policy", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, set, got)
}

func mustDate(t *testing.T, s string) calendar.Date {
	t.Helper()
	d, err := calendar.ParseDate(s)
	require.NoError(t, err)
	return d
}

// TestReopenedFindingAnswersWithEveryEscalation: a finding reopened by a
// failed re-check runs anew, without the escalations its earlier run
// recorded; a change's answer shows them all, as GetFinding does.
func TestReopenedFindingAnswersWithEveryEscalation(t *testing.T) {
	s := setup(t)
	z := s.createInspection()
	id := s.recordFinding(z, "record", "GENERAL")["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-1"), s.evidenceOf(unit, "整改照片 "+t.Name())), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify"), "accept": true, "reason": "整改到位"}, "CLOSED")
	s.awaitClosed(id)
	// What the first run's ladder recorded (its deadline had passed, say).
	earlier, err := s.Ledger.RecordEscalation(t.Context(), casework.Escalation{
		Subject: "finding/" + id, DeadlineSeq: 1, Step: "REMINDER", UnitCode: "430100",
		DueAt: time.Now().Add(-time.Hour), Message: "rectification due soon", MessageZH: "整改即将到期",
	}, casework.Finding{}, casework.Event{})
	require.NoError(t, err)

	// A FOLLOW_UP inspection re-checks it and finds it has come back.
	s.failRecheck(z, id)

	var reopened map[string]any
	require.Eventually(t, func() bool {
		var code int
		code, reopened = s.do("GET", "/v1/findings/"+id, &office, nil)
		return code == http.StatusOK && reopened["stage"] == "REFERRED"
	}, 20*time.Second, 100*time.Millisecond, "the finding is reopened")
	ids := func(f map[string]any) []any {
		var out []any
		for _, e := range f["escalations"].([]any) {
			out = append(out, e.(map[string]any)["id"])
		}
		return out
	}
	require.Contains(t, ids(reopened), earlier.ID, "GetFinding")
	changed := s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report-2"), s.evidenceOf(unit, "再次整改 "+t.Name())), "RECTIFIED")
	require.Equal(t, ids(reopened), ids(changed), "the change's answer shows what GetFinding shows")
}

// failRecheck has a FOLLOW_UP inspection of inspection z, its team on site,
// re-check finding id and find it has come back, which reopens the finding.
func (s *stack) failRecheck(z, id string) {
	s.t.Helper()
	body := inspectionBody(rid(s.t, "follow-up"))
	spec(body)["kind"] = "FOLLOW_UP"
	spec(body)["follows_inspection_id"] = z
	code, created := s.do("POST", "/v1/inspections", &office, body)
	require.Equal(s.t, http.StatusOK, code, "%v", created)
	x := created["id"].(string)
	s.station(x)
	code, got := s.do("POST", "/v1/inspections/"+x+":recheck", &teamLeader, map[string]any{
		"request_id": rid(s.t, "recheck"), "finding_id": id, "passed": false, "note": "通道再次堵塞"})
	require.Equal(s.t, http.StatusOK, code, "%v", got)
}
