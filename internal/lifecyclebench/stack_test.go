//go:build lifecyclebench

package lifecyclebench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/egress"
	"github.com/xuncha/xuncha/internal/evidence"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

func TestMain(m *testing.M) {
	flag.Parse()
	testenv.SetPostgresSettings(postgresSettings())
	os.Exit(testenv.Run(m))
}

// taskQueue is the queue of the benchmark's one worker: the finding
// workflows and the bare workflow share it.
const taskQueue = "lifecyclebench"

// Actors of the lifecycle, as in the API tests.
var (
	office     = actor.Actor{Name: "王芳", Role: actor.RoleOffice, Organisation: "省安委办"}
	member     = actor.Actor{Name: "张伟", Role: actor.RoleTeamMember, Organisation: "省安全生产巡查第一组"}
	unit       = actor.Actor{Name: "李四", Role: actor.RoleUnit, Organisation: "长沙市应急管理局"}
	committee  = actor.Actor{Name: "刘主任", Role: actor.RoleCommittee, Organisation: "省安全生产委员会"}
	teamLeader = actor.Actor{Name: "赵强", Role: actor.RoleTeamLeader, Organisation: "省安全生产巡查第一组"}
)

// stack is xuncha as production runs it — the API (gRPC, REST gateway) and
// a worker — in this process, against testenv's real PostgreSQL and
// Temporal dev server, the way api/stack_test.go's setup starts it. The
// worker also runs BareWorkflow.
type stack struct {
	Temporal    client.Client
	Conn        *grpc.ClientConn
	baseURL     string
	Inspections xunchav1.InspectionServiceClient
	Findings    xunchav1.FindingServiceClient
	// server says which Temporal server the stack runs on (-server).
	server string
	// timers, with -sdk-timers, keeps the SDK's latency timers.
	timers *sdkTimers
}

// quietLogger writes warnings and errors to stderr: at info level the
// stack logs every change, which would bury the report.
func quietLogger() *zap.Logger {
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.Lock(os.Stderr), zapcore.WarnLevel)
	return zap.New(core)
}

// setup starts the stack; everything stops when the test ends.
func setup(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := quietLogger()
	store, _ := testenv.Ledger(t, ledgerOptions(t)...)
	tipKey, err := tipcrypt.ParseKey(tipcrypt.GenerateKey())
	require.NoError(t, err)
	tips, err := tipcrypt.New(tipKey)
	require.NoError(t, err)
	loopback, err := egress.ParseAllowList(egress.LoopbackAllowList)
	require.NoError(t, err)

	// Payloads are encrypted as in production: the codec's cost is part of
	// what a lifecycle costs.
	codec := testenv.PayloadCodec(t)
	hostPort, namespace, server := temporalServer(t, log)
	opts := client.Options{HostPort: hostPort, Namespace: namespace, Logger: logging.Temporal(log)}
	var timers *sdkTimers
	if *flagSDKTimers {
		timers = newSDKTimers()
		opts.MetricsHandler = timers
	}
	tc, err := client.Dial(codec.ClientOptions(opts))
	require.NoError(t, err)

	// The worker is workflows.Worker's (same options, same registrations)
	// plus BareWorkflow, MachineryWorkflow and its local activity, so every
	// kind of workflow competes for the same pollers and slots.
	w := worker.New(tc, taskQueue, worker.Options{})
	workflows.Register(w, &activities.Activities{Ledger: store, Log: log, Temporal: tc, Egress: loopback})
	w.RegisterWorkflowWithOptions(BareWorkflow, workflow.RegisterOptions{Name: BareWorkflowName})
	w.RegisterWorkflowWithOptions(MachineryWorkflow, workflow.RegisterOptions{Name: MachineryWorkflowName})
	w.RegisterActivityWithOptions(NoLedger, activity.RegisterOptions{Name: NoLedgerName})
	require.NoError(t, w.Start())

	grpcL, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpL, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	verifier := startIssuer(t)
	var apiClient client.Client = tc
	if timers != nil {
		apiClient = apiUpdates{Client: tc, timers: timers}
	}
	srv := &api.Server{Temporal: apiClient, Ledger: store, TaskQueue: taskQueue, GRPCListener: grpcL, HTTPListener: httpL,
		Evidence: &evidence.Store{Dir: t.TempDir()}, Tips: tips, WebhookPolicy: loopback, Verifier: verifier, PayloadCodec: codec, Log: log}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	conn, err := grpc.NewClient(grpcL.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stopping the API: %v", err)
		}
		w.Stop()
		tc.Close()
	})
	s := &stack{Temporal: tc, Conn: conn, timers: timers, baseURL: "http://" + httpL.Addr().String(), server: server,
		Inspections: xunchav1.NewInspectionServiceClient(conn), Findings: xunchav1.NewFindingServiceClient(conn)}
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.baseURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	return s
}

