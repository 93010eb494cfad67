package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

func inspectionBody(requestID string) map[string]any {
	return map[string]any{
		"request_id": requestID,
		"inspection": map[string]any{
			"unit":          map[string]any{"code": "430100", "name": "长沙市"},
			"kind":          "COMPREHENSIVE",
			"round":         "2026年第一轮",
			"planned_start": "2026-12-01",
			"planned_end":   "2026-12-15",
			"content_areas": []int{1, 2, 5},
			"team":          validTeam(),
		},
	}
}

// validTeam is a line-up the charter allows: leader, deputy, four members
// (one an expert), and an observer who does not count.
func validTeam() []map[string]any {
	return []map[string]any{
		{"name": "赵强", "role": "LEADER", "rank": "INSPECTOR_LEVEL_2", "organisation": "省应急管理厅", "subject": userOf(teamLeader).Subject},
		{"name": "钱敏", "role": "DEPUTY", "rank": "DIVISION_CHIEF", "organisation": "省应急管理厅"},
		{"name": "张伟", "role": "MEMBER", "rank": "OTHER", "subject": userOf(member).Subject},
		{"name": "李娜", "role": "MEMBER", "rank": "OTHER"},
		{"name": "周杰", "role": "MEMBER", "rank": "DEPUTY_DIVISION_CHIEF"},
		{"name": "吴刚", "role": "EXPERT", "rank": "OTHER", "organisation": "省安全生产专家库"},
		{"name": "郑红", "role": "OBSERVER", "rank": "OTHER", "organisation": "省人大代表"},
	}
}

func TestCreateInspectionREST(t *testing.T) {
	s := setup(t)
	code, created := s.do("POST", "/v1/inspections", &office, inspectionBody("req-1"))
	require.Equal(t, http.StatusOK, code, "%v", created)
	id := created["id"].(string)
	require.Regexp(t, `^ins-[0-9a-f]{16}$`, id)
	require.Equal(t, "PLANNED", created["stage"])
	require.Equal(t, "inspection/"+id, created["workflow_id"])
	require.Equal(t, "COMPREHENSIVE", created["kind"])
	require.Equal(t, map[string]any{"name": "王芳", "role": "office", "organisation": "省安委办"}, created["created_by"])

	// A read after the write sees it: the ledger row exists when create returns.
	row, err := s.Ledger.GetInspection(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, "430100", row.UnitCode)
	require.Equal(t, "PLANNED", row.Stage)

	code, got := s.do("GET", "/v1/inspections/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, created, got)

	// The workflow runs under its business ID with the search attributes set.
	desc, err := s.describeWorkflow(context.Background(), "inspection/"+id, "")
	require.NoError(t, err)
	require.Equal(t, "InspectionWorkflow", desc.WorkflowExecutionInfo.Type.Name)
	indexed := desc.WorkflowExecutionInfo.SearchAttributes.GetIndexedFields()
	for _, name := range []string{"XunchaStage", "XunchaUnit", "XunchaKind", "XunchaInspection"} {
		require.Contains(t, indexed, name)
	}

	// Repeating the request returns the first answer and records nothing new.
	code, again := s.do("POST", "/v1/inspections", &office, inspectionBody("req-1"))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, created, again)
	events, err := s.Ledger.Events(context.Background(), casework.SubjectInspection, id)
	require.NoError(t, err)
	require.Len(t, events, 1)
	require.Equal(t, "create", events[0].Action)
	require.Equal(t, signedIn(office), events[0].Actor)

	// The same ID from another request is a conflict, not a silent reuse.
	other := inspectionBody("req-other")
	other["inspection_id"] = id
	code, body := s.do("POST", "/v1/inspections", &office, other)
	require.Equal(t, http.StatusConflict, code, "%v", body)
	require.Contains(t, body["message"], "already exists")
}

