package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// accessRecords returns the access log written since start, oldest first.
func (s *stack) accessRecords(start time.Time) []ledger.StoredAccessRecord {
	s.t.Helper()
	recs, err := s.Ledger.AccessRecords(context.Background(), start)
	require.NoError(s.t, err)
	return recs
}

// findAccess returns the one record with outcome and action; it fails the
// test when there is none or several.
func findAccess(t *testing.T, recs []ledger.StoredAccessRecord, outcome, action string) ledger.StoredAccessRecord {
	t.Helper()
	var found []ledger.StoredAccessRecord
	for _, r := range recs {
		if r.Outcome == outcome && r.Action == action {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "%s %s in %+v", outcome, action, recs)
	return found[0]
}

// TestAccessLog reads tip content and evidence content and is refused,
// through REST and gRPC, and finds each in the access log, chained.
func TestAccessLog(t *testing.T) {
	s := setup(t)
	start := time.Now().Add(-time.Second)
	inspectionID := s.createInspection()
	code, tip := s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "tip"), "channel": "PHONE", "received_on": today().String(),
		"content": "某企业夜间偷排，请核查。",
	})
	require.Equal(t, http.StatusOK, code, "%v", tip)
	tipID := tip["id"].(string)
	evidenceID := s.evidence("现场检查记录：消防通道堵塞。")
	require.Empty(t, s.accessRecords(start), "writing is not reading")

	// Sensitive reads, each recorded.
	code, body := s.do("GET", "/v1/tips/"+tipID, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("GET", "/v1/inspections/"+inspectionID+"/tips", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	resp, err := s.getAs(office, "/v1/evidence/"+evidenceID+"/content")
	require.NoError(t, err)
	content, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(content), "消防通道")

	// Refused calls: a role the table does not allow (REST and gRPC), no
	// token, a forged token on the evidence route.
	code, _ = s.do("GET", "/v1/tips/"+tipID, &unit, nil)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = s.do("GET", "/v1/tips/"+tipID, nil, nil)
	require.Equal(t, http.StatusUnauthorized, code)
	_, err = xunchav1.NewTipServiceClient(s.Conn).GetTip(s.ctx(committee), &xunchav1.GetTipRequest{Id: tipID})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	req, err := http.NewRequest(http.MethodGet, s.BaseURL+"/v1/evidence/"+evidenceID+"/content", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	recs := s.accessRecords(start)
	require.Len(t, recs, 7, "%+v", recs)
	get := findAccess(t, recs, ledger.AccessRead, "/xuncha.v1.TipService/GetTip")
	require.Equal(t, "tips/"+tipID, get.Resource)
	require.Equal(t, office.Name, get.Actor.Name)
	require.Equal(t, actor.RoleOffice, get.Actor.Role)
	require.NotEmpty(t, get.Actor.Subject)
	require.NotEmpty(t, get.Remote)
	list := findAccess(t, recs, ledger.AccessRead, "/xuncha.v1.TipService/ListTips")
	require.Equal(t, "inspections/"+inspectionID+"/tips", list.Resource)
	require.JSONEq(t, `{"tips":["`+tipID+`"]}`, string(list.Details))
	ev := findAccess(t, recs, ledger.AccessRead, "GET /v1/evidence/{id}/content")
	require.Equal(t, "evidence/"+evidenceID, ev.Resource)
	var details map[string]string
	require.NoError(t, json.Unmarshal(ev.Details, &details))
	require.Equal(t, "GET", details["method"])
	require.Len(t, details["sha256"], 64)

	// The unit's REST call and the committee's gRPC call are the same
	// method, refused by the table; who they were comes from their tokens.
	var denied []ledger.StoredAccessRecord
	for _, r := range recs {
		if r.Outcome == ledger.AccessPermissionDenied {
			denied = append(denied, r)
		}
	}
	require.Len(t, denied, 2)
	for _, r := range denied {
		require.Equal(t, "/xuncha.v1.TipService/GetTip", r.Action)
		require.Equal(t, "tips/"+tipID, r.Resource)
		require.Contains(t, r.Reason, "may be called by")
		require.Contains(t, []string{unit.Name, committee.Name}, r.Actor.Name)
		require.NotEmpty(t, r.Actor.Subject)
	}
	anonymous := findAccess(t, recs, ledger.AccessUnauthenticated, "GET /v1/tips/"+tipID)
	require.Equal(t, actor.Actor{}, anonymous.Actor)
	require.Equal(t, "tips/"+tipID, anonymous.Resource)
	require.NotEmpty(t, anonymous.Reason)
	require.True(t, strings.HasPrefix(anonymous.Remote, "127.0.0.1:"), anonymous.Remote)
	forged := findAccess(t, recs, ledger.AccessUnauthenticated, "GET /v1/evidence/{id}/content")
	require.Equal(t, "evidence/"+evidenceID+"/content", forged.Resource)

	// The records are chained: the auditor verifies them through the API.
	auditor := actor.Actor{Name: "周敏", Role: actor.RoleAuditor, Organisation: "驻厅纪检监察组"}
	code, body = s.do("GET", "/v1/audit:verify", &auditor, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, true, body["ok"], "%v", body)
	require.Equal(t, "7", body["access_records"], "int64 is a string in JSON")
	require.NotZero(t, body["events"])
	code, _ = s.do("GET", "/v1/audit:verify", &member, nil)
	require.Equal(t, http.StatusForbidden, code, "only the office and the auditor verify")

	// A read that cannot be recorded is not served; a refusal that cannot
	// be recorded is still refused.
	conn, err := pgx.Connect(context.Background(), s.OwnerURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "ALTER TABLE access_log ADD CONSTRAINT test_no_more CHECK (false) NOT VALID")
	require.NoError(t, err)
	code, body = s.do("GET", "/v1/tips/"+tipID, &office, nil)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", body)
	require.NotContains(t, body["message"], "偷排")
	resp, err = s.getAs(office, "/v1/evidence/"+evidenceID+"/content")
	require.NoError(t, err)
	content, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NotContains(t, string(content), "消防通道")
	code, _ = s.do("GET", "/v1/tips/"+tipID, &unit, nil)
	require.Equal(t, http.StatusForbidden, code)
	require.NotEmpty(t, s.Logs.FilterMessage("a refused call could not be recorded in the access log; it was refused anyway").All())
}

// TestVerifyAuditThroughTheAPI finds a tampered event through the API, as
// the auditor would.
func TestVerifyAuditThroughTheAPI(t *testing.T) {
	s := setup(t)
	f := s.recordFinding(s.createInspection(), "audit", "GENERAL")
	id := f["id"].(string)
	resp, err := xunchav1.NewAuditServiceClient(s.Conn).VerifyAudit(s.ctx(office), &xunchav1.VerifyAuditRequest{Subject: "finding/" + id})
	require.NoError(t, err)
	require.True(t, resp.GetOk(), "%v", resp.GetProblems())
	require.EqualValues(t, 1, resp.GetChains())

	conn, err := pgx.Connect(context.Background(), s.OwnerURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), `BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE events SET note = '篡改' WHERE subject_type = 'finding' AND subject_id = '`+id+`' AND seq = 1; COMMIT`)
	require.NoError(t, err)
	resp, err = xunchav1.NewAuditServiceClient(s.Conn).VerifyAudit(s.ctx(office), &xunchav1.VerifyAuditRequest{Since: today().String()})
	require.NoError(t, err)
	require.False(t, resp.GetOk())
	p := resp.GetProblems()[0]
	require.Equal(t, ledger.ProblemHashMismatch, p.GetKind())
	require.Equal(t, "finding/"+id, p.GetChain())
	require.EqualValues(t, 1, p.GetSeq())
	require.Contains(t, p.GetMessage(), "hash mismatch: events row")

	code, body := s.do("GET", "/v1/audit:verify?since=tomorrow", &office, nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, []string{"since"}, fieldViolations(body))
}

