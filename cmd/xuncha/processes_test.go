package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/workflows"
)

// TestServerAndWorkerCommands runs the production commands as an operator
// would (migrate as the ledger's owner, worker and server as the
// application role) against real PostgreSQL and Temporal, and stops them as
// a SIGTERM would.
func TestServerAndWorkerCommands(t *testing.T) {
	db := testenv.NewDatabase(t)
	addr := testenv.TemporalAddress(t)
	// Migrations as the owner; worker and server as the application role.
	_, err := run(t, "migrate", "--migrate-database-url", db.OwnerURL, "--database-url", db.URL, "--log-level", "warn")
	require.NoError(t, err)
	httpPort, err := childproc.FreePort()
	require.NoError(t, err)
	grpcPort, err := childproc.FreePort()
	require.NoError(t, err)
	serverAdmin, err := childproc.FreePort()
	require.NoError(t, err)
	workerAdmin, err := childproc.FreePort()
	require.NoError(t, err)
	t.Setenv("XUNCHA_TIP_KEY", tipcrypt.GenerateKey())
	t.Setenv("XUNCHA_PAYLOAD_KEYS", payloadKey(t, "cmd-1"))
	t.Setenv("XUNCHA_CODEC_CORS_ORIGIN", "https://temporal.example.gov.cn")
	issuer := startTestIssuer(t)
	t.Setenv("XUNCHA_OIDC_ISSUER", issuer.URL())
	common := []string{"--database-url", db.URL, "--temporal-address", addr, "--task-queue", "commands-test", "--log-level", "warn"}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	start := func(args ...string) {
		cmd := newRootCmd()
		cmd.SetArgs(append(args, common...))
		cmd.SetOut(io.Discard)
		go func() { done <- cmd.ExecuteContext(ctx) }()
	}
	start("worker", "--admin-addr", fmt.Sprintf("127.0.0.1:%d", workerAdmin))
	start("server", "--http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort), "--grpc-addr", fmt.Sprintf("127.0.0.1:%d", grpcPort),
		"--evidence-dir", t.TempDir(), "--admin-addr", fmt.Sprintf("127.0.0.1:%d", serverAdmin))
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "the server becomes ready")

	// The worker scheduled the daily audit anchor on its task queue.
	tc, err := client.Dial(client.Options{HostPort: addr, Namespace: testenv.Namespace})
	require.NoError(t, err)
	defer tc.Close()
	require.Eventually(t, func() bool {
		d, err := tc.ScheduleClient().GetHandle(ctx, workflows.AuditAnchorScheduleID).Describe(ctx)
		if err != nil {
			return false
		}
		action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		return ok && action.TaskQueue == "commands-test" && action.Workflow == workflows.AuditAnchorWorkflowName
	}, 30*time.Second, 100*time.Millisecond, "the audit anchor is scheduled")

	body := `{"request_id":"` + perRun("cmd") + `","inspection":{"unit":{"code":"430300","name":"湘潭市"},"kind":"SPECIAL",` +
		`"planned_start":"2026-12-01","planned_end":"2026-12-02","content_areas":[2],"team":[` +
		`{"name":"赵强","role":"LEADER","rank":"DEPARTMENT_LEVEL"},{"name":"钱敏","role":"DEPUTY","rank":"DIVISION_CHIEF"},` +
		`{"name":"甲","role":"MEMBER","rank":"OTHER"},{"name":"乙","role":"MEMBER","rank":"OTHER"},` +
		`{"name":"丙","role":"MEMBER","rank":"OTHER"},{"name":"丁","role":"MEMBER","rank":"OTHER"}]}}`
	req, err := http.NewRequest("POST", base+"/v1/inspections", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	officeToken, err := issuer.Mint(devissuer.MintRequest{User: devissuer.OfficeClerk})
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+officeToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", answer)
	require.True(t, bytes.Contains(answer, []byte(`"stage":"PLANNED"`)), "%s", answer)

	// Without a token a call is refused, whatever x-xuncha-actor (no longer
	// read) says: only `xuncha dev` has a default user.
	for _, path := range []string{"/v1/inspections", "/v1/findings"} {
		req, err := http.NewRequest("GET", base+path, nil)
		require.NoError(t, err)
		req.Header.Set("x-xuncha-actor", "name=x&role=office&org=y")
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
	}
	// A token of another role is refused the office's change.
	unitToken, err := issuer.Mint(devissuer.MintRequest{User: devissuer.UnitUser})
	require.NoError(t, err)
	req, err = http.NewRequest("POST", base+"/v1/inspections", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+unitToken)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// The codec routes answer with the server's key ring: what the office
	// encodes, it decodes; a unit may do neither.
	codec := func(op, token, body string) (int, string) {
		req, err := http.NewRequest("POST", base+"/codec/"+op, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://temporal.example.gov.cn")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "https://temporal.example.gov.cn", resp.Header.Get("Access-Control-Allow-Origin"))
		return resp.StatusCode, string(out)
	}
	plain := `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IuiigeW/l+i/nCI="}]}` // json/plain "袁志远"
	code, sealed := codec("encode", officeToken, plain)
	require.Equal(t, http.StatusOK, code, sealed)
	var payloads struct {
		Payloads []struct {
			Metadata map[string][]byte `json:"metadata"`
			Data     []byte            `json:"data"`
		} `json:"payloads"`
	}
	require.NoError(t, json.Unmarshal([]byte(sealed), &payloads))
	require.Len(t, payloads.Payloads, 1)
	require.Equal(t, "cmd-1", string(payloads.Payloads[0].Metadata["encryption-key-id"]))
	require.NotContains(t, string(payloads.Payloads[0].Data), "袁志远")
	code, opened := codec("decode", officeToken, sealed)
	require.Equal(t, http.StatusOK, code, opened)
	require.NoError(t, json.Unmarshal([]byte(opened), &payloads))
	require.Equal(t, `"袁志远"`, string(payloads.Payloads[0].Data))
	code, _ = codec("decode", unitToken, sealed)
	require.Equal(t, http.StatusForbidden, code)

	// Each process serves its admin routes: liveness, readiness, metrics
	// (the API's in the server's, the lifecycles' in the worker's, the
	// ledger's and the Temporal SDK's in both) and pprof.
	admin := func(port int, path string) (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(out)
	}
	for _, p := range []struct {
		port int
		want []string
	}{
		{serverAdmin, []string{`xuncha_grpc_requests_total{code="OK",method="/xuncha.v1.InspectionService/CreateInspection"} 1`,
			`xuncha_http_request_duration_seconds_count{code="401",method="GET",route="/v1/"}`, "temporal_request_total"}},
		{workerAdmin, []string{`xuncha_lifecycle_transitions_total{action="create",lifecycle="inspection",stage="PLANNED"} 1`,
			"temporal_workflow_task_execution_latency_seconds_bucket"}},
	} {
		code, body := admin(p.port, "/healthz")
		require.Equal(t, http.StatusOK, code, body)
		code, body = admin(p.port, "/readyz")
		require.Equal(t, http.StatusOK, code, body)
		code, body = admin(p.port, "/debug/pprof/")
		require.Equal(t, http.StatusOK, code, body)
		code, body = admin(p.port, "/metrics")
		require.Equal(t, http.StatusOK, code, body)
		for _, want := range append(p.want, "xuncha_ledger_up 1", `xuncha_findings_open{stage="LISTED"} 0`, "xuncha_calendar_days_left") {
			require.Contains(t, body, want, "admin port %d", p.port)
		}
	}

	cancel()
	// During the server's drain (5s by default) the REST port says it is
	// not ready, and the admin port still serves monitoring: it closed at
	// the signal, and the process went missing from Prometheus meanwhile.
	time.Sleep(300 * time.Millisecond)
	resp, err = http.Get(base + "/readyz")
	require.NoError(t, err, "the REST port serves through the drain")
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	code, body = admin(serverAdmin, "/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = admin(serverAdmin, "/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "xuncha_ledger_up")
	for range 2 {
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("a command did not stop")
		}
	}
	_, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", serverAdmin))
	require.Error(t, err, "the admin port closes once the server has stopped")
}

