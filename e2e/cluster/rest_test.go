package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/devissuer"
)

// The dev users the tests act as (devissuer): the office, the committee,
// the team's leader and member (named in the line-up by subject), and the
// unit user of 430100, the inspected unit.
var (
	office     = devissuer.OfficeClerk
	committee  = devissuer.CommitteeMember
	teamLeader = devissuer.TeamLeader
	member     = devissuer.TeamMember
	unitUser   = devissuer.UnitUser
)

// rest is an office system calling the REST API of every API process in
// turn, as a load balancer in front of them would.
type rest struct {
	env    *env
	bases  []string
	next   atomic.Uint64
	client *http.Client

	mu     sync.Mutex
	tokens map[string]string // by subject
	served map[string]int    // answers per API process
}

func newREST(e *env) *rest {
	// Longer than the API's own request timeout (10 s), which answers 503.
	return &rest{env: e, bases: e.bases(), client: &http.Client{Timeout: 20 * time.Second},
		tokens: map[string]string{}, served: map[string]int{}}
}

// token is a bearer token of who, minted once (valid an hour).
func (r *rest) token(who devissuer.User) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tok, ok := r.tokens[who.Subject]; ok {
		return tok, nil
	}
	tok, err := r.env.issuer.Mint(devissuer.MintRequest{User: who})
	if err != nil {
		return "", err
	}
	r.tokens[who.Subject] = tok
	return tok, nil
}

// send sends one request as who to the next API process and decodes the
// JSON answer.
func (r *rest) send(ctx context.Context, method, path string, who devissuer.User, contentType string, body io.Reader) (int, map[string]any, error) {
	base := r.bases[r.next.Add(1)%uint64(len(r.bases))]
	tok, err := r.token(who)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	r.mu.Lock()
	r.served[base]++
	r.mu.Unlock()
	out := map[string]any{}
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &out); err != nil {
			return 0, nil, fmt.Errorf("decoding %s: %w", data, err)
		}
	} else {
		out["_raw"] = string(data)
	}
	return resp.StatusCode, out, nil
}

// do sends a JSON request (body nil for none).
func (r *rest) do(ctx context.Context, method, path string, who devissuer.User, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(data)
	}
	return r.send(ctx, method, path, who, "application/json", rd)
}

// must sends a request that must answer 200 and returns the answer.
func (r *rest) must(t *testing.T, method, path string, who devissuer.User, body any) map[string]any {
	t.Helper()
	code, out, err := r.do(t.Context(), method, path, who, body)
	require.NoError(t, err, "%s %s", method, path)
	require.Equal(t, http.StatusOK, code, "%s %s: %v", method, path, out)
	return out
}

// step posts a custom method (POST path:action) that must lead to stage.
func (r *rest) step(t *testing.T, path, action string, who devissuer.User, body map[string]any, stage string) map[string]any {
	t.Helper()
	got := r.must(t, http.MethodPost, path+":"+action, who, body)
	require.Equal(t, stage, got["stage"], "%s:%s: %v", path, action, got)
	return got
}

// evidence uploads content as a plain-text DOCUMENT, as the team member who
// records findings, and returns its ID.
func (r *rest) evidence(ctx context.Context, content string) (string, error) {
	return r.evidenceAs(ctx, member, content)
}

// evidenceAs is evidence uploaded by who: a change may name only evidence
// its caller can read (its own upload, or evidence of an object in reach).
func (r *rest) evidenceAs(ctx context.Context, who devissuer.User, content string) (string, error) {
	sum := sha256.Sum256([]byte(content))
	q := url.Values{
		"kind":        {"DOCUMENT"},
		"sha256":      {hex.EncodeToString(sum[:])},
		"captured_at": {time.Now().Add(-time.Hour).Format(time.RFC3339)},
		"file_name":   {"材料.txt"},
	}
	code, out, err := r.send(ctx, http.MethodPost, "/v1/evidence?"+q.Encode(), who, "text/plain; charset=utf-8", bytes.NewReader([]byte(content)))
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("uploading evidence: %d %v", code, out)
	}
	return out["id"].(string), nil
}

// today is the current day in Asia/Shanghai.
func today() calendar.Date { return calendar.DateOf(time.Now()) }