// TestRecordedAddressIsNotTheCallers: the address an access-log record
// names is the one the server saw. A gRPC client that sends the gateway's
// marker key and an X-Forwarded-For is recorded by its peer address (its
// marker does not prove it is the gateway); a REST client's own
// X-Forwarded-For is passed over for the address the gateway saw.
func TestRecordedAddressIsNotTheCallers(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	code, tip := s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{
		"request_id": rid(t, "tip"), "channel": "PHONE", "received_on": today().String(), "content": "某企业夜间偷排，请核查。"})
	require.Equal(t, http.StatusOK, code, "%v", tip)
	tipID := tip["id"].(string)

	start := time.Now().Add(-time.Second)
	ctx := metadata.AppendToOutgoingContext(s.ctx(member), "x-xuncha-via", "gateway", "x-forwarded-for", "203.0.113.66")
	_, err := xunchav1.NewTipServiceClient(s.Conn).GetTip(ctx, &xunchav1.GetTipRequest{Id: tipID})
	require.NoError(t, err)
	rec := findAccess(t, s.accessRecords(start), ledger.AccessRead, xunchav1.TipService_GetTip_FullMethodName)
	require.True(t, strings.HasPrefix(rec.Remote, "127.0.0.1:"), "the gRPC peer, not the address the caller named: %q", rec.Remote)

	start = time.Now()
	req, err := http.NewRequest(http.MethodGet, s.BaseURL+"/v1/tips/"+tipID, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", s.authorization(member))
	req.Header.Set("X-Forwarded-For", "203.0.113.66")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rec = findAccess(t, s.accessRecords(start), ledger.AccessRead, xunchav1.TipService_GetTip_FullMethodName)
	require.Equal(t, "127.0.0.1", rec.Remote, "the address the gateway saw, not the one the client named")
}

