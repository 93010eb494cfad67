package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/evidence"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/loopback"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// MaxHeaderBytes bounds a REST request's line and headers; a longer one is
// answered 431 before it reaches the API.
const MaxHeaderBytes = 64 << 10

// Server serves the gRPC API and the REST gateway.
type Server struct {
	// anonymousRefusals bounds the access log's records of refusals of
	// callers without a verified token (anonymous_refusals.go).
	anonymousRefusals refusalSampler

	// Temporal is the client used to start, update and query workflows.
	Temporal client.Client
	// Ledger is the PostgreSQL ledger.
	Ledger *ledger.Store
	// TaskQueue is the queue workflows are started on (default "xuncha").
	TaskQueue string
	// GRPCListener and HTTPListener are bound by the caller, so that a taken
	// port is reported before anything starts.
	GRPCListener net.Listener
	HTTPListener net.Listener
	// Verifier checks the bearer token every call but health, readiness,
	// the OpenAPI document and gRPC health and reflection must carry
	// (XUNCHA_OIDC_*). Required.
	Verifier *authn.Verifier
	// DevIdentity, when set, is who a request without a token acts as. Only
	// `xuncha dev` sets it (its banner's office user); `xuncha server`
	// never does.
	DevIdentity *authn.Identity
	// DevIssuer, when set, is served on the HTTP port under DevIssuerPath:
	// the embedded OpenID provider of `xuncha dev`.
	DevIssuer http.Handler
	// DevIssuerPath is the path DevIssuer is mounted at, e.g. "/oidc/".
	DevIssuerPath string
	// Evidence stores uploaded evidence blobs (POST /v1/evidence). Required.
	Evidence *evidence.Store
	// MaxEvidenceBytes is the largest evidence upload accepted (default
	// DefaultMaxEvidenceBytes, 100 MiB).
	MaxEvidenceBytes int64
	// Import bounds the problem list's import (POST
	// /v1/inspections/{id}/findings:import): the upload's size, its rows,
	// its unpacked size, how many findings' workflows are started at a
	// time after the rows are recorded; zero fields take ImportConfig's
	// defaults.
	Import ImportConfig
	// RequestTimeout bounds every API call, gRPC and REST (default
	// DefaultRequestTimeout, 10 s); past it the caller gets UNAVAILABLE / 503
	// with Retry-After.
	RequestTimeout time.Duration
	// WriteIdleTimeout bounds how long one write of an HTTP response may
	// wait for a client that stopped reading (default
	// DefaultWriteIdleTimeout, 60 s); a download may take longer in all.
	WriteIdleTimeout time.Duration
	// ReadIdleTimeout bounds how long one read of an HTTP request's body
	// may wait for a client that stopped sending (default
	// DefaultReadIdleTimeout, 60 s); an upload may take longer in all.
	ReadIdleTimeout time.Duration
	// DrainDelay is how long the API keeps serving once asked to stop,
	// answering /readyz 503 and gRPC health NOT_SERVING meanwhile, so that
	// a load balancer takes it out of rotation before its listeners close
	// (default none; xuncha server: XUNCHA_DRAIN_DELAY, 5 s). Without it a
	// rolling restart refused new connections while the endpoints still
	// named the stopping pod.
	DrainDelay time.Duration
	// draining is set once the API is asked to stop (ready says so).
	draining atomic.Bool
	// Tips seals the identity of tips' reporters (XUNCHA_TIP_KEY). Required.
	Tips *tipcrypt.Sealer
	// WebhookPolicy says which receivers a webhook may name
	// (XUNCHA_WEBHOOK_ALLOW); nil allows public addresses only.
	WebhookPolicy *egress.Policy
	// PayloadCodec, when set, is served at CodecPath (POST /codec/decode
	// and /codec/encode) for the Temporal Web UI and CLI: the codec every
	// Temporal client of xuncha encrypts payloads with
	// (internal/payloadcrypt, XUNCHA_PAYLOAD_KEYS). Without it those routes
	// answer 404.
	PayloadCodec converter.PayloadCodec
	// CodecCORSOrigins are the browser origins (scheme://host:port) of the
	// Temporal Web UIs that may call the codec routes
	// (XUNCHA_CODEC_CORS_ORIGIN); empty: none, only same-origin and
	// non-browser clients.
	CodecCORSOrigins []string
	// AccessAudit, when set, records every decode of payloads at
	// CodecDecode, allowed or refused (see AccessAuditFunc); nil records
	// nothing beyond the log.
	AccessAudit AccessAuditFunc
	// Telemetry, when set, gets the API's metrics and makes its spans
	// (observe.go); nil records neither.
	Telemetry *telemetry.Telemetry
	// Log is the structured logger.
	Log *zap.Logger
}

