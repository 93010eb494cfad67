package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// createInspectionOf creates and stations an inspection of unit code with
// the given team and returns its ID.
func (s *stack) createInspectionOf(name, code string, team []map[string]any) string {
	s.t.Helper()
	b := inspectionBody(rid(s.t, name))
	spec(b)["unit"] = map[string]any{"code": code, "name": "单位" + code}
	if team != nil {
		spec(b)["team"] = team
	}
	status, body := s.do("POST", "/v1/inspections", &office, b)
	require.Equal(s.t, http.StatusOK, status, "%v", body)
	id := body["id"].(string)
	s.station(id)
	return id
}

// listFindingIDs pages through GET /v1/findings as who, page_size at a
// time, and returns the IDs and unit codes seen and the number of pages.
func (s *stack) listFindingIDs(who actor.Actor, pageSize int) (ids, units []string, pages int) {
	s.t.Helper()
	token := ""
	for {
		path := "/v1/findings?page_size=" + itoa(pageSize)
		if token != "" {
			path += "&page_token=" + token
		}
		code, body := s.do("GET", path, &who, nil)
		require.Equal(s.t, http.StatusOK, code, "%v", body)
		pages++
		list, _ := body["findings"].([]any)
		require.LessOrEqual(s.t, len(list), pageSize)
		for _, f := range list {
			m := f.(map[string]any)
			ids = append(ids, m["id"].(string))
			units = append(units, m["unit"].(map[string]any)["code"].(string))
		}
		token, _ = body["next_page_token"].(string)
		if token == "" {
			return ids, units, pages
		}
		require.Len(s.t, list, pageSize, "a page before the last is full")
	}
}

func itoa(n int) string {
	return string(rune('0' + n)) // page sizes of the tests are below 10
}