func TestCreateInspectionRefusesBadInput(t *testing.T) {
	s := setup(t)
	tests := []struct {
		name   string
		mutate func(b map[string]any)
		field  string
	}{
		{"missing unit code", func(b map[string]any) { spec(b)["unit"] = map[string]any{"name": "长沙市"} }, "inspection.unit.code"},
		{"end before start", func(b map[string]any) { spec(b)["planned_end"] = "2026-11-30" }, "inspection.planned_end"},
		{"unparsable date", func(b map[string]any) { spec(b)["planned_start"] = "2026-13-01" }, "inspection.planned_start"},
		{"missing kind", func(b map[string]any) { delete(spec(b), "kind") }, "inspection.kind"},
		{"missing request_id", func(b map[string]any) { delete(b, "request_id") }, "request_id"},
		{"bad id", func(b map[string]any) { b["inspection_id"] = "Has Spaces" }, "inspection_id"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := inspectionBody(fmt.Sprintf("bad-%d", i))
			tt.mutate(b)
			code, body := s.do("POST", "/v1/inspections", &office, b)
			require.Equal(t, http.StatusBadRequest, code, "%v", body)
			require.Contains(t, fieldViolations(body), tt.field)
		})
	}
	t.Run("unknown kind name", func(t *testing.T) {
		b := inspectionBody("bad-kind")
		spec(b)["kind"] = "ROUTINE"
		code, body := s.do("POST", "/v1/inspections", &office, b)
		require.Equal(t, http.StatusBadRequest, code)
		require.Contains(t, body["message"], "kind")
	})
	t.Run("unknown kind number over gRPC", func(t *testing.T) {
		c := xunchav1.NewInspectionServiceClient(s.Conn)
		_, err := c.CreateInspection(s.ctx(office), &xunchav1.CreateInspectionRequest{
			RequestId: "bad-kind-number",
			Inspection: &xunchav1.Inspection{
				Unit: &xunchav1.Unit{Code: "430100", Name: "长沙市"}, Kind: xunchav1.Inspection_Kind(42),
				PlannedStart: "2026-12-01", PlannedEnd: "2026-12-15", ContentAreas: []int32{1}, Team: protoTeam(),
			},
		})
		requireViolation(t, err, "inspection.kind")
	})
	t.Run("no actor", func(t *testing.T) {
		code, body := s.do("POST", "/v1/inspections", nil, inspectionBody("no-actor"))
		require.Equal(t, http.StatusUnauthorized, code, "%v", body)
		require.Contains(t, body["message"], "no bearer token")
	})
	t.Run("wrong role", func(t *testing.T) {
		unit := actor.Actor{Name: "李四", Role: actor.RoleUnit, Organisation: "长沙市应急管理局"}
		code, body := s.do("POST", "/v1/inspections", &unit, inspectionBody("unit-role"))
		require.Equal(t, http.StatusForbidden, code, "%v", body)
	})

	// Nothing was changed by any refused request.
	page, err := s.Ledger.ListInspections(context.Background(), ledger.InspectionFilter{}, 50, "")
	require.NoError(t, err)
	require.Empty(t, page.Inspections)
}

func spec(b map[string]any) map[string]any { return b["inspection"].(map[string]any) }

// grpcFieldViolations are the fields a gRPC error's BadRequest names, in
// order.
func grpcFieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	return fields
}

func requireViolation(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Contains(t, grpcFieldViolations(err), field)
}

func TestInspectionsGRPC(t *testing.T) {
	s := setup(t)
	c := xunchav1.NewInspectionServiceClient(s.Conn)
	ctx := s.ctx(office)
	req := &xunchav1.CreateInspectionRequest{
		RequestId:    "grpc-1",
		InspectionId: "changsha-2026-1",
		Inspection: &xunchav1.Inspection{
			Unit: &xunchav1.Unit{Code: "430100", Name: "长沙市"}, Kind: xunchav1.Inspection_SPECIAL,
			PlannedStart: "2026-12-01", PlannedEnd: "2026-12-01", ContentAreas: []int32{4},
			Team: protoTeam(),
		},
	}
	created, err := c.CreateInspection(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "changsha-2026-1", created.GetId())
	require.Equal(t, xunchav1.Inspection_PLANNED, created.GetStage())

	again, err := c.CreateInspection(ctx, req)
	require.NoError(t, err)
	require.Equal(t, created.GetCreateTime().AsTime(), again.GetCreateTime().AsTime())

	got, err := c.GetInspection(ctx, &xunchav1.GetInspectionRequest{Id: "changsha-2026-1"})
	require.NoError(t, err)
	require.Equal(t, xunchav1.Inspection_SPECIAL, got.GetKind())

	_, err = c.GetInspection(ctx, &xunchav1.GetInspectionRequest{Id: "missing"})
	require.Equal(t, codes.NotFound, status.Code(err))
	code, _ := s.do("GET", "/v1/inspections/missing", &office, nil)
	require.Equal(t, http.StatusNotFound, code)
}

