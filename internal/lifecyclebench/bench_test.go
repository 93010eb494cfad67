//go:build lifecyclebench

package lifecyclebench

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/xuncha/xuncha/internal/payloadcrypt"
	"github.com/xuncha/xuncha/internal/proccpu"
	"github.com/xuncha/xuncha/internal/searchattr"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// The benchmark's flags (after -args; `make bench-lifecycle BENCH_FLAGS=...`).
var (
	flagRounds      = flag.Int("rounds", 5, "measured rounds per concurrency level; each is a bare round then a lifecycle round (with -machinery, a machinery round between them)")
	flagN           = flag.Int("n", 16, "lifecycles per round, shared out among the clients")
	flagClients     = flag.String("clients", "1,8", "comma-separated concurrency levels: clients driving lifecycles at the same time")
	flagWarmup      = flag.Int("warmup", 1, "unmeasured round pairs per concurrency level before the measured ones")
	flagVia         = flag.String("finding-via", "api", "how findings are driven: api (gRPC, as office systems do) or temporal (the API's Temporal calls, sent directly)")
	flagInspections = flag.Int("inspections", 1, "inspections the findings are recorded in, each lifecycle in one of them by its key")
	flagEvidence    = flag.String("evidence", "own", "the evidence findings and rectification reports name: own (each lifecycle its own two documents, uploaded by the member and by the unit before the round) or shared (one document the member uploaded, named by every finding and report)")
	flagEvents      = flag.Bool("events", false, "also print the sampled finding's history event by event (markers and upserts named)")
	flagProfiles    = flag.String("kind-profiles", "", "a directory to write a CPU profile of this process (API, worker, clients) to for each measured round (KIND-cCLIENTS-rROUND.pprof): merge a kind's with go tool pprof -proto, compare two kinds with -diff_base")
	flagMachinery   = flag.Bool("machinery", false, "also run a third kind in every round, the bare workflow plus a local activity that writes nothing and the finding's search-attribute upsert and details in each change (MachineryWorkflow), and print machinery/bare and finding/machinery beside finding/bare")
)

// Targets of issue 9, item 5, printed beside the figures.
const (
	targetRatio  = 1.5
	targetEvents = 45
)

// changes names the six changes of one lifecycle, in order, for the per-step
// figures; the bare workflow's Updates carry the same names (BareUpdates).
var changes = BareUpdates

// drive runs one lifecycle named key to its end and returns its workflow ID
// and how long each of its six changes took, as the client saw them.
type drive func(ctx context.Context, key string) (workflowID string, steps []time.Duration, err error)

// kind is one of the two things measured.
type kind struct {
	name  string
	drive drive
}

// round is what one round of one kind measured.
type round struct {
	total  []time.Duration   // per lifecycle, record to the answer of the last change
	steps  [][]time.Duration // per change, per lifecycle
	sample string            // a workflow ID of the round, for its history
}

