package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/api"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// queryLog records the SQL a Store's connections run.
type queryLog struct {
	mu      sync.Mutex
	queries []string
	// api is the API whose ledger is traced (setupTraced).
	api *api.Server
}

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, strings.Join(strings.Fields(data.SQL), " "))
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take returns the queries recorded since the last take.
func (l *queryLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries
	l.queries = nil
	return q
}

// setupTraced is setup with the API's ledger connections traced into the
// log it returns (the worker has its own), and the API's Updates to
// Temporal noted in it too ("Temporal UpdateWorkflow").
func setupTraced(t *testing.T) (*stack, *queryLog) {
	log := &queryLog{}
	s := setupConfigured(t, func(srv *api.Server, databaseURL string) {
		traced, err := ledger.Open(context.Background(), databaseURL, ledger.WithTracer(log))
		require.NoError(t, err)
		t.Cleanup(traced.Close)
		traced.Secrets = srv.Ledger.Secrets
		srv.Ledger = traced
		srv.Temporal = notedUpdates{Client: srv.Temporal, log: log}
		log.api = srv
	})
	return s, log
}

// notedUpdates notes each Update the API sends in the query log.
type notedUpdates struct {
	client.Client
	log *queryLog
}

func (n notedUpdates) UpdateWorkflow(ctx context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	n.log.mu.Lock()
	n.log.queries = append(n.log.queries, "Temporal UpdateWorkflow "+opts.UpdateName)
	n.log.mu.Unlock()
	return n.Client.UpdateWorkflow(ctx, opts)
}

// TestChangeReadsNoLedgerBeforeTheUpdate sends changes through an API whose
// ledger connections are traced (the worker has its own) and whose Updates
// are noted: the workflow ID derives from the resource's ID, so a change
// reads nothing first but its scope, and its request_id is vouched for by
// the Update's answer (the fingerprint it echoes) and, once the history is
// gone, by the change's event, which keeps the fingerprint: nothing is
// written before the Update or after it. An office change runs no
// statement at all; a team member's reads its position on the team of the
// finding's inspection, which is its reach (one SELECT). The change that
// ends the workflow is no different.
func TestChangeReadsNoLedgerBeforeTheUpdate(t *testing.T) {
	s, log := setupTraced(t)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)

	for _, c := range []struct {
		action string
		who    actor.Actor
		body   map[string]any
		stage  string
		want   []string // the statements' beginnings, and the Update
	}{
		{"diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED", []string{
			"SELECT coalesce(( SELECT m->>'role' FROM inspections i", "Temporal UpdateWorkflow diagnose"}},
		{"classify", office, classification(rid(t, "classify")), "CLASSIFIED", []string{"Temporal UpdateWorkflow classify"}},
		{"withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "重复登记"}, "WITHDRAWN",
			[]string{"Temporal UpdateWorkflow withdraw"}},
	} {
		log.take()
		code, body := s.do("POST", "/v1/findings/"+id+":"+c.action, &c.who, c.body)
		require.Equal(t, http.StatusOK, code, "%v", body)
		require.Equal(t, c.stage, body["stage"])
		queries := log.take()
		require.Len(t, queries, len(c.want), "%s: %q", c.action, queries)
		for i, q := range queries {
			require.True(t, strings.HasPrefix(q, c.want[i]), "%s: %q", c.action, queries)
		}
	}
}

