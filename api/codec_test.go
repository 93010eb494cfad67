package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/workflows"
)

// auditor is the default auditor of test requests.
var auditor = actor.Actor{Name: "周敏", Role: actor.RoleAuditor, Organisation: "省安委办监督室"}

// uiOrigin is the Web UI origin the codec tests allow.
const uiOrigin = "http://localhost:8233"

// plainClient dials the stack's Temporal server with no codec: what the
// Temporal server, its database and an operator without the keys see.
func plainClient(t *testing.T) client.Client {
	t.Helper()
	tc, err := client.DialContext(t.Context(), client.Options{HostPort: testenv.TemporalAddress(t), Namespace: testenv.Namespace})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	return tc
}

// rawHistory is a workflow's history as stored, fetched without the codec.
func rawHistory(t *testing.T, tc client.Client, workflowID string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	history := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		history.Events = append(history.Events, e)
	}
	require.NotEmpty(t, history.Events, "history of %s", workflowID)
	return history
}

// rawDescription is a workflow's description as the server gives it
// (memo, search attributes, summary, current details), without the codec.
func rawDescription(t *testing.T, tc client.Client, workflowID string) *workflowservice.DescribeWorkflowExecutionResponse {
	t.Helper()
	desc, err := tc.DescribeWorkflow(t.Context(), workflowID, "")
	require.NoError(t, err)
	return desc.RawResponse
}

// payloadsOf collects every payload of msg but its search attributes, in
// order, as the Web UI sends them to the codec.
func payloadsOf(t *testing.T, msg proto.Message) []*commonpb.Payload {
	t.Helper()
	var all []*commonpb.Payload
	require.NoError(t, proxy.VisitPayloads(t.Context(), msg, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			all = append(all, p...)
			return p, nil
		},
	}))
	return all
}

// keyIDs are the encryption key IDs the payloads name, sorted, "" for a
// payload in the clear.
func keyIDs(payloads []*commonpb.Payload) []string {
	var ids []string
	for _, p := range payloads {
		id := string(p.GetMetadata()[payloadcrypt.MetadataKeyID])
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// codecCall posts payloads to the codec route op ("decode" or "encode")
// with the Authorization header (none when empty) from the Web UI's origin,
// and returns the status, the answer's payloads and its headers.
func (s *stack) codecCall(t *testing.T, op, authorization string, payloads []*commonpb.Payload) (int, []*commonpb.Payload, http.Header, string) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.BaseURL+api.CodecPath+"/"+op, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", testenv.Namespace)
	req.Header.Set("Origin", uiOrigin)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, resp.Header, string(answer)
	}
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(answer, &out))
	return resp.StatusCode, out.GetPayloads(), resp.Header, string(answer)
}

// auditLog keeps the AccessEvents a stack's codec routes report.
type auditLog struct {
	mu     sync.Mutex
	events []api.AccessEvent
}

