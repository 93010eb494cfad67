package activities_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

var office = actor.Actor{Name: "张三", Role: actor.RoleOffice, Organisation: "省安委办"}

// member is a team member, who records findings.
var member = actor.Actor{Name: "王五", Role: actor.RoleTeamMember, Organisation: "省第一巡查组"}

// fixture is a migrated ledger, the activities on it and a Temporal test
// activity environment running them.
type fixture struct {
	store *ledger.Store
	db    testenv.Database
	acts  *activities.Activities
	env   *testsuite.TestActivityEnvironment
}

func setup(t *testing.T) fixture {
	t.Helper()
	store, db := testenv.Ledger(t)
	// The test receivers are httptest servers on loopback: allow it
	// explicitly, as an operator would (XUNCHA_WEBHOOK_ALLOW).
	loopback, err := egress.ParseAllowList(egress.LoopbackAllowList)
	require.NoError(t, err)
	acts := &activities.Activities{Ledger: store, Log: testenv.Logger(t), Egress: loopback}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return fixture{store: store, db: db, acts: acts, env: env}
}

// inspection writes an inspection row, which findings refer to.
func (fx fixture) inspection(t *testing.T, id, unitCode string) {
	t.Helper()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	require.NoError(t, fx.store.CreateInspection(t.Context(), casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "inspection/" + id, RequestID: "req-" + id, UnitCode: unitCode,
			Stage: "PLANNED", CreatedAt: start},
		UnitName: "长沙市",
		Kind:     "COMPREHENSIVE", PlannedStart: start, PlannedEnd: start.AddDate(0, 0, 14),
		CreatedBy: office,
	}, "create/"+id, false))
}

// foundAt is when foundFinding's findings were found.
var foundAt = time.Date(2026, 3, 10, 2, 30, 0, 0, time.UTC)

// foundFinding is finding id of inspection "i-1" (unit 430100), found by
// who at foundAt, as RecordFinding takes it.
func foundFinding(id, title, severity string, who actor.Actor) casework.Finding {
	return casework.Finding{Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "finding/" + id, RequestID: "req-" + id, UnitCode: "430100",
		Stage: "FOUND", CreatedAt: foundAt, UpdatedAt: foundAt, Version: 1},
		InspectionID: "i-1",
		UnitName:     "长沙市", Title: title, Kind: "HAZARD", Severity: severity, ContentArea: 2,
		FoundBy: who}
}
