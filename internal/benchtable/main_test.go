package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The logs' lines as the benchmarks print them (abridged).
const (
	lifecycleLog = `load: 0.50 1.20 2.00
clients  kind     lifecycles     median        p90
ratio finding/bare at 1 client(s): 2.45× (median of per-round ratios 3.54 2.45 2.26 2.67 1.59; target ≤ 1.5×: NOT met)
ratio finding/bare at 8 client(s): 1.40× (median of per-round ratios 1.67 1.40 1.20 1.30 1.05; target ≤ 1.5×: met)
history events per lifecycle, bare: 32   [bench-bare/bare-c1-r4-0; its own history, webhook-delivery workflows not counted]
history events per lifecycle, finding: 52 (target ≤ 45: NOT met)   [finding/f-1; its own history, webhook-delivery workflows not counted]
load: 1.50 1.30 2.00
`
	listLog = `load: 0.10 0.20 0.30
BenchmarkListFindings/first-page/REST-2         	     500	   2145927 ns/op	         1.803 p50-ms	         5.204 p99-ms
BenchmarkListFindings/first-page/gRPC-2         	     500	   1176046 ns/op	         0.8830 p50-ms	         3.667 p99-ms
BenchmarkListFindings/unit-scope-deep/REST-2    	     500	   2833780 ns/op	         2.302 p50-ms	         8.151 p99-ms
BenchmarkListFindings/unit-scope-deep/gRPC-2    	     500	   1416738 ns/op	         1.195 p50-ms	         4.193 p99-ms
PASS
`
	herdLog = `    herd_test.go:160: midnight herd: 10000 findings due at 2026-11-30 06:00:00 +0000 UTC; seen by a ledger poll every 200ms, times after the instant:
          timer fired (fired_at)      10000  p50    31.2s  p99   60.1s  max    61.0s
          escalation row              10000  p50    31.4s  p99   60.3s  max    61.2s
          overdue flag                10000  p50    31.4s  p99   60.3s  max    61.2s
          queued webhook              10000  p50    31.5s  p99   60.4s  max    61.3s
          all three, per finding      10000  p50    31.5s  p99   60.4s  max    61.3s
          lost: escalation rows 10000/10000, overdue flags 10000/10000, queued webhooks 10000/10000; target 2m0s: met; webhooks delivered to the receiver by then: 9000
          CPU used over 1m2s, 120.0 s of the 2 cores' 124 s: temporal-server 80.0 s (67%), postgres 30.0 s (25%), xuncha worker 8.0 s (7%), cluster.test 1.5 s (1%), others 0.5 s
`
)

func TestTable(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"lifecycle.log": lifecycleLog, "list.log": listLog, "herd.log": herdLog} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600))
	}
	tab, err := read(dir)
	require.NoError(t, err)
	var b strings.Builder
	tab.print(&b)
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"finding/bare, 1 client(s)", "2.45×", "finding/bare, 8 client(s)", "1.40×",
		"history events per finding", "52",
		"worst p99 through REST of 2 cases (unit-scope-deep)", "8.2 ms",
		"worst p99 through gRPC of 2 cases (unit-scope-deep)", "4.2 ms",
		"REST/gRPC, median of the cases' p50 ratios",
		"herd (10000)", "all three, per finding", "p50 31.5s  p99 60.4s  max 61.3s", "all ≤ 120 s",
		"rows 10000/10000, flags 10000/10000, webhooks 10000/10000",
		"CPU by process, 1m2s, 120.0 s of the 2 cores' 124 s", "temporal-server 80.0 s (67%), postgres 30.0 s (25%), xuncha worker 8.0 s (7%), cluster.test 1.5 s (1%), …",
		"lifecycle  0.50 1.20 2.00 → 1.50 1.30 2.00", "list       0.10 0.20 0.30", "herd       ?",
	} {
		require.Contains(t, out, want)
	}
	verdicts := map[string]string{}
	for _, r := range tab.rows {
		verdicts[r.figure] = r.verdict
	}
	require.Equal(t, "NOT met", verdicts["finding/bare, 1 client(s)"])
	require.Equal(t, "met", verdicts["finding/bare, 8 client(s)"])
	require.Equal(t, "NOT met", verdicts["history events per finding"])
	require.Equal(t, "met", verdicts["worst p99 through REST of 2 cases (unit-scope-deep)"])
	require.Equal(t, "met", verdicts["all three, per finding"])
}

// TestMissingFigures: a log that is missing or holds no figure says so and
// counts as not met; nothing is guessed.
func TestMissingFigures(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "herd.log"), []byte("--- FAIL: TestMidnightHerd\n"), 0o600))
	tab, err := read(dir)
	require.NoError(t, err)
	require.Len(t, tab.rows, 4)
	for _, r := range tab.rows {
		require.Equal(t, "missing (see its log)", r.value, r.figure)
		require.Equal(t, "NOT met", r.verdict, r.figure)
	}
}
