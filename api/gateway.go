package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xuncha/xuncha/api/openapi"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/problemlist"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// gateway builds the HTTP handler: health, readiness, the OpenAPI document and
// the REST/JSON gateway to the gRPC services on conn.
func (s *Server) gateway(ctx context.Context, conn *grpc.ClientConn) (http.Handler, error) {
	marshaler := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}
	mux := runtime.NewServeMux(
		// The gateway passes the Authorization header on as the gRPC
		// metadata "authorization" by itself; the interceptor checks it.
		runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD {
			return metadata.Pairs(viaGatewayKey, viaGatewaySecret)
		}),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			switch key {
			case RetryAfterHeader: // set by deadlineInterceptor
				return "Retry-After", true
			case ReplayedHeader: // set by withIdempotency
				return "Idempotent-Replayed", true
			}
			return runtime.MetadataHeaderPrefix + key, true
		}),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithMiddlewares(gatewayRoute), // observe.go
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
	)
	for name, register := range map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		"InspectionService":    xunchav1.RegisterInspectionServiceHandler,
		"CalendarService":      xunchav1.RegisterCalendarServiceHandler,
		"FindingService":       xunchav1.RegisterFindingServiceHandler,
		"EscalationService":    xunchav1.RegisterEscalationServiceHandler,
		"WebhookService":       xunchav1.RegisterWebhookServiceHandler,
		"InterviewService":     xunchav1.RegisterInterviewServiceHandler,
		"ExposureService":      xunchav1.RegisterExposureServiceHandler,
		"TipService":           xunchav1.RegisterTipServiceHandler,
		"AuditService":         xunchav1.RegisterAuditServiceHandler,
		"StatisticsService":    xunchav1.RegisterStatisticsServiceHandler,
		"ReferralRouteService": xunchav1.RegisterReferralRouteServiceHandler,
		"ExpertPoolService":    xunchav1.RegisterExpertPoolServiceHandler,
		"LineupService":        xunchav1.RegisterLineupServiceHandler,
		"InvitationService":    xunchav1.RegisterInvitationServiceHandler,
	} {
		if err := register(ctx, mux, conn); err != nil {
			return nil, fmt.Errorf("registering the %s gateway: %w", name, err)
		}
	}

	document, err := openapi.Document()
	if err != nil {
		return nil, err
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	root.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.ready(r.Context()); err != nil {
			s.Log.Warn("not ready", zap.Error(err))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %s\n", strings.SplitN(err.Error(), ":", 2)[0])
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	document, err = annotateOpenAPI(document)
	if err != nil {
		return nil, err
	}
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(document)
	})
	// The token first: a caller without one learns that (401) before
	// anything about its request; the gRPC interceptor verifies it again
	// and checks the authorization table.
	root.Handle("/v1/", s.authenticated(restInput(mux, mux, marshaler), mux, marshaler))
	evidence := s.evidenceHandler(mux, marshaler)
	evidence.register(root)
	(&exportHandler{exporter: &problemlist.Exporter{Ledger: s.Ledger}, guard: evidence.logTo(s.Log.Named("export"))}).register(root)
	(&importHandler{ledger: s.Ledger, temporal: s.Temporal, taskQueue: s.TaskQueue, config: s.Import,
		guard: evidence.logTo(s.Log.Named("import"))}).register(root)
	(&expertImportHandler{ledger: s.Ledger, pool: xunchav1.NewExpertPoolServiceClient(conn), config: s.Import,
		guard: evidence.logTo(s.Log.Named("import"))}).register(root)
	(&summaryHandler{ledger: s.Ledger, guard: evidence.logTo(s.Log.Named("summary"))}).register(root)
	if s.PayloadCodec != nil {
		log := s.Log.Named("codec")
		s.codecHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			errorHandler(r.Context(), mux, marshaler, w, r, toStatus(err, logging.Ctx(r.Context(), log).With(zap.String("path", r.URL.Path)), requestLang(r)).Err())
		}).register(root)
	}
	if s.DevIssuer != nil && s.DevIssuerPath != "" {
		root.Handle(s.DevIssuerPath, s.DevIssuer)
	}
	return s.observeHTTP(s.accessLog(slowClients(s.readIdleTimeout(), s.writeIdleTimeout(), root))), nil
}

// evidenceHandler builds the evidence endpoints: the caller is authenticated
// and authorized as by the gRPC interceptor, and errors are written as by the
// gateway.
func (s *Server) evidenceHandler(mux *runtime.ServeMux, m runtime.Marshaler) *evidenceHandler {
	maxBytes := s.MaxEvidenceBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxEvidenceBytes
	}
	log := s.Log.Named("evidence")
	return &evidenceHandler{
		ledger:   s.Ledger,
		store:    s.Evidence,
		maxBytes: maxBytes,
		guard: guard{authorize: func(r *http.Request, route string) (context.Context, error) {
			who, reach, _, err := s.caller(r.Context(), route, r.Header.Values("Authorization"))
			if err != nil {
				s.recordRefusal(r.Context(), who, route, strings.TrimPrefix(r.URL.Path, "/v1/"), r.RemoteAddr, toStatus(err, log, i18n.English))
				return nil, err
			}
			return withReach(actor.NewContext(r.Context(), who), reach), nil
		},
			fail: func(w http.ResponseWriter, r *http.Request, err error) {
				errorHandler(r.Context(), mux, m, w, r, toStatus(err, logging.Ctx(r.Context(), log).With(zap.String("path", r.URL.Path)), requestLang(r)).Err())
			},
			log: log,
		},
	}
}

