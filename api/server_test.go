package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/authn"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

func TestHealthReadinessAndOpenAPI(t *testing.T) {
	s := setup(t)
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		resp, err := http.Get(s.BaseURL + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Equal(t, want, string(body), path)
	}

	resp, err := http.Get(s.BaseURL + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var doc struct {
		Swagger string                    `json:"swagger"`
		Info    struct{ Title string }    `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
		// SecurityDefinitions and the evidence paths come from the
		// hand-written fragment (api/openapi/handwritten.yaml).
		SecurityDefinitions map[string]struct{ Name, In string } `json:"securityDefinitions"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	require.Equal(t, "2.0", doc.Swagger)
	require.Equal(t, "xuncha API", doc.Info.Title)
	for _, path := range []string{"/v1/inspections", "/v1/inspections/{id}", "/v1/findings/{id}:refer", "/v1/calendar:deadline", "/v1/escalations",
		"/v1/evidence", "/v1/evidence/{id}", "/v1/evidence/{id}/content"} {
		require.Contains(t, doc.Paths, path)
	}
	require.Equal(t, struct{ Name, In string }{"Authorization", "header"}, doc.SecurityDefinitions["bearer"])
}

func TestGRPCHealthAndReflection(t *testing.T) {
	s := setup(t)
	ctx := s.ctx(office)
	health := healthpb.NewHealthClient(s.Conn)
	require.Eventually(t, func() bool {
		got, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: xunchav1.InspectionService_ServiceDesc.ServiceName})
		return err == nil && got.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}, 10*time.Second, 100*time.Millisecond)

	stream, err := reflectionpb.NewServerReflectionClient(s.Conn).ServerReflectionInfo(ctx)
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: ""},
	}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	for _, want := range []string{"xuncha.v1.InspectionService", "xuncha.v1.FindingService", "xuncha.v1.CalendarService",
		"xuncha.v1.EscalationService", "xuncha.v1.WebhookService", "xuncha.v1.InterviewService", "xuncha.v1.ExposureService",
		"xuncha.v1.TipService", "grpc.health.v1.Health"} {
		require.Contains(t, names, want)
	}
}

// TestOneAccessLogLinePerCall checks that a REST call is logged once (by the
// gateway, not again by the gRPC server behind it) and a gRPC call once.
func TestOneAccessLogLinePerCall(t *testing.T) {
	s := setup(t)
	code, _ := s.do("GET", "/v1/inspections/no-such-inspection", &office, nil)
	require.Equal(t, http.StatusNotFound, code)
	_, err := xunchav1.NewInspectionServiceClient(s.Conn).GetInspection(s.ctx(office), &xunchav1.GetInspectionRequest{Id: "no-such-grpc"})
	require.Error(t, err)

	var httpLines, grpcLines int
	for _, e := range s.Logs.All() {
		fields := e.ContextMap()
		switch e.Message {
		case "http":
			if fields["path"] == "/v1/inspections/no-such-inspection" {
				httpLines++
				require.EqualValues(t, http.StatusNotFound, fields["status"])
			}
		case "grpc":
			if strings.HasSuffix(fields["method"].(string), "/GetInspection") {
				grpcLines++
				require.Equal(t, "NotFound", fields["code"])
			}
		}
	}
	require.Equal(t, 1, httpLines, "one line for the REST call")
	require.Equal(t, 1, grpcLines, "one line for the gRPC call, none for the gateway's")
}

// TestInternalErrorsDoNotLeak closes the ledger under the running API: the
// client sees a bare internal error, the log has the cause.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	s := setup(t)
	s.Ledger.Close()
	code, body := s.do("GET", "/v1/inspections", &office, nil)
	require.Equal(t, http.StatusInternalServerError, code, "%v", body)
	require.Equal(t, "internal error", body["message"])
	var logged bool
	for _, e := range s.Logs.FilterMessage("internal error").All() {
		if strings.Contains(e.ContextMap()["error"].(string), "closed pool") {
			logged = true
		}
	}
	require.True(t, logged, "the cause is in the log")
}

// TestDevAnswersThisMachineOnly: with DevIdentity set (xuncha dev), a
// request without a token acts as the office, so a browser must not be
// able to send one for a page elsewhere: a cross-site upload (text/plain,
// no preflight) and a decode from another origin are refused 403, a
// request addressed to another host name (DNS rebinding) 421. A page of
// this machine, and a request with a token, go through. Until 2026-12-01
// all were answered as the office.
func TestDevAnswersThisMachineOnly(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) {
		srv.DevIdentity = &authn.Identity{Subject: "dev-office", Name: "王芳", Organisation: "省安委办", Roles: []string{actor.RoleOffice}}
		srv.CodecCORSOrigins = []string{uiOrigin}
	})
	inspectionID := s.createInspection()
	send := func(method, path, host, origin string, body []byte, token bool) int {
		t.Helper()
		req, err := http.NewRequest(method, s.BaseURL+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/plain")
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if token {
			req.Header.Set("Authorization", s.authorization(office))
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	content := []byte("planted by a web page " + t.Name())
	sum := sha256.Sum256(content)
	upload := "/v1/evidence?" + url.Values{"kind": {"DOCUMENT"}, "sha256": {hex.EncodeToString(sum[:])},
		"captured_at": {"2026-11-20T09:30:00+08:00"}, "file_name": {"note.txt"}}.Encode()
	port := s.BaseURL[strings.LastIndex(s.BaseURL, ":")+1:]

	require.Equal(t, http.StatusForbidden, send("POST", upload, "", "https://evil.example", content, false), "a cross-site upload")
	require.Equal(t, http.StatusForbidden, send("POST", "/codec/decode", "", "https://evil.example", []byte(`{"payloads":[]}`), false), "a cross-origin decode")
	require.Equal(t, http.StatusMisdirectedRequest, send("GET", "/v1/inspections/"+inspectionID, "rebind.evil.example:"+port, "", nil, false), "a rebound name")
	require.Equal(t, http.StatusMisdirectedRequest, send("GET", "/v1/inspections/"+inspectionID, "localhost.evil.example:"+port, "", nil, false))

	require.Equal(t, http.StatusOK, send("GET", "/v1/inspections/"+inspectionID, "localhost:"+port, "", nil, false), "this machine, no token")
	require.Equal(t, http.StatusOK, send("GET", "/v1/inspections/"+inspectionID, "[::1]:"+port, "http://127.0.0.1:8233", nil, false), "a page of this machine")
	require.Equal(t, http.StatusOK, send("POST", upload, "", "https://evil.example", content, true), "with a token, any origin (CORS decides what a browser reads)")
}