func TestListInspectionsPages(t *testing.T) {
	s := setup(t)
	var ids []string
	for i := range 5 {
		code, body := s.do("POST", "/v1/inspections", &office, inspectionBody(fmt.Sprintf("page-%d", i)))
		require.Equal(t, http.StatusOK, code)
		ids = append(ids, body["id"].(string))
	}
	var seen []string
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		code, body := s.do("GET", "/v1/inspections?page_size=2&page_token="+token, &office, nil)
		require.Equal(t, http.StatusOK, code, "%v", body)
		items := body["inspections"].([]any)
		require.LessOrEqual(t, len(items), 2)
		for _, it := range items {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		token = body["next_page_token"].(string)
		if token == "" {
			break
		}
	}
	require.Equal(t, ids, seen, "every inspection once, in creation order")

	code, body := s.do("GET", "/v1/inspections?page_size=501", &office, nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, fieldViolations(body), "page_size")
	code, body = s.do("GET", "/v1/inspections?page_token=garbage", &office, nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, fieldViolations(body), "page_token")
}

func protoTeam() []*xunchav1.TeamMember {
	var out []*xunchav1.TeamMember
	for _, m := range validTeam() {
		sub, _ := m["subject"].(string)
		out = append(out, &xunchav1.TeamMember{Name: m["name"].(string), Role: m["role"].(string), Rank: m["rank"].(string), Subject: sub})
	}
	return out
}

func TestListInspectionsFilters(t *testing.T) {
	s := setup(t)
	create := func(requestID, code, kind, round, start string) string {
		b := inspectionBody(requestID)
		spec(b)["unit"] = map[string]any{"code": code, "name": "单位" + code}
		spec(b)["kind"] = kind
		spec(b)["round"] = round
		spec(b)["planned_start"] = start
		spec(b)["planned_end"] = start
		code2, body := s.do("POST", "/v1/inspections", &office, b)
		require.Equal(t, http.StatusOK, code2, "%v", body)
		return body["id"].(string)
	}
	a := create("a", "430100", "COMPREHENSIVE", "2026年第一轮", "2026-03-01")
	b := create("b", "430200", "SPECIAL", "2026年第一轮", "2026-04-01")
	c := create("c", "430100", "SPECIAL", "2027年第一轮", "2027-03-01")
	code, _ := s.do("POST", "/v1/inspections/"+b+":cancel", &office, map[string]any{"request_id": "cancel-b", "reason": "改期"})
	require.Equal(t, http.StatusOK, code)

	for query, want := range map[string][]string{
		"unit_code=430100": {a, c},
		"kind=SPECIAL":     {b, c},
		"stage=CANCELLED":  {b},
		"year=2027":        {c},
		"round=2026%E5%B9%B4%E7%AC%AC%E4%B8%80%E8%BD%AE": {a, b},
		"unit_code=430100&kind=SPECIAL":                  {c},
	} {
		code, body := s.do("GET", "/v1/inspections?"+query, &office, nil)
		require.Equal(t, http.StatusOK, code, "%s: %v", query, body)
		var got []string
		for _, it := range body["inspections"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		require.Equal(t, want, got, query)
	}
	code, body := s.do("GET", "/v1/inspections?year=1999", &office, nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, fieldViolations(body), "year")
}

// TestFollowUpOfNothing: a FOLLOW_UP names the inspection it looks back at;
// one the ledger does not hold is refused as the row is written, naming the
// field, and the refusal records nothing and answers a retry the same way.
func TestFollowUpOfNothing(t *testing.T) {
	s := setup(t)
	body := inspectionBody(rid(t, "follow-up"))
	spec(body)["kind"] = "FOLLOW_UP"
	spec(body)["follows_inspection_id"] = "ins-nowhere"
	for range 2 {
		code, answer := s.do("POST", "/v1/inspections", &office, body)
		require.Equal(t, http.StatusBadRequest, code, "%v", answer)
		require.Contains(t, fieldViolations(answer), "inspection.follows_inspection_id", "%v", answer)
	}
	page, err := s.Ledger.ListInspections(context.Background(), ledger.InspectionFilter{}, 50, "")
	require.NoError(t, err)
	require.Empty(t, page.Inspections)
}
