package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/evidence"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/telemetry"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

// stack is a running xuncha (worker + API) against the shared real
// PostgreSQL and Temporal dev server, with its own database and task queue.
type stack struct {
	t      testing.TB
	Ledger *ledger.Store
	// DatabaseURL is the stack's own database as the application role, the
	// role the stack's API and worker connect as.
	DatabaseURL string
	// OwnerURL is the same database as its owner (a superuser), for tests
	// that read it raw.
	OwnerURL string
	Temporal client.Client
	BaseURL  string
	Conn     *grpc.ClientConn
	// Tips is the server's sealer of tip reporters' identities.
	Tips *tipcrypt.Sealer
	// Logs holds every line the stack logged (API, worker, Temporal SDK), at
	// debug level and up.
	Logs *observer.ObservedLogs

	// Issuer is the stack's OpenID provider: xuncha's dev issuer served
	// over HTTP, which the server verifies tokens with.
	Issuer *testIssuer

	// Codec is the payload codec of the stack's Temporal client, worker
	// and codec routes, over the key ring PayloadKeys.
	Codec       *payloadcrypt.Codec
	PayloadKeys []payloadcrypt.Key

	queue       string
	log         *zap.Logger
	webhooks    *egress.Policy
	verifier    *authn.Verifier
	evidenceDir string
	grpcAddr    string
	configure   func(srv *api.Server, databaseURL string)
	stopAPI     func()
	stopWorker  func() // nil while no worker runs

	// tel, when set, is the stack's telemetry: the API's, the Temporal
	// client's and worker's, and the ledger's (setupStackObserved).
	tel *telemetry.Telemetry
}

// office is the default actor of test requests.
var office = actor.Actor{Name: "王芳", Role: actor.RoleOffice, Organisation: "省安委办"}

// setup starts a stack whose webhook policy allows loopback receivers, as
// the test receivers are httptest servers on 127.0.0.1 (an operator would set
// XUNCHA_WEBHOOK_ALLOW the same way).
func setup(t testing.TB) *stack {
	t.Helper()
	loopback, err := egress.ParseAllowList(egress.LoopbackAllowList)
	require.NoError(t, err)
	return setupWith(t, loopback)
}

// setupWith starts a stack whose API and worker apply webhooks, the webhook
// address policy.
func setupWith(t testing.TB, webhooks *egress.Policy) *stack {
	t.Helper()
	return setupStack(t, webhooks, nil)
}

// setupConfigured is setup with configure applied to the API server before
// it starts; configure is told the stack's database.
func setupConfigured(t testing.TB, configure func(srv *api.Server, databaseURL string)) *stack {
	t.Helper()
	loopback, err := egress.ParseAllowList(egress.LoopbackAllowList)
	require.NoError(t, err)
	return setupStack(t, loopback, configure)
}

// setupStack starts a stack with the webhook policy webhooks and, when set,
// configure applied to the API server. Its Temporal client, worker and
// codec routes encrypt payloads with a fresh key ring (testenv.PayloadCodec).
func setupStack(t testing.TB, webhooks *egress.Policy, configure func(srv *api.Server, databaseURL string)) *stack {
	t.Helper()
	return setupStackObserved(t, webhooks, configure, nil)
}

// setupStackObserved is setupStack whose API, Temporal client, worker and
// ledger report to tel when it is set, as xuncha's processes do.
func setupStackObserved(t testing.TB, webhooks *egress.Policy, configure func(srv *api.Server, databaseURL string), tel *telemetry.Telemetry) *stack {
	t.Helper()
	observed, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(zapcore.NewTee(testenv.Logger(t).Core(), observed))
	if _, quiet := t.(quietTB); quiet {
		log = zap.NewNop()
	}
	tipKey, err := tipcrypt.ParseKey(tipcrypt.GenerateKey())
	require.NoError(t, err)
	tips, err := tipcrypt.New(tipKey)
	require.NoError(t, err)

	var ledgerOpts []ledger.Option
	if tel != nil {
		ledgerOpts = append(ledgerOpts, ledger.WithTracer(tel.PgxTracer()))
	}
	store, db := testenv.Ledger(t, ledgerOpts...)
	store.Secrets = tips // one server key, as xuncha server has

	queue := "test-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
	grpcL, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpL, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)

	issuer := startIssuer(t)
	verifier, err := authn.New(authn.Config{Issuer: issuer.URL})
	require.NoError(t, err)

	conn, err := grpc.NewClient(grpcL.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUnaryInterceptor(askEnglish))
	require.NoError(t, err)
	s := &stack{t: t, Ledger: store, DatabaseURL: db.URL, OwnerURL: db.OwnerURL, BaseURL: "http://" + httpL.Addr().String(), Conn: conn, Tips: tips, Logs: logs, queue: queue, log: log,
		webhooks: webhooks, Issuer: issuer, verifier: verifier, evidenceDir: t.TempDir(), grpcAddr: grpcL.Addr().String(), configure: configure, tel: tel}
	s.Temporal = s.dial(testenv.PayloadKey(t, "test-1"))
	s.startAPI(grpcL, httpL)
	t.Cleanup(func() {
		_ = conn.Close()
		s.StopWorker()
		s.stopAPI()
		s.Temporal.Close() // the ledger closes in testenv.Ledger's cleanup, after this one
	})
	s.StartWorker()
	s.waitHTTP()
	return s
}

