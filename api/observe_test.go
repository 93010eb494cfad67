package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/workflows"
)

// setupObserved starts a stack that reports to fresh telemetry whose spans
// go to the returned in-memory exporter, with the ledger's gauges in its
// registry.
func setupObserved(t *testing.T) (*stack, *telemetry.Telemetry, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.New(t.Context(), telemetry.Config{Service: "xuncha-test", SpanExporter: spans, Log: testenv.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	loopback, err := egress.ParseAllowList(egress.LoopbackAllowList) // as setup's
	require.NoError(t, err)
	s := setupStackObserved(t, loopback, nil, tel)
	open := slices.DeleteFunc(slices.Clone(workflows.FindingStages), func(st string) bool {
		return st == workflows.FindingClosed || st == workflows.FindingWithdrawn
	})
	require.NoError(t, tel.WatchLedger(s.Ledger, open))
	return s, tel, spans
}

// TestTraceOfARESTChange follows one REST change (a finding's diagnosis)
// through the real stack: one trace holds the gateway's HTTP span, the
// gateway's gRPC call and the server's handling of it, the Temporal client's
// Update, the workflow's update handler and its ledger activity, and the SQL
// statements the activity runs; and the log lines of the request, in the
// API and in the worker, name that trace.
func TestTraceOfARESTChange(t *testing.T) {
	t.Parallel()
	s, tel, exporter := setupObserved(t)
	id := s.recordFinding(s.createInspection(), "traced", "GENERAL")["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	// A span is exported when it ends, and the gRPC server's ends only
	// after its answer went out: the gateway's may end first (it did once
	// under a loaded make test).
	var all tracetest.SpanStubs
	require.Eventually(t, func() bool {
		_ = tel.ForceFlush(context.Background())
		all = exporter.GetSpans()
		for _, sp := range all {
			if sp.SpanKind == trace.SpanKindServer && sp.Name == "xuncha.v1.FindingService/DiagnoseFinding" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the gRPC server's span of DiagnoseFinding is exported")
	var root *tracetest.SpanStub
	for i, sp := range all {
		if sp.SpanKind == trace.SpanKindServer && strings.HasPrefix(sp.Name, "POST /v1/") && strings.HasSuffix(sp.Name, ":diagnose") {
			root = &all[i]
		}
	}
	require.NotNil(t, root, "the gateway's span of POST …:diagnose among %v", spanNames(all))
	require.False(t, root.Parent.IsValid(), "the gateway's span starts the trace")
	traceID := root.SpanContext.TraceID()
	var inTrace tracetest.SpanStubs
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, sp := range all {
		if sp.SpanContext.TraceID() == traceID {
			inTrace = append(inTrace, sp)
			byID[sp.SpanContext.SpanID()] = sp
		}
	}
	names := spanNames(inTrace)
	has := func(kind trace.SpanKind, match func(sp tracetest.SpanStub) bool) *tracetest.SpanStub {
		for i, sp := range inTrace {
			if sp.SpanKind == kind && match(sp) {
				return &inTrace[i]
			}
		}
		return nil
	}
	named := func(name string) func(tracetest.SpanStub) bool {
		return func(sp tracetest.SpanStub) bool { return sp.Name == name }
	}
	require.NotNil(t, has(trace.SpanKindClient, named("xuncha.v1.FindingService/DiagnoseFinding")), "the gateway's gRPC call in %v", names)
	require.NotNil(t, has(trace.SpanKindServer, named("xuncha.v1.FindingService/DiagnoseFinding")), "the gRPC server's span in %v", names)
	update := has(trace.SpanKindClient, func(sp tracetest.SpanStub) bool { return strings.HasPrefix(sp.Name, "UpdateWorkflow:") })
	require.NotNil(t, update, "the Temporal client's Update in %v", names)
	require.NotNil(t, has(trace.SpanKindServer, func(sp tracetest.SpanStub) bool { return strings.HasPrefix(sp.Name, "HandleUpdate:") }),
		"the workflow's update handler in %v", names)
	run := has(trace.SpanKindServer, named("RunActivity:ApplyFindingChange"))
	require.NotNil(t, run, "the ledger activity in %v", names)

	// The SQL the activity ran is its child: pgx's spans, named by the
	// statement's operation, with the statement (never its arguments).
	var sql []tracetest.SpanStub
	for _, sp := range inTrace {
		if sp.InstrumentationScope.Name == "github.com/exaring/otelpgx" {
			sql = append(sql, sp)
		}
	}
	require.NotEmpty(t, sql, "SQL spans in %v", names)
	underActivity := false
	for _, sp := range sql {
		for p := sp.Parent; p.IsValid(); p = byID[p.SpanID()].Parent {
			if p.SpanID() == run.SpanContext.SpanID() {
				underActivity = true
			}
			if _, ok := byID[p.SpanID()]; !ok {
				break
			}
		}
	}
	require.True(t, underActivity, "a SQL span descends from RunActivity:ApplyFindingChange")
	// Each span descends from the gateway's: one trace, one tree.
	for _, sp := range inTrace {
		p := sp
		for p.Parent.IsValid() {
			next, ok := byID[p.Parent.SpanID()]
			require.True(t, ok, "the parent of %q is in the trace", p.Name)
			p = next
		}
		require.Equal(t, root.SpanContext.SpanID(), p.SpanContext.SpanID(), "%q descends from the gateway's span", sp.Name)
	}

	// The request's log lines carry its trace: the gateway's access line,
	// and the worker's activity line.
	want := traceID.String()
	logged := map[string]bool{}
	for _, e := range s.Logs.All() {
		if e.ContextMap()[logging.TraceIDKey] == want {
			logged[e.Message] = true
		}
	}
	require.True(t, logged["http"], "the access log names the trace: %v", logged)
	require.True(t, logged["ledger: finding changed"], "the activity's line names the trace: %v", logged)
}

func spanNames(spans tracetest.SpanStubs) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.Name)
	}
	return out
}

// TestMetricsAfterTraffic checks that, after a REST lifecycle's first steps,
// the registry exposes the families of issue 12 item 4 (the API's, the
// lifecycles', the ledger's, the Temporal SDK's) and every family deploy/'s
// dashboard and alert rules name; and that the exposition passes promlint.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	s, tel, _ := setupObserved(t)
	id := s.recordFinding(s.createInspection(), "counted", "GENERAL")["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	code, _ := s.do("GET", "/v1/findings/"+id, nil, nil) // no token: 401 before gRPC, counted by route
	require.Equal(t, http.StatusUnauthorized, code)

	srv := &telemetry.Admin{Gatherer: tel.Registry, Ready: api.Ready(s.Ledger, s.Temporal)}
	h := srv.Handler()
	get := func(path string) (int, string) {
		req, err := http.NewRequest("GET", path, nil)
		require.NoError(t, err)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	var exposition string
	require.Eventually(t, func() bool {
		// The SDK reports some families when its worker polls again.
		_, exposition = get("/metrics")
		return strings.Contains(exposition, "temporal_workflow_task_schedule_to_start_latency_seconds_bucket")
	}, 20*time.Second, 200*time.Millisecond)
	for _, want := range []string{
		`xuncha_grpc_requests_total{code="OK",method="/xuncha.v1.FindingService/DiagnoseFinding"} 1`,
		`xuncha_grpc_request_duration_seconds_bucket{code="OK",method="/xuncha.v1.FindingService/DiagnoseFinding",le="+Inf"} 1`,
		`xuncha_http_request_duration_seconds_count{code="200",method="POST",route="/v1/findings/{id=*}:diagnose"} 1`,
		`xuncha_http_request_duration_seconds_count{code="401",method="GET",route="/v1/"} 1`,
		`xuncha_http_request_duration_seconds_count{code="200",method="POST",route="/v1/evidence"} 1`,
		`xuncha_lifecycle_transitions_total{action="diagnose",lifecycle="finding",stage="DIAGNOSED"} 1`,
		`xuncha_lifecycle_transitions_total{action="station",lifecycle="inspection",stage="STATIONED"} 1`,
		`xuncha_findings_open{stage="DIAGNOSED"} 1`,
		`xuncha_findings_open{stage="REFERRED"} 0`,
		`xuncha_overdue{lifecycle="finding"} 0`,
		`xuncha_escalations_total{lifecycle="finding",step="OVERDUE"} 0`,
		`xuncha_webhook_outbox_pending 0`,
		`xuncha_webhook_outbox_oldest_pending_seconds 0`,
		`xuncha_calendar_days_left `,
		`xuncha_calendar_last_year `,
		`xuncha_ledger_up 1`,
		`temporal_request_total{`,
		`temporal_workflow_task_execution_latency_seconds_bucket{`,
		`db_client_operation_duration_seconds_bucket{`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		requireSeries(t, exposition, want)
	}
	problems, err := promlint.New(strings.NewReader(exposition)).Lint()
	require.NoError(t, err)
	for _, p := range problems {
		// Days, not seconds, are what the calendar's alert reads best in.
		if strings.HasPrefix(p.Metric, "xuncha_") && p.Metric != telemetry.CalendarDaysLeft {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}

	// Every family deploy/ names is exported.
	families := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families[strings.Fields(name)[0]] = true
		}
	}
	for _, file := range []string{"../deploy/prometheus/alerts.yml", "../deploy/grafana/xuncha.json"} {
		content, err := os.ReadFile(file)
		require.NoError(t, err)
		named := metricNames.FindAllString(string(content), -1)
		require.NotEmpty(t, named, file)
		for _, name := range named {
			require.True(t, families[familyOf(name)], "%s names %s, which xuncha does not export", file, name)
		}
	}

	code, body := get("/readyz")
	require.Equal(t, http.StatusOK, code, body)
}

// requireSeries fails unless the exposition has a line starting with want,
// showing only the lines of want's family.
func requireSeries(t *testing.T, exposition, want string) {
	t.Helper()
	if strings.Contains(exposition, "\n"+want) {
		return
	}
	family := strings.FieldsFunc(want, func(r rune) bool { return r == '{' || r == ' ' })[0]
	var lines []string
	for _, line := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(line, family) && len(lines) < 20 {
			lines = append(lines, line)
		}
	}
	t.Errorf("no series %s; its family has:\n%s", want, strings.Join(lines, "\n"))
}

// metricNames finds the metric names in PromQL: xuncha's own and the
// Temporal SDK's.
var metricNames = regexp.MustCompile(`\b(xuncha|temporal)_[a-z0-9_]*[a-z0-9]\b`)

// familyOf is the family a series name belongs to: a histogram's _bucket,
// _count and _sum are its family's.
func familyOf(name string) string {
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasSuffix(base, "_seconds") {
			return base
		}
	}
	return name
}
