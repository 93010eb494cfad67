package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/xuncha/xuncha/internal/telemetry"
)

// The API's part of traces and metrics (internal/telemetry): a REST request
// is one span from the gateway (its name the method and the gateway's path
// template), the gateway's loopback gRPC call and the server's handling of
// it are its children, and what the handler does (Temporal, SQL) theirs.
// Without Server.Telemetry no span is recorded, but a caller's traceparent
// still reaches the log lines.

func (s *Server) tracing() (trace.TracerProvider, propagation.TextMapPropagator) {
	if s.Telemetry == nil {
		return tracenoop.NewTracerProvider(), propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return s.Telemetry.TracerProvider, s.Telemetry.Propagator
}

// metrics is nil without telemetry: its methods then record nothing.
func (s *Server) metrics() *telemetry.Metrics {
	if s.Telemetry == nil {
		return nil
	}
	return s.Telemetry.Metrics
}

// grpcStats traces the gRPC server's calls (otelgrpc's own metrics are
// off: xuncha's interceptor counts calls).
func (s *Server) grpcStats() stats.Handler {
	tp, prop := s.tracing()
	return otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop),
		otelgrpc.WithMeterProvider(noop.NewMeterProvider()))
}

// gatewayStats traces the gateway's loopback calls and sends their trace
// context to the server.
func (s *Server) gatewayStats() stats.Handler {
	tp, prop := s.tracing()
	return otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop),
		otelgrpc.WithMeterProvider(noop.NewMeterProvider()))
}

// countCalls counts every gRPC call by method and code.
func (s *Server) countCalls(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return s.metrics().UnaryServerInterceptor(ctx, req, info, handler)
}

// routeKey holds a request's *route while it is served.
type routeKey struct{}

// route is the template a REST request matched: the gateway's path
// template, or else the root mux's pattern.
type route struct{ pattern string }

func routeOf(ctx context.Context) *route {
	if r, ok := ctx.Value(routeKey{}).(*route); ok {
		return r
	}
	return &route{}
}

// gatewayRoute is a gateway middleware that names the matched template.
func gatewayRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			routeOf(r.Context()).pattern = p.String()
		}
		next(w, r, params)
	}
}

// observeHTTP wraps the REST port's handler: a server span per request,
// named by its route once known, and the latency histogram by route and
// status.
func (s *Server) observeHTTP(next http.Handler) http.Handler {
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		// http.ServeMux sets the pattern on the request it was given;
		// the method, when it names one, is a label of its own.
		if rt := routeOf(r.Context()); rt.pattern == "" {
			rt.pattern = r.Pattern
			if _, path, ok := strings.Cut(r.Pattern, " "); ok {
				rt.pattern = path
			}
		}
	})
	tp, prop := s.tracing()
	traced := otelhttp.NewHandler(routed, "http", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if p := routeOf(r.Context()).pattern; p != "" {
				return methodLabel(r.Method) + " " + p
			}
			return methodLabel(r.Method)
		}))
	m := s.metrics()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rt := &route{}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		traced.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, rt)))
		m.HTTPRequest(methodLabel(r.Method), rt.pattern, rec.status, time.Since(start))
	})
}

// methodLabel is an HTTP method as a metric's label: one of the standard
// methods, or _OTHER. Any client may send any method, and each new label
// value was a new series of every bucket.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}
