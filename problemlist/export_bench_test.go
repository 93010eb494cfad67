package problemlist_test

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/problemlist"
)

// exportSizes are the ledgers BenchmarkExport exports whole.
var exportSizes = flag.String("export.findings", "10000,100000", "comma-separated sizes of the ledgers BenchmarkExport exports")

// BenchmarkExport writes the whole problem list of a ledger of 10,000 and
// of 100,000 findings as a workbook and as CSV (issue 13 item 2), and
// reports the peak of the Go heap above where it started: bounded memory
// means the peak does not grow with the number of rows.
//
//	go test -run '^$' -bench BenchmarkExport -benchtime 3x ./problemlist/
func BenchmarkExport(b *testing.B) {
	for _, size := range strings.Split(*exportSizes, ",") {
		n, err := strconv.Atoi(size)
		if err != nil {
			b.Fatalf("-export.findings: %v", err)
		}
		b.Run(fmt.Sprintf("findings=%d", n), func(b *testing.B) {
			store, db := testenv.Ledger(b)
			testenv.SeedLedger(b, db, n)
			exporter := &problemlist.Exporter{Ledger: store, TmpDir: b.TempDir()}
			for _, format := range []string{"xlsx", "csv"} {
				b.Run(format, func(b *testing.B) {
					write := exporter.WriteXLSX
					if format == "csv" {
						write = exporter.WriteCSV
					}
					var out countingWriter
					peak := watchHeap()
					for b.Loop() {
						out = countingWriter{}
						if err := write(b.Context(), problemlist.Selection{AsOf: time.Now()}, &out); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
					b.ReportMetric(float64(out.n)/(1<<20), "MiB-out")
					b.ReportMetric(float64(n)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
				})
			}
		})
	}
}

// countingWriter counts what is written to it and keeps none of it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// watchHeap collects garbage, then samples the bytes of heap objects every
// millisecond (runtime/metrics, which does not stop the world) until the
// returned function is called, which answers the highest sample above the
// first.
func watchHeap() (peak func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var mu sync.Mutex
	var max uint64 // the highest sample above base
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > base {
					mu.Lock()
					if v-base > max {
						max = v - base
					}
					mu.Unlock()
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return max
	}
}