// TestUnitScope: a unit user sees and acts only on objects of the unit
// codes in its token; the rest is answered as not existing, over REST and
// gRPC, and nothing is recorded (issue 10 item 4).
func TestUnitScope(t *testing.T) {
	s := setup(t)
	changsha := s.createInspection() // 430100
	zz := s.createInspectionOf("zhuzhou", "430200", nil)
	var own, other []string
	for _, n := range []string{"a", "b", "c"} {
		own = append(own, s.recordFinding(changsha, "cs-"+n, "GENERAL")["id"].(string))
	}
	for _, n := range []string{"a", "b"} {
		other = append(other, s.recordFinding(zz, "zz-"+n, "GENERAL")["id"].(string))
	}

	// Lists filter in SQL: pages are full and the token leads to the rest.
	ids, units, pages := s.listFindingIDs(unit, 2)
	require.ElementsMatch(t, own, ids)
	require.Equal(t, []string{"430100", "430100", "430100"}, units)
	require.Equal(t, 2, pages)
	ids, _, _ = s.listFindingIDs(zhuzhou, 1)
	require.ElementsMatch(t, other, ids)
	ids, _, _ = s.listFindingIDs(office, 2)
	require.ElementsMatch(t, append(append([]string{}, own...), other...), ids, "the office sees the province")
	ids, _, _ = s.listFindingIDs(roleActors[actor.RoleAuditor], 5)
	require.Len(t, ids, 5, "the auditor sees the province")
	ids, _, _ = s.listFindingIDs(unitless, 5)
	require.Empty(t, ids, "a unit token without unit codes reaches nothing")
	code, body := s.do("GET", "/v1/findings/"+own[0], &unitless, nil)
	require.Equal(t, http.StatusNotFound, code, "%v", body)

	code, body = s.do("GET", "/v1/inspections", &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	list, _ := body["inspections"].([]any)
	require.Len(t, list, 1)
	require.Equal(t, changsha, list[0].(map[string]any)["id"])

	// Out of scope is not found, exactly as what does not exist.
	for _, path := range []string{"/v1/findings/" + other[0], "/v1/findings/" + other[0] + "/events", "/v1/inspections/" + zz, "/v1/inspections/" + zz + "/events"} {
		code, body := s.do("GET", path, &unit, nil)
		require.Equal(t, http.StatusNotFound, code, "%s: %v", path, body)
		require.NotContains(t, body["message"], "scope")
	}
	_, missing := s.do("GET", "/v1/findings/f-0000000000000000", &unit, nil)
	_, hidden := s.do("GET", "/v1/findings/"+other[0], &unit, nil)
	require.Equal(t, missing["code"], hidden["code"])
	code, _ = s.do("GET", "/v1/findings/"+own[0], &unit, nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = s.do("GET", "/v1/findings/"+other[0], &zhuzhou, nil)
	require.Equal(t, http.StatusOK, code)

	findings := xunchav1.NewFindingServiceClient(s.Conn)
	_, err := findings.GetFinding(s.ctx(unit), &xunchav1.GetFindingRequest{Id: other[0]})
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	_, err = findings.GetFinding(s.ctx(unit), &xunchav1.GetFindingRequest{Id: own[0]})
	require.NoError(t, err)
	inspections := xunchav1.NewInspectionServiceClient(s.Conn)
	_, err = inspections.GetInspection(s.ctx(zhuzhou), &xunchav1.GetInspectionRequest{Id: changsha})
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)

	// A unit user of 430200 reporting rectification on a 430100 finding:
	// not found, and nothing recorded.
	before, _ := s.events(own[0])
	code, body = s.do("POST", "/v1/findings/"+own[0]+":reportRectification", &zhuzhou,
		rectificationReport(rid(t, "foreign"), s.evidence("foreign report")))
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	_, err = findings.ReportRectification(s.ctx(zhuzhou), &xunchav1.ReportRectificationRequest{
		Id: own[0], RequestId: rid(t, "foreign-grpc"), Report: "已整改",
	})
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	after, _ := s.events(own[0])
	require.Equal(t, before, after, "nothing recorded")
	code, body = s.do("POST", "/v1/inspections/"+changsha+":reportRectification", &zhuzhou,
		map[string]any{"request_id": rid(t, "foreign-inspection"), "report": "整改报告"})
	require.Equal(t, http.StatusNotFound, code, "%v", body)

	// Evidence: a unit user reads what it uploaded and what an object in
	// its reach names, and nothing else.
	_, f := s.do("GET", "/v1/findings/"+own[0], &office, nil)
	ownEvidence := f["evidence_ids"].([]any)[0].(string)
	_, f = s.do("GET", "/v1/findings/"+other[0], &office, nil)
	otherEvidence := f["evidence_ids"].([]any)[0].(string)
	code, body = s.uploadAs(&unit, "DOCUMENT", "text/plain", []byte("unit's own upload of "+t.Name()), nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	uploaded := body["id"].(string)
	for _, c := range []struct {
		who  actor.Actor
		id   string
		want int
	}{
		{unit, ownEvidence, http.StatusOK}, {unit, uploaded, http.StatusOK}, {unit, otherEvidence, http.StatusNotFound},
		{zhuzhou, otherEvidence, http.StatusOK}, {zhuzhou, uploaded, http.StatusNotFound}, {zhuzhou, ownEvidence, http.StatusNotFound},
		{office, uploaded, http.StatusOK}, {member, otherEvidence, http.StatusOK},
	} {
		code, body := s.do("GET", "/v1/evidence/"+c.id, &c.who, nil)
		require.Equal(t, c.want, code, "%s reads %s: %v", c.who.Name, c.id, body)
		resp, err := s.getAs(c.who, "/v1/evidence/"+c.id+"/content")
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, c.want, resp.StatusCode, "%s reads the content of %s", c.who.Name, c.id)
	}
}

// TestTeamScope: team roles reach only the inspections whose team lists
// their token's subject, and those inspections' findings and tips.
func TestTeamScope(t *testing.T) {
	s := setup(t)
	ours := s.createInspection() // the team lists teamLeader and member
	team := validTeam()
	team[2]["subject"] = "someone-else" // another member, not ours
	theirs := s.createInspectionOf("theirs", "430200", team)
	mine := s.recordFinding(ours, "mine", "GENERAL")["id"].(string)
	// The office records on the other inspection: member is not on its team.
	ev := s.evidence("office evidence")
	code, body := s.do("POST", "/v1/inspections/"+theirs+"/findings", &office, findingBody(rid(t, "office"), "GENERAL", ev))
	require.Equal(t, http.StatusOK, code, "%v", body)
	notMine := body["id"].(string)

	// Not on the team: the inspection, its findings and tips do not exist.
	for _, path := range []string{"/v1/inspections/" + theirs, "/v1/findings/" + notMine, "/v1/findings/" + notMine + "/events", "/v1/inspections/" + theirs + "/tips"} {
		code, body := s.do("GET", path, &member, nil)
		require.Equal(t, http.StatusNotFound, code, "%s: %v", path, body)
	}
	code, body = s.do("POST", "/v1/inspections/"+theirs+"/findings", &member, findingBody(rid(t, "foreign"), "GENERAL", ev))
	require.Equal(t, http.StatusNotFound, code, "recording on another team's inspection: %v", body)
	before, _ := s.events(notMine)
	code, body = s.do("POST", "/v1/findings/"+notMine+":diagnose", &member, diagnosis(rid(t, "diagnose-foreign")))
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	after, _ := s.events(notMine)
	require.Equal(t, before, after, "nothing recorded")

	// On the team: it works, and lists hold only the team's own.
	code, body = s.do("GET", "/v1/inspections/"+ours, &member, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	s.step(mine, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	ids, _, _ := s.listFindingIDs(member, 5)
	require.Equal(t, []string{mine}, ids)
	ids, _, _ = s.listFindingIDs(teamLeader, 5)
	require.ElementsMatch(t, []string{mine, notMine}, ids, "the leader is on both teams")
	ids, _, _ = s.listFindingIDs(office, 5)
	require.ElementsMatch(t, []string{mine, notMine}, ids)

	// A team role whose subject is on no team sees nothing.
	stranger := actor.Actor{Name: "王五", Role: actor.RoleTeamMember, Organisation: "省安全生产巡查第二组"}
	ids, _, _ = s.listFindingIDs(stranger, 5)
	require.Empty(t, ids)
	code, body = s.do("GET", "/v1/inspections", &stranger, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Empty(t, body["inspections"])
	code, body = s.do("GET", "/v1/inspections/"+ours, &stranger, nil)
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	// The member's request_id on its finding, reused by the stranger: not
	// found, not IDEMPOTENCY_KEY_REUSED, which would say the finding exists.
	code, body = s.do("POST", "/v1/findings/"+mine+":diagnose", &stranger, diagnosis(rid(t, "diagnose")))
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	code, body = s.do("POST", "/v1/findings/"+mine+":diagnose", &committee, diagnosis(rid(t, "diagnose")))
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	code, body = s.do("POST", "/v1/findings/"+mine+":diagnose", &office, diagnosis(rid(t, "diagnose")))
	require.Equal(t, http.StatusConflict, code, "the office reaches the finding: %v", body)

	// Tips: only the office and the inspection's team read them.
	tip := map[string]any{"request_id": rid(t, "tip"), "channel": "LETTER", "received_on": today().String(), "content": "来信反映问题"}
	code, body = s.do("POST", "/v1/inspections/"+ours+"/tips", &member, tip)
	require.Equal(t, http.StatusOK, code, "%v", body)
	tipID := body["id"].(string)
	code, _ = s.do("GET", "/v1/tips/"+tipID, &member, nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = s.do("GET", "/v1/tips/"+tipID, &office, nil)
	require.Equal(t, http.StatusOK, code)
	code, body = s.do("GET", "/v1/tips/"+tipID, &stranger, nil)
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	require.Contains(t, body["message"], "tip")
	code, body = s.do("POST", "/v1/inspections/"+ours+"/tips", &stranger, map[string]any{"request_id": rid(t, "tip2"), "channel": "LETTER", "received_on": today().String(), "content": "x"})
	require.Equal(t, http.StatusNotFound, code, "%v", body)
}

// TestUnitScopeOversight: interviews, exposures and their lists are held to
// the unit's scope too; a team member not on the team cannot propose an
// interview about the inspection.
func TestUnitScopeOversight(t *testing.T) {
	s := setup(t)
	changsha := s.createInspection()
	team := validTeam()
	team[2]["subject"] = "someone-else"
	zz := s.createInspectionOf("zhuzhou", "430200", team)
	interviews := map[string]string{}
	for _, ins := range []string{changsha, zz} {
		code, iv := s.do("POST", "/v1/interviews", &office, map[string]any{"request_id": rid(t, "iv-"+ins),
			"subject": "inspection/" + ins, "reason": "整改不力，约谈单位主要负责人"})
		require.Equal(t, http.StatusOK, code, "%v", iv)
		interviews[ins] = iv["id"].(string)
		code, ex := s.do("POST", "/v1/exposures", &office, map[string]any{
			"request_id": rid(t, "ex-"+ins), "kind": "ENTRY_ANNOUNCEMENT", "subject": "inspection/" + ins, "outlet": "湖南日报",
			"published_on": today().String(), "title": "省安全生产巡查组进驻"})
		require.Equal(t, http.StatusOK, code, "%v", ex)
	}
	list := func(who actor.Actor, path, field string) []any {
		t.Helper()
		code, body := s.do("GET", path, &who, nil)
		require.Equal(t, http.StatusOK, code, "%v", body)
		l, _ := body[field].([]any)
		return l
	}
	ivs := list(unit, "/v1/interviews", "interviews")
	require.Len(t, ivs, 1)
	require.Equal(t, interviews[changsha], ivs[0].(map[string]any)["id"])
	require.Len(t, list(office, "/v1/interviews", "interviews"), 2)
	// Stationing published each inspection's entry already: two each.
	exs := list(zhuzhou, "/v1/exposures", "exposures")
	require.Len(t, exs, 2)
	for _, e := range exs {
		require.Equal(t, "inspection/"+zz, e.(map[string]any)["subject"])
	}
	require.Len(t, list(office, "/v1/exposures", "exposures"), 4)
	require.Empty(t, list(unit, "/v1/exposures?subject=inspection/"+zz, "exposures"))
	require.Len(t, list(member, "/v1/interviews", "interviews"), 1, "member is on 430100's team only")

	code, body := s.do("GET", "/v1/interviews/"+interviews[zz], &unit, nil)
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	code, body = s.do("GET", "/v1/interviews/"+interviews[changsha], &unit, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("POST", "/v1/interviews/"+interviews[changsha]+":reportFollowUp", &zhuzhou,
		map[string]any{"request_id": rid(t, "foreign"), "report": "已整改"})
	require.Equal(t, http.StatusNotFound, code, "%v", body)
	code, body = s.do("POST", "/v1/interviews", &member, map[string]any{"request_id": rid(t, "foreign-propose"),
		"subject": "inspection/" + zz, "reason": "约谈"})
	require.Equal(t, http.StatusNotFound, code, "%v", body)
}

// TestNamedEvidenceMustBeInReach: evidence a change names must be evidence
// the caller can read — its own upload, or evidence of an object in its
// reach. A unit that names another unit's evidence in its rectification
// report is told it does not exist (as for an ID nobody uploaded), nothing
// is recorded, and the evidence stays out of its reach; otherwise naming it
// would attach it to a finding in reach, and the unit could read it from
// then on.
func TestNamedEvidenceMustBeInReach(t *testing.T) {
	s := setup(t)
	own := s.recordFinding(s.createInspection(), "own", "GENERAL")["id"].(string) // 430100
	other := s.recordFinding(s.createInspectionOf("zhuzhou", "430200", nil), "other", "GENERAL")
	otherEvidence := other["evidence_ids"].([]any)[0].(string)
	s.step(own, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(own, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(own, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")

	before, _ := s.events(own)
	code, body := s.do("POST", "/v1/findings/"+own+":reportRectification", &unit, rectificationReport(rid(t, "foreign-evidence"), otherEvidence))
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"evidence_ids[0]"}, fieldViolations(body))
	require.Contains(t, violations(body)["evidence_ids[0]"], "does not exist")
	after, _ := s.events(own)
	require.Equal(t, before, after, "nothing recorded")
	code, body = s.do("GET", "/v1/evidence/"+otherEvidence, &unit, nil)
	require.Equal(t, http.StatusNotFound, code, "still out of reach: %v", body)

	// Its own upload it names — also content another unit uploaded first,
	// which its upload shows it holds (the same evidence ID).
	shared := []byte("整改报告模板 of " + t.Name())
	code, body = s.uploadAs(&zhuzhou, "DOCUMENT", "text/plain", shared, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	first := body["id"].(string)
	code, body = s.do("GET", "/v1/evidence/"+first, &unit, nil)
	require.Equal(t, http.StatusNotFound, code, "not yet the unit's: %v", body)
	code, body = s.uploadAs(&unit, "DOCUMENT", "text/plain", shared, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, first, body["id"])
	code, body = s.do("GET", "/v1/evidence/"+first, &unit, nil)
	require.Equal(t, http.StatusOK, code, "the unit uploaded it too: %v", body)
	code, body = s.do("POST", "/v1/findings/"+own+":reportRectification", &unit, rectificationReport(rid(t, "own-evidence"), first))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "RECTIFIED", body["stage"])
}

// TestCreateReplayOutOfReach: a create answered with the record an earlier
// request created (Temporal keeps the create's outcome, or the ledger
// answers once the workflow ended) is answered so only to a caller who
// reaches that record. A team member who names another team's finding ID
// and request_id (findingAPI.ownCreate), or an interview's request_id,
// learns nothing of them.
func TestCreateReplayOutOfReach(t *testing.T) {
	s := setup(t)
	ours := s.createInspection() // the team lists member
	team := validTeam()
	team[2]["subject"] = "someone-else"
	theirs := s.createInspectionOf("theirs-replay", "430200", team)
	ev := s.evidence("office evidence for " + t.Name())
	body := findingBody(rid(t, "record"), "GENERAL", ev)
	body["finding_id"] = fmt.Sprintf("f-theirs-%d", time.Now().UnixNano())
	code, recorded := s.do("POST", "/v1/inspections/"+theirs+"/findings", &office, body)
	require.Equal(t, http.StatusOK, code, "%v", recorded)
	id := recorded["id"].(string)
	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}, "WITHDRAWN")

	code, replayed := s.do("POST", "/v1/inspections/"+ours+"/findings", &member, body)
	require.Equal(t, http.StatusConflict, code, "%v", replayed)
	require.NotContains(t, replayed, "title", "nothing of the other team's finding")
	// The office, who recorded it, still gets its answer on a retry.
	code, again := s.do("POST", "/v1/inspections/"+theirs+"/findings", &office, body)
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, id, again["id"])

	// An interview's ID comes from its request_id alone: the same
	// request_id about the team's own inspection is another request under
	// a key already used (IDEMPOTENCY_KEY_REUSED), and shows nothing of
	// the office's interview.
	proposal := map[string]any{"request_id": rid(t, "propose"), "subject": "inspection/" + theirs, "reason": "整改不力，约谈单位主要负责人"}
	code, iv := s.do("POST", "/v1/interviews", &office, proposal)
	require.Equal(t, http.StatusOK, code, "%v", iv)
	proposal["subject"] = "inspection/" + ours
	code, replayedIV := s.do("POST", "/v1/interviews", &member, proposal)
	require.Equal(t, http.StatusConflict, code, "%v", replayedIV)
	require.NotContains(t, replayedIV, "reason", "nothing of the office's interview")
}

// TestTeamPositionDecides: a token's team role is the person's everywhere,
// their position on a team is theirs on that inspection only. 张伟 leads
// another team, so his token says team_leader; on this one he is a MEMBER,
// and the leader's steps are refused him here, saying why, while a
// member's are his. An observer listed with a subject changes nothing and
// reads no tip.
func TestTeamPositionDecides(t *testing.T) {
	s := setup(t)
	team := validTeam()
	observer := actor.Actor{Name: "郑红", Role: actor.RoleTeamMember, Organisation: "省人大代表", Subject: "observer-zheng"}
	team[6]["subject"] = observer.Subject
	id := s.createInspectionOf("positions", "430100", team)
	zhang := actor.Actor{Name: member.Name, Role: actor.RoleTeamLeader, Organisation: member.Organisation, Subject: userOf(member).Subject}

	code, body := s.do("POST", "/v1/inspections/"+id+":endOnsite", &zhang, map[string]any{
		"request_id": rid(t, "end"), "onsite_ended_on": today().String()})
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	require.Contains(t, body["message"], "the team of inspection \""+id+"\" lists you as MEMBER, not LEADER")

	// What a member may do, he does, as the member he is here.
	code, f := s.do("POST", "/v1/inspections/"+id+"/findings", &zhang, findingBody(rid(t, "by-zhang"), "GENERAL", s.evidenceOf(zhang, "现场照片")))
	require.Equal(t, http.StatusOK, code, "%v", f)
	require.Equal(t, actor.RoleTeamMember, f["found_by"].(map[string]any)["role"])
	fid := f["id"].(string)
	s.step(fid, "diagnose", zhang, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	code, body = s.do("POST", "/v1/findings/"+fid+":classify", &zhang, classification(rid(t, "classify")))
	require.Equal(t, http.StatusForbidden, code, "classifying is the leader's: %v", body)

	code, tip := s.do("POST", "/v1/inspections/"+id+"/tips", &member, map[string]any{
		"request_id": rid(t, "tip"), "channel": "PHONE", "received_on": today().String(), "content": "某企业夜间偷排，请核查。"})
	require.Equal(t, http.StatusOK, code, "%v", tip)
	code, body = s.do("POST", "/v1/tips/"+tip["id"].(string)+":triage", &zhang, map[string]any{"request_id": rid(t, "triage"), "dismiss_reason": "重复举报"})
	require.Equal(t, http.StatusForbidden, code, "triage is the leader's: %v", body)

	// The observer: a team role in the token, OBSERVER on the team.
	code, body = s.do("POST", "/v1/inspections/"+id+"/findings", &observer, findingBody(rid(t, "by-observer"), "GENERAL", s.evidenceOf(observer, "照片")))
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	require.Contains(t, body["message"], "observers change nothing")
	code, body = s.do("POST", "/v1/interviews", &observer, map[string]any{"request_id": rid(t, "observer-interview"),
		"subject": "finding/" + fid, "reason": "整改不力"})
	require.Equal(t, http.StatusForbidden, code, "an observer proposes no interview: %v", body)
	code, _ = s.do("GET", "/v1/tips/"+tip["id"].(string), &observer, nil)
	require.Equal(t, http.StatusNotFound, code, "an observer reads no tip")
	code, _ = s.do("GET", "/v1/inspections/"+id+"/tips", &observer, nil)
	require.Equal(t, http.StatusNotFound, code, "nor the inspection's list of them")

	// The leader of this team does what is the leader's.
	code, body = s.do("POST", "/v1/findings/"+fid+":classify", &teamLeader, classification(rid(t, "classify-leader")))
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("POST", "/v1/inspections/"+id+":endOnsite", &teamLeader, map[string]any{
		"request_id": rid(t, "end-leader"), "onsite_ended_on": today().String()})
	require.Equal(t, http.StatusOK, code, "%v", body)
}

// TestRecheckRevealsNothingOutOfReach: the leader of a FOLLOW_UP
// inspection who names a finding of another inspection (out of their
// reach) is answered as for a finding that does not exist; the answer said
// whose it was.
func TestRecheckRevealsNothingOutOfReach(t *testing.T) {
	s := setup(t)
	z := s.createInspection() // 430100, teamLeader's and member's team
	fid := s.recordFinding(z, "out-of-reach", "GENERAL")["id"].(string)
	y := s.createInspectionOf("looked-back-at", "430200", nil)
	other := actor.Actor{Name: "孙丽", Role: actor.RoleTeamLeader, Organisation: "省安全生产巡查第二组"}
	body := inspectionBody(rid(t, "follow-up"))
	spec(body)["kind"] = "FOLLOW_UP"
	spec(body)["follows_inspection_id"] = y
	spec(body)["unit"] = map[string]any{"code": "430200", "name": "株洲市"}
	team := validTeam()
	team[0]["subject"] = userOf(other).Subject
	delete(team[2], "subject")
	spec(body)["team"] = team
	code, created := s.do("POST", "/v1/inspections", &office, body)
	require.Equal(t, http.StatusOK, code, "%v", created)
	x := created["id"].(string)
	code, _ = s.do("GET", "/v1/findings/"+fid, &other, nil)
	require.Equal(t, http.StatusNotFound, code, "out of the leader's reach")

	probe := func(findingID, key string) (int, string) {
		code, got := s.do("POST", "/v1/inspections/"+x+":recheck", &other, map[string]any{
			"request_id": rid(t, key), "finding_id": findingID, "passed": true, "note": "复查通过"})
		return code, violationRule(got, "finding_id")
	}
	c1, r1 := probe(fid, "p1")
	c2, r2 := probe("f-0000000000000000", "p2")
	require.Equal(t, http.StatusBadRequest, c1)
	require.Equal(t, c1, c2)
	require.Equal(t, r1, strings.ReplaceAll(r2, "f-0000000000000000", fid), "the same answer but the ID")
	require.NotContains(t, r1, z, "nor whose it is")

	// An inspection that looks back at none re-checks nothing, and says so.
	code, got := s.do("POST", "/v1/inspections/"+z+":recheck", &teamLeader, map[string]any{
		"request_id": rid(t, "not-follow-up"), "finding_id": fid, "passed": true, "note": "复查通过"})
	require.Equal(t, http.StatusConflict, code, "%v", got)
	require.Contains(t, fmt.Sprint(got), "NOT_FOLLOW_UP")
}

// TestDerivedFindingIDsCannotBeTaken: a finding's ID is derived from its
// inspection and request_id when the request names none; a team must not
// take, by naming it, the ID another inspection's request will derive.
// Until 2026-12-01 a team member could: recorded in their own inspection
// under a guessed request_id ("f-001"), it made the other team's request
// 409 for good, and the office's 200 with the squatter's finding, nothing
// recorded where it was asked.
func TestDerivedFindingIDsCannotBeTaken(t *testing.T) {
	s := setup(t)
	ours := s.createInspection() // the team lists member
	team := validTeam()
	team[2]["subject"] = "someone-else"
	team[3]["subject"] = "member-of-theirs"
	theirs := s.createInspectionOf("theirs-squat", "430200", team)
	theirMember := actor.Actor{Name: "王五", Role: actor.RoleTeamMember, Organisation: "省安全生产巡查第二组", Subject: "member-of-theirs"}
	key := rid(t, "f-001")
	derived := api.GeneratedID("f", "inspections/"+theirs, key)

	squat := findingBody(key, "GENERAL", s.evidence("squatter's evidence "+t.Name()))
	squat["finding_id"] = derived
	code, body := s.do("POST", "/v1/inspections/"+ours+"/findings", &member, squat)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fmt.Sprint(body["message"]), "finding_id: must not have the shape of an ID xuncha derives", "%v", body)

	code, body = s.do("POST", "/v1/inspections/"+theirs+"/findings", &theirMember, findingBody(key, "GENERAL", s.evidenceOf(theirMember, "their evidence "+t.Name())))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, derived, body["id"])
	require.Equal(t, theirs, body["inspection_id"])

	// An ID of another shape is the client's to choose.
	chosen := findingBody(rid(t, "chosen"), "GENERAL", s.evidence("chosen "+t.Name()))
	chosen["finding_id"] = api.GeneratedID("f", "x", "y") + "0" // 17 digits
	code, body = s.do("POST", "/v1/inspections/"+ours+"/findings", &member, chosen)
	require.Equal(t, http.StatusOK, code, "%v", body)
}

// TestCreateAnsweredOnlyFromItsInspection: a chosen finding_id and a
// request_id sent again to another inspection (a separate idempotency
// scope) reach the first inspection's finding; the answer is 409, never
// that finding (the office was answered 200 with it).
func TestCreateAnsweredOnlyFromItsInspection(t *testing.T) {
	s := setup(t)
	first := s.createInspection()
	team := validTeam()
	team[2]["subject"] = "someone-else"
	second := s.createInspectionOf("second-inspection", "430200", team)
	body := findingBody(rid(t, "record"), "GENERAL", s.evidence("evidence "+t.Name()))
	body["finding_id"] = fmt.Sprintf("my-finding-%d", time.Now().UnixNano())
	code, recorded := s.do("POST", "/v1/inspections/"+first+"/findings", &office, body)
	require.Equal(t, http.StatusOK, code, "%v", recorded)
	code, again := s.do("POST", "/v1/inspections/"+second+"/findings", &office, body)
	require.Equal(t, http.StatusConflict, code, "%v", again)
	require.Contains(t, again["message"], "already exists, recorded by another request", "not the first inspection's finding")
	code, list := s.do("GET", "/v1/findings?inspection_id="+second, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, list["findings"])
}