// startTestIssuer serves xuncha's dev OpenID provider over HTTP until the
// test ends.
func startTestIssuer(t *testing.T) *devissuer.Issuer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	iss, err := devissuer.New(devissuer.Config{Issuer: "http://" + srv.Listener.Addr().String() + "/oidc", Dir: t.TempDir(), Algorithm: "ES256"})
	require.NoError(t, err)
	h, err := iss.Handler()
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/oidc/", h)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return iss
}

// payloadKey is a payload key ring entry with a fresh key.
func payloadKey(t *testing.T, id string) string {
	t.Helper()
	entry, err := payloadcrypt.GenerateEntry(id, payloadcrypt.AES256GCM)
	require.NoError(t, err)
	return entry
}

func TestServerRefusesToStartWithoutIssuer(t *testing.T) {
	t.Setenv("XUNCHA_TIP_KEY", tipcrypt.GenerateKey())
	t.Setenv("XUNCHA_PAYLOAD_KEYS", payloadKey(t, "k1"))
	t.Setenv("XUNCHA_OIDC_ISSUER", "")
	_, err := run(t, "server", "--database-url", "postgres://nobody@127.0.0.1:1/x", "--evidence-dir", t.TempDir())
	require.ErrorContains(t, err, "no OpenID issuer: set XUNCHA_OIDC_ISSUER or --oidc-issuer")
	_, err = run(t, "server", "--database-url", "postgres://nobody@127.0.0.1:1/x", "--evidence-dir", t.TempDir(), "--oidc-issuer", "ftp://sso")
	require.ErrorContains(t, err, "must be an http(s) URL")
}

