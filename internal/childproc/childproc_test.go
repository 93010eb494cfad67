package childproc

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTailKeepsTheLastLines(t *testing.T) {
	t.Parallel()
	var seen []string
	tail := &Tail{N: 3, OnLine: func(l string) { seen = append(seen, l) }}
	for i := range 5 {
		_, err := fmt.Fprintf(tail, "line %d\r\n", i)
		require.NoError(t, err)
	}
	_, err := tail.Write([]byte("partial"))
	require.NoError(t, err)
	require.Equal(t, "line 2\nline 3\nline 4\npartial", tail.String())
	require.Len(t, seen, 5, "every complete line reaches OnLine")
	require.Equal(t, "a | b c", OneLine("a\n  b   c\n"))
}

func TestFreePortIsNotHandedOutTwice(t *testing.T) {
	t.Parallel()
	// Another process may take a free port before we bind it (that race is
	// why callers retry), so this checks only what FreePort itself promises:
	// a port, and not the same one again right away (TIME_WAIT).
	seen := map[int]bool{}
	for range 20 {
		port, err := FreePort()
		require.NoError(t, err)
		require.Positive(t, port)
		require.False(t, seen[port], "port %d handed out twice", port)
		seen[port] = true
	}
}

func TestStartReapsTheChild(t *testing.T) {
	t.Parallel()
	exited := make(chan struct{})
	var waitErr error
	require.NoError(t, Start(exec.Command("sh", "-c", "exit 3"), syscall.SIGTERM, exited, &waitErr))
	<-exited
	var exit *exec.ExitError
	require.ErrorAs(t, waitErr, &exit)
	require.Equal(t, 3, exit.ExitCode())
	require.Error(t, Start(exec.Command("/nonexistent/binary"), syscall.SIGTERM, make(chan struct{}), &waitErr))
}
