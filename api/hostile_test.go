package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// A hostile or careless client, through REST and gRPC (issue 8's items 1–9):
// every bad request is answered with the status and the field it breaks, and
// leaves nothing behind — no ledger row in any table, no workflow, no
// activity failing and retrying. Each item's own tests go further
// (restinput_test.go, evidence_test.go, lifecycle_test.go, the webhook
// tests); this table replays them together against one stack.

// hostileREST is one bad REST request and what it must be answered with.
type hostileREST struct {
	name        string
	method      string
	path        string // {inspection} and {finding} stand for the test's inspection and finding
	who         actor.Actor
	contentType string // default application/json
	body        any    // a string is sent as it is, anything else as JSON
	status      int
	field       string // the BadRequest field named, when status is 400
}

func TestHostileClientREST(t *testing.T) {
	s := setupWith(t, nil) // the production webhook policy: public receivers only
	inspectionID := s.createInspection()
	f := s.recordFinding(inspectionID, "record", "GENERAL")
	findingID := f["id"].(string)
	evidenceID := s.evidence("hostile evidence")
	s.requireNoWorkflowWedged()
	before := s.snapshot()

	withTitle := func(title string) map[string]any {
		b := findingBody(rid(t, "bad-finding"), "GENERAL", evidenceID)
		b["title"] = title
		return b
	}
	inspectionWith := func(change func(spec map[string]any)) map[string]any {
		b := inspectionBody(rid(t, "bad-inspection"))
		change(spec(b))
		return b
	}
	for _, tc := range []hostileREST{
		// 1. NUL and other characters that wedged workflows.
		{name: "NUL in a finding title", method: "POST", path: "/v1/inspections/{inspection}/findings", who: member,
			body: withTitle("a\u0000b"), status: 400, field: "title"},
		{name: "escape character in a finding title", method: "POST", path: "/v1/inspections/{inspection}/findings", who: member,
			body: withTitle("a\u001b[31mb"), status: 400, field: "title"},
		{name: "right-to-left override in a finding title", method: "POST", path: "/v1/inspections/{inspection}/findings", who: member,
			body: withTitle("报告\u202Egpj.exe"), status: 400, field: "title"},
		{name: "NUL in a diagnosis field", method: "POST", path: "/v1/findings/{finding}:diagnose", who: member,
			body: map[string]any{"request_id": rid(t, "bad-diagnose"), "diagnosis": map[string]any{
				"cause": "x\u0000", "risk_level": "HIGH", "legal_basis": "l", "responsible_parties": []string{"p"}}},
			status: 400, field: "diagnosis.cause"},
		{name: "NUL in an inspection's round", method: "POST", path: "/v1/inspections", who: office,
			body: inspectionWith(func(s map[string]any) { s["round"] = "2026\u0000" }), status: 400, field: "inspection.round"},
		{name: "invalid UTF-8 in JSON", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			body: "{\"request_id\":\"w\",\"reason\":\"\xff\xfe\"}", status: 400, field: "reason"},
		{name: "oversized title", method: "POST", path: "/v1/inspections/{inspection}/findings", who: member,
			body: withTitle(strings.Repeat("隐", 201)), status: 400, field: "title"},
		{name: "oversized description", method: "POST", path: "/v1/inspections/{inspection}/findings", who: member,
			body:   func() map[string]any { b := withTitle("ok"); b["description"] = strings.Repeat("a", 20001); return b }(),
			status: 400, field: "description"},
		{name: "space in a request_id", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			body: map[string]any{"request_id": "a b", "reason": "x"}, status: 400, field: "request_id"},

		// 3. Absurd dates.
		{name: "inspection planned in 9999", method: "POST", path: "/v1/inspections", who: office,
			body:   inspectionWith(func(s map[string]any) { s["planned_start"] = "9999-01-01"; s["planned_end"] = "9999-01-02" }),
			status: 400, field: "inspection.planned_start"},
		{name: "inspection planned in 0001", method: "POST", path: "/v1/inspections", who: office,
			body: inspectionWith(func(s map[string]any) { s["planned_start"] = "0001-01-01" }), status: 400, field: "inspection.planned_start"},
		{name: "tip received in 0001", method: "POST", path: "/v1/inspections/{inspection}/tips", who: office,
			body:   map[string]any{"request_id": rid(t, "bad-tip"), "channel": "LETTER", "received_on": "0001-01-01", "content": "举报内容"},
			status: 400, field: "received_on"},
		{name: "feedback received in 0001", method: "POST", path: "/v1/findings/{finding}:refer", who: office,
			body: referral(rid(t, "bad-refer"), "0001-01-01", ""), status: 400, field: "feedback_received_on"},
		{name: "year 9999 in a list filter", method: "GET", path: "/v1/inspections?year=9999", who: office, status: 400, field: "year"},

		// 4. Parse errors, media types, sizes; forged page tokens.
		{name: "malformed JSON", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			body: `{"request_id":`, status: 400, field: ""},
		{name: "wrong type", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			body: `{"request_id":7,"reason":"x"}`, status: 400, field: "request_id"},
		{name: "unknown enum value", method: "POST", path: "/v1/inspections", who: office,
			body: `{"request_id":"x","inspection":{"kind":"ROUTINE"}}`, status: 400, field: "inspection.kind"},
		{name: "unknown field", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			body: `{"request_id":"x","reason":"r","colour":"red"}`, status: 400, field: "colour"},
		{name: "unknown enum in the query", method: "GET", path: "/v1/findings?stage=BOGUS", who: office, status: 400, field: "stage"},
		{name: "forged page token", method: "GET", path: "/v1/findings?page_token=AAAA", who: office, status: 400, field: "page_token"},
		{name: "JSON sent as text/plain", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			contentType: "text/plain", body: map[string]any{"request_id": rid(t, "plain"), "reason": "x"}, status: 415},
		{name: "JSON sent as a form", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			contentType: "application/x-www-form-urlencoded", body: "request_id=x&reason=y", status: 415},
		{name: "body over the limit", method: "POST", path: "/v1/findings/{finding}:withdraw", who: office,
			body: `{"request_id":"x","reason":"` + strings.Repeat("x", api.MaxRequestBytes) + `"}`, status: 413},

		// 7. Webhooks to the API itself and to private addresses.
		{name: "webhook to the API's own port", method: "POST", path: "/v1/webhooks", who: office,
			body:   map[string]any{"request_id": rid(t, "self-hook"), "url": s.BaseURL + "/v1/findings", "event_types": []string{"finding.escalated"}},
			status: 400, field: "url"},
		{name: "webhook to a private address", method: "POST", path: "/v1/webhooks", who: office,
			body:   map[string]any{"request_id": rid(t, "private-hook"), "url": "http://10.0.0.1/hook", "event_types": []string{"finding.escalated"}},
			status: 400, field: "url"},
		{name: "webhook to the metadata service", method: "POST", path: "/v1/webhooks", who: office,
			body:   map[string]any{"request_id": rid(t, "metadata-hook"), "url": "http://169.254.169.254/latest", "event_types": []string{"finding.escalated"}},
			status: 400, field: "url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := strings.NewReplacer("{inspection}", inspectionID, "{finding}", findingID).Replace(tc.path)
			code, body := s.hostileRequest(t, tc, path)
			require.Equal(t, tc.status, code, "%v", body)
			if tc.status == http.StatusBadRequest {
				require.Contains(t, fieldViolations(body), tc.field, "%v", body)
			}
			for _, internal := range []string{"grpc:", "proto:", "pgx", "SQLSTATE", "invalid byte sequence"} {
				require.NotContains(t, fmt.Sprint(body["message"]), internal, "no internal text reaches the client")
			}
		})
	}

	// 6. Evidence that would run as a page on the API's origin.
	html := []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>")
	code, body := s.uploadAs(&member, "PHOTO", "text/html", html, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	code, body = s.uploadAs(&member, "PHOTO", "image/jpeg", html, url.Values{"file_name": {"photo.jpg"}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body), "content_type")
	code, body = s.upload(&member, "PHOTO", []byte("x"), url.Values{"captured_at": {"0001-01-01T00:00:00Z"}})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body), "captured_at")

	require.Equal(t, before, s.snapshot(), "nothing was recorded")
	s.requireNoWorkflowWedged()

	// The finding whose change was refused takes the next change and a withdraw.
	s.step(findingID, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(findingID, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "重复登记"}, "WITHDRAWN")
}