// TestLifecycleOverhead is the benchmark (issue 9, item 5): at each
// concurrency level it runs rounds of bare workflows and of finding
// lifecycles, interleaved (bare, lifecycle, bare, lifecycle, ...) so that a
// slow patch of the machine hits both, and prints the durations, the ratio
// lifecycle/bare (the median of the per-round ratios of medians), the CPU
// each kind of process used per lifecycle of each kind (read from /proc
// around each round: the Temporal server, PostgreSQL, and this process,
// which runs the API, the worker and the clients) and the history events of
// one lifecycle of each kind.
//
// The finding lifecycle goes through the gRPC API, as office systems do
// (-finding-via=api, the default):
// RecordFinding (update-with-start of the finding workflow plus
// await-created), DiagnoseFinding, ClassifyFinding, ReferFinding,
// ReportRectification, VerifyFinding(accept) — six changes, LISTED to
// CLOSED. The bare workflow is driven with the Temporal client directly:
// update-with-start, then five Updates, each waiting for completion as the
// API does. The ratio therefore includes the API's own work (actor,
// validation, ledger reads, idempotency keys) — the whole cost a client sees.
// With -finding-via=temporal the benchmark sends the API's Temporal calls
// itself (findingTemporal), which leaves the API out.
//
// With -machinery a third kind runs between the two in every round: the
// MachineryWorkflow, the bare workflow doing in each change what item 5
// asks of the finding's workflow task besides xuncha's own work (a local
// activity, here one that writes nothing, and the search attributes and
// details). machinery/bare is then what Temporal charges for that shape;
// finding/machinery is what xuncha's work inside it costs.
func TestLifecycleOverhead(t *testing.T) {
	levels, err := parseLevels(*flagClients)
	require.NoError(t, err)
	require.Positive(t, *flagRounds, "-rounds")
	require.Positive(t, *flagN, "-n")

	s := setup(t)
	ctx := t.Context()
	require.Positive(t, *flagInspections, "-inspections")
	b := &bench{s: s, own: map[string]lifecycleEvidence{}}
	switch *flagEvidence {
	case "own":
	case "shared":
		id, err := s.uploadEvidence(ctx, member, "现场检查记录：危化品仓库未设置可燃气体报警装置。\n")
		require.NoError(t, err)
		b.shared = &lifecycleEvidence{found: id, rectified: id}
	default:
		t.Fatalf("-evidence=%q: want own or shared", *flagEvidence)
	}
	for i := range *flagInspections {
		b.inspections = append(b.inspections, s.stationedInspection(ctx, t, i))
	}
	bare := kind{"bare", b.bare}
	finding := kind{"finding", b.finding}
	// Chosen before kinds is built: kinds holds copies.
	switch *flagVia {
	case "api":
	case "temporal":
		finding.drive = b.findingTemporal
	default:
		t.Fatalf("-finding-via=%q: want api or temporal", *flagVia)
	}
	kinds := []kind{bare, finding}
	if *flagMachinery {
		kinds = []kind{bare, {"machinery", b.machinery}, finding}
	}

	stmts := newStatements(t)
	started := time.Now()
	var results []levelResult
	for level, clients := range levels {
		res := levelResult{clients: clients, byKind: map[string][]round{}, cpu: map[string]proccpu.Usage{}}
		for _, k := range kinds {
			res.cpu[k.name] = proccpu.Usage{}
		}
		for r := -*flagWarmup; r < *flagRounds; r++ {
			for _, k := range kinds {
				// The level is in the keys, so that a level given twice
				// (-clients=8,8) drives new lifecycles, not retries of the
				// first one's.
				prefix := fmt.Sprintf("%s-l%d-c%d-r%d", k.name, level, clients, r)
				if r == 0 && k.name == bare.name && s.timers != nil {
					s.timers.reset()
				}
				if k.name == finding.name {
					require.NoError(t, b.uploadRoundEvidence(ctx, prefix, *flagN))
				}
				stopProfile := startKindProfile(t, k.name, clients, r)
				before, err := proccpu.Read()
				require.NoError(t, err)
				rd, err := runRound(ctx, clients, *flagN, prefix, k.drive)
				require.NoError(t, err, "%s round %d at %d clients", k.name, r, clients)
				after, err := proccpu.Read()
				require.NoError(t, err)
				stopProfile()
				if r >= 0 {
					res.byKind[k.name] = append(res.byKind[k.name], rd)
					used := after.Since(before)
					used.Rename(after.Name(os.Getpid()), "this process (API, worker, client)")
					res.cpu[k.name].Add(used)
				}
			}
		}
		results = append(results, res)
		if s.timers != nil {
			s.timers.report(os.Stdout, fmt.Sprintf("%d client(s)", clients))
		}
		if stmts != nil {
			require.NoError(t, stmts.report(ctx, os.Stdout, fmt.Sprintf("%d client(s)", clients), *flagStatements))
		}
	}
	elapsed := time.Since(started)

	// One lifecycle of each kind, from the last measured round at the first
	// level: its workflow has finished (or finishes now) and its history is
	// final.
	first := results[0].byKind
	var histories []history
	for _, k := range kinds {
		rounds := first[k.name]
		h, err := countHistory(ctx, s.Temporal, rounds[len(rounds)-1].sample)
		require.NoError(t, err, "history of a %s lifecycle", k.name)
		h.kind = k.name
		histories = append(histories, h)
	}
	report(os.Stdout, s.server, kinds, results, histories, elapsed)
}