// dial connects a Temporal client for the stack that encrypts with the key
// ring keys (the first encrypting), and makes its codec the stack's.
func (s *stack) dial(keys ...payloadcrypt.Key) client.Client {
	s.t.Helper()
	codec := testenv.PayloadCodecOf(s.t, keys...)
	opts := codec.ClientOptions(client.Options{
		HostPort:  testenv.TemporalAddress(s.t),
		Namespace: testenv.Namespace,
		Logger:    logging.Temporal(s.log),
	})
	if s.tel != nil {
		var err error
		opts, err = s.tel.TemporalClient(opts)
		require.NoError(s.t, err)
	}
	tc, err := client.DialContext(context.Background(), opts)
	require.NoError(s.t, err)
	s.Codec, s.PayloadKeys = codec, keys
	return tc
}

// startAPI runs the API server on the listeners until stopAPI.
func (s *stack) startAPI(grpcL, httpL net.Listener) {
	ctx, cancel := context.WithCancel(context.Background())
	srv := &api.Server{Temporal: s.Temporal, Ledger: s.Ledger, TaskQueue: s.queue, GRPCListener: grpcL, HTTPListener: httpL,
		Evidence: &evidence.Store{Dir: s.evidenceDir}, Tips: s.Tips, WebhookPolicy: s.webhooks, Verifier: s.verifier,
		PayloadCodec: s.Codec, Telemetry: s.tel, Log: s.log}
	if s.configure != nil {
		s.configure(srv, s.DatabaseURL)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	s.stopAPI = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				s.t.Errorf("stopping: %v", err)
			}
		})
	}
}

// Restart stops the worker and the API as if their processes stopped,
// and starts them again on the same addresses with a new Temporal client
// over the payload key ring keys: an operator's restart with a new ring.
func (s *stack) Restart(keys ...payloadcrypt.Key) {
	s.t.Helper()
	s.StopWorker()
	s.stopAPI()
	s.Temporal.Close()
	s.Temporal = s.dial(keys...)
	grpcL, err := net.Listen("tcp", s.grpcAddr)
	require.NoError(s.t, err)
	httpL, err := net.Listen("tcp", strings.TrimPrefix(s.BaseURL, "http://"))
	require.NoError(s.t, err)
	s.startAPI(grpcL, httpL)
	s.StartWorker()
	s.waitHTTP()
}

// StartWorker starts a worker on the stack's task queue, as a worker process
// would.
func (s *stack) StartWorker() {
	s.t.Helper()
	require.Nil(s.t, s.stopWorker, "a worker is already running")
	ctx, cancel := context.WithCancel(context.Background())
	w := &workflows.Worker{Temporal: s.Temporal, TaskQueue: s.queue,
		Activities: &activities.Activities{Ledger: s.Ledger, Log: s.log, Temporal: s.Temporal, Egress: s.webhooks}, Log: s.log}
	if s.tel != nil {
		w.Activities.Metrics = s.tel.Metrics
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	s.stopWorker = func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("stopping the worker: %v", err)
		}
	}
}

// StopWorker stops the running worker, as if its process stopped; running
// tasks finish first. Without a worker, nothing happens.
func (s *stack) StopWorker() {
	if s.stopWorker != nil {
		s.stopWorker()
		s.stopWorker = nil
	}
}