// tokens holds a bearer token for each actor of the benchmark, minted by
// setup (startIssuer) and only read afterwards.
var tokens = map[actor.Actor]string{}

// startIssuer serves xuncha's dev OpenID provider over HTTP, mints the
// benchmark's actors' tokens and returns a verifier that trusts it.
func startIssuer(t *testing.T) *authn.Verifier {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + srv.Listener.Addr().String() + "/oidc"
	iss, err := devissuer.New(devissuer.Config{Issuer: issuerURL, Dir: t.TempDir(), Algorithm: "ES256"})
	require.NoError(t, err)
	h, err := iss.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/oidc/", h)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	for _, who := range []actor.Actor{office, member, unit, committee, teamLeader} {
		u := devissuer.User{Subject: "bench-" + who.Role, Name: who.Name, Organisation: who.Organisation, Roles: []string{who.Role}}
		if who.Role == actor.RoleUnit {
			u.Units = []string{"430100"}
		}
		tok, err := iss.Mint(devissuer.MintRequest{User: u, TTL: 24 * time.Hour})
		require.NoError(t, err)
		tokens[who] = tok
	}
	v, err := authn.New(authn.Config{Issuer: issuerURL})
	require.NoError(t, err)
	return v
}

// as is a call context acting as who.
func as(ctx context.Context, who actor.Actor) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens[who])
}

// today is the current day in Asia/Shanghai.
func today() string { return calendar.DateOf(time.Now()).String() }

// stationedInspection creates an inspection through gRPC and takes it to
// STATIONED, when findings can be recorded; it returns its ID.
func (s *stack) stationedInspection(ctx context.Context, t *testing.T, i int) string {
	t.Helper()
	var team []*xunchav1.TeamMember
	// The leader and member sign in with the subjects the bench mints
	// their tokens with (team scope).
	for _, m := range []struct{ name, role, rank, subject string }{
		{"赵强", "LEADER", "INSPECTOR_LEVEL_2", "bench-" + actor.RoleTeamLeader}, {"钱敏", "DEPUTY", "DIVISION_CHIEF", ""},
		{"张伟", "MEMBER", "OTHER", "bench-" + actor.RoleTeamMember},
		{"李娜", "MEMBER", "OTHER", ""}, {"周杰", "MEMBER", "DEPUTY_DIVISION_CHIEF", ""}, {"吴刚", "EXPERT", "OTHER", ""},
	} {
		team = append(team, &xunchav1.TeamMember{Name: m.name, Role: m.role, Rank: m.rank, Subject: m.subject})
	}
	ins, err := s.Inspections.CreateInspection(as(ctx, office), &xunchav1.CreateInspectionRequest{RequestId: fmt.Sprintf("bench-inspection-%d", i),
		Inspection: &xunchav1.Inspection{
			Unit: &xunchav1.Unit{Code: "430100", Name: "长沙市"}, Kind: xunchav1.Inspection_COMPREHENSIVE, Round: "2026年第一轮",
			PlannedStart: "2026-12-01", PlannedEnd: "2026-12-15", ContentAreas: []int32{1, 2, 5}, Team: team,
		}})
	require.NoError(t, err)
	_, err = s.Inspections.ApproveTeam(as(ctx, committee), &xunchav1.InspectionActionRequest{Id: ins.GetId(), RequestId: fmt.Sprintf("bench-approve-%d", i)})
	require.NoError(t, err)
	_, err = s.Inspections.NotifyInspection(as(ctx, office), &xunchav1.NotifyInspectionRequest{Id: ins.GetId(), RequestId: fmt.Sprintf("bench-notify-%d", i), NotifiedOn: today()})
	require.NoError(t, err)
	_, err = s.Inspections.StationInspection(as(ctx, teamLeader), &xunchav1.StationInspectionRequest{Id: ins.GetId(), RequestId: fmt.Sprintf("bench-station-%d", i),
		StationedOn: today(), Announcement: "巡查任务、时间和要求", ContactPhone: "0731-12345678"})
	require.NoError(t, err)
	return ins.GetId()
}

// uploadEvidence stores a text document with the given content through
// POST /v1/evidence (REST: blobs do not go through gRPC), as who, and
// returns its ID. The same content is the same evidence.
func (s *stack) uploadEvidence(ctx context.Context, who actor.Actor, content string) (string, error) {
	sum := sha256.Sum256([]byte(content))
	q := url.Values{"kind": {"DOCUMENT"}, "sha256": {hex.EncodeToString(sum[:])},
		"captured_at": {time.Now().Add(-time.Hour).Format(time.RFC3339)}, "file_name": {"record.txt"}}
	req, err := http.NewRequestWithContext(ctx, "POST", s.baseURL+"/v1/evidence?"+q.Encode(), strings.NewReader(content))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("uploading evidence: %s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || out.ID == "" {
		return "", fmt.Errorf("uploading evidence: %s, id %q", resp.Status, out.ID)
	}
	return out.ID, nil
}
