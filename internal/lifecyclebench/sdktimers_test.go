//go:build lifecyclebench

package lifecyclebench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

var flagSDKTimers = flag.Bool("sdk-timers", false, "also print the Temporal SDK's own latency timers (workflow task execution, local activity, requests), by workflow type, and the API's Updates until they complete, by name, at each level")

// sdkTimers is a client.MetricsHandler that keeps the SDK's timer
// observations (its counters and gauges are dropped), keyed by the timer's
// name and the tags that tell the kinds apart, to say where a change's time
// goes on the worker's side.
type sdkTimers struct {
	tags map[string]string
	rec  *timerRecords
}

type timerRecords struct {
	mu sync.Mutex
	by map[string][]time.Duration
}

func newSDKTimers() *sdkTimers {
	return &sdkTimers{tags: map[string]string{}, rec: &timerRecords{by: map[string][]time.Duration{}}}
}

func (h *sdkTimers) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	maps.Copy(merged, tags)
	return &sdkTimers{tags: merged, rec: h.rec}
}

func (h *sdkTimers) Counter(string) client.MetricsCounter {
	return client.MetricsNopHandler.Counter("")
}
func (h *sdkTimers) Gauge(string) client.MetricsGauge { return client.MetricsNopHandler.Gauge("") }

func (h *sdkTimers) Timer(name string) client.MetricsTimer {
	key := name
	for _, tag := range []string{"workflow_type", "activity_type", "operation"} {
		if v := h.tags[tag]; v != "" && v != "_unknown_" && v != "none" {
			key += " " + tag + "=" + v
		}
	}
	return timerFunc(func(d time.Duration) {
		h.rec.mu.Lock()
		h.rec.by[key] = append(h.rec.by[key], d)
		h.rec.mu.Unlock()
	})
}

// record adds an observation of xuncha's own under key (apiUpdates).
func (h *sdkTimers) record(key string, d time.Duration) {
	h.rec.mu.Lock()
	h.rec.by[key] = append(h.rec.by[key], d)
	h.rec.mu.Unlock()
}

// apiUpdates is the API's Temporal client, timing each Update the API
// sends until it completes (update-with-start included), by the Update's
// name, beside the SDK's timers: a change's time through the API (the
// per-change medians) less this is the API's own and the hop to it; this
// less the bare workflow's Update is the worker's and the server's.
type apiUpdates struct {
	client.Client
	timers *sdkTimers
}

func (c apiUpdates) UpdateWorkflow(ctx context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	start := time.Now()
	h, err := c.Client.UpdateWorkflow(ctx, opts)
	c.timers.record("xuncha_api_update_latency update="+opts.UpdateName, time.Since(start))
	return h, err
}

func (c apiUpdates) UpdateWithStartWorkflow(ctx context.Context, opts client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	start := time.Now()
	h, err := c.Client.UpdateWithStartWorkflow(ctx, opts)
	c.timers.record("xuncha_api_update_latency update="+opts.UpdateOptions.UpdateName, time.Since(start))
	return h, err
}

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// reset forgets what was recorded.
func (h *sdkTimers) reset() {
	h.rec.mu.Lock()
	h.rec.by = map[string][]time.Duration{}
	h.rec.mu.Unlock()
}

// report prints each timer's count, median and mean.
func (h *sdkTimers) report(w io.Writer, level string) {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	fmt.Fprintf(w, "\nTemporal SDK timers at %s (count, p10, median, p90, mean):\n", level)
	for _, key := range slices.Sorted(maps.Keys(h.rec.by)) {
		ds := h.rec.by[key]
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		fmt.Fprintf(w, "  %-110s %6d %9s %9s %9s %9s\n", strings.TrimPrefix(key, "temporal_"), len(ds),
			Percentile(ds, 10).Round(time.Microsecond), Percentile(ds, 50).Round(time.Microsecond),
			Percentile(ds, 90).Round(time.Microsecond), (sum / time.Duration(len(ds))).Round(time.Microsecond))
	}
}