// httpIdleTimeout is how long the REST port keeps an idle kept-alive
// connection open.
const httpIdleTimeout = 2 * time.Minute

// viaGatewayKey marks gRPC calls made by the REST gateway (and the expert
// import), which logs them itself: one access-log line per API call. Its
// value is viaGatewaySecret: any gRPC client can send the key, and a call
// that claimed it unproven would choose the address its access-log record
// names (X-Forwarded-For) and skip the gRPC log line.
const viaGatewayKey = "x-xuncha-via"

// viaGatewaySecret is this process's proof that a call came from its own
// gateway: random, never sent anywhere but the process's own loopback
// connection.
var viaGatewaySecret = func() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("no randomness for the gateway's marker: " + err.Error())
	}
	return hex.EncodeToString(b)
}()

// viaGateway reports whether md carries the gateway's marker.
func viaGateway(md metadata.MD) bool {
	v := md.Get(viaGatewayKey)
	return len(v) == 1 && subtle.ConstantTimeCompare([]byte(v[0]), []byte(viaGatewaySecret)) == 1
}

// Run serves until ctx ends, then stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	if s.Evidence == nil {
		return errors.New("api: Server.Evidence, the evidence store, is not set")
	}
	if s.Tips == nil {
		return errors.New("api: Server.Tips, the sealer of tip reporters' identities, is not set")
	}
	if s.Verifier == nil {
		return errors.New("api: Server.Verifier, the bearer-token verifier, is not set")
	}
	grpcServer := grpc.NewServer(
		grpc.ForceServerCodecV2(newBoundaryCodec()),
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.StatsHandler(s.grpcStats()),
		// The count first, so that every code counts; then the deadline, so
		// that it bounds everything, the idempotency claim included.
		grpc.ChainUnaryInterceptor(s.countCalls, s.deadlineInterceptor, s.unaryInterceptor, referralView),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
		// Calls run on goroutines kept from one call to the next, whose
		// stacks have grown already: a goroutine of its own for each call
		// grew its stack anew, copying it several times, as deep as the
		// interceptors and a change's Temporal call go. In CPU profiles
		// of the lifecycle benchmark (make bench-lifecycle), the calls'
		// own CPU fell by a quarter so. Calls beyond these get a goroutine
		// of their own. The option is marked experimental in grpc-go: a
		// release that drops it fails the build here, not a call.
		grpc.NumStreamWorkers(streamWorkers),
	)
	xunchav1.RegisterInspectionServiceServer(grpcServer, &InspectionServer{
		Temporal: s.Temporal, Ledger: s.Ledger, TaskQueue: s.TaskQueue, Log: s.Log,
	})
	xunchav1.RegisterCalendarServiceServer(grpcServer, &CalendarServer{
		Ledger: s.Ledger, OnLoad: RedateOnLoad(s.Temporal, s.TaskQueue), Log: s.Log,
	})
	findings := &FindingServer{Temporal: s.Temporal, Ledger: s.Ledger, TaskQueue: s.TaskQueue, Log: s.Log}
	xunchav1.RegisterFindingServiceServer(grpcServer, findings)
	xunchav1.RegisterInterviewServiceServer(grpcServer, &InterviewServer{
		Temporal: s.Temporal, Ledger: s.Ledger, TaskQueue: s.TaskQueue, Log: s.Log,
	})
	xunchav1.RegisterExposureServiceServer(grpcServer, &ExposureServer{Ledger: s.Ledger, Log: s.Log})
	xunchav1.RegisterTipServiceServer(grpcServer, &TipServer{Ledger: s.Ledger, Sealer: s.Tips, Findings: findings, Log: s.Log})
	xunchav1.RegisterEscalationServiceServer(grpcServer, &EscalationServer{Ledger: s.Ledger, Log: s.Log})
	xunchav1.RegisterReferralRouteServiceServer(grpcServer, &ReferralRouteServer{Ledger: s.Ledger, Log: s.Log})
	xunchav1.RegisterWebhookServiceServer(grpcServer, &WebhookServer{Ledger: s.Ledger, Egress: s.WebhookPolicy, Log: s.Log})
	xunchav1.RegisterAuditServiceServer(grpcServer, &AuditServer{Ledger: s.Ledger, Log: s.Log})
	xunchav1.RegisterStatisticsServiceServer(grpcServer, &StatisticsServer{Ledger: s.Ledger, Log: s.Log})
	xunchav1.RegisterExpertPoolServiceServer(grpcServer, &ExpertPoolServer{Ledger: s.Ledger, Log: s.Log})
	xunchav1.RegisterLineupServiceServer(grpcServer, &LineupServer{Temporal: s.Temporal, Ledger: s.Ledger, TaskQueue: s.TaskQueue, Log: s.Log})
	xunchav1.RegisterInvitationServiceServer(grpcServer, &InvitationServer{Temporal: s.Temporal, Ledger: s.Ledger, Log: s.Log})
	healthServer := health.NewServer()
	healthpb.RegisterHealthServer(grpcServer, healthServer)
	reflection.Register(grpcServer)

	conn, err := grpc.NewClient(dialAddr(s.GRPCListener.Addr()), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(markForwarded), grpc.WithStatsHandler(s.gatewayStats()),
		// Answers of any size reach the REST client: RESOURCE_EXHAUSTED, 413,
		// is only ever about the request.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)))
	if err != nil {
		return fmt.Errorf("connecting the gateway to the gRPC server: %w", err)
	}
	defer conn.Close()
	gateway, err := s.gateway(ctx, conn)
	if err != nil {
		return err
	}
	if s.DevIdentity != nil {
		gateway = devLocal(gateway)
	}
	// An idle kept-alive connection is closed after IdleTimeout: any
	// client could otherwise hold connections open without end.
	// Headers and the request line are bounded well below Go's 1 MiB: a
	// bearer token is a few kilobytes, an ID at most 128 characters.
	httpServer := &http.Server{Handler: gateway, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: httpIdleTimeout,
		MaxHeaderBytes: MaxHeaderBytes}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := grpcServer.Serve(s.GRPCListener); err != nil {
			return fmt.Errorf("serving gRPC: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := httpServer.Serve(s.HTTPListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving HTTP: %w", err)
		}
		return nil
	})
	g.Go(func() error { s.watchHealth(ctx, healthServer); return nil })
	g.Go(func() error {
		<-ctx.Done()
		s.draining.Store(true)
		healthServer.Shutdown()
		if s.DrainDelay > 0 {
			s.Log.Info("draining before the listeners close", zap.Duration("for", s.DrainDelay))
			time.Sleep(s.DrainDelay)
		}
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := httpServer.Shutdown(shutdownCtx); err != nil {
			s.Log.Warn("HTTP shutdown", zap.Error(err))
		}
		stopped := make(chan struct{})
		go func() { grpcServer.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shutdownCtx.Done():
			grpcServer.Stop()
		}
		return nil
	})
	s.Log.Info("API serving", zap.String("grpc", s.GRPCListener.Addr().String()), zap.String("http", s.HTTPListener.Addr().String()))
	return g.Wait()
}

