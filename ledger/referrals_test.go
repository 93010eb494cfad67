package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// TestReferralRoutes: the routing table keeps one route per key in force,
// the newest; a retry changes nothing, a reused request ID for another
// change is refused; a removal takes the key out; every change is an event
// of the route's key; history is never rewritten.
func TestReferralRoutes(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	route := casework.ReferralRoute{UnitLevel: casework.UnitLevelCity, ClueKind: casework.ClueDiscipline, CadreRank: casework.RankDivision,
		Receiver: "省纪委监委", AckWorkingDays: 5}
	first, err := fx.store.SetReferralRoute(ctx, "route-1", route, office)
	require.NoError(t, err)
	require.Positive(t, first.Version)
	require.Equal(t, office, first.UpdatedBy)

	again, err := fx.store.SetReferralRoute(ctx, "route-1", route, office)
	require.NoError(t, err)
	require.Equal(t, first, again, "a retry answers as the first time")
	other := route
	other.Receiver = "市纪委监委"
	_, err = fx.store.SetReferralRoute(ctx, "route-1", other, office)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)

	second, err := fx.store.SetReferralRoute(ctx, "route-2", other, office)
	require.NoError(t, err)
	require.Greater(t, second.Version, first.Version)
	county := casework.ReferralRoute{UnitLevel: casework.UnitLevelCounty, ClueKind: casework.ClueSectorViolation, CadreRank: casework.RankOther,
		Receiver: "市应急管理局", AckWorkingDays: 3, Note: "行业主管部门"}
	_, err = fx.store.SetReferralRoute(ctx, "route-3", county, office)
	require.NoError(t, err)

	routes, err := fx.store.ReferralRoutes(ctx)
	require.NoError(t, err)
	require.Len(t, routes, 2)
	require.Equal(t, "市纪委监委", routes[0].Receiver, "the newest row of a key is in force")
	require.Equal(t, casework.UnitLevelCounty, routes[1].UnitLevel)

	got, ok, err := fx.store.MatchReferralRoute(ctx, casework.UnitLevelCity, casework.ClueDiscipline, casework.RankDivision)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, second, got)
	_, ok, err = fx.store.MatchReferralRoute(ctx, casework.UnitLevelProvince, casework.ClueDiscipline, casework.RankDivision)
	require.NoError(t, err)
	require.False(t, ok, "no route for a key never set")

	removal := casework.ReferralRoute{UnitLevel: casework.UnitLevelCity, ClueKind: casework.ClueDiscipline, CadreRank: casework.RankDivision}
	_, err = fx.store.SetReferralRoute(ctx, "route-4", removal, office)
	require.NoError(t, err)
	_, err = fx.store.SetReferralRoute(ctx, "route-4", removal, office)
	require.NoError(t, err, "a retried removal answers as the first")
	_, ok, err = fx.store.MatchReferralRoute(ctx, casework.UnitLevelCity, casework.ClueDiscipline, casework.RankDivision)
	require.NoError(t, err)
	require.False(t, ok, "removed")
	_, err = fx.store.SetReferralRoute(ctx, "route-5", removal, office)
	require.ErrorIs(t, err, derrors.ErrNotFound, "nothing to remove")

	require.Equal(t, 3, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'referral_route' AND subject_id = 'CITY/DISCIPLINE/DIVISION'`))
	require.Equal(t, 4, fx.count(t, `SELECT count(*) FROM referral_routes`))
	require.Error(t, fx.exec(t, `UPDATE referral_routes SET receiver = 'x'`), "history is never rewritten")
	require.Error(t, fx.exec(t, `DELETE FROM referral_routes`))
}

func TestReferralRouteValidation(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	tests := []struct {
		name   string
		route  casework.ReferralRoute
		fields []string
	}{
		{"unknown key", casework.ReferralRoute{UnitLevel: "TOWN", ClueKind: "GOSSIP", CadreRank: "MINISTER", Receiver: "x", AckWorkingDays: 5},
			[]string{"unit_level", "clue_kind", "cadre_rank"}},
		{"no limit", casework.ReferralRoute{UnitLevel: "CITY", ClueKind: "DISCIPLINE", CadreRank: "OTHER", Receiver: "市纪委监委"},
			[]string{"ack_working_days"}},
		{"31 days", casework.ReferralRoute{UnitLevel: "CITY", ClueKind: "DISCIPLINE", CadreRank: "OTHER", Receiver: "市纪委监委", AckWorkingDays: 31},
			[]string{"ack_working_days"}},
		{"spaces", casework.ReferralRoute{UnitLevel: "CITY", ClueKind: "DISCIPLINE", CadreRank: "OTHER", Receiver: " 市纪委监委", AckWorkingDays: 5},
			[]string{"receiver"}},
		{"removal with a limit", casework.ReferralRoute{UnitLevel: "CITY", ClueKind: "DISCIPLINE", CadreRank: "OTHER", AckWorkingDays: 5},
			[]string{"ack_working_days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := fx.store.SetReferralRoute(t.Context(), "bad-"+tt.name, tt.route, office)
			var invalid *derrors.InvalidError
			require.ErrorAs(t, err, &invalid)
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Equal(t, tt.fields, fields, invalid.Error())
		})
	}
	require.Equal(t, 0, fx.count(t, `SELECT count(*) FROM referral_routes`))
}

// TestReceiverReach: a receiving body reaches the findings whose clue
// referrals name it, in the list and one by one, and nothing else.
func TestReceiverReach(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	ctx := t.Context()
	march := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	fx.inspection(t, "i-1", "430100")
	require.NoError(t, fx.exec(t, `UPDATE inspections SET stage = 'STATIONED' WHERE id = 'i-1'`))
	for _, id := range []string{"f-1", "f-2"} {
		f := newFinding(id, "i-1", "430100", march)
		f.Kind, f.Severity = "VIOLATION_CLUE", ""
		_, err := fx.store.RecordFinding(ctx, f, "record/"+id)
		require.NoError(t, err)
	}
	referred := newFinding("f-1", "i-1", "430100", march)
	referred.Kind, referred.Severity, referred.Stage, referred.Version = "VIOLATION_CLUE", "", "REFERRED", 2
	referred.ClueReferrals = []casework.ClueReferral{{Seq: 1, UnitLevel: "CITY", ClueKind: "DISCIPLINE", CadreRank: "DIVISION",
		Receiver: "长沙市纪委监委", State: casework.ReferralAwaitingReceipt, AckWorkingDays: 5, ReferredBy: office, ReferredAt: march}}
	require.NoError(t, fx.store.ApplyFindingChange(ctx, referred, casework.Event{Key: "k2", Action: "referClue", Actor: office, OccurredAt: march}))
	got, err := fx.store.GetFinding(ctx, "f-1")
	require.NoError(t, err)
	require.Equal(t, referred.ClueReferrals[0].Receiver, got.ClueReferrals[0].Receiver)

	receiver := ledger.Reach{ByReceiver: true, Receiver: "长沙市纪委监委"}
	stranger := ledger.Reach{ByReceiver: true, Receiver: "株洲市纪委监委"}
	require.False(t, receiver.Province())
	require.NoError(t, fx.store.InReach(ctx, receiver, casework.SubjectFinding, "f-1"))
	require.ErrorIs(t, fx.store.InReach(ctx, receiver, casework.SubjectFinding, "f-2"), derrors.ErrNotFound)
	require.ErrorIs(t, fx.store.InReach(ctx, stranger, casework.SubjectFinding, "f-1"), derrors.ErrNotFound)
	require.ErrorIs(t, fx.store.InReach(ctx, receiver, casework.SubjectInspection, "i-1"), derrors.ErrNotFound)
	require.ErrorIs(t, fx.store.InReach(ctx, ledger.Reach{ByReceiver: true}, casework.SubjectFinding, "f-1"), derrors.ErrNotFound)

	page, err := fx.store.ListFindings(ctx, ledger.FindingFilter{Reach: receiver}, 50, "")
	require.NoError(t, err)
	require.Len(t, page.Findings, 1)
	require.Equal(t, "f-1", page.Findings[0].ID)
	page, err = fx.store.ListFindings(ctx, ledger.FindingFilter{Reach: stranger}, 50, "")
	require.NoError(t, err)
	require.Empty(t, page.Findings)
}

// TestOpenDeadlinesIncludeReceipts: a calendar change also reaches an open
// finding whose clue referral awaits its receipt, whatever its stage; not
// one whose receipt came, nor one that ended.
func TestOpenDeadlinesIncludeReceipts(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	march := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	fx.inspection(t, "i-1", "430100")
	require.NoError(t, fx.exec(t, `UPDATE inspections SET stage = 'STATIONED' WHERE id = 'i-1'`))
	for _, c := range []struct{ id, stage, state string }{
		{"f-1", "RECTIFIED", casework.ReferralAwaitingReceipt},
		{"f-2", "RECTIFIED", casework.ReferralAcknowledged},
		{"f-3", "WITHDRAWN", casework.ReferralAwaitingReceipt},
	} {
		f := newFinding(c.id, "i-1", "430100", march)
		_, err := fx.store.RecordFinding(t.Context(), f, "record/"+c.id)
		require.NoError(t, err)
		f.Stage, f.Version = c.stage, 2
		f.ClueReferrals = []casework.ClueReferral{{Seq: 1, Receiver: "长沙市纪委监委", State: c.state, ReferredBy: office, ReferredAt: march}}
		require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f, casework.Event{Key: "k", Action: "change", Actor: office, OccurredAt: march}))
	}
	ids, err := fx.store.OpenDeadlineWorkflows(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"finding/f-1"}, ids)
}
