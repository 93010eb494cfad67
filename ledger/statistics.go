package ledger

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuncha/xuncha/casework"
)

// Statistics of the findings (issue 13 item 1) are sums over tallies kept
// by triggers as findings, escalations and interviews are written
// (migrations 010 and 019), so that a question about a million findings
// reads a few thousand rows, never the findings. Each question reads the
// coarsest tallies that still hold what it filters and groups by
// (tallySource). The statement is built per request from a fixed set of
// columns and tables (no request text is ever part of it), like the
// finding list's (findings_list.go).

// Dimension is what statistics may be grouped by.
type Dimension string

// Dimensions.
const (
	DimensionUnit        Dimension = "unit"
	DimensionRound       Dimension = "round"
	DimensionKind        Dimension = "kind"
	DimensionSeverity    Dimension = "severity"
	DimensionContentArea Dimension = "content_area"
	DimensionMonth       Dimension = "month"
)

// dimensionColumns are the tallies' column of each dimension.
var dimensionColumns = map[Dimension]string{
	DimensionUnit: "unit_code", DimensionRound: "round", DimensionKind: "kind",
	DimensionSeverity: "severity", DimensionContentArea: "content_area", DimensionMonth: "found_month",
}

// Escalation steps counted, in ladder order.
var escalationSteps = []string{casework.StepReminder, casework.StepOverdue, casework.StepInterviewProposed}

// StatisticsFilter selects the findings counted; empty fields select all.
type StatisticsFilter struct {
	// FromMonth and ToMonth bound the month found (Asia/Shanghai), both
	// included: the first day of a month, at midnight UTC; zero is open.
	FromMonth, ToMonth time.Time
	// Round is the inspections' round.
	Round string
	// UnitCode is one unit; with SubUnits, for an administrative division
	// code, every code under it too (DivisionPrefix).
	UnitCode string
	SubUnits bool
	// InspectionID is one inspection.
	InspectionID string
	Kind         string
	Severity     string
	// ContentArea is the charter's content item, 1–10; 0 is any.
	ContentArea int
	// Reach is the caller's scope.
	Reach Reach
}

// Statistics are the counts of a set of findings (migration 010 defines
// each).
type Statistics struct {
	Found     int
	Closed    int
	Withdrawn int
	// Overdue are the findings whose overdue mark is set now.
	Overdue int
	// ClosedOnTime were closed without a missed deadline.
	ClosedOnTime int
	// Reopened counts rejected verifications.
	Reopened int
	// Escalations counts the ladder's steps taken, by step
	// (StepReminder, StepOverdue, StepInterviewProposed).
	Escalations        map[string]int
	InterviewsProposed int
	InterviewsHeld     int
	// DaysToClose says how many closed findings took how many days from
	// their referral to their closure, by days, ascending.
	DaysToClose []DayCount
}

// DayCount is how many findings took Days days.
type DayCount struct {
	Days     int
	Findings int
}

// Open is how many findings are neither closed nor withdrawn.
func (s Statistics) Open() int { return s.Found - s.Closed - s.Withdrawn }

// ClosureRate is Closed / (Found - Withdrawn); ok is false when nothing
// counts towards it.
func (s Statistics) ClosureRate() (rate float64, ok bool) {
	return ratio(s.Closed, s.Found-s.Withdrawn)
}

// OnTimeRate is ClosedOnTime / Closed.
func (s Statistics) OnTimeRate() (rate float64, ok bool) { return ratio(s.ClosedOnTime, s.Closed) }

func ratio(n, d int) (float64, bool) {
	if d <= 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}

