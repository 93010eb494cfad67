package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// A hostile or careless client, through REST and gRPC: every bad request is
// answered with the status and the field it breaks, and leaves nothing behind
// — no ledger row, no event, no workflow, no activity retrying.

// hostileREST is one bad REST request and what it must be answered with.
type hostileREST struct {
	name   string
	method string
	path   string // {inspection} and {finding} stand for the test's inspection and finding
	who    actor.Actor
	body   any
	status int
	field  string // the BadRequest field named, when status is 400
}

func TestHostileClientREST(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	f := s.recordFinding(inspectionID, "record", "GENERAL")
	findingID := f["id"].(string)
	before := s.ledgerCounts(inspectionID, findingID)

	withTitle := func(title string) map[string]any {
		b := findingBody(rid(t, "bad-finding"), "GENERAL", s.evidence("hostile evidence"))
		b["title"] = title
		return b
	}
	inspectionWith := func(change func(spec map[string]any)) map[string]any {
		b := inspectionBody(rid(t, "bad-inspection"))
		change(spec(b))
		return b
	}
	for _, tc := range []hostileREST{
		{"NUL in a finding title", "POST", "/v1/inspections/{inspection}/findings", member,
			withTitle("a\u0000b"), 400, "title"},
		{"escape character in a finding title", "POST", "/v1/inspections/{inspection}/findings", member,
			withTitle("a\u001b[31mb"), 400, "title"},
		{"right-to-left override in a finding title", "POST", "/v1/inspections/{inspection}/findings", member,
			withTitle("报告\u202Egpj.exe"), 400, "title"},
		{"oversized title", "POST", "/v1/inspections/{inspection}/findings", member,
			withTitle(strings.Repeat("隐", 201)), 400, "title"},
		{"oversized description", "POST", "/v1/inspections/{inspection}/findings", member,
			func() map[string]any { b := withTitle("ok"); b["description"] = strings.Repeat("a", 20001); return b }(), 400, "description"},
		{"NUL in a diagnosis field", "POST", "/v1/findings/{finding}:diagnose", member,
			map[string]any{"request_id": rid(t, "bad-diagnose"), "diagnosis": map[string]any{
				"cause": "x\u0000", "risk_level": "HIGH", "legal_basis": "l", "responsible_parties": []string{"p"}}},
			400, "diagnosis.cause"},
		{"NUL in an inspection's round", "POST", "/v1/inspections", office,
			inspectionWith(func(s map[string]any) { s["round"] = "2026\u0000" }), 400, "inspection.round"},
		{"inspection planned in 9999", "POST", "/v1/inspections", office,
			inspectionWith(func(s map[string]any) { s["planned_start"] = "9999-01-01"; s["planned_end"] = "9999-01-02" }),
			400, "inspection.planned_start"},
		{"inspection planned in 0001", "POST", "/v1/inspections", office,
			inspectionWith(func(s map[string]any) { s["planned_start"] = "0001-01-01" }), 400, "inspection.planned_start"},
		{"tip received in 0001", "POST", "/v1/inspections/{inspection}/tips", office,
			map[string]any{"request_id": rid(t, "bad-tip"), "channel": "LETTER", "received_on": "0001-01-01", "content": "举报内容"},
			400, "received_on"},
		{"feedback received in 0001", "POST", "/v1/findings/{finding}:refer", office,
			referral(rid(t, "bad-refer"), "0001-01-01", ""), 400, "feedback_received_on"},
		{"year 9999 in a list filter", "GET", "/v1/inspections?year=9999", office, nil, 400, "year"},
		{"forged page token", "GET", "/v1/findings?page_token=AAAA", office, nil, 400, "page_token"},
		{"space in a request_id", "POST", "/v1/findings/{finding}:withdraw", office,
			map[string]any{"request_id": "a b", "reason": "x"}, 400, "request_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := strings.NewReplacer("{inspection}", inspectionID, "{finding}", findingID).Replace(tc.path)
			code, body, err := s.request(tc.method, path, &tc.who, tc.body)
			require.NoError(t, err)
			require.Equal(t, tc.status, code, "%v", body)
			if tc.field != "" {
				require.Contains(t, fieldViolations(body), tc.field, "%v", body)
			}
		})
	}
	require.Equal(t, before, s.ledgerCounts(inspectionID, findingID), "nothing was recorded")
	s.requireNoWorkflowWedged()

	// The finding whose change was refused takes the next change and a withdraw.
	s.step(findingID, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(findingID, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "重复登记"}, "WITHDRAWN")
}

