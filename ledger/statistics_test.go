package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/ledger"
)

// shanghai is Asia/Shanghai, the zone of found months and closure days.
var shanghai = time.FixedZone("CST", 8*3600)

// at is a moment of day in Asia/Shanghai.
func at(day string, hour int) time.Time {
	d, err := time.ParseInLocation("2006-01-02", day, shanghai)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(hour) * time.Hour)
}

// conn is a connection of its own to the fixture's database, closed when
// the test ends.
func (fx fixture) conn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), fx.url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(t.Context())) })
	return conn
}

// month is the first day of a month as the statistics take it.
func month(year int, m time.Month) time.Time { return time.Date(year, m, 1, 0, 0, 0, 0, time.UTC) }

// inspectionOf writes an inspection of unit in round whose team lists
// subject (none when empty).
func (fx fixture) inspectionOf(t *testing.T, id, unitCode, round, subject string) {
	t.Helper()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	in := ledger.Inspection{
		ID: id, WorkflowID: "inspection/" + id, RequestID: "req-" + id, UnitCode: unitCode, UnitName: "单位" + unitCode,
		Kind: "SPECIAL", Round: round, PlannedStart: start, PlannedEnd: start.AddDate(0, 0, 14), Stage: "PLANNED",
		CreatedBy: office, CreatedAt: start,
	}
	if subject != "" {
		in.Team = []ledger.TeamMember{{Name: "组员", Role: "MEMBER", Rank: "OTHER", Subject: subject}}
	}
	require.NoError(t, fx.store.CreateInspection(t.Context(), in, "create/"+id, false))
}

// findingStep is one change of a finding of the statistics fixture.
type findingStep struct {
	at     time.Time
	change func(f *ledger.Finding)
}

// findingThrough records a finding found at found and applies steps, each
// a version, as its workflow would.
func (fx fixture) findingThrough(t *testing.T, id, inspectionID, unitCode string, found time.Time, kind, severity string, area int, steps ...findingStep) ledger.Finding {
	t.Helper()
	f := newFinding(id, inspectionID, unitCode, found)
	f.Kind, f.Severity, f.ContentArea = kind, severity, area
	_, err := fx.store.RecordFinding(t.Context(), f, "record/"+id)
	require.NoError(t, err)
	for i, s := range steps {
		s.change(&f)
		f.UpdatedAt, f.Version = s.at, f.Version+1
		require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f, ledger.Event{
			Key: fmt.Sprintf("step/%d", i), Action: "step", StageAfter: f.Stage, Actor: office, OccurredAt: s.at,
		}), "%s step %d", id, i)
	}
	return f
}

func referred(feedbackReceivedOn string) func(f *ledger.Finding) {
	return func(f *ledger.Finding) {
		f.Stage = "REFERRED"
		f.Referral = &ledger.Referral{ReceivingAuthority: "市安委办", FeedbackReceivedOn: feedbackReceivedOn}
		f.DeadlineSeq = 1
	}
}

func stage(s string) func(f *ledger.Finding) { return func(f *ledger.Finding) { f.Stage = s } }

