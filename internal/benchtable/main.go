// Command benchtable prints `make bench`'s one table: it reads the logs the
// benchmarks wrote (lifecycle.log, list.log, herd.log in the directory
// named by its argument) and sums them up as ratios and percentiles beside
// their targets and the machine's load while each ran. A figure a log does
// not hold (a benchmark that failed or was not run) is shown as missing,
// never guessed.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtable DIR (holding lifecycle.log, list.log, herd.log)")
		os.Exit(2)
	}
	t, err := read(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	t.print(os.Stdout)
}

// row is one figure of the table.
type row struct {
	bench, figure, value, target, verdict string
}

// table is the figures of every log, and the load while each ran.
type table struct {
	rows []row
	load map[string]string
}

// logs are the benchmarks' logs, in the table's order.
var logs = []struct{ name, file string }{
	{"lifecycle", "lifecycle.log"},
	{"list", "list.log"},
	{"herd", "herd.log"},
}

// read parses every log of dir; a missing log leaves its figures missing.
func read(dir string) (table, error) {
	t := table{load: map[string]string{}}
	for _, l := range logs {
		b, err := os.ReadFile(filepath.Join(dir, l.file))
		if err != nil && !os.IsNotExist(err) {
			return t, err
		}
		text := string(b)
		t.load[l.name] = loadSpan(text)
		switch l.name {
		case "lifecycle":
			t.rows = append(t.rows, lifecycleRows(text)...)
		case "list":
			t.rows = append(t.rows, listRows(text)...)
		case "herd":
			t.rows = append(t.rows, herdRows(text)...)
		}
	}
	return t, nil
}

// loadRE matches the "load: 1.23 0.98 0.75" lines `make bench` writes
// before and after each benchmark (/proc/loadavg's first three fields).
var loadRE = regexp.MustCompile(`(?m)^load: ([0-9.]+ [0-9.]+ [0-9.]+)$`)

// loadSpan is the load average at a benchmark's start and end.
func loadSpan(text string) string {
	m := loadRE.FindAllStringSubmatch(text, -1)
	switch len(m) {
	case 0:
		return "?"
	case 1:
		return m[0][1]
	default:
		return m[0][1] + " → " + m[len(m)-1][1]
	}
}

var (
	ratioRE  = regexp.MustCompile(`(?m)^ratio finding/bare at (\d+) client\(s\): ([0-9.]+)×`)
	eventsRE = regexp.MustCompile(`(?m)^history events per lifecycle, finding: (\d+)`)
)

func lifecycleRows(text string) []row {
	var rows []row
	for _, m := range ratioRE.FindAllStringSubmatch(text, -1) {
		ratio, _ := strconv.ParseFloat(m[2], 64)
		rows = append(rows, row{"lifecycle", "finding/bare, " + m[1] + " client(s)", m[2] + "×", "≤ 1.5×", verdict(ratio <= 1.5)})
	}
	if len(rows) == 0 {
		rows = append(rows, missing("lifecycle", "finding/bare ratio", "≤ 1.5×"))
	}
	if m := eventsRE.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[1])
		rows = append(rows, row{"lifecycle", "history events per finding", m[1], "≤ 45", verdict(n <= 45)})
	} else {
		rows = append(rows, missing("lifecycle", "history events per finding", "≤ 45"))
	}
	return rows
}

// listRE matches a list benchmark's result line, e.g.
// "BenchmarkListFindings/deep-page/REST-2  500  2428014 ns/op  2.018 p50-ms  6.164 p99-ms".
var listRE = regexp.MustCompile(`(?m)^BenchmarkListFindings/([^/\s]+)/(REST|gRPC)(?:-\d+)?\s+\d+\s+\d+ ns/op\s+([0-9.]+) p50-ms\s+([0-9.]+) p99-ms`)

