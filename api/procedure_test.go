package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
)

// procedureBody is a COMPREHENSIVE inspection of 株洲市 in the current year.
func procedureBody(requestID string, team []map[string]any) map[string]any {
	year := today().Year
	return map[string]any{
		"request_id": requestID,
		"inspection": map[string]any{
			"unit":          map[string]any{"code": "430200", "name": "株洲市"},
			"kind":          "COMPREHENSIVE",
			"round":         fmt.Sprintf("%d年第一轮", year),
			"planned_start": fmt.Sprintf("%d-01-05", year),
			"planned_end":   fmt.Sprintf("%d-12-20", year),
			"content_areas": []int{1, 3, 5, 9},
			"team":          team,
		},
	}
}

// inspectionStep posts a custom method and checks the stage it answers.
func (s *stack) inspectionStep(id, action string, who actor.Actor, body map[string]any, wantStage string) map[string]any {
	s.t.Helper()
	code, got := s.do("POST", "/v1/inspections/"+id+":"+action, &who, body)
	require.Equal(s.t, http.StatusOK, code, "%s: %v", action, got)
	require.Equal(s.t, wantStage, got["stage"], action)
	return got
}

// interviewStep posts an interview's custom method and checks the stage.
func (s *stack) interviewStep(id, action string, who actor.Actor, body map[string]any, wantStage string) map[string]any {
	s.t.Helper()
	code, got := s.do("POST", "/v1/interviews/"+id+":"+action, &who, body)
	require.Equal(s.t, http.StatusOK, code, "%s: %v", action, got)
	require.Equal(s.t, wantStage, got["stage"], action)
	return got
}