// statisticsFixture writes the findings TestStatistics counts:
//
//	f-1 430100 R1 2026-03 HAZARD GENERAL 3  CLOSED 3 days after referral, on time
//	f-2 430100 R1 2026-03 HAZARD MAJOR   3  CLOSED 10 days after, a deadline missed, reopened once
//	f-3 430100 R1 2026-04 RESPONSIBILITY 5  CLOSED 20 days after, on time
//	f-4 430100 R1 2026-04 HAZARD GENERAL 3  REFERRED, overdue: three escalation steps, an interview proposed and held
//	f-5 430100 R1 2026-03 HAZARD GENERAL 3  WITHDRAWN
//	f-6 430102 R1 2026-03 HAZARD GENERAL 3  LISTED (a district of 430100)
//	f-7 430200 R2 2026-03 HAZARD GENERAL 3  CLOSED 30 days after referral (team member-zz)
//	f-8 an enterprise's organisation code, R1, 2026-03, LISTED
func statisticsFixture(t *testing.T, fx fixture) {
	t.Helper()
	const r1, r2, org = "2026年第一轮", "2026年第二轮", "91430100MA4L000001"
	fx.inspectionOf(t, "i-cs", "430100", r1, "")
	fx.inspectionOf(t, "i-fr", "430102", r1, "")
	fx.inspectionOf(t, "i-zz", "430200", r2, "member-zz")
	fx.inspectionOf(t, "i-org", org, r1, "")

	fx.findingThrough(t, "f-1", "i-cs", "430100", at("2026-03-03", 10), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-03-05", 9), referred("2026-03-10")},
		findingStep{at("2026-03-13", 10), stage("RECTIFIED")},
		findingStep{at("2026-03-13", 16), stage("CLOSED")})
	fx.findingThrough(t, "f-2", "i-cs", "430100", at("2026-03-04", 23), "HAZARD", "MAJOR", 3,
		findingStep{at("2026-03-05", 9), referred("2026-03-10")},
		findingStep{at("2026-03-15", 9), func(f *ledger.Finding) { f.Overdue, f.MissedDeadlines = true, 1 }},
		findingStep{at("2026-03-16", 9), func(f *ledger.Finding) { f.Stage, f.Overdue = "RECTIFIED", false }},
		findingStep{at("2026-03-17", 9), func(f *ledger.Finding) { f.Stage, f.ReopenCount, f.DeadlineSeq = "REFERRED", 1, 2 }},
		findingStep{at("2026-03-19", 9), stage("RECTIFIED")},
		// 23:30 in Shanghai is the 20th there, the 20th in UTC too: 10 days.
		findingStep{at("2026-03-20", 23).Add(30 * time.Minute), stage("CLOSED")})
	fx.findingThrough(t, "f-3", "i-cs", "430100", at("2026-04-01", 0), "RESPONSIBILITY", "", 5,
		findingStep{at("2026-04-01", 9), referred("2026-04-01")},
		findingStep{at("2026-04-21", 7), stage("CLOSED")}) // 07:00 in Shanghai is still the 20th in UTC
	f4 := fx.findingThrough(t, "f-4", "i-cs", "430100", at("2026-04-02", 9), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-04-03", 9), referred("2026-04-03")})
	fx.findingThrough(t, "f-5", "i-cs", "430100", at("2026-03-06", 9), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-03-07", 9), func(f *ledger.Finding) { f.Stage, f.WithdrawReason = "WITHDRAWN", "重复记录" }})
	fx.findingThrough(t, "f-6", "i-fr", "430102", at("2026-03-06", 9), "HAZARD", "GENERAL", 3)
	fx.findingThrough(t, "f-7", "i-zz", "430200", at("2026-03-06", 9), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-03-07", 9), referred("2026-03-01")},
		findingStep{at("2026-03-31", 9), stage("CLOSED")})
	fx.findingThrough(t, "f-8", "i-org", org, at("2026-03-06", 9), "SYSTEMIC_RISK", "", 1)

	// f-4 misses its deadline: the ladder's three steps, the last proposing
	// an interview, which is held.
	f4.Overdue, f4.MissedDeadlines = true, 1
	for i, step := range []string{ledger.StepReminder, ledger.StepOverdue, ledger.StepInterviewProposed} {
		f4.Version++
		fired := at("2026-05-01", i)
		_, err := fx.store.RecordEscalation(t.Context(), ledger.Escalation{Subject: "finding/f-4", DeadlineSeq: 1, Step: step,
			UnitCode: "430100", DueAt: fired, FiredAt: fired}, f4, ledger.Event{Key: "escalate/" + step, Action: "escalate",
			Actor: ledgerSystem, OccurredAt: fired})
		require.NoError(t, err)
	}
	iv := newInterview("iv-1", "finding/f-4", at("2026-05-02", 9))
	require.NoError(t, fx.store.CreateInterview(t.Context(), iv, ledger.Event{Key: "propose", Action: "propose", Actor: office, OccurredAt: iv.CreatedAt}))
	iv.Stage, iv.HeldOn, iv.Version, iv.UpdatedAt = "HELD", "2026-05-10", 2, at("2026-05-10", 9)
	require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), iv, ledger.Event{Key: "hold", Action: "hold", Actor: office, OccurredAt: iv.UpdatedAt}))
	// An interview about an inspection is no finding's.
	require.NoError(t, fx.store.CreateInterview(t.Context(), newInterview("iv-2", "inspection/i-cs", at("2026-05-02", 9)),
		ledger.Event{Key: "propose", Action: "propose", Actor: office, OccurredAt: at("2026-05-02", 9)}))
}

// requireTalliesRecomputed checks that the tallies the triggers kept equal
// what migration 010's views compute from scratch.
func requireTalliesRecomputed(t *testing.T, fx fixture) {
	t.Helper()
	for _, q := range []string{
		`SELECT count(*) FROM (SELECT * FROM finding_tallies WHERE findings <> 0 EXCEPT SELECT * FROM finding_tallies_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_tallies_recomputed EXCEPT SELECT * FROM finding_tallies) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_closure_days WHERE findings <> 0 EXCEPT SELECT * FROM finding_closure_days_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_closure_days_recomputed EXCEPT SELECT * FROM finding_closure_days) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_month_tallies WHERE findings <> 0 EXCEPT SELECT * FROM finding_month_tallies_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_month_tallies_recomputed EXCEPT SELECT * FROM finding_month_tallies) d`,
		// A row emptied by its last finding leaving holds nothing else either.
		`SELECT count(*) FROM finding_tallies WHERE findings = 0 AND (closed, withdrawn, overdue, on_time, reopened, reminders,
		   overdue_escalations, interview_escalations, interviews_proposed, interviews_held) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)`,
	} {
		require.Zero(t, fx.count(t, q), q)
	}
}