func (l *auditLog) record(_ context.Context, e api.AccessEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

func (l *auditLog) all() []api.AccessEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// TestHistoriesAreEncrypted records and advances a finding through the API
// and reads its Temporal history and description as stored, without the
// key: no title, description, person's name or phone is in the clear,
// neither in the finding's history nor in its inspection's. The same
// payloads posted to the codec route come back decrypted for the office
// and the auditor, and are refused without a token (401) and to other
// roles (403); every decode is audited.
func TestHistoriesAreEncrypted(t *testing.T) {
	audit := &auditLog{}
	s := setupConfigured(t, func(srv *api.Server, _ string) {
		srv.CodecCORSOrigins = []string{uiOrigin}
		srv.AccessAudit = audit.record
	})
	inspectionID := s.createInspection()
	title, description := marker(t, "危化品仓库报警装置缺失-"), marker(t, "仓库东侧未设置可燃气体检测报警装置-")
	body := findingBody(rid(t, "finding"), "MAJOR", s.evidence("现场照片"))
	body["title"], body["description"] = title, description
	code, got := s.do("POST", "/v1/inspections/"+inspectionID+"/findings", &member, body)
	require.Equal(t, http.StatusOK, code, "%v", got)
	id := got["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")

	// What must never be in the clear: the finding's title, description and
	// opinion, the diagnosis, the people who acted (the team member's name)
	// and, in the inspection's history, the team's names and the contact
	// phone.
	findingSecrets := []string{title, description, "立即停止使用该仓库", "企业安全投入不足", member.Name}
	inspectionSecrets := []string{"0731-12345678", "钱敏", "郑红", teamLeader.Name}

	plain := plainClient(t)
	for _, tc := range []struct {
		workflowID string
		secrets    []string
	}{
		{workflows.FindingWorkflowID(id), findingSecrets},
		{workflows.InspectionWorkflowID(inspectionID), inspectionSecrets},
	} {
		history := rawHistory(t, plain, tc.workflowID)
		desc := rawDescription(t, plain, tc.workflowID)
		for name, msg := range map[string]proto.Message{"history": history, "description": desc} {
			raw, err := proto.Marshal(msg)
			require.NoError(t, err)
			text, err := protojson.Marshal(msg)
			require.NoError(t, err)
			for _, secret := range tc.secrets {
				require.False(t, bytes.Contains(raw, []byte(secret)), "%s of %s holds %q in the clear", name, tc.workflowID, secret)
				require.NotContains(t, string(text), secret, "%s of %s", name, tc.workflowID)
			}
		}
		// Every payload but the search attributes is encrypted with the
		// ring's key; the search attributes name no person.
		payloads := payloadsOf(t, history)
		require.NotEmpty(t, payloads)
		require.Equal(t, []string{"test-1"}, keyIDs(payloads), "%s: every payload names the key", tc.workflowID)
		attrs, err := protojson.Marshal(desc.GetWorkflowExecutionInfo().GetSearchAttributes())
		require.NoError(t, err)
		require.Contains(t, string(attrs), "XunchaStage", "search attributes stay readable for visibility")
		for _, secret := range append(slices.Clone(findingSecrets), inspectionSecrets...) {
			require.NotContains(t, string(attrs), secret)
		}
	}

	// The codec route gives the office and the auditor the plaintext.
	history := rawHistory(t, plain, workflows.FindingWorkflowID(id))
	payloads := payloadsOf(t, history)
	for _, who := range []actor.Actor{office, auditor} {
		code, decoded, header, answer := s.codecCall(t, "decode", s.authorization(who), payloads)
		require.Equal(t, http.StatusOK, code, "%s: %s", who.Role, answer)
		require.Len(t, decoded, len(payloads))
		require.Equal(t, uiOrigin, header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "no-store", header.Get("Cache-Control"))
		var clear []byte
		for _, p := range decoded {
			require.False(t, payloadcrypt.Encrypted(p))
			clear = append(clear, p.GetData()...)
		}
		for _, secret := range findingSecrets {
			require.True(t, bytes.Contains(clear, []byte(secret)), "%s: the decoded history holds %q", who.Role, secret)
		}
	}
	// Without a token: 401; with a token of a role that may not: 403.
	code, _, header, answer := s.codecCall(t, "decode", "", payloads)
	require.Equal(t, http.StatusUnauthorized, code, answer)
	require.Contains(t, answer, "no bearer token")
	require.Equal(t, uiOrigin, header.Get("Access-Control-Allow-Origin"), "the UI can read the refusal")
	for _, who := range []actor.Actor{unit, member, teamLeader, committee} {
		code, _, _, answer := s.codecCall(t, "decode", s.authorization(who), payloads)
		require.Equal(t, http.StatusForbidden, code, "%s: %s", who.Role, answer)
		require.NotContains(t, answer, title)
		code, _, _, _ = s.codecCall(t, "encode", s.authorization(who), payloads[:1])
		require.Equal(t, http.StatusForbidden, code, "%s encodes", who.Role)
	}
	code, _, _, _ = s.codecCall(t, "decode", "Bearer not-a-token", payloads)
	require.Equal(t, http.StatusUnauthorized, code)
	// The auditor decodes, but does not encode: ciphertext under the ring's
	// key is what a Temporal client would send as a change (it could).
	code, _, _, answer = s.codecCall(t, "encode", s.authorization(auditor), payloads[:1])
	require.Equal(t, http.StatusForbidden, code, answer)

	// Encode then decode round-trips; a tampered payload is refused with
	// the reason, never with plaintext.
	code, sealed, _, answer := s.codecCall(t, "encode", s.authorization(office), []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"` + title + `"`)}})
	require.Equal(t, http.StatusOK, code, answer)
	require.True(t, payloadcrypt.Encrypted(sealed[0]))
	sealed[0].Data[len(sealed[0].Data)-1] ^= 1
	code, _, _, answer = s.codecCall(t, "decode", s.authorization(office), sealed)
	require.Equal(t, http.StatusBadRequest, code, answer)
	require.Contains(t, answer, "authentication failed")
	require.NotContains(t, answer, title)

	// Every decode and every encode was audited, refused ones too, with
	// who and how many (an allowed encode was not).
	events := audit.all()
	outcomes := map[string][]string{}
	var encodes []string
	for _, e := range events {
		if e.Route == api.CodecEncode {
			encodes = append(encodes, e.Outcome+" "+e.Actor.Role)
			continue
		}
		require.Equal(t, api.CodecDecode, e.Route)
		require.Equal(t, testenv.Namespace, e.Namespace)
		outcomes[e.Outcome] = append(outcomes[e.Outcome], e.Actor.Role)
		if e.Outcome == api.AccessAllowed {
			require.Equal(t, len(payloads), e.Payloads)
			require.Equal(t, http.StatusOK, e.Status)
			require.NotEmpty(t, e.Actor.Subject)
		}
	}
	require.Equal(t, map[string][]string{
		api.AccessAllowed:         {actor.RoleOffice, actor.RoleAuditor},
		api.AccessUnauthenticated: {"", ""},
		api.AccessDenied:          {actor.RoleUnit, actor.RoleTeamMember, actor.RoleTeamLeader, actor.RoleCommittee},
		api.AccessFailed:          {actor.RoleOffice},
	}, outcomes)
	require.Equal(t, []string{"denied unit", "denied team_member", "denied team_leader", "denied committee", "denied auditor", "encoded office"}, encodes)
}

// TestCodecCORS: the Web UI's preflight from the configured origin is
// answered with the headers the UI sends; another origin gets nothing a
// browser would accept.
func TestCodecCORS(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) { srv.CodecCORSOrigins = []string{uiOrigin, "http://127.0.0.1:8233"} })
	preflight := func(origin, path string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, s.BaseURL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/codec/decode", "/codec/encode"} {
		for _, origin := range []string{uiOrigin, "http://127.0.0.1:8233"} {
			resp := preflight(origin, path)
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			require.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
			require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
			require.Equal(t, "POST", resp.Header.Get("Access-Control-Allow-Methods"))
			allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"authorization", "content-type", "x-namespace"} {
				require.Contains(t, allowed, h)
			}
		}
		resp := preflight("https://evil.example", path)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	require.Equal(t, http.StatusNotFound, preflight(uiOrigin, "/codec/other").StatusCode)

	// A POST from another origin is answered (a non-browser client may
	// call it), but without CORS headers a browser keeps it from the page.
	req, err := http.NewRequest(http.MethodPost, s.BaseURL+"/codec/decode", strings.NewReader(`{"payloads":[]}`))
	require.NoError(t, err)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Authorization", s.authorization(office))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	// A body that is not payloads is a 400 naming the field.
	code, body := s.do("POST", "/codec/decode", &office, `{"payloads": "nope"}`)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"payloads"}, fieldViolations(body))

	// Without an audit hook of its own, the server records every decode in
	// the access log, allowed, refused or failed; nothing was recorded.
	code, _ = s.do("POST", "/codec/decode", &unit, `{"payloads":[]}`)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = s.do("POST", "/codec/decode", nil, `{"payloads":[]}`)
	require.Equal(t, http.StatusUnauthorized, code)
	// A refused encode is recorded as every refused call is, and an
	// allowed one as a decode is (it was not).
	code, _ = s.do("POST", "/codec/encode", &unit, `{"payloads":[]}`)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = s.do("POST", "/codec/encode", &office, `{"payloads":[]}`)
	require.Equal(t, http.StatusOK, code)
	records, err := s.Ledger.AccessRecords(t.Context(), time.Time{})
	require.NoError(t, err)
	var decodes, encodes []string
	for _, r := range records {
		switch r.Action {
		case api.CodecDecode:
			decodes = append(decodes, r.Outcome+" "+r.Actor.Role)
		case api.CodecEncode:
			encodes = append(encodes, r.Outcome+" "+r.Actor.Role)
		}
	}
	require.Equal(t, []string{"READ office", "FAILED office", "PERMISSION_DENIED unit", "UNAUTHENTICATED "}, decodes)
	require.Equal(t, []string{"PERMISSION_DENIED unit", "ENCODED office"}, encodes)

	// The namespace header is the caller's: what is not printable in it
	// (a right-to-left override, a newline) is recorded escaped, not as
	// sent.
	req, err = http.NewRequest(http.MethodPost, s.BaseURL+"/codec/decode", strings.NewReader(`{"payloads":[]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", s.authorization(office))
	req.Header.Set("X-Namespace", "default\u202etxt.exe")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	records, err = s.Ledger.AccessRecords(t.Context(), time.Time{})
	require.NoError(t, err)
	last := records[len(records)-1]
	require.Equal(t, api.CodecDecode, last.Action)
	var details map[string]any
	require.NoError(t, json.Unmarshal(last.Details, &details))
	require.Equal(t, `default\u202etxt.exe`, details["namespace"], "escaped: a backslash, u202e")
}

// TestPayloadKeyRotation runs a finding partway with the key ring [k1],
// restarts the API and the worker with [k2, k1], and finishes it: the
// running workflow replays its k1 history and goes on writing with k2, the
// codec route decodes both, and the history replays with the new ring but
// not with k2 alone.
func TestPayloadKeyRotation(t *testing.T) {
	s := setup(t)
	k1 := s.PayloadKeys[0]
	inspectionID := s.createInspection()
	id := s.recordFinding(inspectionID, "rotated", "GENERAL")["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	plain := plainClient(t)
	workflowID := workflows.FindingWorkflowID(id)
	require.Equal(t, []string{k1.ID}, keyIDs(payloadsOf(t, rawHistory(t, plain, workflowID))))

	k2 := testenv.PayloadKey(t, "test-2")
	s.Restart(k2, k1)
	require.Equal(t, k2.ID, s.Codec.EncryptingKey())

	// The running finding goes on: the new worker replays the k1 history.
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), s.evidenceOf(unit, "整改照片")), "RECTIFIED")
	code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "RECTIFIED", got["stage"])
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify"), "accept": true, "reason": "整改到位"}, "CLOSED")
	s.awaitClosed(id)

	history := rawHistory(t, plain, workflowID)
	payloads := payloadsOf(t, history)
	require.Equal(t, []string{k1.ID, k2.ID}, keyIDs(payloads), "written with k1 before the restart, k2 after")

	// The codec route decodes payloads of both keys.
	code, decoded, _, answer := s.codecCall(t, "decode", s.authorization(office), payloads)
	require.Equal(t, http.StatusOK, code, answer)
	require.Equal(t, []string{""}, keyIDs(decoded))

	// The history replays with the new ring (replayHistory uses the
	// stack's), and not with k2 alone: the old key must stay in the ring
	// while a history needs it.
	s.replayHistory("rotation", workflowID)
	replayer, err := worker.NewWorkflowReplayerWithOptions(testenv.PayloadCodecOf(t, k2).ReplayerOptions(worker.WorkflowReplayerOptions{}))
	require.NoError(t, err)
	workflows.RegisterWorkflows(replayer)
	err = replayer.ReplayWorkflowHistory(nil, history)
	require.Error(t, err, "the k1 payloads cannot be read without k1")
	require.Contains(t, err.Error(), `"test-1"`)
	t.Logf("replaying without the old key: %v", err)
}
