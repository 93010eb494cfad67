package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"golang.org/x/sync/errgroup"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/devissuer"
	"github.com/xuncha/xuncha/internal/searchattr"
	"github.com/xuncha/xuncha/workflows"
)

const (
	// defaultLifecycles is how many finding lifecycles TestChaos drives
	// unless XUNCHA_CHAOS_LIFECYCLES says otherwise.
	defaultLifecycles = 200
	// chaosClients drive lifecycles concurrently, one inspection each.
	chaosClients = 6
	// stepPatience is how long a client keeps retrying one change before
	// the lifecycle counts as stuck.
	stepPatience = 4 * time.Minute
)

// fault is one thing the chaos loop does to the cluster.
type fault struct {
	name string
	do   func(ctx context.Context) error
}

// TestChaos drives finding lifecycles (record, diagnose, classify, refer,
// reportRectification, verify: LISTED to CLOSED) from concurrent clients
// while faults hit the cluster: SIGKILL of each worker, each API process,
// both of each at once, and the Temporal server, and restarts of
// PostgreSQL. A client retries a failed change with the same request_id,
// against the other API process, as an office system behind a load
// balancer would. Then every lifecycle must have reached CLOSED exactly
// once, no workflow may be stuck, and the ledger and Temporal must agree on
// every stage.
func TestChaos(t *testing.T) {
	e := environment(t)
	n := defaultLifecycles
	if v := os.Getenv("XUNCHA_CHAOS_LIFECYCLES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "XUNCHA_CHAOS_LIFECYCLES")
	}
	r := newREST(e)
	ctx := t.Context()
	started := time.Now()

	// Before the faults: one inspection on site per client, and evidence.
	inspections := make([]string, chaosClients)
	for i := range inspections {
		created := r.must(t, http.MethodPost, "/v1/inspections", office, inspectionBody(fmt.Sprintf("chaos-plan-%d", i), "SPECIAL"))
		inspections[i] = created["id"].(string)
		for _, s := range stationSteps(fmt.Sprintf("chaos-%d-", i)) {
			r.step(t, "/v1/inspections/"+inspections[i], s.action, s.who, s.body, s.stage)
		}
	}
	found, err := r.evidence(ctx, "巡查现场记录（chaos）")
	require.NoError(t, err)
	fixed, err := r.evidenceAs(ctx, unitUser, "整改照片（chaos）")
	require.NoError(t, err)

	faults := []fault{
		{"SIGKILL worker-1", func(context.Context) error { return e.workers[0].kill() }},
		{"SIGKILL api-1", func(context.Context) error { return e.servers[0].kill() }},
		{"SIGKILL temporal-server", e.restartTemporal},
		{"restart PostgreSQL", e.restartPostgres},
		{"SIGKILL worker-2", func(context.Context) error { return e.workers[1].kill() }},
		{"SIGKILL api-2", func(context.Context) error { return e.servers[1].kill() }},
		{"SIGKILL both workers", func(context.Context) error { return errors.Join(e.workers[0].kill(), e.workers[1].kill()) }},
		{"SIGKILL temporal-server", e.restartTemporal},
		{"restart PostgreSQL", e.restartPostgres},
		{"SIGKILL both API processes", func(context.Context) error { return errors.Join(e.servers[0].kill(), e.servers[1].kill()) }},
	}

	stats := &chaosStats{causes: map[string]int{}}
	lifecycles := make([]lifecycle, n)
	var done atomic.Int64
	work := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	for range chaosClients {
		g.Go(func() error {
			for i := range work {
				lc := &lifecycles[i]
				lc.requestID = fmt.Sprintf("chaos-%d-record", i)
				lc.err = drive(gctx, r, stats, lc, inspections[i%chaosClients], fmt.Sprintf("chaos-%d-", i), found, fixed)
				done.Add(1)
			}
			return nil
		})
	}
	// Faults fire as the lifecycles progress, so that each hits lifecycles
	// in flight however fast the machine is; each waits for the one before
	// to be recovered from (a restarted Temporal server answers).
	var faultLog, faultErrs []string
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		for k, f := range faults {
			mark := int64((k + 1) * n / (len(faults) + 2))
			for done.Load() < mark {
				select {
				case <-gctx.Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			at := time.Since(started)
			err := f.do(gctx)
			line := fmt.Sprintf("%s at %s after %d/%d lifecycles (took %s)", f.name, at.Round(100*time.Millisecond), done.Load(), n,
				(time.Since(started) - at).Round(100*time.Millisecond))
			if err != nil {
				line += fmt.Sprintf(", failed: %v", err)
				faultErrs = append(faultErrs, line)
			}
			faultLog = append(faultLog, line)
		}
	}()
	for i := range n {
		work <- i
	}
	close(work)
	require.NoError(t, g.Wait())
	<-chaosDone
	driven := time.Since(started)
	t.Logf("faults:\n  %s", strings.Join(faultLog, "\n  "))
	require.Len(t, faultLog, len(faults), "every fault fired")
	require.Empty(t, faultErrs, "every fault and its recovery worked")
	var lost []string
	for i, lc := range lifecycles {
		if lc.err != nil {
			lost = append(lost, fmt.Sprintf("lifecycle %d (%s): %v", i, lc.findingID, lc.err))
		}
	}
	require.Empty(t, lost, "every lifecycle reached CLOSED")
	for cause, count := range stats.causes {
		code, err := strconv.Atoi(cause)
		require.False(t, err == nil && code != http.StatusServiceUnavailable,
			"a fault is answered 503 (or cuts the connection), never %d (%d times): see the API processes' logs", code, count)
	}

	// The cluster is whole again.
	for _, s := range e.services() {
		require.NoError(t, s.awaitReady(ctx))
	}

	checkLedger(t, e, lifecycles)
	checkTemporal(t, e, lifecycles, inspections)

	// The figures.
	var procs []string
	for _, s := range e.services() {
		starts, kills, unexpected := s.stats()
		line := fmt.Sprintf("%s: %d starts, %d SIGKILLs", s.name, starts, kills)
		if len(unexpected) > 0 {
			line += fmt.Sprintf(", %d exits on its own (restarted): %s", len(unexpected), strings.Join(unexpected, "; "))
		}
		procs = append(procs, line)
	}
	stats.mu.Lock()
	defer stats.mu.Unlock()
	causes := slices.Sorted(maps.Keys(stats.causes))
	var causeList []string
	for _, c := range causes {
		causeList = append(causeList, fmt.Sprintf("%s ×%d", c, stats.causes[c]))
	}
	t.Logf("chaos: %d lifecycles (%d changes) CLOSED exactly once in %s by %d clients; %d requests, %d retries (%s); slowest change %s; %d faults; processes: %s",
		n, n*6, driven.Round(time.Second), chaosClients, stats.attempts, stats.attempts-int64(n*6), strings.Join(causeList, ", "),
		stats.slowest.Round(100*time.Millisecond), len(faults), strings.Join(procs, "; "))
}

// lifecycle is one finding's lifecycle as its client saw it.
type lifecycle struct {
	requestID string // of the record
	findingID string
	err       error
}

// chaosStats are the clients' figures.
type chaosStats struct {
	mu       sync.Mutex
	attempts int64
	causes   map[string]int // why attempts were retried
	slowest  time.Duration  // one change, retries included
}

// drive runs one lifecycle, each change retried until it answers.
func drive(ctx context.Context, r *rest, stats *chaosStats, lc *lifecycle, inspectionID, prefix, found, fixed string) error {
	f, err := retrying(ctx, r, stats, "/v1/inspections/"+inspectionID+"/findings", member, findingBody(prefix+"record", "GENERAL", found), "LISTED")
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	lc.findingID = f["id"].(string)
	for _, s := range findingSteps(prefix, fixed) {
		if _, err := retrying(ctx, r, stats, "/v1/findings/"+lc.findingID+":"+s.action, s.who, s.body, s.stage); err != nil {
			return fmt.Errorf("%s: %w", s.action, err)
		}
	}
	return nil
}

// retrying posts body until an answer comes: a network error, a timeout or
// a 5xx is retried with the same body (so the same request_id), after a
// short backoff; any other answer is final and must be 200 with stage.
func retrying(ctx context.Context, r *rest, stats *chaosStats, path string, who devissuer.User, body map[string]any, stage string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, stepPatience)
	defer cancel()
	began := time.Now()
	backoff := 200 * time.Millisecond
	for {
		code, out, err := r.do(ctx, http.MethodPost, path, who, body)
		stats.mu.Lock()
		stats.attempts++
		cause := ""
		switch {
		case err != nil:
			cause = errorCause(err)
		case code >= 500 || code == http.StatusTooManyRequests:
			cause = strconv.Itoa(code)
		}
		if cause != "" {
			stats.causes[cause]++
		} else if took := time.Since(began); took > stats.slowest {
			stats.slowest = took
		}
		stats.mu.Unlock()
		switch {
		case cause == "" && code == http.StatusOK && out["stage"] == stage:
			return out, nil
		case cause == "":
			return nil, fmt.Errorf("answered %d %v, want stage %s", code, out, stage)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("still failing after %s (last: %s %v): stuck", stepPatience, cause, out)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// errorCause names a transport error for the figures.
func errorCause(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "client timeout"
	case strings.Contains(err.Error(), "EOF"):
		return "connection closed"
	}
	return "transport error"
}

// checkLedger checks the ledger: one finding row per lifecycle, CLOSED, and
// each change recorded exactly once, in order.
func checkLedger(t *testing.T, e *env, lifecycles []lifecycle) {
	t.Helper()
	ctx := t.Context()
	conn := ledgerConn(t, e)
	rows, err := conn.Query(ctx, `SELECT request_id, id, stage, reopen_count FROM findings WHERE request_id LIKE 'chaos-%'`)
	require.NoError(t, err)
	type row struct {
		id, stage string
		reopened  int
	}
	byRequest := map[string][]row{}
	for rows.Next() {
		var requestID string
		var r row
		require.NoError(t, rows.Scan(&requestID, &r.id, &r.stage, &r.reopened))
		byRequest[requestID] = append(byRequest[requestID], r)
	}
	require.NoError(t, rows.Err())
	require.Len(t, byRequest, len(lifecycles), "one finding per lifecycle, no more")
	ids := make([]string, 0, len(lifecycles))
	for _, lc := range lifecycles {
		got := byRequest[lc.requestID]
		require.Len(t, got, 1, "%s: one finding row", lc.requestID)
		require.Equal(t, lc.findingID, got[0].id, "%s: the finding its client was answered", lc.requestID)
		require.Equal(t, "CLOSED", got[0].stage, lc.findingID)
		require.Zero(t, got[0].reopened, lc.findingID)
		ids = append(ids, lc.findingID)
	}

	rows, err = conn.Query(ctx, `SELECT subject_id, action, stage_after FROM events
		WHERE subject_type = $1 AND subject_id = ANY($2) ORDER BY subject_id, id`, casework.SubjectFinding, ids)
	require.NoError(t, err)
	actions := map[string][]string{}
	last := map[string]string{}
	for rows.Next() {
		var id, action, stageAfter string
		require.NoError(t, rows.Scan(&id, &action, &stageAfter))
		actions[id] = append(actions[id], action)
		if stageAfter != "" {
			last[id] = stageAfter
		}
	}
	require.NoError(t, rows.Err())
	want := []string{"record", "list", "diagnose", "classify", "refer", "reportRectification", "verify"}
	for _, id := range ids {
		require.Equal(t, want, actions[id], "%s: each change recorded once, in order", id)
		require.Equal(t, "CLOSED", last[id], "%s: the last event's stage", id)
	}
}

// checkTemporal checks Temporal against the ledger: every finding workflow
// completed with the ledger's stage (search attribute and result); each
// inspection runs at its ledger stage with nothing pending; and no other
// workflow runs.
func checkTemporal(t *testing.T, e *env, lifecycles []lifecycle, inspections []string) {
	t.Helper()
	ctx := t.Context()
	conn := ledgerConn(t, e)
	for i, lc := range lifecycles {
		requireCompletedAt(t, e, workflows.FindingWorkflowID(lc.findingID), "CLOSED")
		stages := requireStagesAgree(t, e, conn, casework.SubjectFinding, lc.findingID, workflows.FindingWorkflowID(lc.findingID))
		if i == 0 {
			t.Logf("ledger and Temporal agree on every stage, e.g. %s: %s", lc.findingID, strings.Join(stages, " → "))
		}
	}
	open := map[string]bool{}
	for _, id := range inspections {
		var stage string
		require.NoError(t, conn.QueryRow(ctx, `SELECT stage FROM inspections WHERE id = $1`, id).Scan(&stage))
		wid := workflows.InspectionWorkflowID(id)
		open[wid] = true
		require.Eventually(t, func() bool {
			desc, err := e.describe(ctx, wid)
			if err != nil {
				return false
			}
			var attr string
			if p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[searchattr.Stage.GetName()]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &attr)
			}
			return desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING &&
				attr == stage && len(desc.GetPendingActivities()) == 0
		}, time.Minute, 250*time.Millisecond, "%s runs at the ledger's stage %s with no activity pending", wid, stage)
		requireStagesAgree(t, e, conn, casework.SubjectInspection, id, wid)
	}
	// SQL visibility lists what runs (it catches up within seconds).
	var running []string
	require.Eventually(t, func() bool {
		running = running[:0]
		var token []byte
		for {
			resp, err := e.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: namespace, Query: "ExecutionStatus = 'Running'", NextPageToken: token})
			if err != nil {
				return false
			}
			for _, ex := range resp.GetExecutions() {
				running = append(running, ex.GetExecution().GetWorkflowId())
			}
			if token = resp.GetNextPageToken(); len(token) == 0 {
				break
			}
		}
		sort.Strings(running)
		return len(running) == len(open) && !slices.ContainsFunc(running, func(id string) bool { return !open[id] })
	}, time.Minute, 500*time.Millisecond, "only the inspections run")
}
