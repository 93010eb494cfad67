package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

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