// ready reports whether the ledger and Temporal answer, and the API is not
// stopping.
func (s *Server) ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("draining: the server is stopping")
	}
	return Ready(s.Ledger, s.Temporal)(ctx)
}

// Ready is the readiness check of the admin port's /readyz, and of the REST
// port's until the API drains (Server.ready): the ledger and Temporal
// answer within 3 seconds. Its error starts with what is down ("ledger: …",
// "temporal: …").
func Ready(l *ledger.Store, tc client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if err := l.Ping(ctx); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal: %w", err)
		}
		return nil
	}
}

// serviceNames are the gRPC services whose health watchHealth reports.
var serviceNames = []string{
	xunchav1.InspectionService_ServiceDesc.ServiceName,
	xunchav1.CalendarService_ServiceDesc.ServiceName,
	xunchav1.FindingService_ServiceDesc.ServiceName,
	xunchav1.EscalationService_ServiceDesc.ServiceName,
	xunchav1.WebhookService_ServiceDesc.ServiceName,
	xunchav1.InterviewService_ServiceDesc.ServiceName,
	xunchav1.ExposureService_ServiceDesc.ServiceName,
	xunchav1.TipService_ServiceDesc.ServiceName,
	xunchav1.AuditService_ServiceDesc.ServiceName,
	xunchav1.StatisticsService_ServiceDesc.ServiceName,
}

