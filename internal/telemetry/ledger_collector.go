package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/ledger"
)

// LedgerTimeout bounds the ledger's part of a scrape: its statements are
// short (ledger/queries/metrics.sql), and a slow database must not hang
// /metrics.
const LedgerTimeout = 2 * time.Second

// ledgerCollector reads the ledger's gauges (ledger.Store.Gauges) at every
// scrape. They describe the province, not the process: every server and
// worker reports the same values, so dashboards and alerts take max() across
// instances.
type ledgerCollector struct {
	store      *ledger.Store
	log        *zap.Logger
	now        func() time.Time
	openStages []string

	openFindings, overdue, escalations, outboxPending, outboxOldest, daysLeft, lastYear, up *prometheus.Desc
}

// WatchLedger registers the ledger's gauges in the registry: open findings by
// stage, overdue items, escalations by step, the webhook outbox's depth and
// oldest delivery, the calendar's days of data left, and whether the ledger
// answered. openStages are the finding stages before CLOSED and WITHDRAWN
// (workflows.FindingStages): each is reported, 0 when no finding is in it,
// as is every lifecycle's every escalation step, so that a series exists
// before its first event.
func (t *Telemetry) WatchLedger(store *ledger.Store, openStages []string) error {
	return t.Registry.Register(newLedgerCollector(store, t.log, time.Now, openStages))
}

func newLedgerCollector(store *ledger.Store, log *zap.Logger, now func() time.Time, openStages []string) *ledgerCollector {
	return &ledgerCollector{
		store: store, log: log, now: now, openStages: openStages,
		openFindings:  prometheus.NewDesc(OpenFindings, "Findings neither CLOSED nor WITHDRAWN, by stage (the ledger's; max() across instances).", []string{"stage"}, nil),
		overdue:       prometheus.NewDesc(Overdue, "Findings, inspections and interviews marked overdue (the ledger's; max() across instances).", []string{"lifecycle"}, nil),
		escalations:   prometheus.NewDesc(Escalations, "Escalations ever recorded, by lifecycle and ladder step (the ledger's; max() across instances).", []string{"lifecycle", "step"}, nil),
		outboxPending: prometheus.NewDesc(OutboxPending, "Webhook deliveries queued and not yet finished (the ledger's; max() across instances).", nil, nil),
		outboxOldest:  prometheus.NewDesc(OutboxOldest, "Age of the oldest unfinished webhook delivery, 0 when none (the ledger's; max() across instances).", nil, nil),
		daysLeft: prometheus.NewDesc(CalendarDaysLeft, "Days from today (Asia/Shanghai) through the last day with working-day calendar data, today included; "+
			"31 or fewer means next year's notice is not loaded and December has begun.", nil, nil),
		lastYear: prometheus.NewDesc(CalendarLastYear, "Last year of the unbroken run of years with working-day calendar data from this year on; 0 when this year has none.", nil, nil),
		up:       prometheus.NewDesc(LedgerUp, "1 when this scrape read the ledger's gauges, 0 when the ledger did not answer in time (the gauges are then missing).", nil, nil),
	}
}

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.openFindings, c.overdue, c.escalations, c.outboxPending, c.outboxOldest, c.daysLeft, c.lastYear, c.up} {
		ch <- d
	}
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), LedgerTimeout)
	defer cancel()
	g, err := c.store.Gauges(ctx, c.now())
	if err != nil {
		c.log.Warn("reading the ledger's gauges for /metrics", zap.Error(err))
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, stage := range c.openStages {
		if _, ok := g.OpenFindings[stage]; !ok {
			g.OpenFindings[stage] = 0
		}
	}
	for stage, n := range g.OpenFindings {
		ch <- prometheus.MustNewConstMetric(c.openFindings, prometheus.GaugeValue, float64(n), stage)
	}
	for lifecycle, n := range g.Overdue {
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(n), lifecycle)
	}
	counted := map[[2]string]int64{}
	for _, lifecycle := range []string{casework.SubjectFinding, casework.SubjectInspection, casework.SubjectInterview} {
		for _, step := range []string{casework.StepReminder, casework.StepOverdue, casework.StepInterviewProposed} {
			counted[[2]string{lifecycle, step}] = 0
		}
	}
	for _, e := range g.Escalations {
		counted[[2]string{e.Lifecycle, e.Step}] = e.Count
	}
	for k, n := range counted {
		ch <- prometheus.MustNewConstMetric(c.escalations, prometheus.CounterValue, float64(n), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(c.outboxPending, prometheus.GaugeValue, float64(g.OutboxPending))
	ch <- prometheus.MustNewConstMetric(c.outboxOldest, prometheus.GaugeValue, g.OutboxOldest.Seconds())
	ch <- prometheus.MustNewConstMetric(c.daysLeft, prometheus.GaugeValue, float64(g.CalendarDaysLeft))
	ch <- prometheus.MustNewConstMetric(c.lastYear, prometheus.GaugeValue, float64(g.CalendarLastYear))
}
