package telemetry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	sdklog "go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/telemetry"
)

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.New(t.Context(), telemetry.Config{Service: "test"})
	require.NoError(t, err)
	var down error
	a := &telemetry.Admin{Gatherer: tel.Registry, Ready: func(context.Context) error { return down }, Log: zap.NewNop()}
	h := a.Handler()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	tel.Metrics.Transition("finding", "diagnose", "DIAGNOSED")
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/metrics", 200, `xuncha_lifecycle_transitions_total{action="diagnose",lifecycle="finding",stage="DIAGNOSED"} 1`},
		{"/metrics", 200, `xuncha_webhook_deliveries_total{status="FAILED"} 0`},
		{"/metrics", 200, "go_goroutines"},
		{"/debug/pprof/", 200, "goroutine"},
		{"/debug/pprof/cmdline", 404, ""},
		{"/nothing", 404, ""},
	} {
		code, body := get(tc.path)
		require.Equal(t, tc.code, code, tc.path)
		require.Contains(t, body, tc.has, tc.path)
	}
	// The command line, which may hold secrets given as flags, is not served.
	_, cmdline := get("/debug/pprof/cmdline")
	require.NotContains(t, cmdline, os.Args[0])
	// Not ready: 503, naming what is down and nothing of the error's text.
	down = errors.New("ledger: dial tcp 10.0.0.1:5432: password authentication failed")
	code, body := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "not ready: ledger\n", body)
}

func TestAdminRunStopsWithContext(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tel, err := telemetry.New(t.Context(), telemetry.Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- (&telemetry.Admin{Listener: l, Gatherer: tel.Registry, Log: zap.NewNop()}).Run(ctx) }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + l.Addr().String() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// TestAdminClosesIdleConnections: a connection kept alive with no next
// request is closed after the idle bound; the port asks for no token, and
// such connections were kept for ever, each holding a descriptor.
func TestAdminClosesIdleConnections(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tel, err := telemetry.New(t.Context(), telemetry.Config{})
	require.NoError(t, err)
	go func() {
		_ = (&telemetry.Admin{Listener: l, Gatherer: tel.Registry, Log: zap.NewNop(), IdleTimeout: 300 * time.Millisecond}).Run(t.Context())
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	answer := make([]byte, 4096)
	n, err := conn.Read(answer)
	require.NoError(t, err)
	require.Contains(t, string(answer[:n]), "200 OK")
	// Nothing more is sent: the server closes the connection (EOF), well
	// before the read's own deadline.
	start := time.Now()
	for err == nil {
		_, err = conn.Read(answer)
	}
	require.ErrorIs(t, err, io.EOF, "closed by the server, not by the read's deadline")
	require.Less(t, time.Since(start), 4*time.Second)
}

// The OTLP exporter follows the standard variables; without an endpoint
// there is none, and spans are still made (their IDs reach the logs).
func TestExporterFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		where   string
		refused string
	}{
		{env: map[string]string{}, where: ""},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, where: "OTLP http/protobuf http://127.0.0.1:4318"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			where: "OTLP grpc http://127.0.0.1:4317"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, where: ""},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			refused: `OTEL_EXPORTER_OTLP_PROTOCOL "http/json"`},
	} {
		for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_EXPORTER"} {
			t.Setenv(k, tc.env[k])
		}
		tel, err := telemetry.New(t.Context(), telemetry.Config{Service: "test"})
		if tc.refused != "" {
			require.ErrorContains(t, err, tc.refused)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.where, tel.Exporting, "%v", tc.env)
		_, span := tel.TracerProvider.Tracer("test").Start(t.Context(), "x")
		require.True(t, span.SpanContext().IsValid())
		span.End()
		// Nothing listens at the endpoints: give up on the span at once.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_ = tel.Shutdown(ctx)
		cancel()
	}
}

// Log lines name the trace and span of their context, in xuncha's own lines
// and, renamed, in the Temporal SDK's.
func TestTraceFieldsInLogs(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.New(t.Context(), telemetry.Config{SpanExporter: spans})
	require.NoError(t, err)
	ctx, span := tel.TracerProvider.Tracer("test").Start(t.Context(), "request")
	defer span.End()
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core)
	logging.Ctx(ctx, log).Info("own")
	log.Info("inline", zap.Inline(logging.TraceObject(ctx)))
	sdklog.With(logging.Temporal(log), "TraceID", span.SpanContext().TraceID(), "SpanID", span.SpanContext().SpanID()).Info("sdk")
	logging.Ctx(context.Background(), log).Info("untraced")
	want := map[string]any{logging.TraceIDKey: span.SpanContext().TraceID().String(), logging.SpanIDKey: span.SpanContext().SpanID().String()}
	for _, e := range logs.All() {
		fields := e.ContextMap()
		if e.Message == "untraced" {
			require.Empty(t, fields)
			continue
		}
		require.Equal(t, want, fields, e.Message)
		require.Len(t, strings.Split(fields[logging.TraceIDKey].(string), ""), 32)
	}
}