// DaysToClosePercentile is the p-th percentile (0..1) of the days to
// close, interpolated linearly between the closest ranks as PostgreSQL's
// percentile_cont does: the median of 3 and 10 days is 6.5. ok is false
// when no closed finding was referred.
func (s Statistics) DaysToClosePercentile(p float64) (days float64, ok bool) {
	n := 0
	for _, d := range s.DaysToClose {
		n += d.Findings
	}
	if n == 0 {
		return 0, false
	}
	pos := p * float64(n-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	at := func(rank int) float64 {
		for _, d := range s.DaysToClose {
			if rank < d.Findings {
				return float64(d.Days)
			}
			rank -= d.Findings
		}
		return float64(s.DaysToClose[len(s.DaysToClose)-1].Days)
	}
	vlo, vhi := at(lo), at(hi)
	return vlo + (pos-float64(lo))*(vhi-vlo), true
}

func newStatistics() Statistics { return Statistics{Escalations: map[string]int{}} }

// StatisticsGroup is the statistics of one combination of the grouped
// dimensions' values; the other fields are empty.
type StatisticsGroup struct {
	UnitCode    string
	UnitName    string
	Round       string
	Kind        string
	Severity    string
	ContentArea int
	// Month is the first day of the month found, at midnight UTC.
	Month time.Time
	Statistics
}

// StatisticsReport answers Statistics.
type StatisticsReport struct {
	Total Statistics
	// Groups are ordered by the dimensions' values, in the order the
	// dimensions were asked for.
	Groups []StatisticsGroup
}

// statisticsWhere is the condition of both tallies for filter.
func statisticsWhere(filter StatisticsFilter) sqlWhere {
	var w sqlWhere
	if !filter.FromMonth.IsZero() {
		w.add("found_month >= ?", filter.FromMonth)
	}
	if !filter.ToMonth.IsZero() {
		w.add("found_month <= ?", filter.ToMonth)
	}
	if filter.Round != "" {
		w.add("round = ?", filter.Round)
	}
	if filter.UnitCode != "" {
		if prefix := casework.DivisionPrefix(filter.UnitCode); filter.SubUnits && prefix != "" {
			// The unit_code columns order as "C": the codes under a
			// division are one range, which their index reads, of which
			// the division codes are taken (an organisation's code may
			// begin with a division's digits too: 4301-QY0001 is no
			// unit of Changsha's).
			w.add("unit_code >= ? AND unit_code < ? AND unit_code ~ ?", prefix, prefix[:len(prefix)-1]+string(prefix[len(prefix)-1]+1),
				casework.DivisionCodePattern)
		} else {
			w.add("unit_code = ?", filter.UnitCode)
		}
	}
	for _, c := range []struct{ column, value string }{
		{"inspection_id", filter.InspectionID}, {"kind", filter.Kind}, {"severity", filter.Severity},
	} {
		if c.value != "" {
			w.add(c.column+" = ?", c.value)
		}
	}
	if filter.ContentArea != 0 {
		w.add("content_area = ?", filter.ContentArea)
	}
	if filter.Reach.ByUnit {
		w.add("unit_code = ANY(?::text[])", orEmpty(filter.Reach.Units))
	}
	if filter.Reach.ByTeam {
		w.add(teamTallies, filter.Reach.Subject)
	}
	return w
}

// teamTallies is the tallies' condition of a team role: its inspections
// (teamInspections), looked up first, so that the tallies are read by
// their inspection's index rather than all of them scanned.
const teamTallies = `inspection_id = ANY(ARRAY(SELECT i.id FROM inspections i
  WHERE i.team @> jsonb_build_array(jsonb_build_object('subject', ?::text))))`

// groupKey is a group's values of the dimensions grouped by.
type groupKey struct {
	unitCode, round, kind, severity string
	contentArea                     int
	month                           time.Time
}

// scanTargets are where a row's dimension columns go, in dims order.
func (k *groupKey) scanTargets(dims []Dimension) []any {
	target := map[Dimension]any{
		DimensionUnit: &k.unitCode, DimensionRound: &k.round, DimensionKind: &k.kind,
		DimensionSeverity: &k.severity, DimensionContentArea: &k.contentArea, DimensionMonth: &k.month,
	}
	out := make([]any, len(dims))
	for i, d := range dims {
		out[i] = target[d]
	}
	return out
}

// tallySource is a table of tallies with the days to close as arrays
// (closure_days, closure_findings), one of a fixed set.
type tallySource struct {
	table string
	// dimensions are the dimensions its rows are keyed by, and so the
	// filters and groupings it can answer.
	dimensions []Dimension
	// pending, when set, is the table of the changes not yet folded into
	// table, in the same columns (migration 019): a read sums both.
	pending string
}

// The tallies, coarsest first: per round, month, kind, severity and
// content area, with the changes pending (migration 019); per inspection
// and month (migration 010); per inspection, month, kind, severity and
// content area (migrations 010 and 019).
var (
	roundTallies = tallySource{"finding_round_tallies", []Dimension{DimensionRound, DimensionMonth,
		DimensionKind, DimensionSeverity, DimensionContentArea}, "finding_round_tally_deltas"}
	monthTallies = tallySource{"finding_month_tallies", []Dimension{DimensionUnit, DimensionRound, DimensionMonth}, ""}
	fineTallies  = tallySource{"finding_tallies", []Dimension{DimensionUnit, DimensionRound, DimensionMonth,
		DimensionKind, DimensionSeverity, DimensionContentArea}, ""}
)

// Statistics counts the findings filter selects, in total and grouped by
// groupBy (each dimension at most once; none gives the total alone). The
// counts and the days to close come from one snapshot. A question that
// names no unit, inspection or reach and is not grouped by unit reads the
// tallies per round, month, kind, severity and content area and the
// changes to them not yet folded in (migration 019): a few thousand rows
// whatever the number of findings. Any other question reads the tallies
// per inspection and month (migration 010), or, when it asks for a kind, a
// severity or a content area, per inspection, month, kind, severity and
// content area.
func (s *Store) Statistics(ctx context.Context, filter StatisticsFilter, groupBy []Dimension) (StatisticsReport, error) {
	fine := filter.Kind != "" || filter.Severity != "" || filter.ContentArea != 0
	byUnit := filter.UnitCode != "" || filter.InspectionID != "" || filter.Reach.ByUnit || filter.Reach.ByTeam
	for i, d := range groupBy {
		if _, ok := dimensionColumns[d]; !ok || slices.Contains(groupBy[:i], d) {
			return StatisticsReport{}, fmt.Errorf("statistics: dimension %q unknown or repeated", d)
		}
		fine = fine || d == DimensionKind || d == DimensionSeverity || d == DimensionContentArea
		byUnit = byUnit || d == DimensionUnit
	}
	source := roundTallies
	switch {
	case byUnit && fine:
		source = fineTallies
	case byUnit:
		source = monthTallies
	}
	// Every change committed before the question is counted: the queued
	// contributions are folded first (statistics_compact.go).
	if _, err := s.foldContributions(ctx, true); err != nil {
		return StatisticsReport{}, err
	}
	if source.pending != "" {
		if err := s.compactStatisticsIfBehind(ctx); err != nil {
			return StatisticsReport{}, err
		}
	}
	var groups map[groupKey]*tallySums
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		groups, err = sumTallies(ctx, tx, source, filter, groupBy)
		return err
	})
	if err != nil {
		return StatisticsReport{}, fmt.Errorf("counting findings: %w", err)
	}

	report := StatisticsReport{Total: newStatistics()}
	var total tallySums
	for k, g := range groups {
		if g.counts[0] == 0 { // no finding
			continue
		}
		total.add(g)
		if len(groupBy) > 0 {
			report.Groups = append(report.Groups, StatisticsGroup{UnitCode: k.unitCode, Round: k.round, Kind: k.kind,
				Severity: k.severity, ContentArea: k.contentArea, Month: k.month, Statistics: g.statistics()})
		}
	}
	if total.counts[0] != 0 {
		report.Total = total.statistics()
	}
	if slices.Contains(groupBy, DimensionUnit) && len(report.Groups) > 0 {
		if err := s.nameUnits(ctx, report.Groups); err != nil {
			return StatisticsReport{}, err
		}
	}
	slices.SortFunc(report.Groups, func(a, b StatisticsGroup) int { return compareGroups(a, b, groupBy) })
	return report, nil
}