// bench drives the two kinds of lifecycle against one stack.
type bench struct {
	s *stack
	// inspections are STATIONED: findings are recorded in them, each in
	// the one its key picks (inspectionOf).
	inspections []string
	// shared, with -evidence=shared, is the evidence every lifecycle names;
	// otherwise own holds each lifecycle's, by key, uploaded before its
	// round (uploadRoundEvidence).
	shared *lifecycleEvidence
	mu     sync.Mutex
	own    map[string]lifecycleEvidence
}

// lifecycleEvidence is what one lifecycle's finding and rectification
// report name: a document of the team member's and one of the unit's, as
// in an office, where each finding has its own record and each report its
// own proof.
type lifecycleEvidence struct{ found, rectified string }

// uploadRoundEvidence uploads the evidence of the n lifecycles of the round
// whose keys start with prefix (runRound's keys), unless every lifecycle
// shares one. It runs before the round is measured: an upload is not one
// of the six changes, and the bare workflow has none.
func (b *bench) uploadRoundEvidence(ctx context.Context, prefix string, n int) error {
	if b.shared != nil {
		return nil
	}
	for i := range n {
		key := roundKey(prefix, i)
		var ev lifecycleEvidence
		var err error
		if ev.found, err = b.s.uploadEvidence(ctx, member, "现场检查记录："+key+" 危化品仓库未设置可燃气体报警装置。\n"); err != nil {
			return err
		}
		if ev.rectified, err = b.s.uploadEvidence(ctx, unit, "整改验收记录："+key+" 已安装可燃气体报警装置。\n"); err != nil {
			return err
		}
		b.mu.Lock()
		b.own[key] = ev
		b.mu.Unlock()
	}
	return nil
}

