package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/testenv"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// BenchmarkListFindings measures GET /v1/findings through REST and the same
// ListFindings through gRPC against a ledger seeded with
// XUNCHA_BENCH_FINDINGS findings (default 1,000,000; testenv.SeedFindings),
// as the office (the province) and as a unit user (scope in SQL): the first
// page, a deep page and each filter, 50 findings a page. Each sub-benchmark
// reports the median and 99th percentile of its requests (p50-ms, p99-ms);
// the API logs at info level, as in production. Run it with
// `make bench-list` (issue 12 item 2: p99 ≤ 20 ms through REST).
func BenchmarkListFindings(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("XUNCHA_BENCH_FINDINGS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err, "XUNCHA_BENCH_FINDINGS")
	}
	s := setupConfigured(b, func(srv *api.Server, _ string) { srv.Log = zap.NewNop() })
	started := time.Now()
	require.NoError(b, testenv.SeedFindings(b.Context(), s.OwnerURL, n))
	b.Logf("seeded %d findings in %s", n, time.Since(started).Round(time.Second))

	// A page token is the position after a page's last row (ledger/page.go):
	// this one leads 90% of the way into the ledger.
	deep := 9 * n / 10
	token, err := json.Marshal(map[string]any{"t": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(deep) * time.Minute), "i": fmt.Sprintf("f-%d", deep)})
	require.NoError(b, err)
	deepToken := base64.RawURLEncoding.EncodeToString(token)

	findings := xunchav1.NewFindingServiceClient(s.Conn)
	for _, c := range []struct {
		name  string
		query string
		req   *xunchav1.ListFindingsRequest
		who   string // "office" or "unit"
	}{
		{"first-page", "", &xunchav1.ListFindingsRequest{}, "office"},
		{"deep-page", "page_token=" + deepToken, &xunchav1.ListFindingsRequest{PageToken: deepToken}, "office"},
		{"inspection", "inspection_id=ins-17", &xunchav1.ListFindingsRequest{InspectionId: "ins-17"}, "office"},
		{"unit", "unit_code=430107", &xunchav1.ListFindingsRequest{UnitCode: "430107"}, "office"},
		{"stage", "stage=REFERRED", &xunchav1.ListFindingsRequest{Stage: xunchav1.Finding_REFERRED}, "office"},
		{"kind", "kind=VIOLATION_CLUE", &xunchav1.ListFindingsRequest{Kind: xunchav1.Finding_VIOLATION_CLUE}, "office"},
		{"severity", "severity=MAJOR", &xunchav1.ListFindingsRequest{Severity: xunchav1.Finding_MAJOR}, "office"},
		{"overdue", "overdue=true", &xunchav1.ListFindingsRequest{Overdue: "true"}, "office"},
		{"unit-scope", "", &xunchav1.ListFindingsRequest{}, "unit"},
		{"unit-scope-deep", "page_token=" + deepToken, &xunchav1.ListFindingsRequest{PageToken: deepToken}, "unit"},
	} {
		who := office
		if c.who == "unit" {
			who = unit
		}
		authorization := s.authorization(who)
		b.Run(c.name+"/REST", func(b *testing.B) {
			req, err := http.NewRequest(http.MethodGet, s.BaseURL+"/v1/findings?"+c.query, nil)
			require.NoError(b, err)
			req.Header.Set("Authorization", authorization)
			latencies(b, func() {
				resp, err := http.DefaultClient.Do(req)
				require.NoError(b, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				require.Equal(b, http.StatusOK, resp.StatusCode)
			})
		})
		b.Run(c.name+"/gRPC", func(b *testing.B) {
			ctx := s.ctx(who)
			latencies(b, func() {
				out, err := findings.ListFindings(ctx, c.req)
				require.NoError(b, err)
				require.NotEmpty(b, out.GetFindings())
			})
		})
	}
}

// latencies runs call b.N times and reports the median and the 99th
// percentile in milliseconds.
func latencies(b *testing.B, call func()) {
	b.Helper()
	call() // warm: connections, statement cache
	took := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		call()
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[min(len(took)-1, int(q*float64(len(took))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
