package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// TestOfficeReportsOnBehalfOfTheUnit: the office enters a unit's paper
// rectification report only by naming that unit (on_behalf_of), and the
// event records both the clerk and the unit; a unit never names another,
// and a wrong or missing unit changes nothing.
func TestOfficeReportsOnBehalfOfTheUnit(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	f := s.recordFinding(inspectionID, "finding", "GENERAL")
	id := f["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	ev := s.evidence("paper report, scanned")
	// A request for more time is named as one, not as a report.
	resp, body := s.askIn("", "POST", "/v1/findings/"+id+":requestExtension", s.authorization(office), map[string]any{
		"request_id": rid(t, "extension"), "due": today().AddDays(40).String(), "reason": "设备到货晚", "evidence_ids": []string{ev}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v", body)
	require.Contains(t, body["message"], "省安委办只能代某一单位录入其延期申请", "%v", body)

	report := func(key, onBehalfOf string) map[string]any {
		b := rectificationReport(rid(t, key), ev)
		if onBehalfOf != "" {
			b["on_behalf_of"] = onBehalfOf
		}
		return b
	}
	for i, tt := range []struct {
		name, onBehalfOf string
		who              actor.Actor
		want             string
	}{
		{"office without on_behalf_of", "", office, "the office enters a unit's report only on behalf of that unit"},
		{"office for another unit", "430200", office, "must be 430100"},
		{"unit naming a unit", "430100", unit, "only the office acts on behalf of a unit; a unit sends its report as itself"},
	} {
		code, body := s.do("POST", "/v1/findings/"+id+":reportRectification", &tt.who, report(fmt.Sprintf("refused-%d", i), tt.onBehalfOf))
		require.Equal(t, http.StatusBadRequest, code, "%s: %v", tt.name, body)
		require.Equal(t, []string{"on_behalf_of"}, fieldViolations(body), tt.name)
		require.Contains(t, body["message"], tt.want, tt.name)
	}
	// A report that names no finding is refused for that, before the unit
	// it is made on behalf of is looked up (gRPC: REST puts the id in the
	// path).
	_, err := xunchav1.NewFindingServiceClient(s.Conn).ReportRectification(s.ctx(office), &xunchav1.ReportRectificationRequest{
		RequestId: rid(t, "no-id"), OnBehalfOf: "430100", Report: "已整改", EvidenceIds: []string{ev},
	})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Equal(t, []string{"id"}, grpcFieldViolations(err), "%v", err)

	// A report without its request_id is refused for that, before the
	// subject is read for on_behalf_of: an unknown finding is not looked up.
	_, err = xunchav1.NewFindingServiceClient(s.Conn).ReportRectification(s.ctx(office), &xunchav1.ReportRectificationRequest{
		Id: "f-nowhere", OnBehalfOf: "430100", Report: "已整改", HandlingOfResponsible: "已追责", EvidenceIds: []string{ev},
	})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Equal(t, []string{"request_id"}, grpcFieldViolations(err), "%v", err)

	before, err := s.Ledger.Events(t.Context(), casework.SubjectFinding, id)
	require.NoError(t, err)
	require.Equal(t, "refer", before[len(before)-1].Action, "the refused reports recorded nothing")

	s.step(id, "reportRectification", office, report("paper", "430100"), "RECTIFIED")
	events, err := s.Ledger.Events(t.Context(), casework.SubjectFinding, id)
	require.NoError(t, err)
	last := events[len(events)-1]
	require.Equal(t, "reportRectification", last.Action)
	require.Equal(t, office.Name, last.Actor.Name)
	require.Equal(t, "office", last.Actor.Role)
	require.Equal(t, "430100", last.Actor.OnBehalfOf, "the event records the clerk and the unit")

	_, listed := s.events(id)
	actorOf := listed[len(listed)-1]["actor"].(map[string]any)
	require.Equal(t, "430100", actorOf["on_behalf_of"], "and the API shows it")
}
