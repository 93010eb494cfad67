// Package proccpu accounts for the CPU time the processes of this machine
// use between two readings of /proc, by kind of process: the benchmarks
// say with it which process a run's CPU went to (the midnight herd,
// e2e/cluster; the lifecycle benchmark, internal/lifecyclebench). Linux
// only.
package proccpu

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux this runs on.
const clockTicks = 100

// Reading is the CPU time (user + system) each process had used when it
// was read, by PID, with the name it is counted under.
type Reading map[int]process

type process struct {
	name string
	// started tells a process from a later one with the same PID.
	started int64
	cpu     time.Duration
}

// Read reads every process's CPU time from /proc. A process is named by its
// command and, for xuncha, its subcommand ("xuncha worker").
func Read() (Reading, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := Reading{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid … utime stime: comm may hold spaces and
		// parentheses, so the fields start after the last ')'.
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+1:])
		if len(fields) < 20 {
			continue
		}
		utime, err1 := strconv.ParseInt(fields[11], 10, 64)
		stime, err2 := strconv.ParseInt(fields[12], 10, 64)
		started, err3 := strconv.ParseInt(fields[19], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		name := s[open+1 : closing]
		if cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil {
			if args := strings.Split(string(cmdline), "\x00"); len(args) > 1 && strings.HasSuffix(args[0], "/xuncha") {
				name = "xuncha " + args[1]
			}
		}
		out[pid] = process{name, started, time.Duration(utime+stime) * time.Second / clockTicks}
	}
	return out, nil
}

// Name is what the process pid is counted under, "" when r did not read it.
func (r Reading) Name(pid int) string { return r[pid].name }

// Usage is CPU time by kind of process.
type Usage map[string]time.Duration

// Since is the CPU each kind of process used from before to r. A process
// that ended between them is not counted; one that started counts from
// zero. A kernel worker renames itself as it works: it is counted under
// its later name.
func (r Reading) Since(before Reading) Usage {
	u := Usage{}
	for pid, a := range r {
		d := a.cpu
		if b, ok := before[pid]; ok && b.started == a.started {
			d -= b.cpu
		}
		if d > 0 {
			u[a.name] += d
		}
	}
	return u
}

// Rename counts the time of from under to.
func (u Usage) Rename(from, to string) {
	if d, ok := u[from]; ok {
		delete(u, from)
		u[to] += d
	}
}

// Add adds v's times to u's.
func (u Usage) Add(v Usage) {
	for n, d := range v {
		u[n] += d
	}
}

// Total is the CPU time of every process in u.
func (u Usage) Total() time.Duration {
	var t time.Duration
	for _, d := range u {
		t += d
	}
	return t
}

// Names are u's kinds of process, the most CPU first.
func (u Usage) Names() []string {
	names := make([]string, 0, len(u))
	for n := range u {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := int(u[b] - u[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return names
}

// Report says how much CPU each kind of process used, most first, against
// what the machine's cores offered over wall.
func (u Usage) Report(wall time.Duration) string {
	total := u.Total()
	parts := make([]string, 0, len(u))
	var rest time.Duration
	for _, n := range u.Names() {
		if u[n]*100 < total { // under 1%: summed as the others
			rest += u[n]
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f s (%.0f%%)", n, u[n].Seconds(), 100*u[n].Seconds()/total.Seconds()))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others %.1f s", rest.Seconds()))
	}
	return fmt.Sprintf("CPU used over %s, %.1f s of the %d cores' %.0f s: %s", wall.Round(time.Second), total.Seconds(),
		runtime.NumCPU(), wall.Seconds()*float64(runtime.NumCPU()), strings.Join(parts, ", "))
}
