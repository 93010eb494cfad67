package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/xuncha/xuncha/internal/actor"
)

// answerBound is how long any request may take to be answered: the server's
// own deadline for a change plus the slack of a loaded test machine.
const answerBound = 30 * time.Second

// fuzzRoutes are the REST changes the fuzzer drives; {inspection} stands for
// a stationed inspection, {finding} for a listed finding of it.
var fuzzRoutes = []struct {
	method, path string
	who          actor.Actor
}{
	{"POST", "/v1/inspections/{inspection}/findings", member},
	{"POST", "/v1/findings/{finding}:diagnose", member},
	{"POST", "/v1/findings/{finding}:classify", office},
	{"POST", "/v1/findings/{finding}:refer", office},
	{"POST", "/v1/findings/{finding}:withdraw", office},
	{"POST", "/v1/inspections", office},
	{"POST", "/v1/inspections/{inspection}:endOnsite", teamLeader},
	{"POST", "/v1/inspections/{inspection}/tips", office},
	{"POST", "/v1/calendar:deadline", office},
	{"POST", "/v1/interviews", office},
}

// FuzzRESTGateway sends mutated bodies through the REST gateway of a real
// stack. Invariants: every request is answered within answerBound; never
// with a server error other than 503 (unavailable, retry); and afterwards no
// workflow has an activity that failed and is being retried.
//
//	go test -run '^$' -fuzz FuzzRESTGateway -fuzztime 2m ./api/
func FuzzRESTGateway(f *testing.F) {
	seeds := []struct {
		route int
		body  string
	}{
		{0, `{"request_id":"fz-1","title":"消防通道堵塞","kind":"HAZARD","severity":"GENERAL","content_area":3}`},
		{0, `{"request_id":"fz-2","title":"a\u0000b","kind":"HAZARD","severity":"GENERAL","content_area":3}`},
		{0, `{"request_id":"fz-3","title":"` + strings.Repeat("长", 300) + `","kind":"HAZARD"}`},
		{1, `{"request_id":"fz-4","diagnosis":{"cause":"x\u0000","risk_level":"HIGH"}}`},
		{1, `{"request_id":"fz-5","diagnosis":{"cause":"原因","risk_level":"HIGH","legal_basis":"条例","responsible_parties":["某公司"]}}`},
		{2, `{"request_id":"fz-6","dispositions":["RECTIFY"],"requirements":"限期整改"}`},
		{3, `{"request_id":"fz-7","feedback_received_on":"0001-01-01"}`},
		{3, `{"request_id":"fz-8","feedback_received_on":"2026-12-01","due":"9999-12-31"}`},
		{4, `{"request_id":"fz-9","reason":"\u202e"}`},
		{5, `{"request_id":"fz-10","inspection":{"unit":{"code":"430100","name":"长沙市"},"kind":"SPECIAL","planned_start":"9999-01-01","planned_end":"9999-01-02"}}`},
		{6, `{"request_id":"fz-11","onsite_ended_on":"0001-01-01"}`},
		{7, `{"request_id":"fz-12","channel":"LETTER","received_on":"2026-12-01","content":"a\u0000"}`},
		{8, `{"from":"2099-12-31","months":1}`},
		{9, `{"request_id":"fz-13","subject":"finding/x","unit_code":"430100","reason":"r"}`},
		{0, `{"request_id":`},
		{1, `[]`},
		{2, `{"request_id":"fz-14","dispositions":[1,2,3]}`},
		{3, `{"request_id":"fz-15","feedback_received_on":null}`},
	}
	for _, seed := range seeds {
		f.Add(uint8(seed.route), []byte(seed.body))
	}

	s := setup(f)
	inspectionID := s.createInspection()
	finding := s.recordFinding(inspectionID, "fuzz", "GENERAL")
	findingID := finding["id"].(string)
	f.Cleanup(func() { s.requireNoWorkflowWedged() })
	// Tokens are minted before fuzzing: the stack's helpers report to f,
	// which the fuzz target must not use.
	authorization := map[actor.Actor]string{}
	for _, r := range fuzzRoutes {
		authorization[r.who] = s.authorization(r.who)
	}

	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		ctx, cancel := context.WithTimeout(context.Background(), answerBound)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, r.method, s.BaseURL+strings.NewReplacer("{inspection}", inspectionID, "{finding}", findingID).Replace(r.path), bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", authorization[r.who])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "answered within %s", answerBound)
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.True(t, resp.StatusCode < 500 || resp.StatusCode == http.StatusServiceUnavailable,
			"%s %s: %d %s", r.method, r.path, resp.StatusCode, answer)
	})
}

// requireNoWorkflowWedged waits until no running workflow of the stack's task
// queue has a pending activity; an activity that keeps failing and retrying
// fails the test with its last failure.
func (s *stack) requireNoWorkflowWedged() {
	s.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Running'", s.queue),
		})
		require.NoError(s.t, err)
		var pending []string
		for _, ex := range resp.GetExecutions() {
			desc, err := s.describeWorkflow(ctx, ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId())
			require.NoError(s.t, err)
			for _, a := range desc.GetPendingActivities() {
				pending = append(pending, fmt.Sprintf("%s: %s attempt %d, last failure %q", ex.GetExecution().GetWorkflowId(),
					a.GetActivityType().GetName(), a.GetAttempt(), a.GetLastFailure().GetMessage()))
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			require.Empty(s.t, pending, "activities still pending or retrying")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
