package cluster_test

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux this runs on.
const clockTicks = 100

// cpuTimes is the CPU time (user + system) each process has used so far,
// by PID, with the name it is reported under.
type cpuTimes map[int]struct {
	name string
	// started tells a process from a later one with the same PID.
	started int64
	cpu     time.Duration
}

// readCPU reads every process's CPU time from /proc. A process is named by
// its command and, for xuncha, its subcommand ("xuncha worker").
func readCPU() (cpuTimes, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := cpuTimes{}
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
		out[pid] = struct {
			name    string
			started int64
			cpu     time.Duration
		}{name, started, time.Duration(utime+stime) * time.Second / clockTicks}
	}
	return out, nil
}

// cpuSpent says how much CPU each kind of process used between two
// readings, most first, against what the machine's cores offered over
// wall. A process that ended between them is not counted; one that
// started counts from zero. A kernel worker renames itself as it works: it
// is counted under its later name.
func cpuSpent(before, after cpuTimes, wall time.Duration) string {
	by := map[string]time.Duration{}
	var total time.Duration
	for pid, a := range after {
		d := a.cpu
		if b, ok := before[pid]; ok && b.started == a.started {
			d -= b.cpu
		}
		if d > 0 {
			by[a.name] += d
			total += d
		}
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(by[b] - by[a]) })
	parts := make([]string, 0, len(names))
	var rest time.Duration
	for _, n := range names {
		if by[n]*100 < total { // under 1%: summed as the others
			rest += by[n]
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.1f s (%.0f%%)", n, by[n].Seconds(), 100*by[n].Seconds()/total.Seconds()))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("others %.1f s", rest.Seconds()))
	}
	return fmt.Sprintf("CPU used over %s, %.1f s of the %d cores' %.0f s: %s", wall.Round(time.Second), total.Seconds(),
		runtime.NumCPU(), wall.Seconds()*float64(runtime.NumCPU()), strings.Join(parts, ", "))
}

// TestCPUAttribution: the CPU a process spends between two readings is
// counted under its name, and nothing is counted twice.
func TestCPUAttribution(t *testing.T) {
	before, err := readCPU()
	require.NoError(t, err)
	self := before[os.Getpid()].name
	require.NotEmpty(t, self, "this process is read")
	// Spin until the kernel's own account (getrusage, not /proc) says
	// this process used 300 ms more, however loaded the machine is.
	used := func() time.Duration {
		var ru syscall.Rusage
		require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	spin, start := time.Now(), used()
	for x := 0; used()-start < 300*time.Millisecond; x++ {
		_ = x * x
	}
	after, err := readCPU()
	require.NoError(t, err)
	spent := cpuSpent(before, after, time.Since(spin))
	t.Log(spent)
	require.Regexp(t, regexp.MustCompile(regexp.QuoteMeta(self)+` 0\.[2-9]\d* s|`+regexp.QuoteMeta(self)+` [1-9]\.\d s`), spent, "the spin is this process's")
	require.Contains(t, spent, fmt.Sprintf("%d cores'", runtime.NumCPU()))
}
