package telemetry

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/casework"
)

// The families xuncha itself exports (besides temporal_*, db_client_*, go_*
// and process_*). deploy/ names them in its dashboard and alert rules; the
// tests check both against what a running stack exports.
const (
	// GRPCRequests counts API calls by gRPC method and status code; REST
	// calls count here too, as the gateway makes them over gRPC.
	GRPCRequests = "xuncha_grpc_requests_total"
	// GRPCDuration is their latency, by method and code.
	GRPCDuration = "xuncha_grpc_request_duration_seconds"
	// HTTPDuration is the REST port's latency by route (the gateway's path
	// template, or the route of health, OpenAPI, evidence and codec) and
	// HTTP status, refusals before gRPC (401, 413, 415) included.
	HTTPDuration = "xuncha_http_request_duration_seconds"
	// LifecycleTransitions counts the changes written to the ledger, by
	// lifecycle, action and the stage after it.
	LifecycleTransitions = "xuncha_lifecycle_transitions_total"
	// WebhookDeliveries counts finished webhook deliveries by outcome
	// (DELIVERED, SKIPPED, FAILED).
	WebhookDeliveries = "xuncha_webhook_deliveries_total"

	// The ledger's gauges (LedgerCollector), the same from every process.

	// OpenFindings counts findings not CLOSED or WITHDRAWN, by stage.
	OpenFindings = "xuncha_findings_open"
	// Overdue counts what is marked overdue, by lifecycle.
	Overdue = "xuncha_overdue"
	// Escalations counts the escalations ever recorded, by lifecycle and step.
	Escalations = "xuncha_escalations_total"
	// OutboxPending is the webhook outbox's depth.
	OutboxPending = "xuncha_webhook_outbox_pending"
	// OutboxOldest is the age of its oldest pending delivery, in seconds.
	OutboxOldest = "xuncha_webhook_outbox_oldest_pending_seconds"
	// CalendarDaysLeft counts the days from today through the last day with
	// working-day data, today included (ledger.Gauges).
	CalendarDaysLeft = "xuncha_calendar_days_left"
	// CalendarLastYear is the last year with working-day data.
	CalendarLastYear = "xuncha_calendar_last_year"
	// LedgerUp is 1 when the last scrape read the ledger's gauges, else 0.
	LedgerUp = "xuncha_ledger_up"
)

// Metrics are xuncha's own instruments. A nil *Metrics records nothing, so
// that code built without telemetry (tests, tools) needs no check.
type Metrics struct {
	grpcRequests *prometheus.CounterVec
	grpcDuration *prometheus.HistogramVec
	httpDuration *prometheus.HistogramVec
	transitions  *prometheus.CounterVec
	deliveries   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		grpcRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: GRPCRequests,
			Help: "API calls by gRPC method and status code (REST calls included: the gateway calls over gRPC)."},
			[]string{"method", "code"}),
		grpcDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: GRPCDuration,
			Help: "API call latency by gRPC method and status code.", Buckets: secondsBuckets},
			[]string{"method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: HTTPDuration,
			Help: "REST port latency by route and HTTP status.", Buckets: secondsBuckets},
			[]string{"method", "route", "code"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: LifecycleTransitions,
			Help: "Lifecycle changes written to the ledger, by lifecycle, action and the stage after it."},
			[]string{"lifecycle", "action", "stage"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: WebhookDeliveries,
			Help: "Finished webhook deliveries by outcome (DELIVERED, SKIPPED, FAILED)."},
			[]string{"status"}),
	}
	for _, c := range []prometheus.Collector{m.grpcRequests, m.grpcDuration, m.httpDuration, m.transitions, m.deliveries} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering xuncha's metrics: %w", err)
		}
	}
	// Every outcome from 0, so that increase() sees the first delivery.
	for _, status := range []string{casework.DeliveryDelivered, casework.DeliverySkipped, casework.DeliveryFailed} {
		m.deliveries.WithLabelValues(status)
	}
	return m, nil
}

// UnaryServerInterceptor counts every call and its latency by method and the
// status code it ends with. Put it first in the chain, so that the codes of
// the other interceptors (deadline, authentication, input checks) count.
func (m *Metrics) UnaryServerInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m == nil {
		return handler(ctx, req)
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	code := status.Code(err).String()
	m.grpcRequests.WithLabelValues(info.FullMethod, code).Inc()
	m.grpcDuration.WithLabelValues(info.FullMethod, code).Observe(time.Since(start).Seconds())
	return resp, err
}

// HTTPRequest records one REST request: its method, route (a template, never
// the path itself, so that IDs do not make series), status and latency.
func (m *Metrics) HTTPRequest(method, route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.httpDuration.WithLabelValues(method, route, strconv.Itoa(code)).Observe(d.Seconds())
}

// Transition counts one lifecycle change written to the ledger: lifecycle is
// finding, inspection or interview, action the change (record, diagnose,
// refer, …), stage the stage after it.
func (m *Metrics) Transition(lifecycle, action, stage string) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(lifecycle, action, stage).Inc()
}

// WebhookDelivery counts one finished delivery by its outcome.
func (m *Metrics) WebhookDelivery(status string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(status).Inc()
}