// TestRefusalsReadNothing: requests refused for what they say are refused
// before the ledger is read — a request's empty id (the boundary), a
// deadline asked of malformed arguments (before the calendar is read) —
// and evidence named twice is looked up once.
func TestRefusalsReadNothing(t *testing.T) {
	s, log := setupTraced(t)

	log.take()
	code, body := s.do("POST", "/v1/calendar:deadline", &office, map[string]any{"from": "2026-13-01", "working_days": 5, "months": 1})
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.ElementsMatch(t, []string{"from", "working_days"}, fieldViolations(body))
	require.Empty(t, log.take(), "no calendar read for a malformed question")
	code, body = s.do("POST", "/v1/calendar:deadline", &office, map[string]any{"from": "2026-12-01", "working_days": 5})
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.NotEmpty(t, log.take(), "a well-formed one reads the calendar")

	for _, call := range []func() error{
		func() error {
			_, err := xunchav1.NewExpertPoolServiceClient(s.Conn).GetExpert(s.ctx(office), &xunchav1.GetExpertRequest{})
			return err
		},
		func() error {
			_, err := xunchav1.NewLineupServiceClient(s.Conn).ApproveLineup(s.ctx(office), &xunchav1.LineupActionRequest{RequestId: rid(t, "approve")})
			return err
		},
	} {
		err := call()
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		require.Contains(t, status.Convert(err).Message(), "id: must not be empty")
		require.Empty(t, log.take(), "%v", err)
	}

	// Evidence named in a path by an ID no ID can be: refused unread.
	for _, bad := range []string{strings.Repeat("e", 129), "ev%201"} {
		for _, suffix := range []string{"", "/content"} {
			resp, err := s.getAs(office, "/v1/evidence/"+bad+suffix)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s%s", bad, suffix)
			require.Empty(t, log.take(), "%s%s", bad, suffix)
		}
	}

	// A unit names its own evidence three times: looked up once.
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	s.step(id, "refer", office, referral(rid(t, "refer"), today().String(), ""), "REFERRED")
	ev := s.evidenceOf(unit, "整改照片")
	log.take()
	s.step(id, "reportRectification", unit, map[string]any{"request_id": rid(t, "report"), "report": "已整改",
		"handling_of_responsible": "已追责", "evidence_ids": []string{ev, ev, ev}}, "RECTIFIED")
	// held counts the one read of which evidence exists and whose first
	// upload it was; lookups, the reach lookups of evidence one by one.
	evidenceReads := func() (held, lookups int) {
		for _, q := range log.take() {
			switch {
			case strings.Contains(q, "LEFT JOIN evidence e ON e.id = wanted.id"):
				held++
			case strings.Contains(q, "FROM evidence e WHERE e.id = $1"):
				lookups++
			}
		}
		return held, lookups
	}
	held, lookups := evidenceReads()
	require.Equal(t, 1, held, "one read of the three IDs")
	require.Zero(t, lookups, "the unit's own upload needs no reach lookup")

	// A member names the unit's fresh upload, nothing names it yet, three
	// times: looked up once, whether the member reaches it and, since they
	// do not, whether any object names it (both EvidenceInReach).
	fresh := s.evidenceOf(unit, "交接材料")
	log.take()
	code, body = s.do("POST", "/v1/inspections/"+f["inspection_id"].(string)+"/findings", &member,
		findingBody(rid(t, "record-fresh"), "GENERAL", fresh, fresh, fresh))
	require.Equal(t, http.StatusOK, code, "%v", body)
	held, lookups = evidenceReads()
	require.Equal(t, 1, held, "one read of the three IDs")
	require.Equal(t, 2, lookups, "one reach lookup and one of its objects for the one piece of evidence")
}

