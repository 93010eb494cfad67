package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

// BenchmarkFindingChange is what one change of a finding costs the ledger
// (issue 9 item 5: the ledger write inside each change's workflow task):
//
//	go test -run '^$' -bench BenchmarkFindingChange -benchtime 2000x ./ledger/
//
// One inspection holds 200 findings, as a busy inspection's findings share
// their tallies. Each iteration writes two things, interleaved so that the
// machine's weather hits both alike:
//
//   - a change that moves no count (a stage between LISTED and REFERRED,
//     as diagnose, classify and refer write): the row, its event, the
//     statistics' triggers;
//   - the baseline: an event alone on another subject, which is the audit
//     chain's share of the same transaction.
//
// It reports each one's mean and their ratio (change/event).
func BenchmarkFindingChange(b *testing.B) {
	store, _ := testenv.Ledger(b)
	ctx := b.Context()
	start := benchInspection(b, store)
	const findings = 200
	rows := make([]casework.Finding, findings)
	for i := range rows {
		f := newFinding(fmt.Sprintf("f-%03d", i), "i-1", "430100", start.Add(time.Duration(i)*time.Minute))
		f.Kind = []string{"HAZARD", "PROBLEM"}[i%2]
		if _, err := store.RecordFinding(ctx, f, "record/"+f.ID); err != nil {
			b.Fatal(err)
		}
		rows[i] = f
	}
	stages := []string{"LISTED", "DIAGNOSED", "CLASSIFIED", "REFERRED"}
	var change, event time.Duration
	n := 0
	for b.Loop() {
		f := &rows[n%findings]
		f.Stage, f.Version, f.UpdatedAt = stages[(n/findings)%len(stages)], f.Version+1, f.UpdatedAt.Add(time.Minute)
		t0 := time.Now()
		if err := store.ApplyFindingChange(ctx, *f, casework.Event{Key: fmt.Sprintf("change/%d", n), Action: "diagnose",
			StageAfter: f.Stage, Actor: member, Note: "整改意见已明确", OccurredAt: f.UpdatedAt}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := store.AppendEvent(ctx, casework.Event{SubjectType: "finding", SubjectID: "baseline", Key: fmt.Sprintf("event/%d", n),
			Action: "diagnose", StageAfter: f.Stage, Actor: member, Note: "整改意见已明确", OccurredAt: f.UpdatedAt}); err != nil {
			b.Fatal(err)
		}
		change, event = change+t1.Sub(t0), event+time.Since(t1)
		n++
	}
	reportPair(b, n, "change", change, "event", event)
}

// BenchmarkFindingRecord is what recording a finding costs the ledger, a
// write that moves counts (a new finding in its tallies, the month's and
// the round's):
//
//	go test -run '^$' -bench BenchmarkFindingRecord -benchtime 1000x ./ledger/
//
// Each iteration records one more finding of one inspection (its row, its
// number, its event and the statistics' triggers) and, as the baseline,
// appends an event alone on another subject. It reports each one's mean
// and their ratio (record/event).
func BenchmarkFindingRecord(b *testing.B) {
	store, _ := testenv.Ledger(b)
	ctx := b.Context()
	start := benchInspection(b, store)
	var record, event time.Duration
	n := 0
	for b.Loop() {
		f := newFinding(fmt.Sprintf("f-%05d", n), "i-1", "430100", start.Add(time.Duration(n)*time.Minute))
		f.Kind = []string{"HAZARD", "PROBLEM"}[n%2]
		t0 := time.Now()
		if _, err := store.RecordFinding(ctx, f, "record/"+f.ID); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := store.AppendEvent(ctx, casework.Event{SubjectType: "finding", SubjectID: "baseline", Key: fmt.Sprintf("event/%d", n),
			Action: "record", StageAfter: "FOUND", Actor: member, Note: "现场检查发现", OccurredAt: f.CreatedAt}); err != nil {
			b.Fatal(err)
		}
		record, event = record+t1.Sub(t0), event+time.Since(t1)
		n++
	}
	reportPair(b, n, "record", record, "event", event)
}

// benchInspection writes the inspection "i-1" of unit 430100 that the
// finding benchmarks record their findings in, and returns its start.
func benchInspection(b *testing.B, store *ledger.Store) time.Time {
	b.Helper()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if err := store.CreateInspection(b.Context(), casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: "i-1", WorkflowID: "inspection/i-1", RequestID: "req-i-1", UnitCode: "430100",
			Stage: "PLANNED", CreatedAt: start},
		UnitName: "长沙市",
		Kind:     "COMPREHENSIVE", PlannedStart: start, PlannedEnd: start.AddDate(0, 0, 14),
		CreatedBy: office,
	}, "create/i-1", false); err != nil {
		b.Fatal(err)
	}
	return start
}

// reportPair reports the mean over n iterations of a measured thing and of
// its baseline, in µs ("<name>-µs"), and their ratio ("<name>/<base>").
func reportPair(b *testing.B, n int, name string, d time.Duration, base string, baseline time.Duration) {
	b.ReportMetric(float64(d.Microseconds())/float64(n), name+"-µs")
	b.ReportMetric(float64(baseline.Microseconds())/float64(n), base+"-µs")
	b.ReportMetric(float64(d)/float64(baseline), name+"/"+base)
}
