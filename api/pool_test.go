package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/workflows"
)

// poolPerson is one entry of the test pool: its ID, rank, kind, content
// areas and home region, and an unavailability window when set.
type poolPerson struct {
	id, rank, kind string
	areas          []int
	region         string
	unavailable    bool
}

// testPool is a pool for inspecting Xiangtan (430300) from 2026-12-01 to
// 12-15: two who may lead, two deputies, five staff members, two experts,
// and two who may not be drawn — one living in Xiangtan, one away for two
// of the days.
var testPool = []poolPerson{
	{"p-lead1", "INSPECTOR_LEVEL_2", "STAFF", []int{1, 2}, "430100", false},
	{"p-lead2", "DEPARTMENT_LEVEL", "STAFF", []int{2, 3}, "430600", false},
	{"p-dep1", "DIVISION_CHIEF", "STAFF", []int{3, 4}, "430100", false},
	{"p-dep2", "DIVISION_CHIEF", "STAFF", []int{4, 1}, "430700", false},
	{"p-m1", "OTHER", "STAFF", []int{1}, "430100", false},
	{"p-m2", "OTHER", "STAFF", []int{2, 6}, "430600", false},
	{"p-m3", "DEPUTY_DIVISION_CHIEF", "STAFF", []int{6}, "430700", false},
	{"p-m4", "OTHER", "STAFF", []int{7, 8}, "430100", false},
	{"p-m5", "OTHER", "STAFF", []int{9}, "430600", false},
	{"p-e1", "OTHER", "EXPERT", []int{5, 6}, "430100", false},
	{"p-e2", "OTHER", "EXPERT", []int{5}, "430700", false},
	{"p-conflict", "DIVISION_CHIEF", "STAFF", []int{1, 5}, "430302", false},
	{"p-unavail", "OTHER", "EXPERT", []int{5}, "430100", true},
}

// poolActor is the sign-in of a person of the pool (role expert).
func poolActor(id string) actor.Actor {
	return actor.Actor{Name: "专家" + id, Role: actor.RoleExpert, Organisation: "单位" + id, Subject: "expert-" + id}
}

// seedPool adds testPool through the API.
func (s *stack) seedPool() {
	s.t.Helper()
	for i, p := range testPool {
		x := map[string]any{"subject": "expert-" + p.id, "name": "专家" + p.id, "organisation": "单位" + p.id,
			"unit_code": fmt.Sprintf("org-%d", i%4), "rank": p.rank, "kind": p.kind, "content_areas": p.areas,
			"home_region": p.region, "affiliations": []map[string]any{{"unit_code": "430200", "from_year": 2015, "to_year": 2019}}}
		if p.unavailable {
			x["unavailable"] = []map[string]any{{"from": "2026-12-05", "to": "2026-12-06", "reason": "出国考察"}}
		}
		code, body := s.do("POST", "/v1/experts", &office, map[string]any{"request_id": rid(s.t, "add-"+p.id), "expert_id": p.id, "expert": x})
		require.Equal(s.t, http.StatusOK, code, "%s: %v", p.id, body)
	}
}