// TestReusedKeyRefusedBeforeItsFields: a change's request_id, which no
// ledger write claims, is still refused as reused before its fields are
// looked at, as when it was claimed first — from the first change's answer
// (Temporal's, echoing its fingerprint) while the workflow's history
// lasts, from the fingerprint the change's event keeps once it is gone —
// and the same body again is answered as the first was. A fresh key with
// the same malformed body is refused for its fields. idempotency_keys holds
// none of these keys.
func TestReusedKeyRefusedBeforeItsFields(t *testing.T) {
	s := setup(t)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)

	first := s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	malformed := diagnosis(rid(t, "diagnose"))
	delete(malformed["diagnosis"].(map[string]any), "cause")
	code, body := s.do("POST", "/v1/findings/"+id+":diagnose", &member, malformed)
	keyReused(t, code, body, "findings/"+id)
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, diagnosis(rid(t, "diagnose")))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, first, body, "a retry is answered as the first was")
	malformed["request_id"] = rid(t, "fresh")
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, malformed)
	require.Equal(t, http.StatusBadRequest, code, "%v", body)
	require.Contains(t, fieldViolations(body), "diagnosis.cause")

	withdraw := map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}
	withdrawn := s.step(id, "withdraw", office, withdraw, "WITHDRAWN")
	code, body = s.do("POST", "/v1/findings/"+id+":withdraw", &office, map[string]any{"request_id": rid(t, "withdraw"), "reason": ""})
	keyReused(t, code, body, "findings/"+id)
	code, body = s.do("POST", "/v1/findings/"+id+":withdraw", &office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "另一个理由"})
	keyReused(t, code, body, "findings/"+id)
	code, body = s.do("POST", "/v1/findings/"+id+":withdraw", &office, withdraw)
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, withdrawn["stage"], body["stage"], "the retry after the workflow ended is answered from the ledger")
	// The diagnosis's key, once the workflow has ended: another body is
	// still refused (Temporal keeps the ended run's Updates), and so it is
	// once the run is gone too (deleted here, as the namespace's retention
	// deletes it), from the fingerprint the diagnosis's event keeps, before
	// the Update (a malformed body) and after it; the same body is answered
	// from the ledger.
	other := diagnosis(rid(t, "diagnose"))
	other["diagnosis"].(map[string]any)["cause"] = "另一个原因"
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, other)
	keyReused(t, code, body, "findings/"+id)
	describe := func() (*workflowservice.DescribeWorkflowExecutionResponse, error) {
		return s.Temporal.WorkflowService().DescribeWorkflowExecution(t.Context(), &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: testenv.Namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: "finding/" + id}})
	}
	run, err := describe()
	require.NoError(t, err)
	_, err = s.Temporal.WorkflowService().DeleteWorkflowExecution(t.Context(), &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: testenv.Namespace, WorkflowExecution: run.GetWorkflowExecutionInfo().GetExecution()})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := describe()
		var notFound *serviceerror.NotFound
		return errors.As(err, &notFound)
	}, 90*time.Second, 200*time.Millisecond, "the run is deleted")
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, other)
	keyReused(t, code, body, "findings/"+id)
	malformed["request_id"] = rid(t, "diagnose")
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, malformed)
	keyReused(t, code, body, "findings/"+id)
	code, body = s.do("POST", "/v1/findings/"+id+":diagnose", &member, diagnosis(rid(t, "diagnose")))
	require.Equal(t, http.StatusOK, code, "%v", body)
	require.Equal(t, "WITHDRAWN", body["stage"], "a retry once the run is gone is answered from the ledger")
	code, body = s.do("POST", "/v1/findings/"+id+":withdraw", &office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "另一个理由"})
	keyReused(t, code, body, "findings/"+id)
	code, body = s.do("POST", "/v1/findings/"+id+":withdraw", &office, withdraw)
	require.Equal(t, http.StatusOK, code, "%v", body)
	actions, _ := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose", "withdraw"}, actions)

	conn, err := pgx.Connect(t.Context(), s.OwnerURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	var keys int
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM idempotency_keys WHERE target = $1", "findings/"+id).Scan(&keys))
	require.Zero(t, keys, "the changes' keys are vouched for by Temporal and the events, not written apart")
}

// TestReusedKeyRacedOnce: four requests under one request_id, each with
// another body, sent at once to a running finding: one changes it, the
// others are refused as reusing the key (they reach Temporal with the same
// Update ID and are answered with the one Update's answer, whose echo is
// not theirs), and the ledger holds one diagnosis.
func TestReusedKeyRacedOnce(t *testing.T) {
	s := setup(t)
	id := s.recordFinding(s.createInspection(), "record", "GENERAL")["id"].(string)
	const n = 4
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := diagnosis(rid(t, "diagnose"))
			body["diagnosis"].(map[string]any)["cause"] = fmt.Sprintf("原因 %d", i)
			code, answer := s.do("POST", "/v1/findings/"+id+":diagnose", &member, body)
			codes[i] = code
			if code == http.StatusConflict {
				keyReused(t, code, answer, "findings/"+id)
			}
		})
	}
	wg.Wait()
	slices.Sort(codes)
	require.Equal(t, []int{http.StatusOK, http.StatusConflict, http.StatusConflict, http.StatusConflict}, codes)
	actions, _ := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose"}, actions)
}
