package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/xuncha/xuncha/casework"
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
	in := casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "inspection/" + id, RequestID: "req-" + id, UnitCode: unitCode,
			Stage: "PLANNED", CreatedAt: start},
		UnitName: "单位" + unitCode,
		Kind:     "SPECIAL", Round: round, PlannedStart: start, PlannedEnd: start.AddDate(0, 0, 14),
		CreatedBy: office,
	}
	if subject != "" {
		in.Team = []casework.TeamMember{{Name: "组员", Role: "MEMBER", Rank: "OTHER", Subject: subject}}
	}
	require.NoError(t, fx.store.CreateInspection(t.Context(), in, "create/"+id, false))
}

// findingStep is one change of a finding of the statistics fixture.
type findingStep struct {
	at     time.Time
	change func(f *casework.Finding)
}

// findingThrough records a finding found at found and applies steps, each
// a version, as its workflow would.
func (fx fixture) findingThrough(t *testing.T, id, inspectionID, unitCode string, found time.Time, kind, severity string, area int, steps ...findingStep) casework.Finding {
	t.Helper()
	f := newFinding(id, inspectionID, unitCode, found)
	f.Kind, f.Severity, f.ContentArea = kind, severity, area
	_, err := fx.store.RecordFinding(t.Context(), f, "record/"+id)
	require.NoError(t, err)
	for i, s := range steps {
		s.change(&f)
		f.UpdatedAt, f.Version = s.at, f.Version+1
		require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f, casework.Event{
			Key: fmt.Sprintf("step/%d", i), Action: "step", StageAfter: f.Stage, Actor: office, OccurredAt: s.at,
		}), "%s step %d", id, i)
	}
	return f
}

func referred(feedbackReceivedOn string) func(f *casework.Finding) {
	return func(f *casework.Finding) {
		f.Stage = "REFERRED"
		f.Referral = &casework.Referral{ReceivingAuthority: "市安委办", FeedbackReceivedOn: feedbackReceivedOn}
		f.DeadlineSeq = 1
	}
}

func stage(s string) func(f *casework.Finding) { return func(f *casework.Finding) { f.Stage = s } }

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
		findingStep{at("2026-03-15", 9), func(f *casework.Finding) { f.Overdue, f.MissedDeadlines = true, 1 }},
		findingStep{at("2026-03-16", 9), func(f *casework.Finding) { f.Stage, f.Overdue = "RECTIFIED", false }},
		findingStep{at("2026-03-17", 9), func(f *casework.Finding) { f.Stage, f.ReopenCount, f.DeadlineSeq = "REFERRED", 1, 2 }},
		findingStep{at("2026-03-19", 9), stage("RECTIFIED")},
		// 23:30 in Shanghai is the 20th there, the 20th in UTC too: 10 days.
		findingStep{at("2026-03-20", 23).Add(30 * time.Minute), stage("CLOSED")})
	fx.findingThrough(t, "f-3", "i-cs", "430100", at("2026-04-01", 0), "RESPONSIBILITY", "", 5,
		findingStep{at("2026-04-01", 9), referred("2026-04-01")},
		findingStep{at("2026-04-21", 7), stage("CLOSED")}) // 07:00 in Shanghai is still the 20th in UTC
	f4 := fx.findingThrough(t, "f-4", "i-cs", "430100", at("2026-04-02", 9), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-04-03", 9), referred("2026-04-03")})
	fx.findingThrough(t, "f-5", "i-cs", "430100", at("2026-03-06", 9), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-03-07", 9), func(f *casework.Finding) { f.Stage, f.WithdrawReason = "WITHDRAWN", "重复记录" }})
	fx.findingThrough(t, "f-6", "i-fr", "430102", at("2026-03-06", 9), "HAZARD", "GENERAL", 3)
	fx.findingThrough(t, "f-7", "i-zz", "430200", at("2026-03-06", 9), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-03-07", 9), referred("2026-03-01")},
		findingStep{at("2026-03-31", 9), stage("CLOSED")})
	fx.findingThrough(t, "f-8", "i-org", org, at("2026-03-06", 9), "SYSTEMIC_RISK", "", 1)

	// f-4 misses its deadline: the ladder's three steps, the last proposing
	// an interview, which is held.
	f4.Overdue, f4.MissedDeadlines = true, 1
	for i, step := range []string{casework.StepReminder, casework.StepOverdue, casework.StepInterviewProposed} {
		f4.Version++
		fired := at("2026-05-01", i)
		_, err := fx.store.RecordEscalation(t.Context(), casework.Escalation{Subject: "finding/f-4", DeadlineSeq: 1, Step: step,
			UnitCode: "430100", DueAt: fired, FiredAt: fired}, f4, casework.Event{Key: "escalate/" + step, Action: "escalate",
			Actor: ledgerSystem, OccurredAt: fired})
		require.NoError(t, err)
	}
	iv := newInterview("iv-1", "finding/f-4", at("2026-05-02", 9))
	require.NoError(t, fx.store.CreateInterview(t.Context(), iv, casework.Event{Key: "propose", Action: "propose", Actor: office, OccurredAt: iv.CreatedAt}, nil))
	iv.Stage, iv.HeldOn, iv.Version, iv.UpdatedAt = "HELD", "2026-05-10", 2, at("2026-05-10", 9)
	require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), iv, casework.Event{Key: "hold", Action: "hold", Actor: office, OccurredAt: iv.UpdatedAt}))
	// An interview about an inspection is no finding's.
	require.NoError(t, fx.store.CreateInterview(t.Context(), newInterview("iv-2", "inspection/i-cs", at("2026-05-02", 9)),
		casework.Event{Key: "propose", Action: "propose", Actor: office, OccurredAt: at("2026-05-02", 9)}, nil))
}

