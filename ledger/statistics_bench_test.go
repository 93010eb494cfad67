package ledger_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
// The ledger is seeded in SQL first (testenv.SeedLedger: a few minutes),
// its tallies per round folded. Then the midnight herd's ten thousand
// escalations, each its own statement as the ladder writes them, leave as
// many changes pending (DefaultStatisticsCompactAbove, the most a
// question reads before it folds them itself), and the questions that read
// the tallies per round are asked again, and the changes folded.
func BenchmarkStatistics(b *testing.B) {
	store, db := testenv.Ledger(b)
	testenv.SeedLedger(b, db, *statisticsFindings)
	year := func(y int) ledger.StatisticsFilter {
		return ledger.StatisticsFilter{FromMonth: time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), ToMonth: time.Date(y, 12, 1, 0, 0, 0, 0, time.UTC)}
	}
	changsha := ledger.StatisticsFilter{UnitCode: "430100", SubUnits: true}
	unitUser := ledger.StatisticsFilter{Reach: ledger.Reach{ByUnit: true, Units: []string{"430100", "430102"}}}
	teamMember := ledger.StatisticsFilter{Reach: ledger.Reach{ByTeam: true, Subject: "bench-team-7"}}
	type question struct {
		name    string
		filter  ledger.StatisticsFilter
		groupBy []ledger.Dimension
	}
	province := []question{
		{"province", ledger.StatisticsFilter{}, nil},
		{"province by kind, severity and content area", ledger.StatisticsFilter{},
			[]ledger.Dimension{ledger.DimensionKind, ledger.DimensionSeverity, ledger.DimensionContentArea}},
		{"a round by kind", ledger.StatisticsFilter{Round: "2025年第2轮"}, []ledger.Dimension{ledger.DimensionKind}},
	}
	ask := func(questions []question, suffix string) {
		for _, bc := range questions {
			b.Run(bc.name+suffix, func(b *testing.B) {
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
	ask([]question{
		province[0],
		{"province by unit and month", ledger.StatisticsFilter{}, []ledger.Dimension{ledger.DimensionUnit, ledger.DimensionMonth}},
		province[1],
		{"a year by unit", year(2025), []ledger.Dimension{ledger.DimensionUnit}},
		{"a city with its districts by month", changsha, []ledger.Dimension{ledger.DimensionMonth}},
		province[2],
		{"major hazards by round", ledger.StatisticsFilter{Kind: "HAZARD", Severity: "MAJOR"}, []ledger.Dimension{ledger.DimensionRound}},
		{"a unit user of two units", unitUser, nil},
		{"a team member", teamMember, []ledger.Dimension{ledger.DimensionRound}},
		// Units and kinds at once: the tallies per inspection.
		{"a year by unit and kind", year(2025), []ledger.Dimension{ledger.DimensionUnit, ledger.DimensionKind}},
		{"a city with its districts by kind", changsha, []ledger.Dimension{ledger.DimensionKind}},
		{"a unit user of two units by kind", unitUser, []ledger.Dimension{ledger.DimensionKind}},
		{"a team member by kind and severity", teamMember, []ledger.Dimension{ledger.DimensionKind, ledger.DimensionSeverity}},
	}, "")

	const herd = ledger.DefaultStatisticsCompactAbove
	escalateHerd(b, db.URL, herd)
	ask(province, fmt.Sprintf(" with %d changes pending", herd))

	// Folding them: each time the same changes, copied back first.
	owner, err := pgx.Connect(b.Context(), db.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close(context.WithoutCancel(b.Context()))
	if _, err := owner.Exec(b.Context(), `CREATE TABLE bench_herd AS SELECT * FROM finding_round_tally_deltas`); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("folding %d pending changes", herd), func(b *testing.B) {
		var folded int
		for i := 0; i < b.N; i++ {
			if i > 0 {
				b.StopTimer()
				if _, err := owner.Exec(b.Context(), `INSERT INTO finding_round_tally_deltas SELECT * FROM bench_herd`); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			n, err := store.CompactStatistics(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			folded = n
		}
		b.ReportMetric(float64(folded), "changes")
	})
}

// escalateHerd records n reminders of n findings of the seeded ledger,
// each its own statement, as the application role, and says on standard
// error how long they took.
func escalateHerd(b *testing.B, url string, n int) {
	b.Helper()
	conn, err := pgx.Connect(b.Context(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(b.Context()))
	start := time.Now()
	batch := &pgx.Batch{}
	for i := range n {
		batch.Queue(`INSERT INTO escalations (id, subject, deadline_seq, step, unit_code, due_at, fired_at)
		  SELECT 'bench-herd-' || f.id, 'finding/' || f.id, 9, 'REMINDER', f.unit_code, now(), now()
		  FROM findings f WHERE f.id = $1`, fmt.Sprintf("bench-f-%d", i*(*statisticsFindings/n)))
	}
	if err := conn.SendBatch(b.Context(), batch).Close(); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "bench: %d escalations, one statement each, in %s\n", n, time.Since(start).Round(time.Millisecond))
}