func (s *stack) waitHTTP() {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		resp, err := http.Get(s.BaseURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
}

// testIssuer is a stack's OpenID provider: xuncha's dev issuer on a
// loopback HTTP server, its key directory, and the tokens minted so far.
type testIssuer struct {
	t   testing.TB
	URL string
	// Dir holds the issuer's keys: a sibling issuer over it signs with the
	// same keys under other settings (forged tokens).
	Dir string
	*devissuer.Issuer

	mu     sync.Mutex
	tokens map[actor.Actor]string
}

// startIssuer serves a dev issuer (ES256: its keys are quick to make) at
// http://127.0.0.1:<port>/oidc until the test ends.
func startIssuer(t testing.TB) *testIssuer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	ti := &testIssuer{t: t, URL: "http://" + srv.Listener.Addr().String() + "/oidc", Dir: t.TempDir(), tokens: map[actor.Actor]string{}}
	iss, err := devissuer.New(devissuer.Config{Issuer: ti.URL, Dir: ti.Dir, Algorithm: "ES256"})
	require.NoError(t, err)
	h, err := iss.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/oidc/", h)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	ti.Issuer = iss
	return ti
}

// userOf is the dev user a test actor signs in as: its name, organisation
// and role; a unit user acts for 430100, for 430200 when its organisation
// is zhuzhou's, and for no unit when it is unitless's. The subject derives from role and name unless
// the actor has one.
func userOf(who actor.Actor) devissuer.User {
	u := devissuer.User{Subject: who.Subject, Name: who.Name, Organisation: who.Organisation, Roles: []string{who.Role}}
	if u.Subject == "" {
		u.Subject = "test-" + who.Role + "-" + who.Name
	}
	if who.Role == actor.RoleUnit {
		u.Units = []string{"430100"}
		switch who.Organisation {
		case zhuzhou.Organisation:
			u.Units = []string{"430200"}
		case unitless.Organisation:
			u.Units = nil
		}
	}
	return u
}

// Token returns a bearer token (valid for an hour) naming who, minted once
// per actor.
func (ti *testIssuer) Token(who actor.Actor) string {
	ti.t.Helper()
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if tok, ok := ti.tokens[who]; ok {
		return tok
	}
	tok, err := ti.Mint(devissuer.MintRequest{User: userOf(who)})
	require.NoError(ti.t, err)
	ti.tokens[who] = tok
	return tok
}

// authorization is the Authorization header value of a call as who.
func (s *stack) authorization(who actor.Actor) string { return "Bearer " + s.Issuer.Token(who) }

// ctx is a gRPC call context acting as who.
func (s *stack) ctx(who actor.Actor) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s.t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", s.authorization(who))
}

// do sends a REST request as who (nil: no token) and decodes the JSON
// answer into a map.
func (s *stack) do(method, path string, who *actor.Actor, body any) (int, map[string]any) {
	s.t.Helper()
	code, out, err := s.request(method, path, who, body)
	require.NoError(s.t, err)
	return code, out
}

// request is do without failing the test, for use in other goroutines.
func (s *stack) request(method, path string, who *actor.Actor, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			r = strings.NewReader(b)
		default:
			data, err := json.Marshal(b)
			if err != nil {
				return 0, nil, err
			}
			r = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequest(method, s.BaseURL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if who != nil {
		req.Header.Set("Authorization", s.authorization(*who))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{}
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &out); err != nil {
			return 0, nil, fmt.Errorf("decoding %s: %w", data, err)
		}
	} else {
		out["_raw"] = string(data)
	}
	return resp.StatusCode, out, nil
}

// fieldViolations lists the BadRequest field names in a REST error body.
func fieldViolations(body map[string]any) []string {
	var fields []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		for _, fv := range fvs {
			fields = append(fields, fmt.Sprint(fv.(map[string]any)["field"]))
		}
	}
	return fields
}

// violationRule returns the description of the BadRequest violation of
// field in a REST error body ("" if there is none).
func violationRule(body map[string]any, field string) string {
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		for _, fv := range fvs {
			if m := fv.(map[string]any); m["field"] == field {
				return fmt.Sprint(m["description"])
			}
		}
	}
	return ""
}

// getAs sends GET path as who, for answers that are not JSON (evidence
// content).
func (s *stack) getAs(who actor.Actor, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, s.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", s.authorization(who))
	return http.DefaultClient.Do(req)
}

// signedIn is who as the server records it: with the subject of the token
// the stack mints for who.
func signedIn(who actor.Actor) actor.Actor {
	who.Subject = userOf(who).Subject
	return who
}