// roundTalliesKept is what a read of the tallies per round sums: the
// rollup and the changes pending, per key, in the columns of
// finding_round_tallies_recomputed (migration 019).
const roundTalliesKept = `
WITH r AS (
  SELECT round, found_month, kind, severity, content_area, findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held, closure_days, closure_findings
  FROM finding_round_tallies
  UNION ALL
  SELECT round, found_month, kind, severity, content_area, findings, closed, withdrawn, overdue, on_time, reopened,
    reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held, closure_days, closure_findings
  FROM finding_round_tally_deltas
), counts AS (
  SELECT round, found_month, kind, severity, content_area,
    sum(findings)::integer AS findings, sum(closed)::integer AS closed, sum(withdrawn)::integer AS withdrawn,
    sum(overdue)::integer AS overdue, sum(on_time)::integer AS on_time, sum(reopened)::integer AS reopened,
    sum(reminders)::integer AS reminders, sum(overdue_escalations)::integer AS overdue_escalations,
    sum(interview_escalations)::integer AS interview_escalations,
    sum(interviews_proposed)::integer AS interviews_proposed, sum(interviews_held)::integer AS interviews_held
  FROM r GROUP BY round, found_month, kind, severity, content_area
), days AS (
  SELECT round, found_month, kind, severity, content_area,
         array_agg(days ORDER BY days) AS days, array_agg(n ORDER BY days) AS findings
  FROM (SELECT r.round, r.found_month, r.kind, r.severity, r.content_area, u.days, sum(u.n)::integer AS n
        FROM r CROSS JOIN LATERAL unnest(r.closure_days, r.closure_findings) u(days, n)
        GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(u.n) <> 0) d
  GROUP BY round, found_month, kind, severity, content_area
)
SELECT c.*, coalesce(d.days, '{}') AS closure_days, coalesce(d.findings, '{}') AS closure_findings
FROM counts c LEFT JOIN days d USING (round, found_month, kind, severity, content_area)`

// requireTalliesRecomputed checks that the tallies, once the contributions
// the triggers queued are folded (migration 027), equal what the views of
// migrations 010 and 019 compute from scratch, and the tallies per round
// with their pending changes what their view does.
func requireTalliesRecomputed(t *testing.T, fx fixture) {
	t.Helper()
	_, err := fx.store.FoldQueuedContributions(t.Context())
	require.NoError(t, err)
	require.Zero(t, fx.count(t, `SELECT count(*) FROM finding_contributions_pending`))
	for _, q := range []string{
		`SELECT count(*) FROM (SELECT * FROM finding_tallies WHERE findings <> 0 EXCEPT SELECT * FROM finding_tallies_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_tallies_recomputed EXCEPT SELECT * FROM finding_tallies) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_month_tallies WHERE findings <> 0 EXCEPT SELECT * FROM finding_month_tallies_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_month_tallies_recomputed EXCEPT SELECT * FROM finding_month_tallies) d`,
		`SELECT count(*) FROM (SELECT * FROM (` + roundTalliesKept + `) k WHERE findings <> 0 EXCEPT SELECT * FROM finding_round_tallies_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_round_tallies_recomputed EXCEPT SELECT * FROM (` + roundTalliesKept + `) k) d`,
		// A row emptied by its last finding leaving holds nothing else either.
		`SELECT count(*) FROM finding_tallies WHERE findings = 0 AND (closed, withdrawn, overdue, on_time, reopened, reminders,
		   overdue_escalations, interview_escalations, interviews_proposed, interviews_held, closure_days)
		   <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}')`,
		`SELECT count(*) FROM (` + roundTalliesKept + `) k WHERE findings = 0 AND (closed, withdrawn, overdue, on_time,
		   reopened, reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held, closure_days)
		   <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}')`,
	} {
		require.Zero(t, fx.count(t, q), q)
	}
}

