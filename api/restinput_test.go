package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/childproc"
	"github.com/xuncha/xuncha/internal/testenv"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// send sends a raw REST request as office and returns the status, the
// headers and the decoded JSON answer.
func (s *stack) send(method, path, contentType string, body io.Reader) (int, http.Header, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.BaseURL+path, body)
	require.NoError(s.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", s.authorization(office))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	out := map[string]any{}
	require.NoError(s.t, json.Unmarshal(data, &out), "%s", data)
	return resp.StatusCode, resp.Header, out
}

// violations maps each BadRequest field of a REST error body to its rule.
func violations(body map[string]any) map[string]string {
	out := map[string]string{}
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		for _, fv := range fvs {
			m := fv.(map[string]any)
			out[fmt.Sprint(m["field"])] = fmt.Sprint(m["description"])
		}
	}
	return out
}

// TestRESTParseErrors checks that a request the gateway cannot decode gets
// 400 with field violations in the API's own field names and rules, never
// the JSON parser's text.
func TestRESTParseErrors(t *testing.T) {
	s := setup(t)
	for _, tc := range []struct {
		name, method, path, body string
		field, rule              string
	}{
		{"malformed JSON", "POST", "/v1/inspections", `{"request_id": "a",`, "", "the request body is not valid JSON (it ends too early)"},
		{"syntax error", "POST", "/v1/inspections", `{"request_id" "a"}`, "", "the request body is not valid JSON (syntax error at byte 15)"},
		{"not an object", "POST", "/v1/inspections", `["a"]`, "", "the request body must be a JSON object"},
		{"unknown enum value", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"kind":"ROUTINE"}}`,
			"inspection.kind", `unknown value "ROUTINE": must be one of COMPREHENSIVE, SPECIAL, FOLLOW_UP`},
		{"unknown field", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"colour":"red"}}`, "inspection.colour", "unknown field"},
		{"number for a string", "POST", "/v1/inspections", `{"request_id":7}`, "request_id", "must be a string"},
		{"camelCase key, wrong type", "POST", "/v1/inspections", `{"requestId":"a","inspection":{"plannedStart":20261201}}`,
			"inspection.planned_start", "must be a string"},
		{"list element", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"team":[{"name":"甲"},{"name":["乙"]}]}}`,
			"inspection.team[1].name", "must be a string"},
		{"map value", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"records":{"k":1}}}`,
			`inspection.records["k"]`, "must be a string"},
		{"bool", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"team_approved":"yes"}}`,
			"inspection.team_approved", "must be true or false"},
		{"timestamp", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"create_time":"yesterday"}}`,
			"inspection.create_time", "must be an instant in RFC 3339"},
		{"object for a list", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"content_areas":{"a":1}}}`,
			"inspection.content_areas", "must be an array"},
		{"integer out of range", "POST", "/v1/inspections", `{"request_id":"a","inspection":{"content_areas":[1e12]}}`,
			"inspection.content_areas[0]", "must be an integer from -2147483648 to 2147483647"},
		{"query enum", "GET", "/v1/inspections?stage=BOGUS", "", "stage", `unknown value "BOGUS": must be one of`},
		{"query integer", "GET", "/v1/inspections?page_size=many", "", "page_size", "must be an integer"},
		{"path integer", "GET", "/v1/calendar/next", "", "year", "must be an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			code, _, answer := s.send(tc.method, tc.path, "application/json", body)
			require.Equal(t, http.StatusBadRequest, code, "%v", answer)
			got := violations(answer)
			require.Contains(t, got, tc.field, "%v", answer)
			require.Contains(t, got[tc.field], tc.rule)
			msg := fmt.Sprint(answer["message"])
			for _, parserText := range []string{"proto:", "syntax error (line", "invalid value for", "unexpected token", "json:", "type mismatch"} {
				require.NotContains(t, msg, parserText)
			}
		})
	}

	t.Run("every violation is reported", func(t *testing.T) {
		_, _, answer := s.send("POST", "/v1/inspections", "application/json",
			strings.NewReader(`{"request_id":1,"inspection":{"kind":"X","stage":"NOWHERE"}}`))
		require.Equal(t, []string{"inspection.kind", "inspection.stage", "request_id"}, fieldViolations(answer))
		require.NotContains(t, violations(answer)["inspection.stage"], "STAGE_UNSPECIFIED", "the zero value is not offered")
	})
	t.Run("a valid body passes the gateway", func(t *testing.T) {
		// The domain rules answer: the gateway read the request.
		code, _, answer := s.send("POST", "/v1/inspections", "application/json; charset=UTF-8", strings.NewReader(`{"request_id":"a","inspection":{}}`))
		require.Equal(t, http.StatusBadRequest, code, "%v", answer)
		require.Contains(t, violations(answer), "inspection.unit.code", "%v", answer)
	})
}

// TestRESTContentTypeAndSize checks 415 for a body that is not JSON and 413
// (never 429) for a body over the limit, on REST and gRPC.
func TestRESTContentTypeAndSize(t *testing.T) {
	s := setup(t)
	body := `{"request_id":"ct","inspection":{}}`
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin1", "application/json;;"} {
		t.Run("415 for "+ct, func(t *testing.T) {
			code, _, answer := s.send("POST", "/v1/inspections", ct, strings.NewReader(body))
			require.Equal(t, http.StatusUnsupportedMediaType, code, "%v", answer)
			require.Contains(t, violations(answer)["Content-Type"], "must be application/json")
		})
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		t.Run("accepted: "+ct, func(t *testing.T) {
			code, _, answer := s.send("POST", "/v1/inspections", ct, strings.NewReader(body))
			require.Equal(t, http.StatusBadRequest, code, "the domain rules answer: %v", answer)
			require.Contains(t, violations(answer), "inspection.unit.code")
		})
	}
	t.Run("a body-less GET needs no Content-Type", func(t *testing.T) {
		code, _, answer := s.send("GET", "/v1/inspections", "", nil)
		require.Equal(t, http.StatusOK, code, "%v", answer)
	})

	big := `{"request_id":"big","inspection":{"round":"` + strings.Repeat("x", api.MaxRequestBytes) + `"}}`
	t.Run("413 with Content-Length", func(t *testing.T) {
		code, _, answer := s.send("POST", "/v1/inspections", "application/json", strings.NewReader(big))
		require.Equal(t, http.StatusRequestEntityTooLarge, code, "%v", answer)
		require.Contains(t, answer["message"], fmt.Sprintf("limit of %d bytes", api.MaxRequestBytes))
		require.NotContains(t, answer["message"], "grpc:")
	})
	t.Run("413 when chunked", func(t *testing.T) {
		// io.MultiReader hides the length: the body is sent chunked and the
		// limit is found while reading.
		code, _, answer := s.send("POST", "/v1/inspections", "application/json", io.MultiReader(strings.NewReader(big)))
		require.Equal(t, http.StatusRequestEntityTooLarge, code, "%v", answer)
		require.Contains(t, answer["message"], fmt.Sprintf("limit of %d bytes", api.MaxRequestBytes))
	})
	t.Run("just under the limit is read", func(t *testing.T) {
		pad := api.MaxRequestBytes - len(`{"request_id":"big","inspection":{"round":""}}`)
		code, _, answer := s.send("POST", "/v1/inspections", "application/json",
			strings.NewReader(`{"request_id":"big","inspection":{"round":"`+strings.Repeat("x", pad)+`"}}`))
		require.Equal(t, http.StatusBadRequest, code, "%v", answer)
		require.Contains(t, violations(answer), "inspection.round", "read whole, then refused by the input boundary")
	})
	t.Run("RESOURCE_EXHAUSTED on gRPC", func(t *testing.T) {
		c := xunchav1.NewInspectionServiceClient(s.Conn)
		_, err := c.CreateInspection(s.ctx(office), &xunchav1.CreateInspectionRequest{
			RequestId: "big", Inspection: &xunchav1.Inspection{Round: strings.Repeat("x", api.MaxRequestBytes)},
		})
		require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	})
	t.Run("evidence has its own limit and content types", func(t *testing.T) {
		code, answer := s.uploadAs(&office, "DOCUMENT", "text/plain; charset=utf-8", bytes.Repeat([]byte("证据"), api.MaxRequestBytes/4), nil)
		require.Equal(t, http.StatusOK, code, "%v", answer)
	})
}

// TestRequestTimeoutWithoutWorker checks that a change waiting for a worker
// that is not running ends with 503 and Retry-After soon after the
// configured timeout, and that the same request succeeds once it runs.
func TestRequestTimeoutWithoutWorker(t *testing.T) {
	const timeout = 2 * time.Second
	s := setupConfigured(t, func(srv *api.Server, _ string) { srv.RequestTimeout = timeout })
	s.StopWorker()

	body, err := json.Marshal(inspectionBody(rid(t, "create")))
	require.NoError(t, err)
	started := time.Now()
	code, header, answer := s.send("POST", "/v1/inspections", "application/json", bytes.NewReader(body))
	took := time.Since(started)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", answer)
	require.Equal(t, "2", header.Get("Retry-After"))
	require.Contains(t, answer["message"], "same request_id")
	require.GreaterOrEqual(t, took, timeout)
	require.Less(t, took, timeout+3*time.Second, "the answer comes about when the timeout ends")

	t.Run("gRPC", func(t *testing.T) {
		var hdr metadata.MD
		c := xunchav1.NewInspectionServiceClient(s.Conn)
		started := time.Now()
		_, err := c.CreateInspection(s.ctx(office), &xunchav1.CreateInspectionRequest{
			RequestId: rid(t, "grpc"), Inspection: &xunchav1.Inspection{
				Unit: &xunchav1.Unit{Code: "430100", Name: "长沙市"}, Kind: xunchav1.Inspection_SPECIAL,
				PlannedStart: "2026-12-01", PlannedEnd: "2026-12-15", ContentAreas: []int32{1},
				Team: []*xunchav1.TeamMember{
					{Name: "赵强", Role: "LEADER", Rank: "INSPECTOR_LEVEL_2"},
					{Name: "钱敏", Role: "DEPUTY", Rank: "DIVISION_CHIEF"},
					{Name: "孙伟", Role: "MEMBER", Rank: "OTHER"},
					{Name: "李娜", Role: "MEMBER", Rank: "OTHER"},
					{Name: "周杰", Role: "MEMBER", Rank: "OTHER"},
					{Name: "吴刚", Role: "EXPERT", Rank: "OTHER"},
				},
			},
		}, grpc.Header(&hdr))
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.Less(t, time.Since(started), timeout+3*time.Second)
		require.Equal(t, []string{"2"}, hdr.Get(api.RetryAfterHeader))
	})

	// Retrying the same request, as Retry-After says, once a worker runs
	// creates the inspection, once. The first retries may still time out
	// while the worker picks up the waiting workflow.
	s.StartWorker()
	var created map[string]any
	for attempt := 1; ; attempt++ {
		code, header, created = s.send("POST", "/v1/inspections", "application/json", bytes.NewReader(body))
		if code != http.StatusServiceUnavailable || attempt == 10 {
			break
		}
		require.Equal(t, "2", header.Get("Retry-After"))
	}
	require.Equal(t, http.StatusOK, code, "%v", created)
	require.Equal(t, "PLANNED", created["stage"])
	code, _, again := s.send("POST", "/v1/inspections", "application/json", bytes.NewReader(body))
	require.Equal(t, http.StatusOK, code, "%v", again)
	require.Equal(t, created["id"], again["id"])
}

// TestRequestTimeoutWithoutTemporal checks the same bound when the API cannot
// reach Temporal at all: the change fails with 503 within about the timeout
// instead of waiting for Temporal to come back.
func TestRequestTimeoutWithoutTemporal(t *testing.T) {
	const timeout = 2 * time.Second
	port, err := childproc.FreePort() // nothing listens there
	require.NoError(t, err)
	unreachable, err := client.NewLazyClient(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", port), Namespace: testenv.Namespace})
	require.NoError(t, err)
	t.Cleanup(unreachable.Close)
	s := setupConfigured(t, func(srv *api.Server, _ string) {
		srv.RequestTimeout = timeout
		srv.Temporal = unreachable
	})

	body, err := json.Marshal(inspectionBody(rid(t, "create")))
	require.NoError(t, err)
	started := time.Now()
	code, header, answer := s.send("POST", "/v1/inspections", "application/json", bytes.NewReader(body))
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", answer)
	require.Less(t, time.Since(started), timeout+3*time.Second)
	require.Equal(t, "2", header.Get("Retry-After"), "%v", answer)
}

// TestUnknownQueryParametersAreRefused: a query parameter that is no field
// of the request is refused by name, and nothing is read or changed; the
// gateway alone would drop it, so a misspelt filter answered with the
// whole unfiltered list and a misspelt page size with the default.
func TestUnknownQueryParametersAreRefused(t *testing.T) {
	s := setup(t)
	id := s.createInspection()
	code, body := s.do("GET", "/v1/inspections?unit_cod=999999&page_szie=1", &office, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Equal(t, "is not a parameter of this request: check its name against /openapi.json", violationRule(body, "unit_cod"))
	require.NotEmpty(t, violationRule(body, "page_szie"))
	require.NotContains(t, fmt.Sprint(body), id, "nothing listed")

	// Fields, nested ones too, and the path's own parameter pass.
	code, body = s.do("GET", "/v1/inspections?unit_code=430100&page_size=1", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	code, body = s.do("GET", "/v1/inspections/"+id+"?id="+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	// A change with a stray parameter changes nothing.
	code, body = s.do("POST", "/v1/inspections/"+id+":cancel?force=true", &office, map[string]any{"request_id": rid(t, "cancel"), "reason": "测试"})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	code, body = s.do("GET", "/v1/inspections/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "STATIONED", body["stage"])
	// Bytes that are no text are named without breaking the answer.
	code, body = s.do("GET", "/v1/inspections?%ff=1", &office, nil)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
}