// evidenceOf is the evidence the lifecycle of key names.
func (b *bench) evidenceOf(key string) lifecycleEvidence {
	if b.shared != nil {
		return *b.shared
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.own[key]
}

// inspectionOf is the inspection the lifecycle of key records its finding
// in: one of b.inspections, picked by the key's hash.
func (b *bench) inspectionOf(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return b.inspections[int(h.Sum32()%uint32(len(b.inspections)))]
}

// finding drives a GENERAL hazard through the gRPC API from record to
// CLOSED. A GENERAL finding posts no webhook, and the benchmark subscribes
// none, so no webhook-delivery workflow runs beside it.
func (b *bench) finding(ctx context.Context, key string) (string, []time.Duration, error) {
	f := b.s.Findings
	ev := b.evidenceOf(key)
	var id, workflowID string
	steps := []func() (*xunchav1.Finding, error){
		func() (*xunchav1.Finding, error) {
			got, err := f.RecordFinding(as(ctx, member), &xunchav1.RecordFindingRequest{
				InspectionId: b.inspectionOf(key), RequestId: key + "/record",
				Title: "危化品仓库未设置可燃气体报警装置", Description: "检查发现某危化品仓库未按规定设置可燃气体检测报警装置。",
				Kind: xunchav1.Finding_HAZARD, Severity: xunchav1.Finding_GENERAL, ContentArea: 3,
				EvidenceIds: []string{ev.found}, RectificationOpinion: "限期安装报警装置。",
			})
			id, workflowID = got.GetId(), got.GetWorkflowId()
			return got, err
		},
		func() (*xunchav1.Finding, error) {
			return f.DiagnoseFinding(as(ctx, member), &xunchav1.DiagnoseFindingRequest{Id: id, RequestId: key + "/diagnose",
				Diagnosis: &xunchav1.Diagnosis{Cause: "企业安全投入不足，主要负责人未履行职责", ResponsibleParties: []string{"某化工有限公司"},
					RiskLevel: "HIGH", LegalBasis: "《危险化学品安全管理条例》第二十条"}})
		},
		func() (*xunchav1.Finding, error) {
			return f.ClassifyFinding(as(ctx, office), &xunchav1.ClassifyFindingRequest{Id: id, RequestId: key + "/classify",
				Dispositions: []string{"RECTIFY"}})
		},
		func() (*xunchav1.Finding, error) {
			return f.ReferFinding(as(ctx, office), &xunchav1.ReferFindingRequest{Id: id, RequestId: key + "/refer",
				ReceivingAuthority: "长沙市安全生产委员会办公室", FeedbackReceivedOn: today()})
		},
		func() (*xunchav1.Finding, error) {
			return f.ReportRectification(as(ctx, unit), &xunchav1.ReportRectificationRequest{Id: id, RequestId: key + "/report",
				Report: "已安装可燃气体报警装置并通过验收", HandlingOfResponsible: "对仓库负责人给予警告处分", EvidenceIds: []string{ev.rectified}})
		},
		func() (*xunchav1.Finding, error) {
			return f.VerifyFinding(as(ctx, office), &xunchav1.VerifyFindingRequest{Id: id, RequestId: key + "/verify",
				Accept: true, Reason: "整改到位"})
		},
	}
	durations := make([]time.Duration, len(steps))
	var last *xunchav1.Finding
	for i, step := range steps {
		start := time.Now()
		got, err := step()
		durations[i] = time.Since(start)
		if err != nil {
			return workflowID, durations, fmt.Errorf("%s %s: %w", changes[i], key, err)
		}
		last = got
	}
	if last.GetStage() != xunchav1.Finding_CLOSED {
		return workflowID, durations, fmt.Errorf("finding %s ended %s, not CLOSED", id, last.GetStage())
	}
	return workflowID, durations, nil
}

// bare drives a BareWorkflow through its six Updates with the Temporal
// client, started the way RecordFinding starts a finding: update-with-start
// with the same ID policies, every Update waiting until it completes.
func (b *bench) bare(ctx context.Context, key string) (string, []time.Duration, error) {
	return b.takeUpdates(ctx, BareWorkflowName, "bench-bare/"+key, key, client.StartWorkflowOptions{})
}

// machinery drives a MachineryWorkflow as bare drives a BareWorkflow. It
// starts with the search attributes the finding starts with, which the
// finding's start request carries too.
func (b *bench) machinery(ctx context.Context, key string) (string, []time.Duration, error) {
	return b.takeUpdates(ctx, MachineryWorkflowName, "bench-machinery/"+key, key, client.StartWorkflowOptions{
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.Stage.ValueSet("FOUND"), searchattr.Unit.ValueSet("430100"),
			searchattr.Inspection.ValueSet("bench"), searchattr.Kind.ValueSet("HAZARD"), searchattr.Overdue.ValueSet(false),
			searchattr.Severity.ValueSet("GENERAL")),
	})
}