// tallyColumns are the counts and days to close every tallySource has, in
// the order counted and the arrays read them.
const tallyColumns = `findings, closed, withdrawn, overdue, on_time, reopened,
  reminders, overdue_escalations, interview_escalations, interviews_proposed, interviews_held, closure_days, closure_findings`

// sumTallies reads the rows of source (and of its pending changes) that
// filter selects and sums them per group in Go: the days to close of each
// row come as arrays, which Go adds up faster than SQL unnests them.
// source holds every dimension groupBy and filter name.
func sumTallies(ctx context.Context, tx pgx.Tx, source tallySource, filter StatisticsFilter, groupBy []Dimension) (map[groupKey]*tallySums, error) {
	var columns []string
	for _, d := range groupBy {
		if !slices.Contains(source.dimensions, d) {
			return nil, fmt.Errorf("statistics: %s has no %s", source.table, d)
		}
		columns = append(columns, dimensionColumns[d])
	}
	where := statisticsWhere(filter)
	selected := "SELECT " + strings.Join(append(columns, ""), ", ") + tallyColumns + " FROM "
	query := selected + source.table + where.clause()
	if source.pending != "" {
		query += " UNION ALL " + selected + source.pending + where.clause()
	}
	rows, err := tx.Query(ctx, query, append([]any{planPerCall}, where.args...)...)
	if err != nil {
		return nil, err
	}
	groups := map[groupKey]*tallySums{}
	var k groupKey
	var c [11]int
	var days, findings []int32
	targets := k.scanTargets(groupBy)
	for i := range c {
		targets = append(targets, &c[i])
	}
	targets = append(targets, &days, &findings)
	_, err = pgx.ForEachRow(rows, targets, func() error {
		g, ok := groups[k]
		if !ok {
			g = &tallySums{}
			groups[k] = g
		}
		for i, n := range c {
			g.counts[i] += n
		}
		g.days.addAll(days, findings)
		return nil
	})
	return groups, err
}

// tallySums are the sums of a group's tallies: the eleven counts of
// tallyColumns, and the findings by days to close (a pending change may
// take some away; what comes to zero is dropped at the end).
type tallySums struct {
	counts [11]int
	days   dayHistogram
}