// requireRoundTalliesFolded checks that no change is pending and that the
// tallies per round alone equal their definition.
func requireRoundTalliesFolded(t *testing.T, fx fixture) {
	t.Helper()
	for _, q := range []string{
		`SELECT count(*) FROM finding_round_tally_deltas`,
		`SELECT count(*) FROM (SELECT * FROM finding_round_tallies WHERE findings <> 0 EXCEPT SELECT * FROM finding_round_tallies_recomputed) d`,
		`SELECT count(*) FROM (SELECT * FROM finding_round_tallies_recomputed EXCEPT SELECT * FROM finding_round_tallies) d`,
		`SELECT count(*) FROM finding_round_tallies WHERE findings = 0 AND (closed, withdrawn, overdue, on_time, reopened,
		   reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held, closure_days)
		   <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}')`,
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
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), stale, casework.Event{Key: "step/0"}))
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
	require.Equal(t, map[string]int{casework.StepReminder: 1, casework.StepOverdue: 1, casework.StepInterviewProposed: 1}, cs.Escalations)
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

	// More writes: f-9 closes in f-1's key after as many days (a day
	// already in the arrays), f-10 in a round of its own, and f-6 moves to
	// another kind (one key's counts down, another's up).
	fx.findingThrough(t, "f-9", "i-cs", "430100", at("2026-03-09", 10), "HAZARD", "GENERAL", 3,
		findingStep{at("2026-03-10", 9), referred("2026-03-10")},
		findingStep{at("2026-03-13", 11), stage("CLOSED")})
	fx.inspectionOf(t, "i-r3", "430300", "2026年第三轮", "")
	fx.findingThrough(t, "f-10", "i-r3", "430300", at("2026-06-01", 10), "VIOLATION_CLUE", "", 7,
		findingStep{at("2026-06-02", 9), referred("2026-06-02")},
		findingStep{at("2026-06-12", 9), stage("CLOSED")})
	f6 := newFinding("f-6", "i-fr", "430102", at("2026-03-06", 9))
	f6.Kind, f6.Severity, f6.ContentArea, f6.Version, f6.UpdatedAt = "RESPONSIBILITY", "", 4, 2, at("2026-03-08", 9)
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), f6, casework.Event{
		Key: "reclassify", Action: "step", StageAfter: f6.Stage, Actor: office, OccurredAt: f6.UpdatedAt}))
	requireTalliesRecomputed(t, fx)

	// The tallies per round (a question without a unit, summing the
	// rollup and the changes pending) and those per inspection (the same
	// question asked by a unit user who reaches every unit) answer alike,
	// grouped or not, with or without a kind; and alike again once the
	// changes are folded.
	everyUnit := ledger.Reach{ByUnit: true, Units: []string{"430100", "430102", "430200", "430300", "91430100MA4L000001"}}
	groupings := [][]ledger.Dimension{
		nil,
		{ledger.DimensionMonth},
		{ledger.DimensionRound, ledger.DimensionMonth},
		{ledger.DimensionKind},
		{ledger.DimensionSeverity, ledger.DimensionContentArea},
		{ledger.DimensionMonth, ledger.DimensionRound, ledger.DimensionKind, ledger.DimensionSeverity, ledger.DimensionContentArea},
	}
	filters := []ledger.StatisticsFilter{{}, {Round: "2026年第一轮"}, {FromMonth: month(2026, 4)}, {Kind: "HAZARD"}, {ContentArea: 3}}
	answers := map[string]ledger.StatisticsReport{}
	for _, groupBy := range groupings {
		for _, filter := range filters {
			name := fmt.Sprintf("%v %+v", groupBy, filter)
			byRound := stats(filter, groupBy...)
			filter.Reach = everyUnit
			require.Equal(t, stats(filter, groupBy...), byRound, name)
			answers[name] = byRound
		}
	}
	require.Positive(t, fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`))
	folded, err := fx.store.CompactStatistics(t.Context())
	require.NoError(t, err)
	require.Positive(t, folded)
	requireRoundTalliesFolded(t, fx)
	for _, groupBy := range groupings {
		for _, filter := range filters {
			name := fmt.Sprintf("%v %+v", groupBy, filter)
			require.Equal(t, answers[name], stats(filter, groupBy...), name)
		}
	}

	all := stats(ledger.StatisticsFilter{}, ledger.DimensionRound)
	require.Equal(t, 10, all.Total.Found)
	require.Equal(t, []ledger.DayCount{{Days: 3, Findings: 2}, {Days: 10, Findings: 2}, {Days: 20, Findings: 1}, {Days: 30, Findings: 1}},
		all.Total.DaysToClose)
	require.Len(t, all.Groups, 3)
	require.Equal(t, "2026年第三轮", all.Groups[1].Round)
	require.Equal(t, []ledger.DayCount{{Days: 10, Findings: 1}}, all.Groups[1].DaysToClose)
}

// TestStatisticsCompaction folds the pending changes of the tallies per
// round: never two compactors at once, a part at a time, and by a question
// itself when too many are pending.
func TestStatisticsCompaction(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	statisticsFixture(t, fx)
	_, err := fx.store.FoldQueuedContributions(t.Context())
	require.NoError(t, err)
	pending := fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`)
	require.Positive(t, pending)
	estimate, err := fx.store.PendingStatisticsChanges(t.Context())
	require.NoError(t, err)
	require.GreaterOrEqual(t, estimate, pending)
	province := func() ledger.StatisticsReport {
		t.Helper()
		r, err := fx.store.Statistics(t.Context(), ledger.StatisticsFilter{}, []ledger.Dimension{ledger.DimensionKind})
		require.NoError(t, err)
		return r
	}
	before := province()
	require.Equal(t, 8, before.Total.Found)

	// Another compactor is folding: this one leaves at once.
	other := fx.conn(t)
	tx, err := other.Begin(t.Context())
	require.NoError(t, err)
	var locked bool
	require.NoError(t, tx.QueryRow(t.Context(), `SELECT pg_try_advisory_xact_lock(hashtextextended('xuncha/finding-round-tallies', 0))`).Scan(&locked))
	require.True(t, locked)
	folded, err := fx.store.CompactStatistics(t.Context())
	require.NoError(t, err)
	require.Zero(t, folded)
	require.Equal(t, pending, fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`))
	require.NoError(t, tx.Rollback(t.Context()))

	// A part at a time, the oldest first: rollup and pending changes still
	// add up to the definition.
	require.Equal(t, 1, fx.count(t, `SELECT fold_finding_round_tally_deltas(1)`))
	require.Equal(t, pending-1, fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`))
	requireTalliesRecomputed(t, fx)
	require.Equal(t, before, province())

	folded, err = fx.store.CompactStatistics(t.Context())
	require.NoError(t, err)
	require.Equal(t, pending-1, folded)
	requireRoundTalliesFolded(t, fx)
	requireTalliesRecomputed(t, fx)
	require.Equal(t, before, province())
	folded, err = fx.store.CompactStatistics(t.Context())
	require.NoError(t, err)
	require.Zero(t, folded)

	// Past StatisticsCompactAbove pending changes, a question about the
	// province folds them before it reads; one about units reads other
	// tallies and leaves them. Either folds the queued contributions first
	// (here three findings of three content areas: three round keys, three
	// pending changes once folded).
	fx.store.StatisticsCompactAbove = 2
	for i, id := range []string{"f-11", "f-12", "f-13"} {
		fx.findingThrough(t, id, "i-zz", "430200", at("2026-05-06", 9), "SYSTEMIC_RISK", "", 7+i)
	}
	require.Equal(t, 3, fx.count(t, `SELECT count(*) FROM finding_contributions_pending`))
	require.Zero(t, fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`))
	r, err := fx.store.Statistics(t.Context(), ledger.StatisticsFilter{UnitCode: "430200"}, []ledger.Dimension{ledger.DimensionKind})
	require.NoError(t, err)
	require.Equal(t, 4, r.Total.Found)
	require.Zero(t, fx.count(t, `SELECT count(*) FROM finding_contributions_pending`))
	require.Equal(t, 3, fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`))
	require.Equal(t, 11, province().Total.Found)
	requireRoundTalliesFolded(t, fx)
}