// takeUpdates drives workflowID, of workflowType (BareWorkflow's or
// MachineryWorkflow's), through the six BareUpdates; startOpts adds to
// the start's options.
func (b *bench) takeUpdates(ctx context.Context, workflowType, workflowID, key string, startOpts client.StartWorkflowOptions) (string, []time.Duration, error) {
	tc := b.s.Temporal
	durations := make([]time.Duration, len(BareUpdates))
	var st BareState
	for i, name := range BareUpdates {
		opts := client.UpdateWorkflowOptions{
			WorkflowID: workflowID, UpdateID: workflows.UpdateID(name, key), UpdateName: name,
			Args: []any{BareChangeInput{RequestID: key + "/" + name}}, WaitForStage: client.WorkflowUpdateStageCompleted,
		}
		start := time.Now()
		var h client.WorkflowUpdateHandle
		var err error
		if i == 0 {
			opts.WorkflowID = ""
			startOpts.ID, startOpts.TaskQueue = workflowID, taskQueue
			startOpts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
			startOpts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
			startOp := tc.NewWithStartWorkflowOperation(startOpts, workflowType, BareInput{ID: key})
			signed := payloadcrypt.WithStart(ctx, startOpts, workflowType, BareInput{ID: key})
			h, err = tc.UpdateWithStartWorkflow(signed, client.UpdateWithStartWorkflowOptions{StartWorkflowOperation: startOp, UpdateOptions: opts})
		} else {
			h, err = tc.UpdateWorkflow(ctx, opts)
		}
		if err == nil {
			err = h.Get(ctx, &st)
		}
		durations[i] = time.Since(start)
		if err != nil {
			return workflowID, durations, fmt.Errorf("%s %s: %w", name, key, err)
		}
	}
	if !st.Closed {
		return workflowID, durations, fmt.Errorf("%s %s not closed after %d changes", workflowType, workflowID, st.Changes)
	}
	return workflowID, durations, nil
}

// runRound drives n lifecycles with clients goroutines, each taking the
// next lifecycle as soon as its last one ended; keys are prefix-<i>.
func runRound(ctx context.Context, clients, n int, prefix string, d drive) (round, error) {
	rd := round{total: make([]time.Duration, n), steps: make([][]time.Duration, len(changes))}
	perLifecycle := make([][]time.Duration, n)
	ids := make([]string, n)
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range clients {
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return nil
				}
				start := time.Now()
				id, steps, err := d(ctx, roundKey(prefix, i))
				if err != nil {
					return err
				}
				rd.total[i], perLifecycle[i], ids[i] = time.Since(start), steps, id
			}
		})
	}
	if err := g.Wait(); err != nil {
		return round{}, err
	}
	for _, steps := range perLifecycle {
		for c, d := range steps {
			rd.steps[c] = append(rd.steps[c], d)
		}
	}
	rd.sample = ids[0]
	return rd, nil
}

// roundKey is the key of the i-th lifecycle of the round whose keys start
// with prefix.
func roundKey(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }

// history is the event count of one finished workflow, in all and by type.
type history struct {
	kind, workflowID string
	events           int
	bytes            int // the events' encoded size, payloads as stored (encrypted)
	byType           map[enumspb.EventType]int
	lines            []string // each event, described, with its time since the first
}

// describeEvent names an event's type and, for a marker, an upsert or an
// accepted Update, its marker name, the search attributes upserted or the
// Update's name.
func describeEvent(e *historypb.HistoryEvent) string {
	out := fmt.Sprintf("%3d %5d B  %s", e.GetEventId(), proto.Size(e), strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_"))
	switch {
	case e.GetMarkerRecordedEventAttributes() != nil:
		// A marker's details are the payload codec's (encrypted): its name is
		// all that reads.
		out += " " + e.GetMarkerRecordedEventAttributes().GetMarkerName()
	case e.GetUpsertWorkflowSearchAttributesEventAttributes() != nil:
		var keys []string
		for k := range e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out += " " + strings.Join(keys, ",")
	case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
		out += " " + e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
	}
	return out
}

// countHistory waits until workflow id has finished and counts the events
// of its own history (other workflows it caused — webhook deliveries — are
// separate executions and not counted).
func countHistory(ctx context.Context, tc client.Client, id string) (history, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := tc.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		return history{}, fmt.Errorf("waiting for %s to finish: %w", id, err)
	}
	h := history{workflowID: id, byType: map[enumspb.EventType]int{}}
	var first time.Time
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return history{}, fmt.Errorf("reading the history of %s: %w", id, err)
		}
		h.events++
		h.bytes += proto.Size(e)
		h.byType[e.GetEventType()]++
		if h.events == 1 {
			first = e.GetEventTime().AsTime()
		}
		since := e.GetEventTime().AsTime().Sub(first)
		h.lines = append(h.lines, fmt.Sprintf("%8.2fms ", float64(since)/float64(time.Millisecond))+describeEvent(e))
	}
	return h, nil
}