// hostileRequest sends tc's body with its content type as who, without
// failing the parent test.
func (s *stack) hostileRequest(t *testing.T, tc hostileREST, path string) (int, map[string]any) {
	t.Helper()
	if tc.contentType == "" {
		code, body, err := s.request(tc.method, path, &tc.who, tc.body)
		require.NoError(t, err)
		return code, body
	}
	raw, ok := tc.body.(string)
	if !ok {
		data, err := json.Marshal(tc.body)
		require.NoError(t, err)
		raw = string(data)
	}
	req, err := http.NewRequest(tc.method, s.BaseURL+path, strings.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", tc.contentType)
	req.Header.Set("Authorization", s.authorization(tc.who))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]any{"_raw": string(data)}
	if bytes.HasPrefix(data, []byte("{")) {
		require.NoError(t, json.Unmarshal(data, &out), "%s", data)
	}
	return resp.StatusCode, out
}

// snapshot summarises everything a request could have recorded: the row
// count of every ledger table and the workflows of the stack's task queue.
func (s *stack) snapshot() string {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.OwnerURL)
	require.NoError(s.t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
SELECT table_name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_version'
ORDER BY table_name`)
	require.NoError(s.t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(s.t, err)
	require.Contains(s.t, tables, "events")
	var out []string
	for _, table := range tables {
		var n int
		require.NoError(s.t, conn.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n))
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	workflows, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = '%s'", s.queue),
	})
	require.NoError(s.t, err)
	out = append(out, fmt.Sprintf("workflows=%d", workflows.GetCount()))
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestHostileClientGRPC(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	ctx := s.ctx(member)
	findings := xunchav1.NewFindingServiceClient(s.Conn)
	inspections := xunchav1.NewInspectionServiceClient(s.Conn)
	evidenceID := s.evidence("grpc hostile")
	s.requireNoWorkflowWedged()
	before := s.snapshot()

	_, err := findings.RecordFinding(ctx, &xunchav1.RecordFindingRequest{
		InspectionId: inspectionID, RequestId: rid(t, "nul"), Title: "a\x00b", Kind: xunchav1.Finding_HAZARD,
		Severity: xunchav1.Finding_GENERAL, ContentArea: 3, EvidenceIds: []string{evidenceID},
	})
	requireViolation(t, err, "title")

	spec := &xunchav1.Inspection{
		Unit: &xunchav1.Unit{Code: "430100", Name: "长沙市"}, Kind: xunchav1.Inspection_SPECIAL, Round: "2026\x00",
		PlannedStart: "2026-12-01", PlannedEnd: "2026-12-15", ContentAreas: []int32{1}, Team: protoTeam(),
	}
	_, err = inspections.CreateInspection(s.ctx(office), &xunchav1.CreateInspectionRequest{RequestId: rid(t, "round"), Inspection: spec})
	requireViolation(t, err, "inspection.round")
	spec.Round, spec.PlannedStart = "2026年第一轮", "0001-01-01"
	_, err = inspections.CreateInspection(s.ctx(office), &xunchav1.CreateInspectionRequest{RequestId: rid(t, "year1"), Inspection: spec})
	requireViolation(t, err, "inspection.planned_start")

	_, err = xunchav1.NewWebhookServiceClient(s.Conn).CreateWebhook(s.ctx(office), &xunchav1.CreateWebhookRequest{
		RequestId: rid(t, "hook"), Url: "http://10.1.2.3/hook", EventTypes: []string{"finding.escalated"},
	})
	requireViolation(t, err, "url")

	_, err = inspections.CreateInspection(s.ctx(office), &xunchav1.CreateInspectionRequest{
		RequestId: rid(t, "big"), Inspection: &xunchav1.Inspection{Round: strings.Repeat("x", api.MaxRequestBytes)},
	})
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)

	// Invalid UTF-8 cannot be built with the proto library, so the request is
	// written by hand and sent as raw bytes: the field is named, the code is
	// INVALID_ARGUMENT, not Internal.
	fields := (&xunchav1.RecordFindingRequest{}).ProtoReflect().Descriptor().Fields()
	var raw []byte
	for _, f := range []struct {
		name  protoreflect.Name
		value string
	}{{"inspection_id", inspectionID}, {"request_id", rid(t, "utf8")}, {"title", "bad \xff\xfe title"}} {
		raw = protowire.AppendTag(raw, fields.ByName(f.name).Number(), protowire.BytesType)
		raw = protowire.AppendString(raw, f.value)
	}
	var reply xunchav1.Finding
	err = s.Conn.Invoke(ctx, xunchav1.FindingService_RecordFinding_FullMethodName, rawMessage(raw), &reply, grpc.ForceCodecV2(rawCodec{}))
	requireViolation(t, err, "title")
	require.Contains(t, status.Convert(err).Message(), "title: must be valid UTF-8")

	require.Equal(t, before, s.snapshot(), "nothing was recorded")
	s.requireNoWorkflowWedged()
}

// rawMessage is a request already in wire form.
type rawMessage []byte

// rawCodec sends rawMessage as it is and decodes answers as proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(r)}, nil
	}
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

func (rawCodec) Name() string { return "proto" }

// keyReused requires a 409 refusal of a reused request_id naming target.
func keyReused(t *testing.T, code int, body map[string]any, target string) {
	t.Helper()
	require.Equal(t, http.StatusConflict, code, "%v", body)
	info := errorInfo(body)
	require.NotNil(t, info, "%v", body)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", info["reason"])
	require.Equal(t, target, info["metadata"].(map[string]any)["target"])
}

// TestHostileClientReusedKeys: item 2, a request_id reused with another body,
// through REST and gRPC.
func TestHostileClientReusedKeys(t *testing.T) {
	s := setup(t)
	first := s.createInspection()
	second := func() string {
		code, body := s.do("POST", "/v1/inspections", &office, inspectionBody(rid(t, "second-inspection")))
		require.Equal(t, http.StatusOK, code, "%v", body)
		s.station(body["id"].(string))
		return body["id"].(string)
	}()
	ev := s.evidence("idempotency evidence")

	// Two teams using the same request_id on their own inspections record two
	// findings; neither is answered with the other's.
	code, a := s.do("POST", "/v1/inspections/"+first+"/findings", &member, findingBody("f-001", "GENERAL", ev))
	require.Equal(t, http.StatusOK, code, "%v", a)
	code, b := s.do("POST", "/v1/inspections/"+second+"/findings", &member, findingBody("f-001", "GENERAL", ev))
	require.Equal(t, http.StatusOK, code, "%v", b)
	require.NotEqual(t, a["id"], b["id"])
	require.Equal(t, first, a["inspection_id"])
	require.Equal(t, second, b["inspection_id"])

	// The same key and body again: the first answer, nothing new.
	code, again := s.do("POST", "/v1/inspections/"+first+"/findings", &member, findingBody("f-001", "GENERAL", ev))
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, a["id"], again["id"])

	// Another caller sending the same key and body is not answered with the
	// first caller's result.
	code, body := s.do("POST", "/v1/inspections/"+first+"/findings", &teamLeader, findingBody("f-001", "GENERAL", ev))
	keyReused(t, code, body, "inspections/"+first+"/findings")

	// The same key with another body is refused, naming the first's target,
	// and records nothing.
	before := s.snapshot()
	other := findingBody("f-001", "GENERAL", ev)
	other["title"] = "另一个问题"
	code, body = s.do("POST", "/v1/inspections/"+first+"/findings", &member, other)
	keyReused(t, code, body, "inspections/"+first+"/findings")

	// CreateInspection: the same key with another plan is refused.
	changed := inspectionBody(rid(t, "second-inspection"))
	spec(changed)["round"] = "另一轮"
	code, body = s.do("POST", "/v1/inspections", &office, changed)
	keyReused(t, code, body, "inspections")
	require.Equal(t, before, s.snapshot(), "the refused requests recorded nothing")

	// diagnose: same key, other diagnosis.
	id := a["id"].(string)
	s.step(id, "diagnose", member, diagnosis("d-1"), "DIAGNOSED")
	otherDiagnosis := diagnosis("d-1")
	otherDiagnosis["diagnosis"].(map[string]any)["cause"] = "另一个原因"
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, otherDiagnosis)
	keyReused(t, code, body, "findings/"+id)

	// verify: accept, then reject with the same key.
	s.step(id, "classify", office, classification("c-1"), "CLASSIFIED")
	s.step(id, "refer", office, referral("r-1", today().String(), ""), "REFERRED")
	s.step(id, "reportRectification", unit, rectificationReport("rr-1", ev), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": "v-1", "accept": true, "reason": "整改到位"}, "CLOSED")
	code, body = s.do("POST", "/v1/findings/"+id+":verify", &office, map[string]any{"request_id": "v-1", "accept": false, "reason": "整改不到位"})
	keyReused(t, code, body, "findings/"+id)

	// A refused request frees its key: corrected, it goes through.
	code, body = s.do("POST", "/v1/findings/"+b["id"].(string)+":diagnose", &unit, diagnosis("d-2"))
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	s.step(b["id"].(string), "diagnose", member, diagnosis("d-2"), "DIAGNOSED")

	// Through gRPC the refusal is ALREADY_EXISTS with the same ErrorInfo.
	_, err := xunchav1.NewFindingServiceClient(s.Conn).DiagnoseFinding(s.ctx(member), &xunchav1.DiagnoseFindingRequest{
		Id: b["id"].(string), RequestId: "d-2", Diagnosis: &xunchav1.Diagnosis{Cause: "不同", RiskLevel: "LOW"},
	})
	st := status.Convert(err)
	require.Equal(t, codes.AlreadyExists, st.Code(), "%v", err)
	var reason string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", reason)
	s.requireNoWorkflowWedged()
}

// hangingReceiver is an office system that takes requests and does not
// answer until released; then it verifies each signature and answers 204.
type hangingReceiver struct {
	server  *httptest.Server
	release chan struct{}

	mu       sync.Mutex
	secret   string
	requests int
	verified []string // delivery IDs answered with a valid signature
	refused  []string
}

func (r *hangingReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	r.mu.Unlock()
	select {
	case <-r.release:
	case <-req.Context().Done():
		return // the sender gave up on this attempt
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		err = activities.VerifyWebhookSignature(r.secret, req.Header.Get(activities.HeaderWebhookSignature), body, time.Now(), 5*time.Minute)
	}
	if err != nil {
		r.refused = append(r.refused, err.Error())
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	r.verified = append(r.verified, req.Header.Get(activities.HeaderWebhookDelivery))
	w.WriteHeader(http.StatusNoContent)
}

// TestHostileClientHangingReceiver (item 7) closes a MAJOR finding while the
// only subscriber hangs: the finding's workflow ends at once, its delivery
// waits in the outbox, and arrives, signed, once the receiver answers.
func TestHostileClientHangingReceiver(t *testing.T) {
	s := setup(t)
	r := &hangingReceiver{release: make(chan struct{})}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.server.Close)
	releaseOnce := sync.OnceFunc(func() { close(r.release) })
	t.Cleanup(releaseOnce) // before the server closes (cleanups run last first)
	code, hook := s.do("POST", "/v1/webhooks", &office, map[string]any{
		"request_id": rid(t, "webhook"), "url": r.server.URL + "/hang", "event_types": []string{workflows.EventMajorFinding},
	})
	require.Equal(t, http.StatusOK, code, "%v", hook)
	r.mu.Lock()
	r.secret = hook["secret"].(string)
	r.mu.Unlock()

	f := s.recordFinding(s.createInspection(), "record", "MAJOR")
	id := f["id"].(string)
	deliveryID := workflows.FindingWorkflowID(id) + "/major/" + hook["id"].(string)
	require.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.requests > 0
	}, 20*time.Second, 50*time.Millisecond, "the delivery reaches the receiver, which hangs")

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	s.step(id, "reportRectification", unit, rectificationReport(rid(t, "report"), s.evidenceOf(unit, "photo of the alarm")), "RECTIFIED")
	s.step(id, "verify", office, map[string]any{"request_id": rid(t, "verify"), "accept": true, "reason": "整改到位"}, "CLOSED")
	closedAt := time.Now()
	s.awaitClosed(id)
	t.Logf("the finding's workflow ended %s after CLOSED", time.Since(closedAt).Round(time.Millisecond))

	ctx := context.Background()
	desc, err := s.describeWorkflow(ctx, workflows.FindingWorkflowID(id), "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	queued, err := s.Ledger.QueuedDelivery(ctx, deliveryID)
	require.NoError(t, err)
	require.Equal(t, casework.DeliveryPending, queued.Status, "the delivery still waits for the receiver")
	// The worker's outbox dispatcher delivers it: no workflow per delivery
	// since migration 020.
	_, err = s.describeWorkflow(ctx, activities.WebhookDeliveryWorkflowID(deliveryID), "")
	var missing *serviceerror.NotFound
	require.ErrorAs(t, err, &missing, "no delivery workflow")
	r.mu.Lock()
	require.Empty(t, r.verified, "nothing was answered yet")
	r.mu.Unlock()

	releaseOnce()
	require.Eventually(t, func() bool {
		d, err := s.Ledger.QueuedDelivery(ctx, deliveryID)
		return err == nil && d.Status == casework.DeliveryDelivered
	}, 60*time.Second, 100*time.Millisecond, "the delivery arrives once the receiver answers")
	r.mu.Lock()
	require.Empty(t, r.refused, "every request carried a valid signature")
	require.Contains(t, r.verified, deliveryID)
	r.mu.Unlock()
	var payload struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	queued, err = s.Ledger.QueuedDelivery(ctx, deliveryID)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(queued.Payload, &payload))
	require.Equal(t, workflows.EventMajorFinding, payload.Type)
	require.Equal(t, id, payload.Data["finding_id"])
	attempts, err := s.Ledger.Deliveries(ctx, deliveryID)
	require.NoError(t, err)
	require.NotEmpty(t, attempts)
	require.Equal(t, http.StatusNoContent, attempts[len(attempts)-1].StatusCode)
	// The history of a finding that queued its event is recorded into
	// workflows/testdata/replay with XUNCHA_RECORD_HISTORIES=1 (the
	// delivery workflows of deliveries queued before migration 020 replay
	// from webhook-delivery.json).
	s.replayHistory("finding-outbox", workflows.FindingWorkflowID(id))
}