// TestStatisticsCountWhatIsQueued: a write only queues its contributions
// (migration 027), and a question asked right after it counts it, whichever
// tallies it reads: per round (the province), per inspection and month (a
// unit), per key (a unit and a kind).
func TestStatisticsCountWhatIsQueued(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	statisticsFixture(t, fx)
	province, unit := 8, 1
	for i, q := range []ledger.StatisticsFilter{{}, {UnitCode: "430200"}, {UnitCode: "430200", Kind: "HAZARD"}} {
		id := fmt.Sprintf("f-q%d", i)
		fx.findingThrough(t, id, "i-zz", "430200", at("2026-05-06", 9), "HAZARD", "GENERAL", 3)
		province, unit = province+1, unit+1
		require.Positive(t, fx.count(t, `SELECT count(*) FROM finding_contributions_pending`), id)
		r, err := fx.store.Statistics(t.Context(), q, nil)
		require.NoError(t, err)
		want := unit
		if q.UnitCode == "" {
			want = province
		}
		require.Equal(t, want, r.Total.Found, "%+v", q)
	}
}

// TestStatisticsCompactor runs the worker's compactor: it folds what is
// pending at once and what comes later at its next tick, and stops when
// its context ends.
func TestStatisticsCompactor(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	statisticsFixture(t, fx)
	require.Positive(t, fx.count(t, `SELECT count(*) FROM finding_contributions_pending`))

	require.Error(t, (&ledger.StatisticsCompactor{Store: fx.store, Log: zap.NewNop()}).Run(t.Context()), "no period")
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- (&ledger.StatisticsCompactor{Store: fx.store, Every: 20 * time.Millisecond, Log: zap.NewNop()}).Run(ctx)
	}()
	conn := fx.conn(t)
	folded := func() bool { // in require.Eventually's goroutine: no require here
		var n int
		err := conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM finding_contributions_pending) +
		  (SELECT count(*) FROM finding_round_tally_deltas)`).Scan(&n)
		return err == nil && n == 0
	}
	require.Eventually(t, folded, 10*time.Second, 10*time.Millisecond)
	fx.findingThrough(t, "f-11", "i-zz", "430200", at("2026-05-06", 9), "SYSTEMIC_RISK", "", 9)
	require.Eventually(t, folded, 10*time.Second, 10*time.Millisecond)
	requireRoundTalliesFolded(t, fx)
	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the compactor did not stop")
	}
}

// TestStatisticsUnderConcurrentWriters writes findings of several
// inspections of the same rounds at once, some of the same inspection,
// while a compactor folds and readers read: nothing fails (no deadlock),
// and the tallies end equal to their definition.
func TestStatisticsUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const r1, r2 = "2026年第一轮", "2026年第二轮"
	inspections := []struct{ id, unit, round string }{
		{"i-1", "430100", r1}, {"i-2", "430200", r1}, {"i-3", "430300", r1}, {"i-4", "430400", r2},
	}
	for _, in := range inspections {
		fx.inspectionOf(t, in.id, in.unit, in.round, "")
	}
	ctx := t.Context()
	const writers, findingsEach = 8, 4
	g, gctx := errgroup.WithContext(ctx)
	done := make(chan struct{})
	for w := range writers {
		in := inspections[w%len(inspections)] // two writers an inspection
		g.Go(func() error {
			for n := range findingsEach {
				id := fmt.Sprintf("f-%d-%d", w, n)
				found := at("2026-03-02", 9).Add(time.Duration(n) * time.Hour)
				f := newFinding(id, in.id, in.unit, found)
				f.Kind, f.Severity, f.ContentArea = "HAZARD", "GENERAL", 3
				if _, err := fx.store.RecordFinding(gctx, f, "record/"+id); err != nil {
					return fmt.Errorf("recording %s: %w", id, err)
				}
				change := func(key string, at time.Time, c func(f *casework.Finding)) error {
					c(&f)
					f.UpdatedAt, f.Version = at, f.Version+1
					e := casework.Event{Key: key, Action: key, StageAfter: f.Stage, Actor: office, OccurredAt: at}
					if key == "escalate" { // the ladder marks the finding overdue as it escalates
						_, err := fx.store.RecordEscalation(gctx, casework.Escalation{Subject: "finding/" + id, DeadlineSeq: 1,
							Step: casework.StepOverdue, UnitCode: in.unit, DueAt: at, FiredAt: at}, f, e)
						return err
					}
					return fx.store.ApplyFindingChange(gctx, f, e)
				}
				if err := change("refer", at("2026-03-03", 9), referred("2026-03-03")); err != nil {
					return fmt.Errorf("referring %s: %w", id, err)
				}
				if err := change("escalate", at("2026-03-04", 9), func(f *casework.Finding) { f.Overdue, f.MissedDeadlines = true, 1 }); err != nil {
					return fmt.Errorf("escalating %s: %w", id, err)
				}
				closed := at(fmt.Sprintf("2026-03-%02d", 5+n+w%3), 9)
				if err := change("close", closed, func(f *casework.Finding) { f.Stage, f.Overdue = "CLOSED", false }); err != nil {
					return fmt.Errorf("closing %s: %w", id, err)
				}
			}
			return nil
		})
	}
	var side errgroup.Group
	side.Go(func() error { // the compactor
		for {
			if _, err := fx.store.CompactStatistics(ctx); err != nil {
				return err
			}
			select {
			case <-done:
				return nil
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	side.Go(func() error { // a reader of the province
		for {
			if _, err := fx.store.Statistics(ctx, ledger.StatisticsFilter{}, []ledger.Dimension{ledger.DimensionRound}); err != nil {
				return err
			}
			select {
			case <-done:
				return nil
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	err := g.Wait()
	close(done)
	require.NoError(t, err)
	require.NoError(t, side.Wait())

	requireTalliesRecomputed(t, fx)
	_, err = fx.store.CompactStatistics(ctx)
	require.NoError(t, err)
	requireRoundTalliesFolded(t, fx)
	r, err := fx.store.Statistics(ctx, ledger.StatisticsFilter{Round: r1}, nil)
	require.NoError(t, err)
	require.Equal(t, 6*findingsEach, r.Total.Found)
	require.Equal(t, 6*findingsEach, r.Total.Closed)
	require.Equal(t, 6*findingsEach, r.Total.Escalations[casework.StepOverdue])
}

// TestMonthTalliesOfOneInspectionAtOnce changes findings of one inspection
// and month at once, one of another kind and one of the same: the first
// change's transaction stays open while the others are written, and they
// do not wait for it, as they did before migration 027 (they summed into
// the same tally rows then; now each only queues its contributions). Then
// the first commits. The tallies must count all three. Before migration 021
// the second change summed the month anew from a snapshot that could not
// see the first, and its sum replaced the row once the first had
// committed: the first change was lost from the month.
func TestMonthTalliesOfOneInspectionAtOnce(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspectionOf(t, "i-1", "430100", "2026年第一轮", "")
	ctx := t.Context()
	found := at("2026-03-02", 9)
	a, b, c := newFinding("f-a", "i-1", "430100", found), newFinding("f-b", "i-1", "430100", found), newFinding("f-c", "i-1", "430100", found)
	b.Kind = "PROBLEM"
	for _, f := range []casework.Finding{a, b, c} {
		_, err := fx.store.RecordFinding(ctx, f, "record/"+f.ID)
		require.NoError(t, err)
	}
	requireTalliesRecomputed(t, fx) // the tally rows exist, folded
	withdraw := func(f casework.Finding) casework.Finding {
		f.Stage, f.Version, f.UpdatedAt = "WITHDRAWN", f.Version+1, found.Add(time.Hour)
		return f
	}

	first := fx.conn(t)
	tx, err := first.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE findings SET stage = 'WITHDRAWN', version = version + 1 WHERE id = 'f-a'`)
	require.NoError(t, err)

	for _, f := range []casework.Finding{b, c} {
		other := make(chan error, 1)
		go func() {
			other <- fx.store.ApplyFindingChange(ctx, withdraw(f), casework.Event{Key: "withdraw", Action: "withdraw", Actor: office, OccurredAt: found})
		}()
		select {
		case err := <-other:
			require.NoError(t, err, f.ID)
		case <-time.After(10 * time.Second):
			t.Fatalf("the change of %s waited for the open transaction of f-a", f.ID)
		}
	}
	require.NoError(t, tx.Commit(ctx))

	requireTalliesRecomputed(t, fx)
	require.Equal(t, 3, fx.count(t, `SELECT withdrawn FROM finding_month_tallies WHERE inspection_id = 'i-1'`))
}