func TestStatistics(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	statisticsFixture(t, fx)
	requireTalliesRecomputed(t, fx)

	// A retried write, stale by its version, changes nothing.
	stale := newFinding("f-1", "i-cs", "430100", at("2026-03-03", 10))
	stale.Version = 2
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), stale, ledger.Event{Key: "step/0"}))
	requireTalliesRecomputed(t, fx)

	stats := func(filter ledger.StatisticsFilter, groupBy ...ledger.Dimension) ledger.StatisticsReport {
		t.Helper()
		r, err := fx.store.Statistics(t.Context(), filter, groupBy)
		require.NoError(t, err)
		return r
	}

	// Changsha with its district: f-1 … f-6.
	cs := stats(ledger.StatisticsFilter{UnitCode: "430100", SubUnits: true}).Total
	require.Equal(t, 6, cs.Found)
	require.Equal(t, 3, cs.Closed)
	require.Equal(t, 1, cs.Withdrawn)
	require.Equal(t, 2, cs.Open())
	require.Equal(t, 1, cs.Overdue)
	require.Equal(t, 2, cs.ClosedOnTime)
	require.Equal(t, 1, cs.Reopened)
	rate, ok := cs.ClosureRate()
	require.True(t, ok)
	require.InDelta(t, 0.6, rate, 1e-12) // 3 closed of 5 not withdrawn
	rate, ok = cs.OnTimeRate()
	require.True(t, ok)
	require.InDelta(t, 2.0/3, rate, 1e-12)
	require.Equal(t, []ledger.DayCount{{Days: 3, Findings: 1}, {Days: 10, Findings: 1}, {Days: 20, Findings: 1}}, cs.DaysToClose)
	median, ok := cs.DaysToClosePercentile(0.5)
	require.True(t, ok)
	require.InDelta(t, 10, median, 1e-12)
	p90, ok := cs.DaysToClosePercentile(0.9)
	require.True(t, ok)
	require.InDelta(t, 18, p90, 1e-12) // 10 + 0.8 × (20 − 10), as percentile_cont
	require.Equal(t, map[string]int{ledger.StepReminder: 1, ledger.StepOverdue: 1, ledger.StepInterviewProposed: 1}, cs.Escalations)
	require.Equal(t, 1, cs.InterviewsProposed)
	require.Equal(t, 1, cs.InterviewsHeld)

	// The same percentiles PostgreSQL computes from the findings.
	var pgMedian, pgP90 float64
	conn := fx.conn(t)
	require.NoError(t, conn.QueryRow(t.Context(), `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.9) WITHIN GROUP (ORDER BY d)
		FROM (SELECT finding_days_to_close(stage, referral, updated_at) d FROM findings WHERE unit_code LIKE '4301%') x
		WHERE d IS NOT NULL`).Scan(&pgMedian, &pgP90))
	require.InDelta(t, pgMedian, median, 1e-12)
	require.InDelta(t, pgP90, p90, 1e-12)

	counts := func(filter ledger.StatisticsFilter) int { t.Helper(); return stats(filter).Total.Found }
	tests := []struct {
		name   string
		filter ledger.StatisticsFilter
		want   int
	}{
		{"everything", ledger.StatisticsFilter{}, 8},
		{"Changsha alone", ledger.StatisticsFilter{UnitCode: "430100"}, 5},
		{"a district", ledger.StatisticsFilter{UnitCode: "430102", SubUnits: true}, 1},
		{"the province: every division code under 43", ledger.StatisticsFilter{UnitCode: "430000", SubUnits: true}, 7},
		{"an organisation code has no sub-units", ledger.StatisticsFilter{UnitCode: "91430100MA4L000001", SubUnits: true}, 1},
		{"from April", ledger.StatisticsFilter{FromMonth: month(2026, 4)}, 2},
		{"March", ledger.StatisticsFilter{FromMonth: month(2026, 3), ToMonth: month(2026, 3)}, 6},
		{"before March", ledger.StatisticsFilter{ToMonth: month(2026, 2)}, 0},
		{"round", ledger.StatisticsFilter{Round: "2026年第二轮"}, 1},
		{"inspection", ledger.StatisticsFilter{InspectionID: "i-cs"}, 5},
		{"kind", ledger.StatisticsFilter{Kind: "RESPONSIBILITY"}, 1},
		{"severity", ledger.StatisticsFilter{Severity: "MAJOR"}, 1},
		{"content area", ledger.StatisticsFilter{ContentArea: 5}, 1},
		{"a unit user of Zhuzhou asking for the province", ledger.StatisticsFilter{UnitCode: "430000", SubUnits: true,
			Reach: ledger.Reach{ByUnit: true, Units: []string{"430200"}}}, 1},
		{"a unit user of Zhuzhou asking for Changsha", ledger.StatisticsFilter{UnitCode: "430100", SubUnits: true,
			Reach: ledger.Reach{ByUnit: true, Units: []string{"430200"}}}, 0},
		{"a unit user without units", ledger.StatisticsFilter{Reach: ledger.Reach{ByUnit: true}}, 0},
		{"a team member of Zhuzhou's team", ledger.StatisticsFilter{Reach: ledger.Reach{ByTeam: true, Subject: "member-zz"}}, 1},
		{"a team member of no team", ledger.StatisticsFilter{Reach: ledger.Reach{ByTeam: true, Subject: "nobody"}}, 0},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, counts(tt.filter), tt.name)
	}

	// Grouped: the groups add up to the total, in the order asked for.
	byUnit := stats(ledger.StatisticsFilter{}, ledger.DimensionUnit)
	require.Equal(t, 8, byUnit.Total.Found)
	var units []string
	for _, g := range byUnit.Groups {
		units = append(units, fmt.Sprintf("%s %s %d", g.UnitCode, g.UnitName, g.Found))
	}
	require.Equal(t, []string{"430100 单位430100 5", "430102 单位430102 1", "430200 单位430200 1",
		"91430100MA4L000001 单位91430100MA4L000001 1"}, units)

	byMonthKind := stats(ledger.StatisticsFilter{UnitCode: "430100", SubUnits: true}, ledger.DimensionMonth, ledger.DimensionKind)
	var got []string
	for _, g := range byMonthKind.Groups {
		median, _ := g.DaysToClosePercentile(0.5)
		got = append(got, fmt.Sprintf("%s %s found %d closed %d median %g", g.Month.Format("2006-01"), g.Kind, g.Found, g.Closed, median))
	}
	require.Equal(t, []string{
		"2026-03 HAZARD found 4 closed 2 median 6.5",
		"2026-04 HAZARD found 1 closed 0 median 0",
		"2026-04 RESPONSIBILITY found 1 closed 1 median 20",
	}, got)
	// The month tallies (no kind asked for) and the finer ones (a kind
	// asked for) count alike.
	require.Equal(t, cs, byMonthKind.Total)
	require.Equal(t, stats(ledger.StatisticsFilter{}).Total, stats(ledger.StatisticsFilter{}, ledger.DimensionContentArea).Total)

	byRoundSeverityArea := stats(ledger.StatisticsFilter{}, ledger.DimensionRound, ledger.DimensionSeverity, ledger.DimensionContentArea)
	got = nil
	for _, g := range byRoundSeverityArea.Groups {
		got = append(got, fmt.Sprintf("%s %q %d: %d", g.Round, g.Severity, g.ContentArea, g.Found))
	}
	require.Equal(t, []string{
		`2026年第一轮 "" 1: 1`, `2026年第一轮 "" 5: 1`, `2026年第一轮 "GENERAL" 3: 4`, `2026年第一轮 "MAJOR" 3: 1`,
		`2026年第二轮 "GENERAL" 3: 1`,
	}, got)

	// Nothing selected: no rates, no days.
	none := stats(ledger.StatisticsFilter{Round: "no such round"}, ledger.DimensionUnit)
	require.Empty(t, none.Groups)
	_, ok = none.Total.ClosureRate()
	require.False(t, ok)
	_, ok = none.Total.DaysToClosePercentile(0.5)
	require.False(t, ok)

	_, err := fx.store.Statistics(t.Context(), ledger.StatisticsFilter{}, []ledger.Dimension{ledger.DimensionUnit, ledger.DimensionUnit})
	require.Error(t, err)
}

func TestDivisionPrefix(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"430000": "43", "430100": "4301", "430102": "430102", "433100": "4331",
		"430102001000": "430102001", "430102001001": "430102001001", "430102000000": "430102",
		"91430100MA4L000001": "", "4301": "", "DEPT1": "", "": "", "030100": "",
	} {
		require.Equal(t, want, ledger.DivisionPrefix(code), code)
	}
}