func (s *stack) inspectionEvents(id string) []string {
	s.t.Helper()
	code, body := s.do("GET", "/v1/inspections/"+id+"/events", &office, nil)
	require.Equal(s.t, http.StatusOK, code, "%v", body)
	var actions []string
	for _, e := range body["events"].([]any) {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	return actions
}

// requireDeadline checks a deadline in an answer against the calendar.
func requireDeadline(t *testing.T, got any, want calendar.Deadline) {
	t.Helper()
	d, ok := got.(map[string]any)
	require.True(t, ok, "no deadline in %v", got)
	require.Equal(t, want.Due.String(), d["due"])
	require.Equal(t, want.Rule, d["rule"])
	lines := d["explanation"].([]any)
	require.Equal(t, want.Explanation[0], lines[0], "the first line names the due date and the rule")
}

func TestInspectionProcedureREST(t *testing.T) {
	s := setup(t)
	ctx := context.Background()
	hooks := s.subscribe("finding.major", "inspection.escalated")
	cal := calendar.Builtin()

	// Three invalid teams are refused, each with the rule it breaks.
	invalid := []struct {
		name   string
		team   func() []map[string]any
		field  string
		reason string
	}{
		{"five people", func() []map[string]any { return validTeam()[:5] }, "inspection.team", "has 5 people counting leader, deputy and members; the charter requires 6 to 8"},
		{"leader below department level", func() []map[string]any {
			tm := validTeam()
			tm[0]["rank"] = "DIVISION_CHIEF"
			return tm
		}, "inspection.team[0].rank", "department-level (厅级)"},
		{"no deputy", func() []map[string]any {
			tm := validTeam()
			tm[1]["role"] = "MEMBER"
			return tm
		}, "inspection.team", "has 0 deputies (副组长); the charter requires exactly one"},
	}
	for i, tt := range invalid {
		code, body := s.do("POST", "/v1/inspections", &office, procedureBody(fmt.Sprintf("bad-team-%d", i), tt.team()))
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", tt.name, body)
		require.Contains(t, fieldViolations(body), tt.field, tt.name)
		require.Contains(t, body["message"], tt.reason, tt.name)
	}

	// Non-repetition: the State Council inspected 430100 this year.
	code, body := s.do("POST", "/v1/stateCouncilInspections", &office, map[string]any{
		"request_id": "sc-1", "unit_code": "430100", "year": today().Year, "note": "国务院安委会2026年度考核巡查"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	repeat := procedureBody("repeat", validTeam())
	spec(repeat)["unit"] = map[string]any{"code": "430100", "name": "长沙市"}
	code, body = s.do("POST", "/v1/inspections", &office, repeat)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "STATE_COUNCIL_INSPECTED", errorInfo(body)["reason"])
	// The workflow refused it as the ledger row was written; a retry is
	// refused the same way, not told the ID is taken.
	code, body = s.do("POST", "/v1/inspections", &office, repeat)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "STATE_COUNCIL_INSPECTED", errorInfo(body)["reason"], "%v", body)
	page, err := s.Ledger.ListInspections(ctx, ledger.InspectionFilter{}, 50, "")
	require.NoError(t, err)
	require.Empty(t, page.Inspections, "refused plans record nothing")

	// A valid comprehensive inspection of a city.
	code, created := s.do("POST", "/v1/inspections", &office, procedureBody("plan-1", validTeam()))
	require.Equal(t, http.StatusOK, code, "%v", created)
	id := created["id"].(string)
	require.Equal(t, "PLANNED", created["stage"])
	require.Equal(t, false, created["team_approved"])

	code, body = s.do("POST", "/v1/inspections/"+id+":notify", &office, map[string]any{"request_id": "n0", "notified_on": today().String()})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "TEAM_NOT_APPROVED", errorInfo(body)["reason"])

	// Findings are recorded only while the team is on site: the workflow
	// refuses one as its ledger row is written, and a retry the same way.
	early := findingBody("early", "GENERAL", s.evidence("too early"))
	for range 2 {
		code, body = s.do("POST", "/v1/inspections/"+id+"/findings", &member, early)
		require.Equal(t, http.StatusConflict, code, "%v", body)
		require.Equal(t, "STAGE_NOT_ALLOWED", errorInfo(body)["reason"], "%v", body)
		require.Equal(t, "PLANNED", errorInfo(body)["metadata"].(map[string]any)["stage"], "%v", body)
	}

	got := s.inspectionStep(id, "approveTeam", committee, map[string]any{"request_id": "t1", "note": "同意"}, "PLANNED")
	require.Equal(t, true, got["team_approved"])
	// Notified and entered weeks ago (recorded late): on-site work may then
	// have ended long enough ago for the report's deadline to have passed.
	s.inspectionStep(id, "notify", office, map[string]any{"request_id": "n1", "notified_on": today().AddDays(-31).String()}, "NOTIFIED")
	got = s.inspectionStep(id, "station", teamLeader, map[string]any{"request_id": "s1", "stationed_on": today().AddDays(-30).String(),
		"announcement": "巡查时间、任务和要求", "contact_phone": "0731-22334455", "contact_mailbox": "株洲市邮政信箱1号"}, "STATIONED")
	require.Equal(t, "0731-22334455", got["records"].(map[string]any)["contact_phone"])

	// The refusal changed nothing: with the team on site, the same request
	// (its request_id too) records the finding. Temporal still holds the
	// refused run's answer to it; sendCreate starts a new run past it.
	code, body = s.do("POST", "/v1/inspections/"+id+"/findings", &member, early)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "LISTED", body["stage"])
	code, again := s.do("POST", "/v1/inspections/"+id+"/findings", &member, early)
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, body["id"], again["id"], "and a retry of it is answered with the same finding")
	require.Equal(t, body["ledger_number"], again["ledger_number"])
	s.step(body["id"].(string), "withdraw", office, map[string]any{"request_id": "early-withdraw", "reason": "与现场检查重复"}, "WITHDRAWN")

	// Three findings; the MAJOR hazard is notified at once.
	var findings []string
	for i, severity := range []string{"MAJOR", "GENERAL", "GENERAL"} {
		code, f := s.do("POST", "/v1/inspections/"+id+"/findings", &member,
			findingBody(fmt.Sprintf("finding-%d", i), severity, s.evidence(fmt.Sprintf("photo %d", i))))
		require.Equal(t, http.StatusOK, code, "%v", f)
		require.Equal(t, "LISTED", f["stage"])
		require.Regexp(t, `^\d{4}-430200-000\d$`, f["ledger_number"])
		findings = append(findings, f["id"].(string))
	}
	actions, _ := s.events(findings[0])
	require.Equal(t, []string{"record", "notify", "list"}, actions)
	hooks.awaitType(t, "finding.major", func(e webhookEvent) bool { return e.Data["finding_id"] == findings[0] })
	for i, fid := range findings {
		s.step(fid, "diagnose", member, diagnosis(fmt.Sprintf("d-%d", i)), "DIAGNOSED")
		s.step(fid, "classify", office, classification(fmt.Sprintf("c-%d", i)), "CLASSIFIED")
	}

	// On-site work ended 20 days ago: the 5-working-day report deadline has
	// passed, so the ladder escalates at once.
	ended := today().AddDays(-20)
	wantReport, err := cal.AddWorkingDays(ended, 5)
	require.NoError(t, err)
	got = s.inspectionStep(id, "endOnsite", teamLeader, map[string]any{"request_id": "e1", "onsite_ended_on": ended.String()}, "ONSITE_ENDED")
	requireDeadline(t, got["report_deadline"], wantReport)
	require.Contains(t, got["report_deadline"].(map[string]any)["explanation"].([]any)[0], "5 working days after "+ended.String())

	var esc map[string]any
	require.Eventually(t, func() bool {
		code, body := s.do("GET", "/v1/escalations?subject=inspection/"+id, &office, nil)
		if code != http.StatusOK {
			return false
		}
		for _, e := range body["escalations"].([]any) {
			if m := e.(map[string]any); m["step"] == "OVERDUE" {
				esc = m
				return true
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond, "the missed report deadline escalates within seconds")
	require.Contains(t, esc["message"], "team leader 赵强")
	hooks.awaitType(t, "inspection.escalated", func(e webhookEvent) bool {
		escData, _ := e.Data["escalation"].(map[string]any)
		return e.Data["inspection_id"] == id && escData["step"] == "OVERDUE"
	})
	code, got = s.do("GET", "/v1/inspections/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, true, got["overdue"])
	row, err := s.Ledger.GetInspection(ctx, id)
	require.NoError(t, err)
	require.True(t, row.Overdue)
	require.Equal(t, 1, row.MissedDeadlines)

	// Still overdue 5 working days after the deadline, the team's own: the
	// ladder proposes no interview (约谈) of the unit's leaders, who owe the
	// team nothing (until 2026-12-01 it proposed one under the unit's
	// code). The office may summon them itself; the interview is approved,
	// held and closed.
	code, body = s.do("GET", "/v1/interviews?subject=inspection/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Empty(t, body["interviews"], "the ladder proposed none")
	code, interview := s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": "i0", "subject": "inspection/" + id,
		"reason": "巡查发现重大事故隐患，约谈单位主要负责人"})
	require.Equal(t, http.StatusOK, code, "%v", interview)
	require.Equal(t, "OFFICE", interview["source"])
	require.Equal(t, "430200", interview["unit_code"])
	iid := interview["id"].(string)
	s.interviewStep(iid, "approve", office, map[string]any{"request_id": "i1", "note": "同意约谈"}, "APPROVED")
	held := s.interviewStep(iid, "hold", office, map[string]any{"request_id": "i2", "held_on": today().String(),
		"attendees": []string{"株洲市常务副市长", "市应急管理局局长"}, "minutes": "约谈纪要", "requirements": "五个工作日内报送整改情况"}, "HELD")
	wantFollowUp, err := cal.AddWorkingDays(today(), 5)
	require.NoError(t, err)
	requireDeadline(t, held["follow_up_deadline"], wantFollowUp)
	s.interviewStep(iid, "reportFollowUp", zhuzhou, map[string]any{"request_id": "i3", "report": "已召开专题会议部署整改"}, "FOLLOW_UP_REPORTED")
	s.interviewStep(iid, "close", office, map[string]any{"request_id": "i4"}, "CLOSED")

	// The late report stops the ladder and is recorded as late.
	report := s.evidence("inspection report")
	got = s.inspectionStep(id, "submitReport", teamLeader, map[string]any{"request_id": "r1", "report_evidence_id": report,
		"summary": "发现问题3项，其中重大事故隐患1项"}, "REPORTED")
	code, body = s.do("POST", "/v1/inspections/"+id+"/findings", &member, findingBody("late", "GENERAL", report))
	require.Equal(t, http.StatusConflict, code, "a finding after the report: %v", body)
	require.Equal(t, "STAGE_NOT_ALLOWED", errorInfo(body)["reason"], "%v", body)
	require.Equal(t, false, got["overdue"])
	require.Equal(t, float64(1), got["missed_deadlines"])
	code, body = s.do("GET", "/v1/escalations?subject=inspection/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	for _, e := range body["escalations"].([]any) {
		require.NotEqual(t, "INTERVIEW_PROPOSED", e.(map[string]any)["step"], "the team report's ladder proposes no interview")
	}
	s.inspectionStep(id, "review", office, map[string]any{"request_id": "v1", "copy_to_party_inspection_office": true}, "REVIEWED")
	s.inspectionStep(id, "approve", committee, map[string]any{"request_id": "a1"}, "APPROVED")

	// Feedback refers the classified findings and starts the rectification
	// deadline: one month after the feedback.
	wantRect, err := cal.AddMonths(today(), 1)
	require.NoError(t, err)
	// One finding gets its own, shorter limit; a limit past one month is
	// refused before anything is recorded.
	short := today().AddDays(10).String()
	// A rest day set moves to the next working day (it failed on the days
	// whose tenth day after is a weekend).
	shortDue, _, _, err := cal.NextWorkingDay(today().AddDays(10))
	require.NoError(t, err)
	tooLong := wantRect.Due.AddDays(1).String()
	code, body = s.do("POST", "/v1/inspections/"+id+":giveFeedback", &office, map[string]any{"request_id": "f0",
		"feedback_delivered_on": today().String(), "recipients": []string{"市长"}, "receiving_authority": "株洲市安委办",
		"finding_dues": map[string]string{findings[2]: tooLong}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body), "finding_dues["+findings[2]+"]")
	got = s.inspectionStep(id, "giveFeedback", office, map[string]any{"request_id": "f1", "feedback_delivered_on": today().String(),
		"recipients": []string{"市长", "常务副市长"}, "receiving_authority": "株洲市安委办",
		"finding_dues": map[string]string{findings[2]: short}}, "FEEDBACK_GIVEN")
	requireDeadline(t, got["rectification_deadline"], wantRect)
	for i, fid := range findings {
		code, f := s.do("GET", "/v1/findings/"+fid, &office, nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "REFERRED", f["stage"])
		if i == 2 {
			require.Equal(t, shortDue.String(), f["deadline"].(map[string]any)["due"])
			require.Contains(t, f["deadline"].(map[string]any)["explanation"].([]any)[0], "set by the office")
			continue
		}
		requireDeadline(t, f["deadline"], wantRect)
	}

	// Findings are rectified and verified (one rejected once), the unit
	// reports, and the inspection closes with its summary.
	code, body = s.do("POST", "/v1/inspections/"+id+":close", &office, map[string]any{"request_id": "x0"})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	for i, fid := range findings {
		s.step(fid, "reportRectification", zhuzhou, rectificationReport(fmt.Sprintf("p-%d", i), s.evidenceOf(zhuzhou, fmt.Sprintf("fixed %d", i))), "RECTIFIED")
		if i == 0 {
			s.step(fid, "verify", office, map[string]any{"request_id": "reject-0", "accept": false, "reason": "报警装置未联动"}, "REFERRED")
			s.step(fid, "reportRectification", zhuzhou, rectificationReport("p-0b", s.evidenceOf(zhuzhou, "fixed again")), "RECTIFIED")
		}
		if i < len(findings)-1 {
			s.step(fid, "verify", office, map[string]any{"request_id": fmt.Sprintf("accept-%d", i), "accept": true}, "CLOSED")
		}
	}
	code, body = s.do("POST", "/v1/inspections/"+id+":close", &office, map[string]any{"request_id": "x1"})
	require.Equal(t, http.StatusConflict, code, "the unit has not reported yet: %v", body)
	s.inspectionStep(id, "reportRectification", zhuzhou, map[string]any{"request_id": "q1", "report": "整改报告：3项问题全部整改，问责2人",
		"evidence_ids": []string{s.evidence("rectification report")}}, "RECTIFICATION_REPORTED")
	// One finding is still RECTIFIED: the workflow refuses to close (the
	// rule's one home), and takes the close once it is verified.
	code, body = s.do("POST", "/v1/inspections/"+id+":close", &office, map[string]any{"request_id": "x1b"})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "FINDINGS_OPEN", errorInfo(body)["reason"], "%v", body)
	last := findings[len(findings)-1]
	_, lastFinding := s.do("GET", "/v1/findings/"+last, &office, nil)
	require.Contains(t, body["message"], lastFinding["ledger_number"], "the open finding is named (the clerk had to search for it)")
	s.step(last, "verify", office, map[string]any{"request_id": fmt.Sprintf("accept-%d", len(findings)-1), "accept": true}, "CLOSED")
	got = s.inspectionStep(id, "close", office, map[string]any{"request_id": "x2", "note": "结果运用"}, "CLOSED")
	sum := got["summary"].(map[string]any)
	// Four findings, the early one withdrawn: three closed of three to close.
	require.Equal(t, float64(4), sum["findings"], "%v", sum)
	require.Equal(t, float64(3), sum["closed"])
	require.Equal(t, float64(1), sum["closure_rate"])
	require.Equal(t, map[string]any{"HAZARD": float64(4)}, sum["by_kind"])
	require.Equal(t, map[string]any{"MAJOR": float64(1), "GENERAL": float64(3)}, sum["by_severity"])
	require.GreaterOrEqual(t, sum["deadlines_missed"], float64(1))

	actions = s.inspectionEvents(id)
	// Stationing publishes the entry announcement (an exposure) first.
	require.Equal(t, []string{"create", "approveTeam", "notify", "expose", "station", "endOnsite"}, actions[:6])
	rest := actions[6:]
	for len(rest) > 0 && rest[0] == "escalate" {
		rest = rest[1:]
	}
	require.Equal(t, []string{"submitReport", "review", "approve", "giveFeedback", "reportRectification", "close"}, rest)
	row, err = s.Ledger.GetInspection(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "CLOSED", row.Stage)
	require.NotNil(t, row.Summary)
	require.True(t, strings.HasPrefix(row.ReportDeadline.Explanation[0], "due "+wantReport.Due.String()))

	// The real histories replay against the current code (determinism).
	s.replayHistory("inspection", "inspection/"+id)
	s.replayHistory("finding-major-rejected-once", "finding/"+findings[0])
	s.replayHistory("interview-from-ladder", "interview/"+iid)
}

// awaitType waits for a verified delivery of eventType that matches.
func (r *receiver) awaitType(t *testing.T, eventType string, match func(webhookEvent) bool) webhookEvent {
	t.Helper()
	var got webhookEvent
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range r.received {
			if e.Type == eventType && match(e) {
				got = e
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "no verified %s webhook", eventType)
	return got
}

// TestFeedbackAndCancelWaitForTheFindings: the feedback is refused while a
// finding is not yet classified, naming it, and taken once it is; a
// cancellation is refused while a finding is open, and taken once it is
// withdrawn. Until 2026-12-01 the feedback passed a DIAGNOSED MAJOR hazard
// over (no deadline, no ladder), and a cancelled inspection's findings went
// on and escalated against the unit.
func TestFeedbackAndCancelWaitForTheFindings(t *testing.T) {
	s := setup(t)
	ins := s.createInspection()
	classified := s.recordFinding(ins, "classified", "GENERAL")["id"].(string)
	s.step(classified, "diagnose", member, diagnosis(rid(t, "d1")), "DIAGNOSED")
	s.step(classified, "classify", office, classification(rid(t, "c1")), "CLASSIFIED")
	major := s.recordFinding(ins, "major", "MAJOR")
	majorID := major["id"].(string)
	s.step(majorID, "diagnose", member, diagnosis(rid(t, "d2")), "DIAGNOSED")
	s.inspectionStep(ins, "endOnsite", teamLeader, map[string]any{"request_id": rid(t, "e"), "onsite_ended_on": today().String()}, "ONSITE_ENDED")
	s.inspectionStep(ins, "submitReport", teamLeader, map[string]any{"request_id": rid(t, "r"), "report_evidence_id": s.evidence("报告 " + t.Name()), "summary": "发现问题2项"}, "REPORTED")
	s.inspectionStep(ins, "review", office, map[string]any{"request_id": rid(t, "v")}, "REVIEWED")
	s.inspectionStep(ins, "approve", committee, map[string]any{"request_id": rid(t, "a")}, "APPROVED")

	feedback := map[string]any{"request_id": rid(t, "fb"), "feedback_delivered_on": today().String(), "recipients": []string{"市长"}, "receiving_authority": "长沙市安委办"}
	code, body := s.do("POST", "/v1/inspections/"+ins+":giveFeedback", &office, feedback)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "FINDINGS_NOT_CLASSIFIED", errorInfo(body)["reason"], "%v", body)
	require.Contains(t, body["message"], major["ledger_number"], "the finding is named")
	code, got := s.do("GET", "/v1/inspections/"+ins, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "APPROVED", got["stage"], "nothing changed")

	cancel := map[string]any{"request_id": rid(t, "x"), "reason": "巡查计划调整"}
	code, body = s.do("POST", "/v1/inspections/"+ins+":cancel", &office, cancel)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "FINDINGS_OPEN", errorInfo(body)["reason"], "%v", body)

	s.step(majorID, "classify", office, classification(rid(t, "c2")), "CLASSIFIED")
	feedback["request_id"] = rid(t, "fb2")
	s.inspectionStep(ins, "giveFeedback", office, feedback, "FEEDBACK_GIVEN")
	code, f := s.do("GET", "/v1/findings/"+majorID, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "REFERRED", f["stage"])
	require.NotNil(t, f["deadline"], "the MAJOR hazard's rectification deadline runs")

	for i, id := range []string{classified, majorID} {
		s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, fmt.Sprintf("w%d", i)), "reason": "巡查取消"}, "WITHDRAWN")
	}
	cancel["request_id"] = rid(t, "x2")
	s.inspectionStep(ins, "cancel", office, cancel, "CANCELLED")
}

