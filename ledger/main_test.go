package ledger_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

var (
	member = actor.Actor{Name: "王五", Role: actor.RoleTeamMember, Organisation: "省第一巡查组"}
	office = actor.Actor{Name: "张三", Role: actor.RoleOffice, Organisation: "省安委办"}
)

// fixture is a migrated, empty ledger of one test: its store connects as
// the application role, as server and worker do.
type fixture struct {
	store *ledger.Store
	// url connects as the application role, ownerURL as the tables' owner
	// (a superuser).
	url, ownerURL string
}

func setup(t *testing.T) fixture {
	t.Helper()
	store, db := testenv.Ledger(t)
	return fixture{store: store, url: db.URL, ownerURL: db.OwnerURL}
}

// exec runs raw SQL as the tables' owner on its own connection, for what
// the Store does not offer (tampering with history, seeding sequences): the
// triggers refuse rewrites even to the owner.
func (fx fixture) exec(t *testing.T, sql string, args ...any) error {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	_, err = conn.Exec(t.Context(), sql, args...)
	return err
}

// count returns the single integer a query answers, read as the owner.
func (fx fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

// inspection writes an inspection row, which findings refer to.
func (fx fixture) inspection(t *testing.T, id, unitCode string) {
	t.Helper()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	require.NoError(t, fx.store.CreateInspection(t.Context(), casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "inspection/" + id, RequestID: "req-" + id, UnitCode: unitCode,
			Stage: "PLANNED", CreatedAt: start},
		UnitName: "unit " + unitCode,
		Kind:     "COMPREHENSIVE", PlannedStart: start, PlannedEnd: start.AddDate(0, 0, 14),
		CreatedBy: office,
	}, "create/"+id, false))
}

// newFinding is a just-found finding of inspection inspectionID.
func newFinding(id, inspectionID, unitCode string, createdAt time.Time) casework.Finding {
	return casework.Finding{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "finding/" + id, RequestID: "req-" + id, UnitCode: unitCode,
			Stage: "FOUND", CreatedAt: createdAt, UpdatedAt: createdAt, Version: 1},

		InspectionID: inspectionID,

		UnitName:    "unit " + unitCode,
		Title:       "消防通道堵塞",
		Description: "二号厂房消防通道被成品堆放堵塞",
		Kind:        "HAZARD",
		Severity:    "GENERAL",
		ContentArea: 3,
		EvidenceIDs: []string{"ev-1", "ev-2"},

		FoundBy: member,
	}
}

// requireSameFinding compares findings as JSON with top-level instants in
// UTC: the database keeps microseconds and answers in the local zone.
func requireSameFinding(t *testing.T, want, got casework.Finding) {
	t.Helper()
	norm := func(f casework.Finding) string {
		f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC().Truncate(time.Microsecond), f.UpdatedAt.UTC().Truncate(time.Microsecond)
		b, err := json.Marshal(f)
		require.NoError(t, err)
		return string(b)
	}
	require.JSONEq(t, norm(want), norm(got))
}