func TestServerRefusesToStartWithoutTipKey(t *testing.T) {
	t.Setenv("XUNCHA_TIP_KEY", "")
	_, err := run(t, "server", "--database-url", "postgres://nobody@127.0.0.1:1/x", "--evidence-dir", t.TempDir())
	require.ErrorContains(t, err, "openssl rand -base64 32")
	// The worker opens webhook secrets to sign deliveries.
	_, err = run(t, "worker", "--database-url", "postgres://nobody@127.0.0.1:1/x")
	require.ErrorContains(t, err, "openssl rand -base64 32")
}

func TestServerAndWorkerRefuseToStartWithoutPayloadKeys(t *testing.T) {
	t.Setenv("XUNCHA_TIP_KEY", tipcrypt.GenerateKey())
	t.Setenv("XUNCHA_PAYLOAD_KEYS", "")
	t.Setenv("XUNCHA_PAYLOAD_KEY_FILE", "")
	db := []string{"--database-url", "postgres://nobody@127.0.0.1:1/x"}
	for _, cmd := range []string{"server", "worker"} {
		_, err := run(t, append([]string{cmd}, db...)...)
		require.ErrorContains(t, err, "no payload key: set XUNCHA_PAYLOAD_KEYS", cmd)
	}
	file := filepath.Join(t.TempDir(), "payload.keys")
	require.NoError(t, os.WriteFile(file, []byte("# comment\nk2:"+strings.Repeat("A", 12)+"\n"), 0o600))
	_, err := run(t, append([]string{"worker", "--payload-key-file", file}, db...)...)
	require.ErrorContains(t, err, "payload key file "+file+": line 2: key \"k2\": aes-256-gcm keys are 32 bytes, not 9")
	_, err = run(t, append([]string{"worker", "--payload-key-file", file, "--payload-keys", payloadKey(t, "k1")}, db...)...)
	require.ErrorContains(t, err, "give the payload key ring once")
	_, err = run(t, append([]string{"worker", "--payload-keys", "k1:sm4-gcm:" + strings.Repeat("A", 44)}, db...)...)
	require.ErrorContains(t, err, `XUNCHA_PAYLOAD_KEYS / --payload-keys: entry 1: key "k1": sm4-gcm keys are 16 bytes, not 33`)
	_, err = run(t, append([]string{"server", "--payload-keys", payloadKey(t, "k1"), "--codec-cors-origin", "https://ui.example/path",
		"--oidc-issuer", "https://sso.example", "--evidence-dir", t.TempDir()}, db...)...)
	require.ErrorContains(t, err, `XUNCHA_CODEC_CORS_ORIGIN / --codec-cors-origin: "https://ui.example/path" is not an origin`)
}

func TestBadWebhookAllowList(t *testing.T) {
	t.Setenv("XUNCHA_TIP_KEY", tipcrypt.GenerateKey())
	for _, cmd := range []string{"server", "worker"} {
		_, err := run(t, cmd, "--database-url", "postgres://nobody@127.0.0.1:1/x", "--webhook-allow", "10.0.0.0/8,intranet")
		require.ErrorContains(t, err, `--webhook-allow: webhook allow-list entry "intranet" is not a CIDR network`, cmd)
	}
	t.Setenv("XUNCHA_WEBHOOK_ALLOW", "bad entry")
	_, err := run(t, "worker", "--database-url", "postgres://nobody@127.0.0.1:1/x")
	require.ErrorContains(t, err, `XUNCHA_WEBHOOK_ALLOW / --webhook-allow: webhook allow-list entry "bad entry"`)
}

func TestServerAndWorkerRefuseAnUnmigratedLedger(t *testing.T) {
	db := testenv.NewDatabase(t)
	t.Setenv("XUNCHA_TIP_KEY", tipcrypt.GenerateKey())
	t.Setenv("XUNCHA_PAYLOAD_KEYS", payloadKey(t, "k1"))
	issuer := startTestIssuer(t)
	// The owner's URL: the application role does not exist before the
	// first migration, and the owner could connect either way.
	common := []string{"--database-url", db.OwnerURL, "--temporal-address", "127.0.0.1:1", "--admin-addr", "127.0.0.1:0"}
	for _, args := range [][]string{
		{"worker"},
		{"server", "--oidc-issuer", issuer.URL(), "--evidence-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"},
	} {
		_, err := run(t, append(args, common...)...)
		require.ErrorContains(t, err, "the ledger has no schema: run `xuncha migrate`", args[0])
	}
}