// TestInspectionRectificationReportNamesItsEvidence: the unit's
// rectification report of an inspection lists evidence, none of it empty;
// until 2026-12-01 evidence_ids [""] was taken (the finding's report
// refused it).
func TestInspectionRectificationReportNamesItsEvidence(t *testing.T) {
	s := setup(t)
	ins := s.createInspection()
	s.inspectionStep(ins, "endOnsite", teamLeader, map[string]any{"request_id": rid(t, "e"), "onsite_ended_on": today().String()}, "ONSITE_ENDED")
	s.inspectionStep(ins, "submitReport", teamLeader, map[string]any{"request_id": rid(t, "r"), "report_evidence_id": s.evidence("报告 " + t.Name()), "summary": "未发现问题"}, "REPORTED")
	s.inspectionStep(ins, "review", office, map[string]any{"request_id": rid(t, "v")}, "REVIEWED")
	s.inspectionStep(ins, "approve", committee, map[string]any{"request_id": rid(t, "a")}, "APPROVED")
	s.inspectionStep(ins, "giveFeedback", office, map[string]any{"request_id": rid(t, "fb"), "feedback_delivered_on": today().String(),
		"recipients": []string{"市长"}, "receiving_authority": "长沙市安委办"}, "FEEDBACK_GIVEN")
	code, body := s.do("POST", "/v1/inspections/"+ins+":reportRectification", &unit, map[string]any{"request_id": rid(t, "q"),
		"report": "全部整改完毕", "evidence_ids": []string{""}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, body["message"], "evidence_ids[0]: must not be empty")
	code, got := s.do("GET", "/v1/inspections/"+ins, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "FEEDBACK_GIVEN", got["stage"], "nothing changed")
}

// TestApprovalGivesItsDay: :approve takes approved_on, the day the
// committee approved the report, and the feedback is refused before it.
func TestApprovalGivesItsDay(t *testing.T) {
	s := setup(t)
	ins := s.createInspection()
	s.inspectionStep(ins, "endOnsite", teamLeader, map[string]any{"request_id": rid(t, "e"), "onsite_ended_on": today().AddDays(-20).String()}, "ONSITE_ENDED")
	s.inspectionStep(ins, "submitReport", teamLeader, map[string]any{"request_id": rid(t, "r"), "report_evidence_id": s.evidence("报告 " + t.Name()), "summary": "未发现问题"}, "REPORTED")
	s.inspectionStep(ins, "review", office, map[string]any{"request_id": rid(t, "v")}, "REVIEWED")
	code, body := s.do("POST", "/v1/inspections/"+ins+":approve", &committee, map[string]any{"request_id": rid(t, "a0"), "approved_on": today().AddDays(-30).String()})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, body["message"], "approved_on: must not be before")
	approved := s.inspectionStep(ins, "approve", committee, map[string]any{"request_id": rid(t, "a1"), "approved_on": today().AddDays(-10).String()}, "APPROVED")
	require.Equal(t, today().AddDays(-10).String(), approved["records"].(map[string]any)["approved_on"])
	feedback := map[string]any{"request_id": rid(t, "fb0"), "feedback_delivered_on": today().AddDays(-15).String(), "recipients": []string{"市长"}, "receiving_authority": "长沙市安委办"}
	code, body = s.do("POST", "/v1/inspections/"+ins+":giveFeedback", &office, feedback)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, body["message"], "feedback_delivered_on: must not be before "+today().AddDays(-10).String())
	feedback["request_id"], feedback["feedback_delivered_on"] = rid(t, "fb1"), today().AddDays(-9).String()
	s.inspectionStep(ins, "giveFeedback", office, feedback, "FEEDBACK_GIVEN")
}
