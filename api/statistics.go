package api

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// StatisticsServer implements xuncha.v1.StatisticsService: counts of the
// ledger's findings (issue 13 item 1), computed in SQL from the tallies
// migration 010 keeps.
type StatisticsServer struct {
	xunchav1.UnimplementedStatisticsServiceServer
	Ledger *ledger.Store
	Log    *zap.Logger
}

// dimensions maps the API's dimensions to the ledger's.
var dimensions = map[xunchav1.GetStatisticsRequest_Dimension]ledger.Dimension{
	xunchav1.GetStatisticsRequest_UNIT:         ledger.DimensionUnit,
	xunchav1.GetStatisticsRequest_ROUND:        ledger.DimensionRound,
	xunchav1.GetStatisticsRequest_KIND:         ledger.DimensionKind,
	xunchav1.GetStatisticsRequest_SEVERITY:     ledger.DimensionSeverity,
	xunchav1.GetStatisticsRequest_CONTENT_AREA: ledger.DimensionContentArea,
	xunchav1.GetStatisticsRequest_MONTH:        ledger.DimensionMonth,
}

// GetStatistics counts the findings the request selects, within the
// caller's reach.
func (s *StatisticsServer) GetStatistics(ctx context.Context, req *xunchav1.GetStatisticsRequest) (*xunchav1.GetStatisticsResponse, error) {
	var v derrors.Violations
	filter := ledger.StatisticsFilter{
		Round: req.GetRound(), UnitCode: req.GetUnitCode(), SubUnits: true, InspectionID: req.GetInspectionId(),
		Reach: reachOf(ctx),
	}
	filter.FromMonth = parseMonth(&v, "from_month", req.GetFromMonth())
	filter.ToMonth = parseMonth(&v, "to_month", req.GetToMonth())
	if !filter.FromMonth.IsZero() && filter.ToMonth.Before(filter.FromMonth) && !filter.ToMonth.IsZero() {
		v.Add("to_month", "must not be before from_month (%s)", req.GetFromMonth())
	}
	checkFindingSelection(&v, &filter.Kind, &filter.Severity, req.GetKind(), req.GetSeverity())
	if a := req.GetContentArea(); a < 0 || a > workflows.ContentAreas {
		v.Add("content_area", "must be the charter's content item 1 to %d, or 0 for all", workflows.ContentAreas)
	} else {
		filter.ContentArea = int(a)
	}
	var groupBy []ledger.Dimension
	for i, d := range req.GetGroupBy() {
		field := fmt.Sprintf("group_by[%d]", i)
		dim, ok := dimensions[d]
		switch {
		case !ok:
			v.Add(field, "unknown value %d: must be one of %s", d, enumNames(xunchav1.GetStatisticsRequest_Dimension_name))
		case slices.Contains(groupBy, dim):
			v.Add(field, "%s is given twice", d)
		default:
			groupBy = append(groupBy, dim)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	asOf := time.Now()
	report, err := s.Ledger.Statistics(ctx, filter, groupBy)
	if err != nil {
		return nil, err
	}
	out := &xunchav1.GetStatisticsResponse{Total: statisticsProto(report.Total), AsOf: timestamppb.New(asOf)}
	for _, g := range report.Groups {
		pg := &xunchav1.StatisticsGroup{Statistics: statisticsProto(g.Statistics)}
		for _, d := range groupBy {
			switch d {
			case ledger.DimensionUnit:
				pg.Unit = &xunchav1.Unit{Code: g.UnitCode, Name: g.UnitName}
			case ledger.DimensionRound:
				pg.Round = g.Round
			case ledger.DimensionKind:
				pg.Kind = xunchav1.Finding_Kind(xunchav1.Finding_Kind_value[g.Kind])
			case ledger.DimensionSeverity:
				pg.Severity = xunchav1.Finding_Severity(xunchav1.Finding_Severity_value[g.Severity])
			case ledger.DimensionContentArea:
				pg.ContentArea = int32(g.ContentArea)
			case ledger.DimensionMonth:
				pg.Month = g.Month.Format("2006-01")
			}
		}
		out.Groups = append(out.Groups, pg)
	}
	return out, nil
}

// checkFindingSelection checks a selection's kind and severity and sets
// their domain names: a severity belongs to hazards only.
func checkFindingSelection(v *derrors.Violations, kind, severity *string, k xunchav1.Finding_Kind, sev xunchav1.Finding_Severity) {
	var ok bool
	if *kind, ok = enumName(k, xunchav1.Finding_Kind_name); !ok {
		v.Add("kind", "unknown value %d: must be one of %s", k, enumNames(xunchav1.Finding_Kind_name))
	}
	if *severity, ok = enumName(sev, xunchav1.Finding_Severity_name); !ok {
		v.Add("severity", "unknown value %d: must be one of %s", sev, enumNames(xunchav1.Finding_Severity_name))
	}
	if *severity != "" && *kind != "" && *kind != workflows.KindHazard {
		v.Add("severity", "only a HAZARD has a severity, not a %s", i18n.Term(i18n.FindingKind, *kind))
	}
}

// monthPattern is a month as the API writes it.
var monthPattern = regexp.MustCompile(`^(\d{4})-(\d{2})$`)

// parseMonth reads a YYYY-MM month of the date window (empty: zero) as the
// ledger takes it, its first day at midnight UTC.
func parseMonth(v *derrors.Violations, field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	m := monthPattern.FindStringSubmatch(s)
	var year, mon int
	if m != nil {
		year, _ = strconv.Atoi(m[1])
		mon, _ = strconv.Atoi(m[2])
	}
	if m == nil || mon < 1 || mon > 12 || year < calendar.EarliestDate.Year || year > calendar.LatestDate.Year {
		v.Add(field, "must be a month YYYY-MM between %d-01 and %d-12", calendar.EarliestDate.Year, calendar.LatestDate.Year)
		return time.Time{}
	}
	return time.Date(year, time.Month(mon), 1, 0, 0, 0, 0, time.UTC)
}

// statisticsProto is the one conversion of statistics for the API.
func statisticsProto(s ledger.Statistics) *xunchav1.FindingStatistics {
	out := &xunchav1.FindingStatistics{
		Found: int32(s.Found), Closed: int32(s.Closed), Withdrawn: int32(s.Withdrawn), Open: int32(s.Open()),
		Overdue: int32(s.Overdue), ClosedOnTime: int32(s.ClosedOnTime), Reopened: int32(s.Reopened),
		InterviewsProposed: int32(s.InterviewsProposed), InterviewsHeld: int32(s.InterviewsHeld),
	}
	if r, ok := s.ClosureRate(); ok {
		out.ClosureRate = &r
	}
	if r, ok := s.OnTimeRate(); ok {
		out.OnTimeRate = &r
	}
	if d, ok := s.DaysToClosePercentile(0.5); ok {
		out.MedianDaysToClose = &d
	}
	if d, ok := s.DaysToClosePercentile(0.9); ok {
		out.P90DaysToClose = &d
	}
	for _, step := range ledger.EscalationSteps() {
		out.Escalations = append(out.Escalations, &xunchav1.EscalationCount{Step: step, Count: int32(s.Escalations[step])})
	}
	return out
}
