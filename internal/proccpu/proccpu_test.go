package proccpu

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCPUAttribution: the CPU a process spends between two readings is
// counted under its name, and nothing is counted twice.
func TestCPUAttribution(t *testing.T) {
	before, err := Read()
	require.NoError(t, err)
	self := before.Name(os.Getpid())
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
	after, err := Read()
	require.NoError(t, err)
	u := after.Since(before)
	report := u.Report(time.Since(spin))
	t.Log(report)
	require.Regexp(t, regexp.MustCompile(regexp.QuoteMeta(self)+` 0\.[2-9]\d* s|`+regexp.QuoteMeta(self)+` [1-9]\.\d s`), report, "the spin is this process's")
	require.Contains(t, report, fmt.Sprintf("%d cores'", runtime.NumCPU()))
	require.GreaterOrEqual(t, u.Total(), u[self])
}

// TestUsageAddsUp: usages add by kind of process, and a process that
// restarted under the same PID counts from zero.
func TestUsageAddsUp(t *testing.T) {
	t.Parallel()
	before := Reading{1: {"postgres", 10, 2 * time.Second}, 2: {"temporal", 10, time.Second}, 3: {"gone", 10, time.Second}}
	after := Reading{1: {"postgres", 10, 5 * time.Second}, 2: {"temporal", 99, 500 * time.Millisecond}, 4: {"postgres", 20, time.Second}}
	u := after.Since(before)
	require.Equal(t, Usage{"postgres": 4 * time.Second, "temporal": 500 * time.Millisecond}, u)
	u.Add(Usage{"temporal": time.Second, "xuncha worker": time.Second})
	require.Equal(t, []string{"postgres", "temporal", "xuncha worker"}, u.Names())
	require.Equal(t, 6500*time.Millisecond, u.Total())
	u.Rename("xuncha worker", "worker")
	u.Rename("nothing", "else")
	require.Equal(t, Usage{"postgres": 4 * time.Second, "temporal": 1500 * time.Millisecond, "worker": time.Second}, u)
}
