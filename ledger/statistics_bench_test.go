package ledger_test

import (
	"flag"
	"testing"
	"time"

	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// statisticsFindings is the size of the ledger BenchmarkStatistics seeds.
var statisticsFindings = flag.Int("statistics.findings", 1_000_000, "findings BenchmarkStatistics seeds")

// BenchmarkStatistics answers the questions offices ask of a ledger of a
// million findings (issue 13 item 1: at most 200 ms each):
//
//	go test -run '^$' -bench BenchmarkStatistics -benchtime 20x ./ledger/
//
// The ledger is seeded in SQL first (testenv.SeedLedger: a few minutes).
func BenchmarkStatistics(b *testing.B) {
	store, db := testenv.Ledger(b)
	testenv.SeedLedger(b, db, *statisticsFindings)
	year := func(y int) ledger.StatisticsFilter {
		return ledger.StatisticsFilter{FromMonth: time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), ToMonth: time.Date(y, 12, 1, 0, 0, 0, 0, time.UTC)}
	}
	changsha := ledger.StatisticsFilter{UnitCode: "430100", SubUnits: true}
	unitUser := ledger.StatisticsFilter{Reach: ledger.Reach{ByUnit: true, Units: []string{"430100", "430102"}}}
	teamMember := ledger.StatisticsFilter{Reach: ledger.Reach{ByTeam: true, Subject: "bench-team-7"}}
	for _, bc := range []struct {
		name    string
		filter  ledger.StatisticsFilter
		groupBy []ledger.Dimension
	}{
		{"province", ledger.StatisticsFilter{}, nil},
		{"province by unit and month", ledger.StatisticsFilter{}, []ledger.Dimension{ledger.DimensionUnit, ledger.DimensionMonth}},
		{"province by kind, severity and content area", ledger.StatisticsFilter{},
			[]ledger.Dimension{ledger.DimensionKind, ledger.DimensionSeverity, ledger.DimensionContentArea}},
		{"a year by unit", year(2025), []ledger.Dimension{ledger.DimensionUnit}},
		{"a city with its districts by month", changsha, []ledger.Dimension{ledger.DimensionMonth}},
		{"a round by kind", ledger.StatisticsFilter{Round: "2025年第2轮"}, []ledger.Dimension{ledger.DimensionKind}},
		{"major hazards by round", ledger.StatisticsFilter{Kind: "HAZARD", Severity: "MAJOR"}, []ledger.Dimension{ledger.DimensionRound}},
		{"a unit user of two units", unitUser, nil},
		{"a team member", teamMember, []ledger.Dimension{ledger.DimensionRound}},
		// Units and kinds at once: the tallies per inspection.
		{"a year by unit and kind", year(2025), []ledger.Dimension{ledger.DimensionUnit, ledger.DimensionKind}},
		{"a city with its districts by kind", changsha, []ledger.Dimension{ledger.DimensionKind}},
		{"a unit user of two units by kind", unitUser, []ledger.Dimension{ledger.DimensionKind}},
		{"a team member by kind and severity", teamMember, []ledger.Dimension{ledger.DimensionKind, ledger.DimensionSeverity}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var found int
			for b.Loop() {
				r, err := store.Statistics(b.Context(), bc.filter, bc.groupBy)
				if err != nil {
					b.Fatal(err)
				}
				found = r.Total.Found
			}
			b.ReportMetric(float64(found), "findings")
		})
	}
}
