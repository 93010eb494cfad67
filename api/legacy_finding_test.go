package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/casework"
)

// TestLegacyFindingAnswersItsRetry: a finding recorded before request_ids
// were scoped has the ID its request_id alone gave; that request sent
// again to the same inspection is answered with it, not recorded twice,
// once its fields are found sound, and sent to another inspection it
// records a finding there.
func TestLegacyFindingAnswersItsRetry(t *testing.T) {
	s := setup(t)
	ins := s.createInspection()
	key := rid(t, "legacy")
	ev := s.evidence("legacy photo")
	now := time.Now().UTC()
	legacy := casework.Finding{Lifecycle: casework.Lifecycle{ID: api.LegacyFindingID(key), WorkflowID: "finding/" + api.LegacyFindingID(key), RequestID: key, UnitCode: "430100",
		Stage: "FOUND", CreatedAt: now, UpdatedAt: now, Version: 1},
		InspectionID: ins,
		UnitName:     "长沙市", Title: "危化品仓库未设置可燃气体报警装置", Description: "旧记录",
		Kind: "HAZARD", Severity: "GENERAL", ContentArea: 3, EvidenceIDs: []string{ev}, FoundBy: member,
	}
	_, err := s.Ledger.RecordFinding(t.Context(), legacy, "record/"+key)
	require.NoError(t, err)

	bad := findingBody(key, "GENERAL", ev)
	bad["title"] = ""
	code, body := s.do("POST", "/v1/inspections/"+ins+"/findings", &member, bad)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, []string{"title"}, fieldViolations(body), "the fields are checked first")

	code, body = s.do("POST", "/v1/inspections/"+ins+"/findings", &member, findingBody(key, "GENERAL", ev))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, legacy.ID, body["id"], "the retry is answered with the finding it recorded")

	other := s.createInspectionOf("other", "430200", nil)
	code, body = s.do("POST", "/v1/inspections/"+other+"/findings", &member, findingBody(key, "GENERAL", ev))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.NotEqual(t, legacy.ID, body["id"], "in another inspection the key records another finding")
}
