package ledger

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
)

// Gauges is what the ledger says about the work in hand, read at once for a
// metrics scrape (internal/telemetry's ledger collector). Every count is
// over the whole province: each process that reports it reports the same.
type Gauges struct {
	// OpenFindings counts the findings neither CLOSED nor WITHDRAWN, by stage.
	OpenFindings map[string]int64
	// Overdue counts what is marked overdue, by lifecycle (finding,
	// inspection, interview).
	Overdue map[string]int64
	// Escalations counts the escalations ever recorded, by lifecycle and
	// ladder step; the table is append-only, so each count only grows.
	Escalations []EscalationCount
	// OutboxPending is the number of webhook deliveries not yet finished,
	// and OutboxOldest the age of the oldest of them (zero when none).
	OutboxPending int64
	OutboxOldest  time.Duration
	// CalendarLastYear is the last year of the unbroken run of years with
	// working-day data (built in or loaded) that starts with today's year in
	// Asia/Shanghai; zero when today's year has none. CalendarDaysLeft
	// counts the days from today through that year's December 31st, both
	// included (zero when today's year has none): on December 1st it is 31
	// exactly when next year's notice is not loaded.
	CalendarLastYear int
	CalendarDaysLeft int
}

// EscalationCount is the number of escalations of one lifecycle at one step.
type EscalationCount struct {
	Lifecycle, Step string
	Count           int64
}

// Gauges reads the gauges as of now (the calendar's "today" is now's date in
// Asia/Shanghai). The statements are ledger/queries/metrics.sql.
func (s *Store) Gauges(ctx context.Context, now time.Time) (Gauges, error) {
	g := Gauges{OpenFindings: map[string]int64{}, Overdue: map[string]int64{}}
	stages, err := s.q.OpenFindingsByStage(ctx)
	if err != nil {
		return g, fmt.Errorf("counting open findings: %w", err)
	}
	for _, r := range stages {
		g.OpenFindings[r.Stage] = r.Findings
	}
	overdue, err := s.q.OverdueCounts(ctx)
	if err != nil {
		return g, fmt.Errorf("counting overdue items: %w", err)
	}
	g.Overdue[casework.SubjectFinding], g.Overdue[casework.SubjectInspection], g.Overdue[casework.SubjectInterview] =
		overdue.Findings, overdue.Inspections, overdue.Interviews
	steps, err := s.q.EscalationsByStep(ctx)
	if err != nil {
		return g, fmt.Errorf("counting escalations: %w", err)
	}
	for _, r := range steps {
		g.Escalations = append(g.Escalations, EscalationCount{Lifecycle: r.Lifecycle, Step: r.Step, Count: r.Escalations})
	}
	outbox, err := s.q.OutboxPending(ctx)
	if err != nil {
		return g, fmt.Errorf("reading the webhook outbox: %w", err)
	}
	g.OutboxPending, g.OutboxOldest = outbox.Pending, time.Duration(outbox.OldestSeconds*float64(time.Second))
	loaded, err := s.q.CalendarYears(ctx)
	if err != nil {
		return g, fmt.Errorf("listing calendar years: %w", err)
	}
	g.CalendarLastYear, g.CalendarDaysLeft = CalendarCoverage(calendar.DateOf(now), append(calendar.Builtin().Years(), loaded...))
	return g, nil
}

// CalendarCoverage is the last year of the unbroken run of years that
// starts with today's and has working-day data, and the days from today
// through its December 31st, today included; 0, 0 when today's year has no
// data.
func CalendarCoverage(today calendar.Date, years []int) (lastYear, daysLeft int) {
	slices.Sort(years)
	years = slices.Compact(years)
	last := 0
	for y := today.Year; slices.Contains(years, y); y++ {
		last = y
	}
	if last == 0 {
		return 0, 0
	}
	return last, today.DaysUntil(calendar.MustDate(last, time.December, 31)) + 1
}