// ledgerCounts summarises what the ledger holds for an inspection and a
// finding: the rows and events a refused request must not add to.
func (s *stack) ledgerCounts(inspectionID, findingID string) string {
	s.t.Helper()
	ctx := context.Background()
	page, err := s.Ledger.ListFindings(ctx, ledger.FindingFilter{InspectionID: inspectionID}, 500, "")
	require.NoError(s.t, err)
	inspectionEvents, err := s.Ledger.Events(ctx, ledger.SubjectInspection, inspectionID)
	require.NoError(s.t, err)
	findingEvents, err := s.Ledger.Events(ctx, ledger.SubjectFinding, findingID)
	require.NoError(s.t, err)
	inspections, err := s.Ledger.ListInspections(ctx, ledger.InspectionFilter{}, 500, "")
	require.NoError(s.t, err)
	return fmt.Sprintf("%d findings, %d inspections, %d inspection events, %d finding events",
		len(page.Findings), len(inspections.Inspections), len(inspectionEvents), len(findingEvents))
}

func TestHostileClientGRPC(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	ctx := s.ctx(member)
	findings := xunchav1.NewFindingServiceClient(s.Conn)
	inspections := xunchav1.NewInspectionServiceClient(s.Conn)
	before := s.ledgerCounts(inspectionID, "")

	_, err := findings.RecordFinding(ctx, &xunchav1.RecordFindingRequest{
		InspectionId: inspectionID, RequestId: rid(t, "nul"), Title: "a\x00b", Kind: xunchav1.Finding_HAZARD,
		Severity: xunchav1.Finding_GENERAL, ContentArea: 3, EvidenceIds: []string{s.evidence("grpc hostile")},
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
	st := status.Convert(err)
	require.Contains(t, st.Message(), "title: must be valid UTF-8")

	require.Equal(t, before, s.ledgerCounts(inspectionID, ""), "nothing was recorded")
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

func TestIdempotencyKeys(t *testing.T) {
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

	// The same key with another body is refused, naming the first's target.
	other := findingBody("f-001", "GENERAL", ev)
	other["title"] = "另一个问题"
	code, body := s.do("POST", "/v1/inspections/"+first+"/findings", &member, other)
	keyReused(t, code, body, "inspections/"+first+"/findings")
	page, err := s.Ledger.ListFindings(context.Background(), ledger.FindingFilter{InspectionID: first}, 50, "")
	require.NoError(t, err)
	require.Len(t, page.Findings, 1, "the refused request recorded nothing")

	// CreateInspection: the same key with another plan is refused.
	changed := inspectionBody(rid(t, "second-inspection"))
	spec(changed)["round"] = "另一轮"
	code, body = s.do("POST", "/v1/inspections", &office, changed)
	keyReused(t, code, body, "inspections")

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
	accept := map[string]any{"request_id": "v-1", "accept": true, "reason": "整改到位"}
	s.step(id, "verify", office, accept, "CLOSED")
	reject := map[string]any{"request_id": "v-1", "accept": false, "reason": "整改不到位"}
	code, body = s.do("POST", "/v1/findings/"+id+":verify", &office, reject)
	keyReused(t, code, body, "findings/"+id)

	// A refused request frees its key: corrected, it goes through.
	code, body = s.do("POST", "/v1/findings/"+b["id"].(string)+":diagnose", &unit, diagnosis("d-2"))
	require.Equal(t, http.StatusForbidden, code, "%v", body)
	s.step(b["id"].(string), "diagnose", member, diagnosis("d-2"), "DIAGNOSED")

	// Through gRPC the refusal is ALREADY_EXISTS with the same ErrorInfo.
	_, err = xunchav1.NewFindingServiceClient(s.Conn).DiagnoseFinding(s.ctx(member), &xunchav1.DiagnoseFindingRequest{
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
}
