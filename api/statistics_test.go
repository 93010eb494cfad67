package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// createInspectionIn creates and stations an inspection of unit code in
// round (the default team) and returns its ID.
func (s *stack) createInspectionIn(name, code, round string) string {
	s.t.Helper()
	b := inspectionBody(rid(s.t, name))
	spec(b)["unit"] = map[string]any{"code": code, "name": "单位" + code}
	spec(b)["round"] = round
	status, body := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(s.t, http.StatusOK, status, "%v", body)
	id := body["id"].(string)
	s.station(id)
	return id
}

// refer takes a listed finding to REFERRED, the unit having received the
// referral on feedbackReceivedOn.
func (s *stack) refer(id, feedbackReceivedOn string) map[string]any {
	s.t.Helper()
	s.step(id, "diagnose", member, diagnosis(rid(s.t, id+"/diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(s.t, id+"/classify")), "CLASSIFIED")
	return s.step(id, "refer", office, referral(rid(s.t, id+"/refer"), feedbackReceivedOn, ""), "REFERRED")
}

// closeOut takes a listed finding to CLOSED today, referred on
// feedbackReceivedOn.
func (s *stack) closeOut(id, feedbackReceivedOn string) {
	s.t.Helper()
	s.refer(id, feedbackReceivedOn)
	s.step(id, "reportRectification", unit, rectificationReport(rid(s.t, id+"/report"), s.evidenceOf(unit, "rectified "+id)), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": rid(s.t, id+"/verify"), "accept": true}, "CLOSED")
}

// statistics asks GET /v1/statistics as who and returns the answer.
func (s *stack) statistics(who actor.Actor, query string) map[string]any {
	s.t.Helper()
	code, body := s.do("GET", "/v1/statistics?"+query, &who, nil)
	require.Equal(s.t, http.StatusOK, code, "%s: %v", query, body)
	return body
}

// found is the number of findings a statistics answer counts in total.
func found(body map[string]any) float64 {
	return body["total"].(map[string]any)["found"].(float64)
}

// TestStatisticsREST: the counts of a small known ledger, exact — closure
// and on-time rates, overdue, median and 90th-percentile days to close,
// escalations and interviews — a unit with its sub-units by division
// code, grouping, the caller's scope and the refusals (issue 13 item 1).
func TestStatisticsREST(t *testing.T) {
	s := setup(t)
	changsha := s.createInspectionIn("changsha", "430100", "2026年第一轮")
	furong := s.createInspectionIn("furong", "430102", "2026年第一轮") // a district of Changsha
	zz := s.createInspectionIn("zhuzhou", "430200", "2026年第二轮")
	daysAgo := func(n int) string { return today().AddDays(-n).String() }

	// Changsha: three closed out today, referred 3, 10 and 20 days ago.
	for _, n := range []int{3, 10, 20} {
		f := s.recordFinding(changsha, "closed-"+itoa(n%10)+itoa(n/10), "GENERAL")
		s.closeOut(f["id"].(string), daysAgo(n))
	}
	// One referred two months ago: its deadline has passed.
	late := s.recordFinding(changsha, "late", "MAJOR")["id"].(string)
	referred := s.refer(late, time.Now().In(calendar.Location()).AddDate(0, -2, 0).Format("2006-01-02"))
	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	interviewDue, err := cal.AddWorkingDays(mustDate(t, referred["deadline"].(map[string]any)["due"].(string)), 5)
	require.NoError(t, err)
	ladderInterviews := 0.0 // the ladder proposes an interview 5 working days after the due day
	if interviewDue.DueAt.Before(time.Now()) {
		ladderInterviews = 1
	}
	// One withdrawn.
	withdrawn := s.recordFinding(changsha, "withdrawn", "GENERAL")["id"].(string)
	s.step(withdrawn, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "重复记录"}, "WITHDRAWN")
	// An interview about the late one, held: the ladder's when it proposed
	// one (a second, by hand, is refused while it is open: INTERVIEW_OPEN),
	// else one the office proposes.
	var ivID string
	if ladderInterviews == 1 {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			_, list := s.do("GET", "/v1/interviews?subject="+url.QueryEscape("finding/"+late), &office, nil)
			ivs, _ := list["interviews"].([]any)
			if assert.Len(c, ivs, 1) {
				ivID, _ = ivs[0].(map[string]any)["id"].(string)
			}
		}, 30*time.Second, 200*time.Millisecond, "the ladder proposes its interview")
		code, again := s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": rid(t, "interview"),
			"subject": "finding/" + late, "reason": "隐患整改逾期，约谈单位主要负责人"})
		require.Equal(t, http.StatusConflict, code, "%v", again)
		require.Equal(t, "INTERVIEW_OPEN", errorInfo(again)["reason"])
		// Sent again, the same request keeps its answer (its interview's
		// ID never runs again): it read "already exists, proposed by
		// another request".
		code, again = s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": rid(t, "interview"),
			"subject": "finding/" + late, "reason": "隐患整改逾期，约谈单位主要负责人"})
		require.Equal(t, http.StatusConflict, code, "%v", again)
		require.Equal(t, "INTERVIEW_OPEN", errorInfo(again)["reason"], "%v", again)
	} else {
		code, iv := s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": rid(t, "interview"),
			"subject": "finding/" + late, "reason": "隐患整改逾期，约谈单位主要负责人"})
		require.Equal(t, http.StatusOK, code, "%v", iv)
		ivID = iv["id"].(string)
	}
	s.interviewStep(ivID, "approve", committee, map[string]any{"request_id": rid(t, "approve")}, "APPROVED")
	s.interviewStep(ivID, "hold", office, map[string]any{"request_id": rid(t, "hold"), "held_on": today().String(),
		"attendees": []string{"长沙市副市长 李明"}, "minutes": "通报问题", "requirements": "限期整改"}, "HELD")
	// The district and Zhuzhou: one listed finding each.
	s.recordFinding(furong, "furong", "GENERAL")
	s.recordFinding(zz, "zhuzhou", "GENERAL")

	// The ladder runs on its own: wait for its steps to be counted.
	var cs map[string]any
	require.Eventually(t, func() bool {
		cs = s.statistics(office, "unit_code=430100")["total"].(map[string]any)
		escalated := map[string]float64{}
		for _, e := range cs["escalations"].([]any) {
			em := e.(map[string]any)
			escalated[em["step"].(string)] = em["count"].(float64)
		}
		return cs["overdue"] == 1.0 && escalated["OVERDUE"] == 1 && escalated["INTERVIEW_PROPOSED"] == ladderInterviews &&
			cs["interviews_proposed"] == 1.0
	}, 30*time.Second, 200*time.Millisecond, "the escalation is counted")

	// Changsha with its district 430102.
	require.Equal(t, map[string]any{
		"found": 6.0, "closed": 3.0, "withdrawn": 1.0, "open": 2.0, "overdue": 1.0,
		"closure_rate":   0.6, // 3 of the 5 not withdrawn
		"closed_on_time": 3.0, "on_time_rate": 1.0,
		"median_days_to_close": 10.0, "p90_days_to_close": 18.0, // 10 + 0.8 × (20 − 10)
		"reopened": 0.0, "interviews_proposed": 1.0, "interviews_held": 1.0,
		"escalations": []any{
			map[string]any{"step": "REMINDER", "count": 0.0},
			map[string]any{"step": "OVERDUE", "count": 1.0},
			map[string]any{"step": "INTERVIEW_PROPOSED", "count": ladderInterviews},
		},
	}, cs)

	for _, tc := range []struct {
		query string
		want  float64
	}{
		{"", 7},
		{"unit_code=430000", 7},        // the province: every code under 43
		{"unit_code=430102", 1},        // a district alone
		{"unit_code=430200", 1},        // Zhuzhou
		{"round=2026年第二轮", 1},          // Zhuzhou's round
		{"inspection_id=" + furong, 1}, // one inspection
		{"kind=HAZARD&severity=MAJOR", 1},
		{"kind=RESPONSIBILITY", 0},
		{"content_area=3", 7},
		{"from_month=" + today().String()[:7] + "&to_month=" + today().String()[:7], 7},
		{"to_month=2000-01", 0},
	} {
		require.Equal(t, tc.want, found(s.statistics(office, url.PathEscape(tc.query))), tc.query)
	}

	// Grouped by unit and month: one group per unit, named.
	body := s.statistics(committee, "group_by=UNIT&group_by=MONTH")
	require.Equal(t, 7.0, found(body))
	var groups []string
	for _, g := range body["groups"].([]any) {
		gm := g.(map[string]any)
		require.Equal(t, today().String()[:7], gm["month"])
		u := gm["unit"].(map[string]any)
		groups = append(groups, u["code"].(string)+" "+u["name"].(string)+" "+itoa(int(gm["statistics"].(map[string]any)["found"].(float64))))
	}
	require.Equal(t, []string{"430100 单位430100 5", "430102 单位430102 1", "430200 单位430200 1"}, groups)

	// Scope: a unit user counts its own unit's findings only, whatever it
	// asks for; a team role only its teams' inspections.
	require.Equal(t, 5.0, found(s.statistics(unit, "")))
	require.Equal(t, 5.0, found(s.statistics(unit, "unit_code=430000")))
	require.Equal(t, 0.0, found(s.statistics(unit, "unit_code=430200")))
	require.Equal(t, 1.0, found(s.statistics(zhuzhou, "")))
	require.Equal(t, 0.0, found(s.statistics(zhuzhou, "unit_code=430100")))
	require.Equal(t, 0.0, found(s.statistics(unitless, "")))
	require.Equal(t, 7.0, found(s.statistics(member, "")))
	stranger := actor.Actor{Name: "孙七", Role: actor.RoleTeamLeader, Organisation: "省安全生产巡查第二组"}
	require.Equal(t, 0.0, found(s.statistics(stranger, "")))
	body = s.statistics(zhuzhou, "group_by=UNIT")
	require.Len(t, body["groups"], 1)

	// gRPC answers the same.
	resp, err := xunchav1.NewStatisticsServiceClient(s.Conn).GetStatistics(s.ctx(office), &xunchav1.GetStatisticsRequest{
		UnitCode: "430100", GroupBy: []xunchav1.GetStatisticsRequest_Dimension{xunchav1.GetStatisticsRequest_KIND, xunchav1.GetStatisticsRequest_SEVERITY}})
	require.NoError(t, err)
	require.EqualValues(t, 6, resp.GetTotal().GetFound())
	require.InDelta(t, 10, resp.GetTotal().GetMedianDaysToClose(), 1e-9)
	require.Len(t, resp.GetGroups(), 2)
	require.Equal(t, xunchav1.Finding_GENERAL, resp.GetGroups()[0].GetSeverity())
	require.EqualValues(t, 5, resp.GetGroups()[0].GetStatistics().GetFound())
	require.Equal(t, xunchav1.Finding_MAJOR, resp.GetGroups()[1].GetSeverity())
	require.EqualValues(t, 1, resp.GetGroups()[1].GetStatistics().GetFound())
	require.NotNil(t, resp.GetGroups()[1].GetStatistics().ClosureRate, "none closed of one: a rate of 0")
	require.Zero(t, resp.GetGroups()[1].GetStatistics().GetClosureRate())
	require.Nil(t, resp.GetGroups()[1].GetStatistics().MedianDaysToClose, "none closed: no days")

	// Refusals name each field.
	for _, tc := range []struct {
		query  string
		fields []string
	}{
		{"from_month=2026-13&content_area=11&group_by=UNIT&group_by=UNIT", []string{"from_month", "content_area", "group_by[1]"}},
		{"from_month=2026-05&to_month=2026-04", []string{"to_month"}},
		{"from_month=1999-12", []string{"from_month"}},
		{"kind=RESPONSIBILITY&severity=MAJOR", []string{"severity"}},
		{"group_by=COLOUR", []string{"group_by"}},
		{"group_by=DIMENSION_UNSPECIFIED", []string{"group_by[0]"}},
	} {
		code, body := s.do("GET", "/v1/statistics?"+tc.query, &office, nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", tc.query, body)
		require.Equal(t, tc.fields, fieldViolations(body), tc.query)
	}
}