// TestStatisticsWritersOfOneRoundDoNotWait holds a transaction open that
// wrote for one inspection, and writes the same kind of change for
// another inspection of the same round, month, kind, severity and content
// area in a second: the second commits while the first is still open (a
// lock it waited for would fail it after lock_timeout). No row of the
// statistics is shared by writers of different inspections.
func TestStatisticsWritersOfOneRoundDoNotWait(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const round = "2026年第一轮"
	fx.inspectionOf(t, "i-a", "430100", round, "")
	fx.inspectionOf(t, "i-b", "430200", round, "")
	// Findings of both, referred, so that the tallies per round's rows
	// exist, folded, before the writes under test.
	for _, id := range []string{"a-1", "a-2", "b-1", "b-2"} {
		in, unit := "i-a", "430100"
		if id[0] == 'b' {
			in, unit = "i-b", "430200"
		}
		fx.findingThrough(t, id, in, unit, at("2026-03-03", 10), "HAZARD", "GENERAL", 3,
			findingStep{at("2026-03-05", 9), referred("2026-03-05")})
	}
	_, err := fx.store.CompactStatistics(t.Context())
	require.NoError(t, err)

	first, second := fx.conn(t), fx.conn(t)
	_, err = second.Exec(t.Context(), `SET lock_timeout = '3s'`)
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		sql  string
		// args for inspection i-a (first) and i-b (second)
		a, b []any
	}{
		{"a finding recorded", `INSERT INTO findings (id, workflow_id, inspection_id, request_id, unit_code, unit_name, title,
		   kind, severity, content_area, stage, found_by, created_at, updated_at, version)
		 VALUES ($1, 'finding/' || $1, $2, 'req-' || $1, $3, '单位', '标题', 'HAZARD', 'GENERAL', 3, 'LISTED', '{"name":"组员"}',
		   '2026-03-03 12:00+08', '2026-03-03 12:00+08', 1)`,
			[]any{"a-3", "i-a", "430100"}, []any{"b-3", "i-b", "430200"}},
		{"a finding closed", `UPDATE findings SET stage = 'CLOSED', updated_at = '2026-03-15 12:00+08', version = version + 1
		 WHERE id = $1`, []any{"a-1"}, []any{"b-1"}},
		{"a finding moved to another key", `UPDATE findings SET content_area = 4, version = version + 1 WHERE id = $1`,
			[]any{"a-2"}, []any{"b-2"}},
		{"an escalation", `INSERT INTO escalations (id, subject, deadline_seq, step, unit_code, due_at, fired_at)
		 VALUES ('esc-' || $1, 'finding/' || $1, 1, 'REMINDER', $2, now(), now())`,
			[]any{"a-3", "430100"}, []any{"b-3", "430200"}},
		{"an interview", `INSERT INTO interviews (id, workflow_id, request_id, subject, unit_code, reason, source, stage,
		   proposed_by, created_at, updated_at, version)
		 VALUES ('iv-' || $1, 'interview/iv-' || $1, 'iv-' || $1, 'finding/' || $1, $2, '整改逾期', 'LADDER', 'PROPOSED',
		   '{"name":"办公室"}', now(), now(), 1)`,
			[]any{"a-3", "430100"}, []any{"b-3", "430200"}},
	} {
		tx, err := first.Begin(t.Context())
		require.NoError(t, err, tt.name)
		_, err = tx.Exec(t.Context(), tt.sql, tt.a...)
		require.NoError(t, err, tt.name)
		_, err = second.Exec(t.Context(), tt.sql, tt.b...)
		require.NoError(t, err, "%s: the second writer waited for the first", tt.name)
		require.NoError(t, tx.Commit(t.Context()), tt.name)
	}
	requireTalliesRecomputed(t, fx)

	// Nor does a compactor wait for a writer, or a writer for it: the
	// compactor folds what is committed, the writer's change is folded
	// next time.
	_, err = first.Exec(t.Context(), `SET lock_timeout = '3s'`)
	require.NoError(t, err)
	writer, err := first.Begin(t.Context())
	require.NoError(t, err)
	_, err = writer.Exec(t.Context(), `UPDATE findings SET stage = 'CLOSED', updated_at = '2026-03-16 12:00+08', version = version + 1
	  WHERE id = 'a-2'`)
	require.NoError(t, err)
	compactor, err := second.Begin(t.Context())
	require.NoError(t, err)
	var folded int
	require.NoError(t, compactor.QueryRow(t.Context(), `SELECT fold_finding_contributions(10000, false)`).Scan(&folded),
		"the compactor waited for the writer")
	require.Zero(t, folded, "the writer's contributions are not committed")
	require.NoError(t, compactor.QueryRow(t.Context(), `SELECT fold_finding_round_tally_deltas(10000)`).Scan(&folded),
		"the compactor waited for the writer")
	require.Positive(t, folded)
	_, err = writer.Exec(t.Context(), `INSERT INTO escalations (id, subject, deadline_seq, step, unit_code, due_at, fired_at)
	  VALUES ('esc-a-2', 'finding/a-2', 1, 'OVERDUE', '430100', now(), now())`)
	require.NoError(t, err, "the writer waited for the compactor")
	require.NoError(t, writer.Commit(t.Context()), "the writer waited for the compactor")
	require.NoError(t, compactor.Commit(t.Context()))
	requireTalliesRecomputed(t, fx)
	require.Positive(t, fx.count(t, `SELECT count(*) FROM finding_round_tally_deltas`))
	_, err = fx.store.CompactStatistics(t.Context())
	require.NoError(t, err)
	requireRoundTalliesFolded(t, fx)
	requireTalliesRecomputed(t, fx)
}