// levelResult is everything measured at one concurrency level.
type levelResult struct {
	clients int
	byKind  map[string][]round // measured rounds, in order, per kind name
	// cpu is what the machine's processes used during the measured rounds,
	// per kind name.
	cpu map[string]proccpu.Usage
}

// all joins the lifecycle durations of rounds.
func all(rounds []round) []time.Duration {
	var out []time.Duration
	for _, r := range rounds {
		out = append(out, r.total...)
	}
	return out
}

// ratios returns, per measured round, the median lifecycle of kind over
// the median lifecycle of the baseline kind in the same round.
func (l levelResult) ratios(kind, baseline string) []float64 {
	var out []float64
	for i, f := range l.byKind[kind] {
		out = append(out, float64(Percentile(f.total, 50))/float64(Percentile(l.byKind[baseline][i].total, 50)))
	}
	return out
}

// report prints the figures.
func report(w io.Writer, server string, kinds []kind, results []levelResult, histories []history, elapsed time.Duration) {
	ms := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	fmt.Fprintf(w, "\nlifecycle benchmark (issue 9 item 5): %d measured rounds of each kind (%s) per level after %d warm-up, %d lifecycles per round; took %s\n",
		*flagRounds, strings.Join(names, ", "), *flagWarmup, *flagN, elapsed.Round(time.Second))
	via := "gRPC API"
	if *flagVia == "temporal" {
		via = "Temporal client (the API's calls, without the API)"
	}
	fmt.Fprintf(w, "finding: %s, record..verify(accept), LISTED to CLOSED, in %d inspection(s), evidence %s; bare: Temporal client, update-with-start + 5 Updates; one worker, one task queue\n", via, *flagInspections, *flagEvidence)
	if *flagMachinery {
		fmt.Fprintln(w, "machinery: as bare, and in each change a local activity that writes nothing; from the second change on, the finding's four search attributes upserted and its details set")
	}
	fmt.Fprintf(w, "server: %s; the ledger's connections: JIT %s, plans %s\n", server, *flagLedgerJIT, *flagLedgerPlans)
	fmt.Fprintf(w, "\n%-8s %-8s %10s %10s %10s   %s\n", "clients", "kind", "lifecycles", "median", "p90", "median per change: "+strings.Join(changes, " / "))
	for _, l := range results {
		for _, name := range names {
			rounds := l.byKind[name]
			total := all(rounds)
			var perChange []string
			for c := range changes {
				var ds []time.Duration
				for _, r := range rounds {
					ds = append(ds, r.steps[c]...)
				}
				perChange = append(perChange, ms(Percentile(ds, 50)))
			}
			fmt.Fprintf(w, "%-8d %-8s %10d %10s %10s   %s\n", l.clients, name, len(total), ms(Percentile(total, 50)), ms(Percentile(total, 90)), strings.Join(perChange, " / "))
		}
	}
	fmt.Fprintln(w)
	ratio := func(l levelResult, kind, baseline string) (float64, string) {
		rs := l.ratios(kind, baseline)
		var each []string
		for _, r := range rs {
			each = append(each, strconv.FormatFloat(r, 'f', 2, 64))
		}
		return Median(rs), strings.Join(each, " ")
	}
	for _, l := range results {
		m, each := ratio(l, "finding", "bare")
		lo, hi, coverage := MedianInterval(l.ratios("finding", "bare"), 0.9)
		fmt.Fprintf(w, "ratio finding/bare at %d client(s): %.2f× (median of per-round ratios %s; %.0f%% interval for the median %.2f–%.2f; target ≤ %.1f×: %s)\n",
			l.clients, m, each, 100*coverage, lo, hi, targetRatio, ratioVerdict(m, lo, hi, targetRatio))
		if *flagMachinery {
			for _, pair := range [][2]string{{"machinery", "bare"}, {"finding", "machinery"}} {
				m, each := ratio(l, pair[0], pair[1])
				fmt.Fprintf(w, "ratio %s/%s at %d client(s): %.2f× (median of per-round ratios %s)\n", pair[0], pair[1], l.clients, m, each)
			}
		}
	}
	fmt.Fprintln(w)
	for _, l := range results {
		for _, name := range names {
			u, n := l.cpu[name], len(all(l.byKind[name]))
			perLifecycle := func(d time.Duration) string { return ms(d / time.Duration(max(n, 1))) }
			var parts []string
			for _, p := range u.Names() {
				if u[p]*50 >= u.Total() { // 2% or more
					parts = append(parts, p+" "+perLifecycle(u[p]))
				}
			}
			fmt.Fprintf(w, "CPU per lifecycle at %d client(s), %s: %s   [%s]\n", l.clients, name, perLifecycle(u.Total()), strings.Join(parts, ", "))
		}
		if b := l.cpu["bare"].Total(); b > 0 {
			fmt.Fprintf(w, "CPU ratio finding/bare at %d client(s): %.2f×\n", l.clients,
				float64(l.cpu["finding"].Total())/float64(len(all(l.byKind["finding"])))/(float64(b)/float64(len(all(l.byKind["bare"])))))
		}
	}
	fmt.Fprintln(w)
	for _, h := range histories {
		target := ""
		if h.kind == "finding" {
			target = fmt.Sprintf(" (target ≤ %d: %s)", targetEvents, verdict(h.events <= targetEvents))
		}
		fmt.Fprintf(w, "history events per lifecycle, %s: %d%s, %d bytes   [%s; its own history, webhook-delivery workflows not counted]\n",
			h.kind, h.events, target, h.bytes, h.workflowID)
	}
	if *flagEvents {
		for _, h := range histories {
			fmt.Fprintf(w, "\n%s history, event by event:\n  %s\n", h.kind, strings.Join(h.lines, "\n  "))
		}
	}
	for _, h := range histories {
		type count struct {
			t enumspb.EventType
			n int
		}
		var counts []count
		for t, n := range h.byType {
			counts = append(counts, count{t, n})
		}
		slices.SortFunc(counts, func(a, b count) int { return cmp.Or(b.n-a.n, cmp.Compare(a.t.String(), b.t.String())) })
		var parts []string
		for _, c := range counts {
			parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(c.t.String(), "EVENT_TYPE_"), c.n))
		}
		fmt.Fprintf(w, "  %s events by type: %s\n", h.kind, strings.Join(parts, ", "))
	}
}

// parseLevels reads -clients: positive counts separated by commas.
func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, errors.New("-clients: want positive counts separated by commas, e.g. 1,8")
		}
		out = append(out, n)
	}
	return out, nil
}

// startKindProfile starts a CPU profile of this process for round r of a
// kind at a level, when -kind-profiles names a directory and the round is
// measured, and returns what stops it. One file a round
// (KIND-cCLIENTS-rROUND.pprof): go tool pprof merges them when given
// several, e.g. go tool pprof -proto DIR/finding-c8-*.pprof >
// finding.pb.gz, and -diff_base compares two kinds so merged.
func startKindProfile(t *testing.T, kind string, clients, r int) (stop func()) {
	t.Helper()
	if *flagProfiles == "" || r < 0 {
		return func() {}
	}
	require.NoError(t, os.MkdirAll(*flagProfiles, 0o755))
	f, err := os.Create(filepath.Join(*flagProfiles, fmt.Sprintf("%s-c%d-r%d.pprof", kind, clients, r)))
	require.NoError(t, err)
	require.NoError(t, pprof.StartCPUProfile(f))
	return func() {
		pprof.StopCPUProfile()
		require.NoError(t, f.Close())
	}
}