// authenticated refuses a REST request whose bearer token does not verify,
// writing the error as the gateway does.
func (s *Server) authenticated(next http.Handler, mux *runtime.ServeMux, m runtime.Marshaler) http.Handler {
	log := s.Log.Named("rest")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r.Context(), r.Header.Values("Authorization")); err != nil {
			st := toStatus(err, logging.Ctx(r.Context(), log).With(zap.String("path", r.URL.Path)), requestLang(r))
			s.recordRefusal(r.Context(), actor.Actor{}, r.Method+" "+r.URL.Path, strings.TrimPrefix(r.URL.Path, "/v1/"), r.RemoteAddr, st)
			errorHandler(r.Context(), mux, m, w, r, st.Err())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errorHandler writes the gateway's error body and maps codes to HTTP
// statuses where httpCodes says; other codes keep the gateway's mapping. A
// request the gateway could not read is explained first
// (explainUnreadRequest).
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	err = explainUnreadRequest(ctx, r, err)
	code := status.Code(err)
	if override, ok := httpCodes[code]; ok {
		w = &statusOverride{ResponseWriter: w, status: override}
	}
	if code == codes.Unauthenticated {
		w = &bearerChallenge{ResponseWriter: w, tokenSent: r.Header.Get("Authorization") != ""}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// bearerChallenge answers a 401 with the challenge RFC 6750 (§3) asks for:
// Bearer, the realm and, when a token was sent, invalid_token. The gateway
// sent the refusal's message as the header, in Chinese by default: not a
// challenge, and bytes a header may not carry.
type bearerChallenge struct {
	http.ResponseWriter
	tokenSent bool
}

func (c *bearerChallenge) WriteHeader(code int) {
	challenge := `Bearer realm="xuncha"`
	if c.tokenSent {
		challenge += `, error="invalid_token"`
	}
	c.Header().Set("WWW-Authenticate", challenge)
	c.ResponseWriter.WriteHeader(code)
}

// routingErrorHandler answers a request no route of the gateway takes, in
// the caller's language and with the error body of every other refusal:
// 404 for a path nothing serves, 405 with Allow for a method its path does
// not take (the gateway's own answer to that is 501 "Not Implemented",
// which says the server lacks the feature).
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	lang := requestLang(r)
	var st *status.Status
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		allowed := allowedMethods(r.URL.Path)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		st = status.New(codes.Unimplemented, lang.Say("this path does not take %s; it takes %s", r.Method, strings.Join(allowed, ", ")))
		w = &statusOverride{ResponseWriter: w, status: http.StatusMethodNotAllowed}
	case http.StatusNotFound:
		st = status.New(codes.NotFound, lang.Say("no API resource is at this path"))
	default:
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, st.Err())
}

// allowedMethods lists the HTTP methods of the gateway's routes whose path
// template matches path (the HTTP rules of proto/xuncha/v1).
func allowedMethods(path string) []string {
	rs, err := httpRoutes()
	if err != nil {
		return nil
	}
	var out []string
	for _, rt := range rs {
		if rt.path.MatchString(path) && !slices.Contains(out, rt.method) {
			out = append(out, rt.method)
		}
	}
	slices.Sort(out)
	return out
}

// httpRoute is one HTTP binding: its method and its path template as a
// pattern ({id} is one segment, up to a ":verb").
type httpRoute struct {
	method string
	path   *regexp.Regexp
}

var httpRoutes = sync.OnceValues(func() ([]httpRoute, error) {
	rules, err := httpRules()
	if err != nil {
		return nil, err
	}
	out := make([]httpRoute, 0, len(rules))
	for _, r := range rules {
		parts := pathVariable.Split(r.template, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		out = append(out, httpRoute{method: r.method, path: regexp.MustCompile("^" + strings.Join(parts, `[^/:]+`) + "$")})
	}
	return out, nil
})

// statusOverride replaces the status code the gateway writes.
type statusOverride struct {
	http.ResponseWriter
	status int
}

func (o *statusOverride) WriteHeader(int) { o.ResponseWriter.WriteHeader(o.status) }

// recorder remembers the status code for the access log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessLog writes one line per HTTP request.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			return // probes every few seconds would drown the log
		}
		s.Log.Info("http",
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.Int("status", rec.status),
			zap.Duration("duration", time.Since(start)),
			zap.String("remote", r.RemoteAddr),
			zap.Inline(logging.TraceObject(r.Context())),
		)
	})
}
