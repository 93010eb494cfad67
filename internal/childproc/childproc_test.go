package childproc

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

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
	p, err := Start(exec.Command("sh", "-c", "exit 3"), syscall.SIGTERM)
	require.NoError(t, err)
	<-p.Done()
	var exit *exec.ExitError
	require.ErrorAs(t, p.Err(), &exit)
	require.Equal(t, 3, exit.ExitCode())
	require.ErrorIs(t, p.Stop(context.Background(), syscall.SIGTERM, time.Second), ErrAlreadyExited)
	_, err = Start(exec.Command("/nonexistent/binary"), syscall.SIGTERM)
	require.Error(t, err)
}

func TestStopSignalsThenKills(t *testing.T) {
	t.Parallel()
	// sleep dies of SIGTERM: Stop returns that exit.
	p, err := Start(exec.Command("sleep", "60"), syscall.SIGTERM)
	require.NoError(t, err)
	var exit *exec.ExitError
	require.ErrorAs(t, p.Stop(context.Background(), syscall.SIGTERM, 10*time.Second), &exit)

	// A child that ignores the signal is killed after the timeout.
	p, err = Start(exec.Command("sh", "-c", "trap '' TERM; sleep 60"), syscall.SIGTERM)
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond) // let the trap be set
	require.ErrorContains(t, p.Stop(context.Background(), syscall.SIGTERM, 300*time.Millisecond), "was killed")
	select {
	case <-p.Done():
	default:
		t.Fatal("the child is still running")
	}
}
