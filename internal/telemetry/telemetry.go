// Package telemetry is what a xuncha process tells its operators besides its
// logs: Prometheus metrics in one registry per process (the API's, the
// lifecycles', the ledger's gauges, the Temporal SDK's, the Go runtime's),
// OpenTelemetry traces exported over OTLP when configured, and the admin
// listener that serves them with health, readiness and pprof.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.uber.org/zap"
)

// Config says how to build a process's telemetry.
type Config struct {
	// Service is the service.name of the process's spans (xuncha-server,
	// xuncha-worker, xuncha-dev) unless OTEL_SERVICE_NAME names another.
	Service string
	// SpanExporter, when set, receives every span instead of the OTLP
	// exporter the environment configures (tests: an in-memory exporter).
	SpanExporter sdktrace.SpanExporter
	// Log is the structured logger.
	Log *zap.Logger
}

// Telemetry is one process's metrics registry and tracer provider. Build it
// once in cmd with New and pass its parts down; Shutdown flushes the spans.
type Telemetry struct {
	// Registry holds every metric the process exports at /metrics.
	Registry *prometheus.Registry
	// Metrics are xuncha's own instruments, registered in Registry.
	Metrics *Metrics
	// TracerProvider makes the spans of every instrumented layer: the REST
	// gateway, gRPC, the Temporal client and worker, pgx.
	TracerProvider trace.TracerProvider
	// Propagator carries trace context across process boundaries: W3C
	// traceparent and baggage, in HTTP and gRPC headers (Temporal headers
	// use the same by the SDK's default).
	Propagator propagation.TextMapPropagator
	// Exporting says where spans go: "" when nowhere (no OTLP endpoint set).
	Exporting string

	meters *sdkmetric.MeterProvider
	tracer *sdktrace.TracerProvider
	log    *zap.Logger
}

// secondsBuckets are the boundaries of every duration histogram, from a
// millisecond to a minute: API calls, Temporal tasks and SQL statements.
var secondsBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// New builds the registry (with the Go runtime's and the process's
// collectors and xuncha's Metrics), a meter provider that writes into it
// (for the Temporal SDK's and pgx's instruments), and a tracer provider.
// Spans are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_TRACES_EXPORTER is not
// "none": with gRPC when OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL is "grpc", else
// HTTP/protobuf, every other OTEL_* setting as the OpenTelemetry SDK reads it
// (headers, TLS, timeout, OTEL_TRACES_SAMPLER, OTEL_RESOURCE_ATTRIBUTES).
// Without an exporter, spans are still made, so that log lines carry trace
// IDs, but go nowhere.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("registering Go runtime metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("registering process metrics: %w", err)
	}
	metrics, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	promExporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("building the Prometheus exporter: %w", err)
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(promExporter), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: secondsBuckets}},
	)))

	service := cfg.Service
	if service == "" {
		service = "xuncha"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(service)))
	if err != nil {
		return nil, fmt.Errorf("building the trace resource: %w", err)
	}
	// The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins.
	if env, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	exporter, where := cfg.SpanExporter, "in process"
	if exporter == nil {
		if exporter, where, err = otlpExporter(ctx); err != nil {
			return nil, err
		}
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if exporter != nil {
		opts = append(opts, sdktrace.WithBatcher(exporter))
	}
	tracer := sdktrace.NewTracerProvider(opts...)
	return &Telemetry{
		Registry: reg, Metrics: metrics, TracerProvider: tracer,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Exporting:  where, meters: meters, tracer: tracer, log: log,
	}, nil
}

// otlpExporter is the OTLP span exporter the environment configures, or
// nil when it names no endpoint.
func otlpExporter(ctx context.Context) (sdktrace.SpanExporter, string, error) {
	endpoint := firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if endpoint == "" || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return nil, "", nil
	}
	protocol := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		protocol = "http/protobuf"
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: xuncha exports traces with grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, "", fmt.Errorf("building the OTLP trace exporter for %s: %w", endpoint, err)
	}
	return exp, "OTLP " + protocol + " " + endpoint, nil
}

func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// TemporalClient returns o with the Temporal SDK's metrics written into the
// registry (temporal_* families) and its tracing interceptor, which makes
// spans for starts, updates, queries and signals on the client side and for
// workflows, update handlers and activities (local ones too) on the worker's,
// and carries the trace in Temporal headers from one to the other.
func (t *Telemetry) TemporalClient(o client.Options) (client.Options, error) {
	o.MetricsHandler = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                t.meters.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { t.log.Warn("Temporal SDK metric", zap.Error(err)) },
	})
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            t.TracerProvider.Tracer("temporal-sdk-go"),
		TextMapPropagator: t.Propagator,
	})
	if err != nil {
		return o, fmt.Errorf("building the Temporal tracing interceptor: %w", err)
	}
	o.Interceptors = append(o.Interceptors, tracing)
	return o, nil
}

// PgxTracer traces the ledger's statements as children of the span that
// runs them (none is made without one) and writes their durations into the
// registry (db_client_operation_duration_seconds). The SQL text is kept in
// the span, its arguments never are.
func (t *Telemetry) PgxTracer() pgx.QueryTracer {
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.TracerProvider), otelpgx.WithMeterProvider(t.meters),
		otelpgx.WithDisableConnectionDetailsInAttributes())
}

// ForceFlush exports the spans ended so far.
func (t *Telemetry) ForceFlush(ctx context.Context) error { return t.tracer.ForceFlush(ctx) }

// Shutdown exports the spans still buffered and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.tracer.Shutdown(ctx), t.meters.Shutdown(ctx))
}