// watchHealth keeps grpc.health.v1 in step with readiness.
func (s *Server) watchHealth(ctx context.Context, h *health.Server) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		st := healthpb.HealthCheckResponse_SERVING
		if err := s.ready(ctx); err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		h.SetServingStatus("", st)
		for _, svc := range serviceNames {
			h.SetServingStatus(svc, st)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// streamWorkers is how many goroutines serve the gRPC calls they can take
// (grpc.NumStreamWorkers).
const streamWorkers = 32

// unaryInterceptor authenticates the caller and checks the authorization
// table (authz.go), puts the caller's actor into the context, maps errors to
// status codes in one place, recovers panics and writes the access log.
func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	md, _ := metadata.FromIncomingContext(ctx)
	lang := callLang(md)
	ctx = i18n.NewContext(ctx, lang)
	undecoded := decodeFailure(req)
	who, reach, known, err := s.caller(ctx, info.FullMethod, md.Get("authorization"))
	if known {
		ctx = withReach(actor.NewContext(ctx, who), reach)
	}
	if err == nil {
		err = undecoded
	}
	if err == nil {
		// The input boundary: every string and date of every request.
		err = checkRequest(req)
	}
	if err == nil {
		resp, err = func() (resp any, err error) {
			defer func() {
				if r := recover(); r != nil {
					logging.Ctx(ctx, s.Log).Error("panic in handler", zap.String("method", info.FullMethod), zap.Any("panic", r), zap.Stack("stack"))
					err = errors.New("panic in handler")
				}
			}()
			return s.withIdempotency(ctx, req, info, handler)
		}()
	}
	st := toStatus(err, logging.Ctx(ctx, s.Log).With(zap.String("method", info.FullMethod)), lang)
	// Refusals (401, 403) go to the access log, whoever refused: the table
	// or a role check further in.
	s.recordRefusal(ctx, who, info.FullMethod, requestResource(info.FullMethod, req), remoteOf(ctx), st)
	if !viaGateway(md) {
		fields := []zap.Field{
			zap.String("method", info.FullMethod),
			zap.String("code", st.Code().String()),
			zap.Duration("duration", time.Since(start)),
			zap.String("role", who.Role),
		}
		if p, ok := peer.FromContext(ctx); ok {
			fields = append(fields, zap.String("peer", p.Addr.String()))
		}
		s.Log.Info("grpc", append(fields, logging.TraceFields(ctx)...)...)
	}
	if err != nil {
		return nil, st.Err()
	}
	return resp, nil
}

// streamInterceptor lets through the streams the table marks public (gRPC
// health's Watch, reflection); xuncha's own API has no streams, so any
// other is refused until the table and this interceptor learn to check it.
func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if r, ok := authorization[info.FullMethod]; ok && r.public {
		return handler(srv, ss)
	}
	return status.Errorf(codes.PermissionDenied, "%s has no authorization rule for streams", info.FullMethod)
}

// caller authenticates a call to method (gRPC full name or evidence route)
// from its authorization headers (gRPC metadata or HTTP) and
// authorizes it by the table, with the objects it reaches by the row's
// scope rule (reachFor); known is false for public methods and refused
// calls (who is then the refused caller as its token says, for the access
// log). A call without a token is DevIdentity's when set.
func (s *Server) caller(ctx context.Context, method string, headers []string) (who actor.Actor, reach ledger.Reach, known bool, err error) {
	if r, ok := authorization[method]; ok && r.public {
		return actor.Actor{}, ledger.Reach{}, false, nil
	}
	id, err := s.authenticate(ctx, headers)
	if err != nil {
		return actor.Actor{}, ledger.Reach{}, false, err
	}
	if who, err = permit(method, id); err != nil {
		// Who was refused, for the access log.
		return refusedActor(id, true), ledger.Reach{}, false, err
	}
	return who, reachFor(authorization[method].scope, who.Role, id), true, nil
}

// authenticate verifies the bearer token of a call.
func (s *Server) authenticate(ctx context.Context, headers []string) (authn.Identity, error) {
	if len(headers) == 0 && s.DevIdentity != nil {
		return *s.DevIdentity, nil
	}
	if len(headers) > 1 {
		return authn.Identity{}, derrors.New(derrors.ErrUnauthenticated, "send one Authorization header, not %d", len(headers))
	}
	header := ""
	if len(headers) == 1 {
		header = headers[0]
	}
	raw, err := authn.TokenFromAuthorization(header)
	if err != nil {
		return authn.Identity{}, err
	}
	id, err := s.Verifier.Verify(ctx, raw)
	if err != nil {
		var refused *authn.Error
		if errors.As(err, &refused) {
			// The cause may quote the token's claims: logs only, at debug.
			s.Log.Debug("bearer token refused", zap.String("reason", refused.Error()), zap.NamedError("cause", errors.Unwrap(err)))
		}
		return authn.Identity{}, err
	}
	return id, nil
}

// dialAddr turns a listener address such as [::]:9090 into one the gateway
// can dial.
func dialAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("127.0.0.1:%d", tcp.Port)
		}
	}
	return addr.String()
}

// devLocal guards the REST API of a server whose requests without a token
// act as the office (DevIdentity, xuncha dev): listening on loopback does
// not keep a browser out. A request addressed to another host name (a page
// whose name was rebound to 127.0.0.1) is refused, and so is one without a
// token sent by a page of another origin (a cross-site form or fetch, which
// stored evidence as the office).
func devLocal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopback.Host(r.Host) {
			http.Error(w, "xuncha dev answers requests addressed to localhost, 127.0.0.1 or [::1] only", http.StatusMisdirectedRequest)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && r.Header.Get("Authorization") == "" {
			if u, err := url.Parse(origin); err != nil || !loopback.Host(u.Host) {
				http.Error(w, "xuncha dev acts as the office without a token only for pages of this machine: send a token (xuncha token)", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