// inspectionBody plans an inspection of 长沙市 (430100) this year whose
// line-up names the dev team leader and member by subject.
func inspectionBody(requestID, kind string) map[string]any {
	year := today().Year
	return map[string]any{
		"request_id": requestID,
		"inspection": map[string]any{
			"unit":          map[string]any{"code": "430100", "name": "长沙市"},
			"kind":          kind,
			"round":         fmt.Sprintf("%d年第一轮", year),
			"planned_start": fmt.Sprintf("%d-01-05", year),
			"planned_end":   fmt.Sprintf("%d-12-20", year),
			"content_areas": []int{1, 3, 5},
			"team": []map[string]any{
				{"name": "赵强", "role": "LEADER", "rank": "INSPECTOR_LEVEL_2", "subject": teamLeader.Subject},
				{"name": "钱敏", "role": "DEPUTY", "rank": "DIVISION_CHIEF"},
				{"name": "孙伟", "role": "MEMBER", "rank": "OTHER", "subject": member.Subject},
				{"name": "李娜", "role": "MEMBER", "rank": "OTHER"},
				{"name": "周杰", "role": "MEMBER", "rank": "OTHER"},
				{"name": "吴刚", "role": "EXPERT", "rank": "OTHER"},
			},
		},
	}
}

// stationSteps take a planned inspection to STATIONED, when findings can be
// recorded. The team was notified and entered weeks ago (a step may be
// recorded late, never before the step it follows), so that a flow may end
// its on-site work long enough ago for its report deadline to have passed.
func stationSteps(requestPrefix string) []lifecycleStep {
	return []lifecycleStep{
		{"approveTeam", committee, map[string]any{"request_id": requestPrefix + "approveTeam"}, "PLANNED"},
		{"notify", office, map[string]any{"request_id": requestPrefix + "notify", "notified_on": today().AddDays(-31).String()}, "NOTIFIED"},
		{"station", teamLeader, map[string]any{"request_id": requestPrefix + "station", "stationed_on": today().AddDays(-30).String(),
			"announcement": "巡查任务、时间和要求", "contact_phone": "0731-12345678", "contact_mailbox": "长沙市某信箱"}, "STATIONED"},
	}
}

// lifecycleStep is one custom method of a lifecycle and the stage it leads to.
type lifecycleStep struct {
	action string
	who    devissuer.User
	body   map[string]any
	stage  string
}

// findingBody records a hazard.
func findingBody(requestID, severity string, evidenceIDs ...string) map[string]any {
	return map[string]any{
		"request_id":            requestID,
		"title":                 "危化品仓库未设置可燃气体报警装置",
		"description":           "检查发现某危化品仓库未按规定设置可燃气体检测报警装置。",
		"kind":                  "HAZARD",
		"severity":              severity,
		"content_area":          3,
		"evidence_ids":          evidenceIDs,
		"rectification_opinion": "限期安装报警装置。",
	}
}

// findingSteps take a LISTED finding to CLOSED, referred by the office
// itself (the inspection's feedback refers them in TestClusterFlows).
func findingSteps(requestPrefix, evidenceID string) []lifecycleStep {
	return []lifecycleStep{
		{"diagnose", member, diagnosis(requestPrefix + "diagnose"), "DIAGNOSED"},
		{"classify", office, classification(requestPrefix + "classify"), "CLASSIFIED"},
		{"refer", office, map[string]any{"request_id": requestPrefix + "refer", "receiving_authority": "长沙市安全生产委员会办公室",
			"feedback_received_on": today().String()}, "REFERRED"},
		{"reportRectification", unitUser, rectificationReport(requestPrefix+"reportRectification", evidenceID), "RECTIFIED"},
		{"verify", office, map[string]any{"request_id": requestPrefix + "verify", "accept": true, "reason": "整改到位"}, "CLOSED"},
	}
}

func diagnosis(requestID string) map[string]any {
	return map[string]any{"request_id": requestID, "diagnosis": map[string]any{
		"cause":               "企业安全投入不足，主要负责人未履行职责",
		"responsible_parties": []string{"某化工有限公司"},
		"risk_level":          "HIGH",
		"legal_basis":         "《危险化学品安全管理条例》第二十条",
	}}
}

func classification(requestID string) map[string]any {
	return map[string]any{"request_id": requestID, "dispositions": []string{"RECTIFY", "SUPERVISE"}}
}

func rectificationReport(requestID, evidenceID string) map[string]any {
	return map[string]any{"request_id": requestID, "report": "已安装可燃气体报警装置并通过验收",
		"handling_of_responsible": "对仓库负责人给予警告处分", "evidence_ids": []string{evidenceID}}
}