// TestMergeClosureDays checks migration 019's merge of a change into the
// days to close: counts added, taken away to nothing, days new on either
// side, the result by days.
func TestMergeClosureDays(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	conn := fx.conn(t)
	for _, tt := range []struct {
		name                       string
		days, findings             []int32
		changeDays, changeFindings []int32
		wantDays, wantFindings     []int32
	}{
		{"into nothing", []int32{}, []int32{}, []int32{2, 5}, []int32{1, 3}, []int32{2, 5}, []int32{1, 3}},
		{"added and interleaved", []int32{1, 4, 9}, []int32{2, 1, 1}, []int32{0, 4, 12}, []int32{1, 2, 1},
			[]int32{0, 1, 4, 9, 12}, []int32{1, 2, 3, 1, 1}},
		{"taken away", []int32{1, 4}, []int32{2, 1}, []int32{4, 1}, []int32{-1, -1}, []int32{1}, []int32{1}},
		{"to nothing", []int32{7}, []int32{1}, []int32{7}, []int32{-1}, []int32{}, []int32{}},
	} {
		var days, findings []int32
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT * FROM merge_closure_days($1, $2, $3, $4)`,
			tt.days, tt.findings, tt.changeDays, tt.changeFindings).Scan(&days, &findings), tt.name)
		require.Equal(t, tt.wantDays, days, tt.name)
		require.Equal(t, tt.wantFindings, findings, tt.name)
	}
}

func TestDivisionPrefix(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"430000": "43", "430100": "4301", "430102": "430102", "433100": "4331",
		"430102001000": "430102001", "430102001001": "430102001001", "430102000000": "430102",
		"91430100MA4L000001": "", "4301": "", "DEPT1": "", "": "", "030100": "",
	} {
		require.Equal(t, want, casework.DivisionPrefix(code), code)
	}
}

// TestSubUnitsAreDivisionCodes: the codes under a division are division
// codes. An organisation's code may begin with a division's digits
// (4301-QY0001, 43GZW), and such units were counted as Changsha's, or the
// province's, when the figures were asked for with the sub-units.
func TestSubUnitsAreDivisionCodes(t *testing.T) {
	fx := setup(t)
	for _, u := range []struct{ inspection, unit, finding string }{
		{"i-cs", "430100", "f-cs"}, {"i-district", "430102", "f-district"}, {"i-town", "430102001000", "f-town"},
		{"i-org", "4301-QY0001", "f-org"}, {"i-dept", "43GZW", "f-dept"}, {"i-seven", "4301021", "f-seven"},
	} {
		fx.inspectionOf(t, u.inspection, u.unit, "R1", "")
		fx.findingThrough(t, u.finding, u.inspection, u.unit, at("2026-03-03", 10), "HAZARD", "GENERAL", 3)
	}
	units := func(filter ledger.StatisticsFilter) []string {
		t.Helper()
		s, err := fx.store.Statistics(t.Context(), filter, []ledger.Dimension{ledger.DimensionUnit})
		require.NoError(t, err)
		var codes []string
		for _, g := range s.Groups {
			codes = append(codes, g.UnitCode)
		}
		return codes
	}
	require.Equal(t, []string{"430100", "430102", "430102001000"}, units(ledger.StatisticsFilter{UnitCode: "430100", SubUnits: true}))
	require.Equal(t, []string{"430100", "430102", "430102001000"}, units(ledger.StatisticsFilter{UnitCode: "430000", SubUnits: true}))
	require.Equal(t, []string{"4301-QY0001"}, units(ledger.StatisticsFilter{UnitCode: "4301-QY0001", SubUnits: true}))
	require.Equal(t, []string{"43GZW"}, units(ledger.StatisticsFilter{UnitCode: "43GZW"}))
}