// TestRefusalsWithHostilePathsAreRecorded: a path whose bytes PostgreSQL's
// text cannot hold (invalid UTF-8, a NUL) is refused and recorded all the
// same, the bytes written out; a prober cannot keep out of the log by
// adding them.
func TestRefusalsWithHostilePathsAreRecorded(t *testing.T) {
	s := setup(t)
	start := time.Now().Add(-time.Second)
	for _, path := range []string{"/v1/tips/tip-1%ff", "/v1/tips/tip-1%00"} {
		code, _ := s.do("GET", path, nil, nil)
		require.Equal(t, http.StatusUnauthorized, code, path)
	}
	var resources []string
	for _, r := range s.accessRecords(start) {
		resources = append(resources, r.Resource)
	}
	require.Contains(t, resources, `tips/tip-1\xff`)
	require.Contains(t, resources, `tips/tip-1\x00`)
	report, err := s.Ledger.VerifyAudit(t.Context(), ledger.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, report.OK(), "%v", report.Problems)
}

// TestTipsListedByPage: an inspection's tips come a page at a time, and
// each page's read is recorded with the tips it showed, no others.
func TestTipsListedByPage(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	var ids []string
	for i := range 3 {
		code, body := s.do("POST", "/v1/inspections/"+inspectionID+"/tips", &member, map[string]any{"request_id": rid(t, fmt.Sprint("tip-", i)),
			"channel": "LETTER", "received_on": today().String(), "content": fmt.Sprint("来信反映问题 ", i)})
		require.Equal(t, http.StatusOK, code, "%v", body)
		ids = append(ids, body["id"].(string))
	}
	start := time.Now()
	code, first := s.do("GET", "/v1/inspections/"+inspectionID+"/tips?page_size=2", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", first)
	require.Len(t, first["tips"], 2)
	require.NotEmpty(t, first["next_page_token"])
	code, rest := s.do("GET", "/v1/inspections/"+inspectionID+"/tips?page_size=2&page_token="+first["next_page_token"].(string), &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", rest)
	require.Len(t, rest["tips"], 1)
	require.Empty(t, rest["next_page_token"])
	var seen []string
	for _, page := range []map[string]any{first, rest} {
		for _, tip := range page["tips"].([]any) {
			seen = append(seen, tip.(map[string]any)["id"].(string))
		}
	}
	require.Equal(t, ids, seen, "oldest first, each once")

	var pages []string
	for _, r := range s.accessRecords(start) {
		if r.Action == "/xuncha.v1.TipService/ListTips" {
			pages = append(pages, string(r.Details))
		}
	}
	require.Len(t, pages, 2)
	require.JSONEq(t, `{"tips":["`+ids[0]+`","`+ids[1]+`"]}`, pages[0])
	require.JSONEq(t, `{"tips":["`+ids[2]+`"]}`, pages[1])
}

// TestRefusalRecordsAreBounded: a caller without a token cannot fill the
// access log, which nothing may delete for 180 days. A long path or ID is
// kept clipped (a megabyte path was a megabyte row); a request line and
// headers past api.MaxHeaderBytes are refused before the API; the
// refusals of one address are recorded api.AnonymousRefusalsPerMinute
// times a minute. A caller whose token verified is recorded every time.
func TestRefusalRecordsAreBounded(t *testing.T) {
	s := setup(t)
	start := time.Now().Add(-time.Second)
	long := "/v1/findings/f-" + strings.Repeat("x", 40_000)
	code, _ := s.do("GET", long, nil, nil)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = s.do("GET", "/v1/findings/f-"+strings.Repeat("x", 2*api.MaxHeaderBytes), nil, nil)
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, code)
	_, err := xunchav1.NewFindingServiceClient(s.Conn).GetFinding(t.Context(), &xunchav1.GetFindingRequest{Id: strings.Repeat("y", 1<<20)})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	var clipped int
	for _, r := range s.accessRecords(start) {
		for _, text := range []string{r.Action, r.Resource, r.Remote} {
			require.LessOrEqual(t, len(text), ledger.MaxAccessText+len("…[+1048576 bytes]"), r.Action[:min(len(r.Action), 40)])
		}
		if strings.Contains(r.Resource, "…[+") {
			clipped++
		}
	}
	require.Equal(t, 2, clipped, "the REST path and the gRPC ID, each kept clipped")

	// One address's flood: the minute's first ones are recorded.
	start = time.Now().Add(-time.Second)
	for range api.AnonymousRefusalsPerMinute + 15 {
		code, _ := s.do("GET", "/v1/tips/tip-flood", nil, nil)
		require.Equal(t, http.StatusUnauthorized, code, "refused all the same")
	}
	var anonymous int
	for _, r := range s.accessRecords(start) {
		if r.Resource == "tips/tip-flood" {
			anonymous++
		}
	}
	require.Equal(t, api.AnonymousRefusalsPerMinute-2, anonymous, "the minute's budget, less the two refusals recorded above (the 431 never reached the API)")

	// A signed-in caller refused is recorded every time.
	start = time.Now().Add(-time.Second)
	for range api.AnonymousRefusalsPerMinute + 5 {
		code, _ := s.do("GET", "/v1/audit:verify", &unit, nil)
		require.Equal(t, http.StatusForbidden, code)
	}
	var forbidden int
	for _, r := range s.accessRecords(start) {
		if r.Outcome == ledger.AccessPermissionDenied && r.Actor.Name == unit.Name {
			forbidden++
		}
	}
	require.Equal(t, api.AnonymousRefusalsPerMinute+5, forbidden)
}