func listRows(text string) []row {
	type figures struct{ p50, p99 map[string]float64 }
	by := map[string]*figures{"REST": {map[string]float64{}, map[string]float64{}}, "gRPC": {map[string]float64{}, map[string]float64{}}}
	for _, m := range listRE.FindAllStringSubmatch(text, -1) {
		p50, _ := strconv.ParseFloat(m[3], 64)
		p99, _ := strconv.ParseFloat(m[4], 64)
		by[m[2]].p50[m[1]], by[m[2]].p99[m[1]] = p50, p99
	}
	if len(by["REST"].p99) == 0 {
		return []row{missing("list", "p99 through REST", "≤ 20 ms")}
	}
	worst := func(m map[string]float64) (string, float64) {
		var name string
		var w float64
		for k, v := range m {
			if v > w || (v == w && k < name) {
				name, w = k, v
			}
		}
		return name, w
	}
	name, p99 := worst(by["REST"].p99)
	rows := []row{{"list", fmt.Sprintf("worst p99 through REST of %d cases (%s)", len(by["REST"].p99), name),
		fmt.Sprintf("%.1f ms", p99), "≤ 20 ms", verdict(p99 <= 20)}}
	if name, p99 := worst(by["gRPC"].p99); name != "" {
		rows = append(rows, row{"list", fmt.Sprintf("worst p99 through gRPC of %d cases (%s)", len(by["gRPC"].p99), name),
			fmt.Sprintf("%.1f ms", p99), "", ""})
	}
	var ratios []float64
	for k, rest := range by["REST"].p50 {
		if grpc, ok := by["gRPC"].p50[k]; ok && grpc > 0 {
			ratios = append(ratios, rest/grpc)
		}
	}
	if len(ratios) > 0 {
		slices.Sort(ratios)
		rows = append(rows, row{"list", "REST/gRPC, median of the cases' p50 ratios", fmt.Sprintf("%.2f×", ratios[len(ratios)/2]), "", ""})
	}
	return rows
}

var (
	herdLineRE = regexp.MustCompile(`(?m)^\s*(timer fired \(fired_at\)|escalation row|overdue flag|queued webhook|all three, per finding)\s+(\d+)\s+p50\s+(\S+)\s+p99\s+(\S+)\s+max\s+(\S+)`)
	herdHeadRE = regexp.MustCompile(`(?m)midnight herd: (\d+) findings due`)
	herdCPURE  = regexp.MustCompile(`(?m)CPU used over (.+?): (.*)$`)
	herdLostRE = regexp.MustCompile(`(?m)lost: (escalation rows \d+/\d+, overdue flags \d+/\d+, queued webhooks \d+/\d+); target (\S+): (met|NOT met)`)
)

func herdRows(text string) []row {
	head := herdHeadRE.FindStringSubmatch(text)
	if head == nil {
		return []row{missing("herd", "all three per finding, after the instant", "≤ 120 s")}
	}
	var rows []row
	for _, m := range herdLineRE.FindAllStringSubmatch(text, -1) {
		r := row{"herd (" + head[1] + ")", m[1], fmt.Sprintf("p50 %s  p99 %s  max %s  (%s seen)", m[3], m[4], m[5], m[2]), "", ""}
		if m[1] == "all three, per finding" {
			r.target = "all ≤ 120 s"
			if lost := herdLostRE.FindStringSubmatch(text); lost != nil {
				r.verdict = lost[3]
			}
		}
		rows = append(rows, r)
	}
	if cpu := herdCPURE.FindStringSubmatch(text); cpu != nil {
		// The four processes that used most; the log has them all.
		parts := strings.Split(cpu[2], ", ")
		if len(parts) > 4 {
			parts = append(parts[:4], "…")
		}
		rows = append(rows, row{"herd (" + head[1] + ")", "CPU by process, " + cpu[1], strings.Join(parts, ", "), "", ""})
	}
	if lost := herdLostRE.FindStringSubmatch(text); lost != nil {
		seen := strings.NewReplacer("escalation rows", "rows", "overdue flags", "flags", "queued webhooks", "webhooks").Replace(lost[1])
		rows = append(rows, row{"herd (" + head[1] + ")", "seen of each trace", seen, "none lost", ""})
	}
	return rows
}

func missing(bench, figure, target string) row {
	return row{bench, figure, "missing (see its log)", target, "NOT met"}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func (t table) print(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "benchmark\tfigure\tvalue\ttarget\tverdict\t")
	for _, r := range t.rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t\n", r.bench, r.figure, r.value, r.target, r.verdict)
	}
	_ = w.Flush()
	fmt.Fprintln(out, "load average (1, 5, 15 min) at each benchmark's start → end:")
	for _, l := range logs {
		fmt.Fprintf(out, "  %-10s %s\n", l.name, t.load[l.name])
	}
}