func members(l map[string]any) []map[string]any {
	var out []map[string]any
	for _, m := range l["members"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

func active(l map[string]any) []map[string]any {
	return slices.DeleteFunc(members(l), func(m map[string]any) bool {
		st := m["state"]
		return st != "PROPOSED" && st != "INVITED" && st != "ACCEPTED"
	})
}

// TestPoolDrawToInspectionREST drives the pool through REST: a draw with
// its exclusions explained, the invitations, one decline judged
// unjustified (a replacement drawn, a request for criticism posted), the
// acceptances (the units notified), the approved line-up an inspection
// then uses, and the year's fairness statistics.
func TestPoolDrawToInspectionREST(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventCriticismRequested, workflows.EventSecondmentNotice)
	s.seedPool()

	// Bad input names the field and the rule, and records nothing.
	code, body := s.do("POST", "/v1/experts", &office, map[string]any{"request_id": rid(t, "bad"),
		"expert": map[string]any{"name": "某人", "organisation": "某单位", "unit_code": "org-1", "rank": "GENERAL", "kind": "STAFF",
			"content_areas": []int{11}, "home_region": "4301"}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fmt.Sprint(body), "expert.rank")
	require.Contains(t, fmt.Sprint(body), "expert.content_areas[0]")
	require.Contains(t, fmt.Sprint(body), "expert.home_region")

	draw := map[string]any{"request_id": rid(t, "draw"), "lineup_id": "l-xiangtan", "unit_code": "430300", "unit_name": "湘潭市",
		"planned_start": "2026-12-01", "planned_end": "2026-12-15", "content_areas": []int{1, 5}, "team_size": 6, "seed": 20261201}
	code, lineup := s.do("POST", "/v1/lineups", &office, draw)
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	require.Equal(t, "PROPOSED", lineup["state"])
	require.Equal(t, "20261201", lineup["seed"], "the seed is recorded (int64: a JSON string)")
	require.Len(t, members(lineup), 6)
	roles := map[string]int{}
	for _, m := range members(lineup) {
		roles[m["role"].(string)]++
		require.NotContains(t, []string{"p-conflict", "p-unavail"}, m["expert_id"])
	}
	require.Equal(t, 1, roles["LEADER"])
	require.Equal(t, 1, roles["DEPUTY"])
	why := map[string]string{}
	for _, e := range lineup["exclusions"].([]any) {
		e := e.(map[string]any)
		r := e["reasons"].([]any)[0].(map[string]any)
		why[e["expert_id"].(string)] = r["code"].(string) + ": " + r["detail"].(string)
	}
	require.Equal(t, map[string]string{
		"p-conflict": "CONFLICT_OF_INTEREST: home region 430302 is the inspected unit 430300 or within it",
		"p-unavail":  "UNAVAILABLE: unavailable from 2026-12-05 to 2026-12-06: 出国考察",
	}, why)
	// In Chinese by default, the facts too.
	resp, zh := s.askIn("", "GET", "/v1/lineups/l-xiangtan", s.authorization(office), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", zh)
	zhWhy := map[string]string{}
	for _, e := range zh["exclusions"].([]any) {
		e := e.(map[string]any)
		zhWhy[e["expert_id"].(string)] = e["reasons"].([]any)[0].(map[string]any)["detail"].(string)
	}
	require.Equal(t, map[string]string{
		"p-conflict": "籍贯地 430302 即被巡查单位 430300 或在其辖区内",
		"p-unavail":  "2026-12-05 至 2026-12-06 不能参加：出国考察",
	}, zhWhy)
	// A retry answers the same line-up.
	code, again := s.do("POST", "/v1/lineups", &office, draw)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, members(lineup), members(again))
	// Nobody has been invited, let alone accepted: it is not approved.
	code, body = s.do("POST", "/v1/lineups/l-xiangtan:approve", &office, map[string]any{"request_id": rid(t, "approve-proposed")})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, fmt.Sprint(body), "STAGE_NOT_ALLOWED")

	// A swap still obeys the rules: the conflicted person is refused.
	code, body = s.do("POST", "/v1/lineups/l-xiangtan:swap", &office, map[string]any{"request_id": rid(t, "swap"),
		"expert_id": members(lineup)[5]["expert_id"], "replacement_expert_id": "p-conflict", "reason": "调整"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fmt.Sprint(body), "CONFLICT_OF_INTEREST")

	// The answer limit is the escalation policy's, read as the
	// invitations are sent; the invite request names none.
	code, policy := s.do("PUT", "/v1/escalation-policy", &office, map[string]any{"request_id": rid(t, "policy"),
		"steps": []any{map[string]any{"step": "OVERDUE", "working_days": 0}}, "invitation_answer_working_days": 5})
	require.Equal(t, http.StatusOK, code, "%v", policy)
	require.EqualValues(t, 5, policy["invitation_answer_working_days"])
	code, body = s.do("POST", "/v1/lineups/l-xiangtan:invite", &office, map[string]any{"request_id": rid(t, "invite"), "answer_working_days": 2})
	require.Equal(t, http.StatusBadRequest, code, "the field is gone: %v", body)
	code, lineup = s.do("POST", "/v1/lineups/l-xiangtan:invite", &office, map[string]any{"request_id": rid(t, "invite")})
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	require.Equal(t, "INVITING", lineup["state"])
	// Nor while the invitations are unanswered.
	code, body = s.do("POST", "/v1/lineups/l-xiangtan:approve", &office, map[string]any{"request_id": rid(t, "approve-inviting")})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, fmt.Sprint(body), "STAGE_NOT_ALLOWED")
	for _, m := range members(lineup) {
		row, err := s.Ledger.GetInvitation(t.Context(), m["invitation_id"].(string))
		require.NoError(t, err)
		require.Equal(t, 5, row.AnswerWorkingDays, "the policy's limit")
		require.Equal(t, policy["version"], fmt.Sprint(row.PolicyVersion), "recorded with the policy's version")
	}
	code, list := s.do("GET", "/v1/invitations?lineup_id=l-xiangtan", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["invitations"], 6)
	// The same six in pages of four, in the same order; a forged token is
	// refused, naming the field.
	code, first := s.do("GET", "/v1/invitations?lineup_id=l-xiangtan&page_size=4", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", first)
	require.Len(t, first["invitations"], 4)
	token := first["next_page_token"].(string)
	require.NotEmpty(t, token)
	code, rest := s.do("GET", "/v1/invitations?lineup_id=l-xiangtan&page_size=4&page_token="+url.QueryEscape(token), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", rest)
	require.Empty(t, rest["next_page_token"])
	require.Equal(t, list["invitations"], append(first["invitations"].([]any), rest["invitations"].([]any)...))
	code, body = s.do("GET", "/v1/invitations?lineup_id=l-xiangtan&page_token=forged", &office, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"page_token"}, fieldViolations(body))
	// A person not in the pool has no invitations, and a forged token is
	// refused for them too.
	stranger := poolActor("nobody")
	code, body = s.do("GET", "/v1/invitations?page_token=forged", &stranger, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"page_token"}, fieldViolations(body), "%v", body)
	code, body = s.do("GET", "/v1/invitations", &stranger, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Empty(t, body["invitations"])

	// The person invited sees their own invitation, and nobody else's.
	decliner := members(lineup)[len(members(lineup))-1]
	declinerID := decliner["expert_id"].(string)
	invitation := decliner["invitation_id"].(string)
	me, other := poolActor(declinerID), poolActor("p-unavail")
	code, inv := s.do("GET", "/v1/invitations/"+invitation, &me, nil)
	require.Equal(t, http.StatusOK, code, "%v", inv)
	require.Equal(t, "INVITED", inv["stage"])
	require.NotEmpty(t, inv["answer_due"])
	require.Contains(t, fmt.Sprint(inv["answer_due_explanation"]), "working days after", "in English when asked")
	// The answer's deadline is explained in Chinese by default.
	req, err := http.NewRequest("GET", s.BaseURL+"/v1/invitations/"+invitation, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", s.authorization(me))
	resp, err = (&http.Client{Transport: http.DefaultTransport}).Do(req)
	require.NoError(t, err)
	zh = map[string]any{}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&zh))
	require.NoError(t, resp.Body.Close())
	require.Contains(t, fmt.Sprint(zh["answer_due_explanation"]), "个工作日", "%v", zh)
	code, _ = s.do("GET", "/v1/invitations/"+invitation, &other, nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = s.do("POST", "/v1/invitations/"+invitation+":accept", &other, map[string]any{"request_id": rid(t, "other")})
	require.Equal(t, http.StatusNotFound, code)
	code, _ = s.do("GET", "/v1/lineups/l-xiangtan", &me, nil)
	require.Equal(t, http.StatusForbidden, code, "a person of the pool reads their invitations only")

	// The decline draws a replacement; the office judges it unjustified.
	code, body = s.do("POST", "/v1/invitations/"+invitation+":decline", &me, map[string]any{"request_id": rid(t, "decline")})
	require.Equal(t, http.StatusBadRequest, code, "a decline needs a reason: %v", body)
	code, inv = s.do("POST", "/v1/invitations/"+invitation+":decline", &me, map[string]any{"request_id": rid(t, "decline2"), "reason": "单位工作忙"})
	require.Equal(t, http.StatusOK, code, "%v", inv)
	require.Equal(t, "DECLINED", inv["stage"])
	var replacement map[string]any
	require.Eventually(t, func() bool {
		_, lineup = s.do("GET", "/v1/lineups/l-xiangtan", &office, nil)
		for _, m := range members(lineup) {
			if m["replaces"] == declinerID && m["invitation_id"] != nil {
				replacement = m
				return true
			}
		}
		return false
	}, 30*time.Second, 200*time.Millisecond, "a replacement is drawn")
	require.EqualValues(t, 2, replacement["draw"])
	require.Equal(t, decliner["role"], replacement["role"])
	code, inv = s.do("POST", "/v1/invitations/"+invitation+":judgeDecline", &office, map[string]any{"request_id": rid(t, "judge"),
		"judgement": "UNJUSTIFIED", "note": "工作忙不是拒绝抽选的正当理由"})
	require.Equal(t, http.StatusOK, code, "%v", inv)
	require.Equal(t, "DECLINE_UNJUSTIFIED", inv["stage"])
	criticism := hooks.awaitType(t, workflows.EventCriticismRequested, func(webhookEvent) bool { return true })
	require.Equal(t, declinerID, criticism.Data["expert_id"])
	require.Equal(t, "单位工作忙", criticism.Data["decline_reason"])

	// Everyone on the line-up accepts: the replacement through their own
	// sign-in, the others through the office.
	require.Eventually(t, func() bool {
		code, _ := s.do("GET", "/v1/invitations/"+replacement["invitation_id"].(string), &office, nil)
		return code == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "the replacement's invitation is recorded")
	for _, m := range active(lineup) {
		who := office
		if m["expert_id"] == replacement["expert_id"] {
			who = poolActor(m["expert_id"].(string))
		}
		code, inv := s.do("POST", "/v1/invitations/"+m["invitation_id"].(string)+":accept", &who,
			map[string]any{"request_id": rid(t, "accept-"+m["expert_id"].(string))})
		require.Equal(t, http.StatusOK, code, "%v", inv)
		require.Equal(t, "ACCEPTED", inv["stage"])
	}
	notice := hooks.awaitType(t, workflows.EventSecondmentNotice, func(webhookEvent) bool { return true })
	require.Equal(t, "2026-12-01", notice.Data["from"])
	require.Equal(t, "2026-12-15", notice.Data["to"])
	require.NotEmpty(t, notice.Data["unit_code"])
	code, lineup = s.do("GET", "/v1/lineups/l-xiangtan", &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "COMPLETE", lineup["state"])

	// Approved, the line-up is the inspection's team.
	code, lineup = s.do("POST", "/v1/lineups/l-xiangtan:approve", &office, map[string]any{"request_id": rid(t, "approve")})
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	require.Equal(t, "APPROVED", lineup["state"])
	b := fromLineup(rid(t, "inspection"), "l-xiangtan")
	spec(b)["content_areas"] = []int{5, 1}

	// An inspection refused after its line-up was taken (a FOLLOW_UP of
	// an inspection that does not exist, which its workflow finds) leaves
	// the line-up APPROVED, and the corrected request, with the same
	// request_id and so the same inspection ID, takes it.
	spec(b)["kind"], spec(b)["follows_inspection_id"] = "FOLLOW_UP", "ins-nowhere"
	code, refused := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(t, http.StatusBadRequest, code, "%v", refused)
	require.Equal(t, []string{"inspection.follows_inspection_id"}, fieldViolations(refused))
	_, lineup = s.do("GET", "/v1/lineups/l-xiangtan", &office, nil)
	require.Equal(t, "APPROVED", lineup["state"], "the refused inspection freed its line-up")
	require.Empty(t, lineup["inspection_id"])
	delete(spec(b), "follows_inspection_id")
	spec(b)["kind"] = "COMPREHENSIVE"

	code, ins := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(t, http.StatusOK, code, "%v", ins)
	team := ins["team"].([]any)
	require.Len(t, team, 6)
	names := map[string]bool{}
	for _, m := range team {
		names[m.(map[string]any)["name"].(string)] = true
	}
	require.True(t, names[replacement["name"].(string)], "the replacement is on the team")
	require.False(t, names[decliner["name"].(string)], "the person who declined is not")
	_, lineup = s.do("GET", "/v1/lineups/l-xiangtan", &office, nil)
	require.Equal(t, "USED", lineup["state"])
	require.Equal(t, ins["id"], lineup["inspection_id"])

	// Another request naming that inspection's ID and the line-up is
	// refused, and the line-up stays the inspection's.
	b["request_id"], b["inspection_id"] = rid(t, "inspection-again"), ins["id"]
	code, taken := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(t, http.StatusConflict, code, "%v", taken)
	_, lineup = s.do("GET", "/v1/lineups/l-xiangtan", &office, nil)
	require.Equal(t, "USED", lineup["state"])
	require.Equal(t, ins["id"], lineup["inspection_id"], "a refusal frees only a line-up no inspection holds")

	// Its members are booked: a second draw on overlapping dates cannot
	// choose them, and says why.
	busy, err := s.Ledger.Candidates(t.Context(), "2026-12-10", "2026-12-20", "")
	require.NoError(t, err)
	booked := map[string]string{}
	for _, b := range busy.Busy {
		booked[b.ExpertID] = b.What
	}
	for _, m := range active(lineup) {
		require.Equal(t, "inspection/"+ins["id"].(string), booked[m["expert_id"].(string)])
	}
	require.NotContains(t, booked, declinerID)
	code, second := s.do("POST", "/v1/lineups", &office, map[string]any{"request_id": rid(t, "draw2"), "unit_code": "430400",
		"unit_name": "衡阳市", "planned_start": "2026-12-10", "planned_end": "2026-12-20", "content_areas": []int{1}, "team_size": 6, "seed": 1})
	if code == http.StatusOK {
		for _, m := range members(second) {
			require.NotContains(t, booked, m["expert_id"], "nobody booked is drawn")
		}
		require.Contains(t, fmt.Sprint(second["exclusions"]), "DOUBLE_BOOKED")
	} else {
		require.Contains(t, fmt.Sprint(second), "POOL_TOO_SMALL")
	}

	// The real histories replay against the current code (determinism).
	s.replayHistory("pool-policy-invitation-declined-unjustified", "invitation/"+invitation)
	s.replayHistory("pool-policy-invitation-replacement-accepted", "invitation/"+replacement["invitation_id"].(string))

	// Fairness: the year's tallies per person and per unit.
	code, stats := s.do("GET", "/v1/pool/statistics/2026", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", stats)
	for _, e := range stats["experts"].([]any) {
		e := e.(map[string]any)
		if e["expert_id"] == declinerID {
			require.EqualValues(t, 1, e["declined"])
			require.EqualValues(t, 1, e["unjustified"])
			require.EqualValues(t, 1, e["drawn"])
		}
	}
	var invited float64
	for _, u := range stats["units"].([]any) {
		n, _ := u.(map[string]any)["invited"].(float64)
		invited += n
	}
	require.EqualValues(t, 7, invited, "six invited, one replacement")
}

// TestFailedInvitationRunIsStartedAgain: an invitation whose first run
// failed before its first write (here its row is refused once, as a year
// without calendar data refuses its deadline) is started again when the
// line-up's invitations are sent again, and the other members are invited
// all the same. Its workflow ID could not be taken again before
// (REJECT_DUPLICATE): each sending answered 500, and nobody was invited.
func TestFailedInvitationRunIsStartedAgain(t *testing.T) {
	s := setup(t)
	s.seedPool()
	draw := map[string]any{"request_id": rid(t, "draw"), "lineup_id": "l-again", "unit_code": "430300", "unit_name": "湘潭市",
		"planned_start": "2026-12-01", "planned_end": "2026-12-15", "content_areas": []int{1, 5}, "team_size": 6, "seed": 20261201}
	code, lineup := s.do("POST", "/v1/lineups", &office, draw)
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	first := members(lineup)[0]["expert_id"].(string)
	s.ownerExec(`CREATE FUNCTION refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
	  RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END; $$`)
	s.ownerExec(fmt.Sprintf(`CREATE TRIGGER refuse_once BEFORE INSERT ON invitations FOR EACH ROW WHEN (NEW.expert_id = '%s') EXECUTE FUNCTION refuse_once()`, first))

	code, body := s.do("POST", "/v1/lineups/l-again:invite", &office, map[string]any{"request_id": rid(t, "invite-1")})
	require.NotEqual(t, http.StatusOK, code, "%v", body)
	invited := func() (n int) {
		_, l := s.do("GET", "/v1/lineups/l-again", &office, nil)
		for _, m := range members(l) {
			if _, err := s.Ledger.GetInvitation(t.Context(), m["invitation_id"].(string)); err == nil {
				n++
			}
		}
		return n
	}
	require.Equal(t, len(members(lineup))-1, invited(), "the others are invited though the first failed")

	s.ownerExec(`DROP TRIGGER refuse_once ON invitations`)
	_, sent := s.do("GET", "/v1/lineups/l-again", &office, nil)
	code, body = s.do("POST", "/v1/lineups/l-again:invite", &office, map[string]any{"request_id": rid(t, "invite-2")})
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "INVITING", body["state"])
	require.Equal(t, len(members(lineup)), invited())
	// Sending again writes nothing to the line-up: its version, which a
	// replacement's write checks, stays.
	require.Equal(t, sent["version"], body["version"])
}

// TestLastDeclineStillDrawsAReplacement: when the last member yet to
// answer declines after every other accepted, the line-up is not complete:
// a replacement is drawn for them and invited, and the line-up is COMPLETE
// only once the replacement accepted.
func TestLastDeclineStillDrawsAReplacement(t *testing.T) {
	s := setup(t)
	s.seedPool()
	lineup := s.invitingLineup("l-last")
	all := members(lineup)
	replacement, lineup := s.lastDeclines(lineup)
	require.Equal(t, "INVITING", lineup["state"], "not complete while the replacement has not answered")
	require.Eventually(t, func() bool {
		code, _ := s.do("GET", "/v1/invitations/"+replacement["invitation_id"].(string), &office, nil)
		return code == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "the replacement's invitation is recorded")
	s.acceptFor(replacement)
	_, lineup = s.do("GET", "/v1/lineups/l-last", &office, nil)
	require.Equal(t, "COMPLETE", lineup["state"])
	require.Len(t, active(lineup), len(all))
}

// TestOfficeFillsAnOpenPlace: a member declines and nobody in the pool is
// left to replace them; the place stays open and the line-up INVITING, not
// COMPLETE. The office puts a new person of the pool in that place (a swap
// while inviting), who is invited at once; once they accept, the line-up is
// COMPLETE. A swap while inviting refuses an active member's place, and
// nobody can be put in a place twice.
func TestOfficeFillsAnOpenPlace(t *testing.T) {
	s := setup(t)
	s.seedPool()
	lineup := s.invitingLineup("l-open")
	drawn := map[string]bool{}
	for _, m := range members(lineup) {
		drawn[m["expert_id"].(string)] = true
	}
	// Everyone else leaves the pool before the inspection: no replacement.
	for _, p := range testPool {
		if !drawn[p.id] {
			code, body := s.do("POST", "/v1/experts/"+p.id+":leave", &office, map[string]any{"request_id": rid(t, "leave-"+p.id),
				"left_on": "2026-11-30", "reason": "调离"})
			require.Equal(t, http.StatusOK, code, "%v", body)
		}
	}
	all := members(lineup)
	leaving, staying := all[len(all)-1], all[0]
	for _, m := range all[:len(all)-1] {
		s.acceptFor(m)
	}
	code, inv := s.do("POST", "/v1/invitations/"+leaving["invitation_id"].(string)+":decline", &office,
		map[string]any{"request_id": rid(t, "decline"), "reason": "因病住院"})
	require.Equal(t, http.StatusOK, code, "%v", inv)
	require.Eventually(t, func() bool {
		_, inv = s.do("GET", "/v1/invitations/"+leaving["invitation_id"].(string), &office, nil)
		return strings.HasPrefix(fmt.Sprint(inv["note"]), "no replacement drawn")
	}, 30*time.Second, 200*time.Millisecond, "no replacement could be drawn")
	resp, zhInv := s.askIn("", "GET", "/v1/invitations/"+leaving["invitation_id"].(string), s.authorization(office), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", zhInv)
	require.Regexp(t, `^未能抽选替补人选：专家库中没有符合条件的\p{Han}`, zhInv["note"], "in Chinese by default")
	_, lineup = s.do("GET", "/v1/lineups/l-open", &office, nil)
	require.Equal(t, "INVITING", lineup["state"], "a place is open: not complete")
	// The declines awaiting the office's judgement are one filter away.
	code, list := s.do("GET", "/v1/invitations?stage=DECLINED", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["invitations"], 1)
	require.Equal(t, leaving["invitation_id"], list["invitations"].([]any)[0].(map[string]any)["id"])
	code, list = s.do("GET", "/v1/invitations?stage=declined", &office, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", list)
	require.Equal(t, []string{"stage"}, fieldViolations(list))

	// A newcomer to the pool, who may be drawn.
	code, body := s.do("POST", "/v1/experts", &office, map[string]any{"request_id": rid(t, "add-new"), "expert_id": "p-new",
		"expert": map[string]any{"subject": "expert-p-new", "name": "专家p-new", "organisation": "单位p-new", "unit_code": "org-9",
			"rank": "OTHER", "kind": "STAFF", "content_areas": []int{1, 5}, "home_region": "430100"}})
	require.Equal(t, http.StatusOK, code, "%v", body)
	swap := func(key, leavingID string) (int, map[string]any) {
		return s.do("POST", "/v1/lineups/l-open:swap", &office, map[string]any{"request_id": rid(t, key),
			"expert_id": leavingID, "replacement_expert_id": "p-new", "reason": "补足名额"})
	}
	code, body = swap("swap-active", staying["expert_id"].(string))
	require.Equal(t, http.StatusBadRequest, code, "an active member's place is not open: %v", body)
	require.Equal(t, []string{"expert_id"}, fieldViolations(body))
	code, lineup = swap("swap-open", leaving["expert_id"].(string))
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	var filled map[string]any
	for _, m := range members(lineup) {
		if m["expert_id"] == "p-new" {
			filled = m
		}
	}
	require.NotNil(t, filled, "%v", lineup)
	require.Equal(t, "INVITED", filled["state"])
	require.Equal(t, leaving["expert_id"], filled["replaces"])
	require.Equal(t, "put in by the office in an open place: 补足名额", filled["note"])
	// In Chinese by default, the notes too.
	resp, zh := s.askIn("", "GET", "/v1/lineups/l-open", s.authorization(office), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", zh)
	notes := map[string]any{}
	for _, m := range members(zh) {
		notes[m["expert_id"].(string)] = m["note"]
	}
	require.Equal(t, "由省安委办补入空缺：补足名额", notes["p-new"])
	require.Regexp(t, `^邀请 \S+：\p{Han}+$`, notes[leaving["expert_id"].(string)], "the place it left: %v", notes)
	code, inv = s.do("GET", "/v1/invitations/"+filled["invitation_id"].(string), &office, nil)
	require.Equal(t, http.StatusOK, code, "invited at once: %v", inv)
	require.Equal(t, "INVITED", inv["stage"])
	// A retry answers the same; the place is no longer open to another.
	code, again := swap("swap-open", leaving["expert_id"].(string))
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, members(lineup), members(again))
	code, body = swap("swap-twice", leaving["expert_id"].(string))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"expert_id"}, fieldViolations(body), "the place is filled: %v", body)

	s.acceptFor(filled)
	_, lineup = s.do("GET", "/v1/lineups/l-open", &office, nil)
	require.Equal(t, "COMPLETE", lineup["state"])
	require.Len(t, active(lineup), len(all))
}

// TestCancelLineup: the office calls off a line-up that is inviting, with a
// reason. The members yet to answer are withdrawn and so are their
// invitations; who had accepted stays so, and lineup.cancelled names them
// for their units; everyone on it is free to be drawn again. A cancel
// without a reason, by anyone but the office, or of a line-up cancelled
// already is refused; a retry answers the same.
func TestCancelLineup(t *testing.T) {
	s := setup(t)
	hooks := s.subscribe(workflows.EventLineupCancelled)
	s.seedPool()
	lineup := s.invitingLineup("l-off")
	all := members(lineup)
	accepter, waiting := all[0], all[1:]
	s.acceptFor(accepter)

	cancel := func(key string, who *actor.Actor, reason string) (int, map[string]any) {
		return s.do("POST", "/v1/lineups/l-off:cancel", who, map[string]any{"request_id": rid(t, key), "reason": reason})
	}
	code, body := cancel("no-reason", &office, " ")
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"reason"}, fieldViolations(body))
	expert := poolActor(accepter["expert_id"].(string))
	code, body = cancel("not-office", &expert, "计划取消")
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	_, lineup = s.do("GET", "/v1/lineups/l-off", &office, nil)
	require.Equal(t, "INVITING", lineup["state"], "refusals change nothing")

	code, lineup = cancel("cancel", &office, "巡查计划调整")
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	require.Equal(t, "CANCELLED", lineup["state"])
	state := map[string]string{}
	for _, m := range members(lineup) {
		state[m["expert_id"].(string)] = m["state"].(string)
	}
	require.Equal(t, "ACCEPTED", state[accepter["expert_id"].(string)])
	for _, m := range waiting {
		require.Equal(t, "WITHDRAWN", state[m["expert_id"].(string)], "%v", m)
		code, inv := s.do("GET", "/v1/invitations/"+m["invitation_id"].(string), &office, nil)
		require.Equal(t, http.StatusOK, code, "%v", inv)
		require.Equal(t, "WITHDRAWN", inv["stage"], "the invitation is withdrawn with the line-up")
		require.Equal(t, "line-up l-off was cancelled: 巡查计划调整", inv["note"])
		resp, zh := s.askIn("", "GET", "/v1/invitations/"+m["invitation_id"].(string), s.authorization(office), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", zh)
		require.Equal(t, "巡查组名单 l-off 已取消：巡查计划调整", zh["note"], "in Chinese by default")
	}
	// Nobody answers a withdrawn invitation.
	late := poolActor(waiting[0]["expert_id"].(string))
	code, body = s.do("POST", "/v1/invitations/"+waiting[0]["invitation_id"].(string)+":accept", &late,
		map[string]any{"request_id": rid(t, "late")})
	require.Equal(t, http.StatusConflict, code, "%v", body)

	event := hooks.awaitType(t, workflows.EventLineupCancelled, func(webhookEvent) bool { return true })
	require.Equal(t, "l-off", event.Data["lineup_id"])
	require.Equal(t, "巡查计划调整", event.Data["reason"])
	accepted := event.Data["accepted"].([]any)
	require.Len(t, accepted, 1)
	require.Equal(t, accepter["expert_id"], accepted[0].(map[string]any)["expert_id"])

	// A retry answers the same; a second cancel is refused.
	code, again := cancel("cancel", &office, "巡查计划调整")
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, lineup["version"], again["version"])
	code, body = cancel("cancel-again", &office, "再次取消")
	require.Equal(t, http.StatusConflict, code, "%v", body)
	// Nor are invitations sent, or the line-up approved, once it is
	// cancelled, whatever the request_id (one key per action made any
	// second sending a retry, answered 200).
	for _, action := range []string{"invite", "approve"} {
		code, body = s.do("POST", "/v1/lineups/l-off:"+action, &office, map[string]any{"request_id": rid(t, action+"-after-cancel")})
		require.Equal(t, http.StatusConflict, code, "%s: %v", action, body)
		require.Equal(t, "STAGE_NOT_ALLOWED", errorInfo(body)["reason"], action)
	}
	resp, zh := s.askIn("", "POST", "/v1/lineups/l-off:invite", s.authorization(office), map[string]any{"request_id": rid(t, "invite-zh")})
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%v", zh)
	require.Equal(t, "巡查组名单 l-off 处于已取消状态：发出邀请须在已抽选或邀请中状态下进行", zh["message"])

	// Its people are free for the same days.
	c, err := s.Ledger.Candidates(t.Context(), "2026-12-01", "2026-12-15", "")
	require.NoError(t, err)
	require.Empty(t, c.Busy, "a cancelled line-up books nobody")

	// Fairness: who was withdrawn unanswered counts as neither drawn nor
	// invited; who accepted, as both.
	code, stats := s.do("GET", "/v1/pool/statistics/2026", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", stats)
	tally := map[string]map[string]any{}
	for _, e := range stats["experts"].([]any) {
		tally[e.(map[string]any)["expert_id"].(string)] = e.(map[string]any)
	}
	require.EqualValues(t, 1, tally[accepter["expert_id"].(string)]["drawn"])
	require.EqualValues(t, 1, tally[accepter["expert_id"].(string)]["invited"])
	require.EqualValues(t, 1, tally[accepter["expert_id"].(string)]["accepted"])
	for _, m := range waiting {
		require.EqualValues(t, 0, tally[m["expert_id"].(string)]["drawn"], "%v", tally[m["expert_id"].(string)])
		require.EqualValues(t, 0, tally[m["expert_id"].(string)]["invited"])
	}
}

// TestCancelWithTheLongestReason: a reason as long as the cancel takes is
// written to the withdrawn invitations cut to their limit. It made every
// withdrawal invalid, the cancel answered 400 after it was written, and
// the invitations stayed open to lapse.
func TestCancelWithTheLongestReason(t *testing.T) {
	s := setup(t)
	s.seedPool()
	lineup := s.invitingLineup("l-long")
	reason := strings.Repeat("调", 1000)
	code, body := s.do("POST", "/v1/lineups/l-long:cancel", &office, map[string]any{"request_id": rid(t, "cancel"), "reason": reason})
	require.Equal(t, http.StatusOK, code, "%v", body)
	for _, m := range members(lineup) {
		code, inv := s.do("GET", "/v1/invitations/"+m["invitation_id"].(string), &office, nil)
		require.Equal(t, http.StatusOK, code, "%v", inv)
		require.Equal(t, "WITHDRAWN", inv["stage"])
		note := []rune(inv["note"].(string))
		require.Len(t, note, 1000)
		require.Equal(t, '…', note[len(note)-1])
	}
}

// invitingLineup draws line-up id of the test pool for Xiangtan (430300),
// 2026-12-01 to 12-15, and sends its invitations: INVITING.
func (s *stack) invitingLineup(id string) map[string]any {
	s.t.Helper()
	code, lineup := s.do("POST", "/v1/lineups", &office, map[string]any{"request_id": rid(s.t, "draw-"+id), "lineup_id": id,
		"unit_code": "430300", "unit_name": "湘潭市", "planned_start": "2026-12-01", "planned_end": "2026-12-15",
		"content_areas": []int{1, 5}, "team_size": 6, "seed": 20261201})
	require.Equal(s.t, http.StatusOK, code, "%v", lineup)
	code, lineup = s.do("POST", "/v1/lineups/"+id+":invite", &office, map[string]any{"request_id": rid(s.t, "invite-"+id)})
	require.Equal(s.t, http.StatusOK, code, "%v", lineup)
	require.Equal(s.t, "INVITING", lineup["state"])
	return lineup
}

// ownerExec runs sql as the database's owner: triggers that make the
// ledger refuse a write.
func (s *stack) ownerExec(sql string) {
	s.t.Helper()
	conn, err := pgx.Connect(s.t.Context(), s.OwnerURL)
	require.NoError(s.t, err)
	defer conn.Close(s.t.Context())
	_, err = conn.Exec(s.t.Context(), sql)
	require.NoError(s.t, err)
}

// lastDeclines has every member of the INVITING lineup but the last
// accept, the last decline, and waits for the replacement drawn for them:
// it returns the replacement and the line-up then.
func (s *stack) lastDeclines(lineup map[string]any) (replacement, now map[string]any) {
	s.t.Helper()
	id, all := lineup["id"].(string), members(lineup)
	last := all[len(all)-1]
	for _, m := range all[:len(all)-1] {
		s.acceptFor(m)
	}
	code, inv := s.do("POST", "/v1/invitations/"+last["invitation_id"].(string)+":decline", &office,
		map[string]any{"request_id": rid(s.t, "decline-"+id), "reason": "因病住院"})
	require.Equal(s.t, http.StatusOK, code, "%v", inv)
	require.Eventually(s.t, func() bool {
		_, now = s.do("GET", "/v1/lineups/"+id, &office, nil)
		for _, m := range members(now) {
			if m["replaces"] == last["expert_id"] && m["invitation_id"] != nil {
				replacement = m
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "a replacement is drawn for %s", last["expert_id"])
	return replacement, now
}

// fromLineup is the request creating the inspection of Xiangtan (430300)
// whose team is line-up lineupID, drawn as invitingLineup draws.
func fromLineup(requestID, lineupID string) map[string]any {
	b := inspectionBody(requestID)
	spec(b)["unit"] = map[string]any{"code": "430300", "name": "湘潭市"}
	spec(b)["content_areas"] = []int{1, 5}
	delete(spec(b), "team")
	b["lineup_id"] = lineupID
	return b
}

// completeLineup draws line-up id and has every member accept: COMPLETE.
func (s *stack) completeLineup(id string) map[string]any {
	s.t.Helper()
	for _, m := range members(s.invitingLineup(id)) {
		s.acceptFor(m)
	}
	_, l := s.do("GET", "/v1/lineups/"+id, &office, nil)
	require.Equal(s.t, "COMPLETE", l["state"])
	return l
}

// acceptFor has the office accept member m's invitation on their behalf.
func (s *stack) acceptFor(m map[string]any) {
	s.t.Helper()
	code, inv := s.do("POST", "/v1/invitations/"+m["invitation_id"].(string)+":accept", &office,
		map[string]any{"request_id": rid(s.t, "accept-"+m["expert_id"].(string))})
	require.Equal(s.t, http.StatusOK, code, "%v", inv)
	require.Equal(s.t, "ACCEPTED", inv["stage"])
}

// TestFailedReplacementInvitationIsStartedAgain: a replacement's invitation
// whose run failed before its first write (here the ledger refusing it
// once; for real, a year without calendar data for its answer's deadline)
// left the replacement INVITED on the line-up with no invitation to answer,
// and the line-up INVITING for good: sending the invitations again passed
// replacements over. Now it starts theirs too.
func TestFailedReplacementInvitationIsStartedAgain(t *testing.T) {
	s := setup(t)
	s.seedPool()
	lineup := s.invitingLineup("l-repl")
	// Every new invitation is refused: the replacement's run fails.
	s.ownerExec(`CREATE FUNCTION refuse_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
	  IF EXISTS (SELECT 1 FROM invitations WHERE id = NEW.id) THEN RETURN NEW; END IF;
	  RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END; $$`)
	s.ownerExec(`CREATE TRIGGER refuse_new BEFORE INSERT ON invitations FOR EACH ROW EXECUTE FUNCTION refuse_new()`)
	replacement, _ := s.lastDeclines(lineup)
	invitationID := replacement["invitation_id"].(string)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d, err := s.Temporal.DescribeWorkflow(t.Context(), workflows.InvitationWorkflowID(invitationID), "")
		if assert.NoError(c, err) {
			assert.Equal(c, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, d.RawResponse.GetWorkflowExecutionInfo().GetStatus())
		}
	}, 60*time.Second, 200*time.Millisecond, "the replacement's run fails at its first write")
	code, _ := s.do("GET", "/v1/invitations/"+invitationID, &office, nil)
	require.Equal(t, http.StatusNotFound, code)

	s.ownerExec(`DROP TRIGGER refuse_new ON invitations`)
	code, body := s.do("POST", "/v1/lineups/l-repl:invite", &office, map[string]any{"request_id": rid(t, "invite-again")})
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, got := s.do("GET", "/v1/invitations/"+invitationID, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "INVITED", got["stage"])
	require.Equal(t, replacement["expert_id"], got["expert_id"])
	s.acceptFor(replacement)
	_, lineup = s.do("GET", "/v1/lineups/l-repl", &office, nil)
	require.Equal(t, "COMPLETE", lineup["state"])
}

// TestTypedTeamBooksNobodyTwice: a team typed in by hand that names, by
// sign-in subject, a person of the pool who accepted a place on a line-up
// for the same days is refused, naming the field. It was recorded, and the
// line-up that had the person could then be neither approved
// (EXPERT_BOOKED) nor changed (COMPLETE).
func TestTypedTeamBooksNobodyTwice(t *testing.T) {
	s := setup(t)
	s.seedPool()
	lineup := s.completeLineup("l-typed")
	taken := members(lineup)[4]["expert_id"].(string)
	team := validTeam()
	team[3] = map[string]any{"name": "专家" + taken, "role": "MEMBER", "rank": "OTHER", "subject": "expert-" + taken}
	b := inspectionBody(rid(t, "typed"))
	spec(b)["team"] = team // the line-up's days
	code, body := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"inspection.team[3].subject"}, fieldViolations(body))
	require.Contains(t, violationRule(body, "inspection.team[3].subject"), "lineup/l-typed books")

	code, body = s.do("POST", "/v1/lineups/l-typed:approve", &office, map[string]any{"request_id": rid(t, "approve")})
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "APPROVED", body["state"])
}

// TestLineupWithAMemberWhoCannotServe: one who accepted and then left the
// pool, and one who became unavailable on the inspection's days, stayed on
// the line-up: it was approved and became the inspection's team with them.
// Now the approval is refused naming them (a retry of an approval made
// before is answered as it was), and so is an inspection's taking a
// line-up whose member left after its approval; the office cancels it and
// draws again (one who accepted is not swapped out).
func TestLineupWithAMemberWhoCannotServe(t *testing.T) {
	s := setup(t)
	s.seedPool()
	all := members(s.completeLineup("l-leaver"))
	leaver, away := all[2]["expert_id"].(string), all[3]["expert_id"].(string)
	code, body := s.do("POST", "/v1/experts/"+leaver+":leave", &office, map[string]any{"request_id": rid(t, "leave"),
		"left_on": "2026-12-03", "reason": "退休"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("POST", "/v1/experts/"+away+":addUnavailability", &office, map[string]any{"request_id": rid(t, "away"),
		"unavailability": map[string]any{"from": "2026-12-01", "to": "2026-12-15", "reason": "住院治疗"}})
	require.Equal(t, http.StatusOK, code, "%v", body)

	code, body = s.do("POST", "/v1/lineups/l-leaver:approve", &office, map[string]any{"request_id": rid(t, "approve")})
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "MEMBER_CANNOT_SERVE", errorInfo(body)["reason"], "%v", body)
	require.Contains(t, body["message"], leaver)
	require.Contains(t, body["message"], away)
	require.Contains(t, body["message"], "cancel it and draw again")
	code, body = s.do("POST", "/v1/lineups/l-leaver:swap", &office, map[string]any{"request_id": rid(t, "swap"),
		"expert_id": leaver, "replacement_expert_id": "p-m5", "reason": "退休"})
	require.Equal(t, http.StatusConflict, code, "one who accepted is not swapped out: %v", body)
	code, body = s.do("POST", "/v1/lineups/l-leaver:cancel", &office, map[string]any{"request_id": rid(t, "cancel"), "reason": "成员退休，重新抽选"})
	require.Equal(t, http.StatusOK, code, "%v", body)

	// Left after the approval: the approval's retry is answered as it
	// was, and the inspection does not take the line-up.
	approved := members(s.completeLineup("l-later"))
	code, body = s.do("POST", "/v1/lineups/l-later:approve", &office, map[string]any{"request_id": rid(t, "approve-later")})
	require.Equal(t, http.StatusOK, code, "%v", body)
	later := approved[4]["expert_id"].(string)
	code, body = s.do("POST", "/v1/experts/"+later+":leave", &office, map[string]any{"request_id": rid(t, "leave-later"),
		"left_on": "2026-12-03", "reason": "调离"})
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("POST", "/v1/lineups/l-later:approve", &office, map[string]any{"request_id": rid(t, "approve-later")})
	require.Equal(t, http.StatusOK, code, "a retry: %v", body)
	require.Equal(t, "APPROVED", body["state"])
	b := fromLineup(rid(t, "inspection"), "l-later")
	code, body = s.do("POST", "/v1/inspections", &office, b)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Equal(t, "MEMBER_CANNOT_SERVE", errorInfo(body)["reason"], "%v", body)
	require.Contains(t, body["message"], later)
}

// TestSwappedInBeforeInvitingIsInvited: a person the office swapped in
// before the invitations went out is invited with the others. For a while
// the sending passed over everyone swapped in (their draw is 0), and the
// line-up waited for an invitation nobody could answer.
func TestSwappedInBeforeInvitingIsInvited(t *testing.T) {
	s := setup(t)
	s.seedPool()
	code, lineup := s.do("POST", "/v1/lineups", &office, map[string]any{"request_id": rid(t, "draw"), "lineup_id": "l-swapped",
		"unit_code": "430300", "unit_name": "湘潭市", "planned_start": "2026-12-01", "planned_end": "2026-12-15",
		"content_areas": []int{1, 5}, "team_size": 6, "seed": 20261201})
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	out := members(lineup)[5]["expert_id"].(string)
	in := ""
	for _, p := range testPool {
		if slices.ContainsFunc(members(lineup), func(m map[string]any) bool { return m["expert_id"] == p.id }) {
			continue
		}
		code, body := s.do("POST", "/v1/lineups/l-swapped:swap", &office, map[string]any{"request_id": rid(t, "swap-"+p.id),
			"expert_id": out, "replacement_expert_id": p.id, "reason": "调整"})
		if code == http.StatusOK {
			in = p.id
			break
		}
		require.Equal(t, http.StatusBadRequest, code, "%v", body)
	}
	require.NotEmpty(t, in, "someone of the pool to swap in")
	code, lineup = s.do("POST", "/v1/lineups/l-swapped:invite", &office, map[string]any{"request_id": rid(t, "invite")})
	require.Equal(t, http.StatusOK, code, "%v", lineup)
	for _, m := range active(lineup) {
		code, inv := s.do("GET", "/v1/invitations/"+m["invitation_id"].(string), &office, nil)
		require.Equal(t, http.StatusOK, code, "%s (draw %v): %v", m["expert_id"], m["draw"], inv)
	}
	require.True(t, slices.ContainsFunc(active(lineup), func(m map[string]any) bool { return m["expert_id"] == in }))
}