// add adds o's sums to s.
func (s *tallySums) add(o *tallySums) {
	for i, n := range o.counts {
		s.counts[i] += n
	}
	s.days.addHistogram(&o.days)
}

// statistics are the sums as Statistics.
func (s *tallySums) statistics() Statistics {
	st := counted(s.counts)
	st.DaysToClose = s.days.counts()
	return st
}

// dayHistogram counts findings by days to close, densely: the days of a
// group run over a few hundred values, and a statistics question adds up
// hundreds of thousands of counts.
type dayHistogram struct {
	// findings[i] findings took first+i days.
	first    int
	findings []int
}

// cover makes room for the days from lo to hi, lo <= hi.
func (h *dayHistogram) cover(lo, hi int) {
	if len(h.findings) == 0 {
		h.first, h.findings = lo, make([]int, hi-lo+1)
		return
	}
	if lo < h.first {
		h.findings = append(make([]int, h.first-lo, h.first-lo+len(h.findings)), h.findings...)
		h.first = lo
	}
	if last := h.first + len(h.findings) - 1; hi > last {
		h.findings = append(h.findings, make([]int, hi-last)...)
	}
}

// add counts n findings (fewer when negative) that took days days.
func (h *dayHistogram) add(days, n int) {
	h.cover(days, days)
	h.findings[days-h.first] += n
}

// addAll counts findings[i] findings that took days[i] days, for every i:
// a tally's arrays.
func (h *dayHistogram) addAll(days, findings []int32) {
	if len(days) == 0 {
		return
	}
	lo, hi := int(slices.Min(days)), int(slices.Max(days))
	h.cover(lo, hi)
	for i, d := range days {
		h.findings[int(d)-h.first] += int(findings[i])
	}
}

// addHistogram adds o's counts.
func (h *dayHistogram) addHistogram(o *dayHistogram) {
	if len(o.findings) == 0 {
		return
	}
	h.cover(o.first, o.first+len(o.findings)-1)
	for i, n := range o.findings {
		h.findings[o.first+i-h.first] += n
	}
}

// counts are the days counted, ascending, without those that came to zero.
func (h *dayHistogram) counts() []DayCount {
	var out []DayCount
	for i, n := range h.findings {
		if n != 0 {
			out = append(out, DayCount{Days: h.first + i, Findings: n})
		}
	}
	return out
}

// counted is the statistics of the eleven counts of tallyColumns, in
// their order.
func counted(c [11]int) Statistics {
	return Statistics{
		Found: c[0], Closed: c[1], Withdrawn: c[2], Overdue: c[3], ClosedOnTime: c[4], Reopened: c[5],
		Escalations:        map[string]int{casework.StepReminder: c[6], casework.StepOverdue: c[7], casework.StepInterviewProposed: c[8]},
		InterviewsProposed: c[9], InterviewsHeld: c[10],
	}
}

// compareGroups orders groups by the dimensions' values, in groupBy order.
func compareGroups(a, b StatisticsGroup, groupBy []Dimension) int {
	for _, d := range groupBy {
		var c int
		switch d {
		case DimensionUnit:
			c = strings.Compare(a.UnitCode, b.UnitCode)
		case DimensionRound:
			c = strings.Compare(a.Round, b.Round)
		case DimensionKind:
			c = strings.Compare(a.Kind, b.Kind)
		case DimensionSeverity:
			c = strings.Compare(a.Severity, b.Severity)
		case DimensionContentArea:
			c = cmp.Compare(a.ContentArea, b.ContentArea)
		case DimensionMonth:
			c = a.Month.Compare(b.Month)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// nameUnits gives the groups their unit's name, as on its latest inspection.
func (s *Store) nameUnits(ctx context.Context, groups []StatisticsGroup) error {
	var codes []string
	for _, g := range groups {
		if !slices.Contains(codes, g.UnitCode) {
			codes = append(codes, g.UnitCode)
		}
	}
	rows, err := s.q.UnitNames(ctx, codes)
	if err != nil {
		return fmt.Errorf("reading unit names: %w", err)
	}
	names := map[string]string{}
	for _, r := range rows {
		names[r.UnitCode] = r.UnitName
	}
	for i := range groups {
		groups[i].UnitName = names[groups[i].UnitCode]
	}
	return nil
}

// InspectionRounds returns the round of each of the inspections named that
// the ledger holds, by ID.
func (s *Store) InspectionRounds(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := s.q.InspectionRounds(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading inspections' rounds: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Round
	}
	return out, nil
}

// EscalationSteps are the ladder's steps statistics count, in ladder order.
func EscalationSteps() []string { return slices.Clone(escalationSteps) }
