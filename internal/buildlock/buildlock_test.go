package buildlock

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLockTakesTurns: a second taker waits while the first holds the lock,
// gets it once the first lets go, and gives up when its context ends.
func TestLockTakesTurns(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".build.lock")
	unlock, err := Lock(t.Context(), path, "the test tool")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	_, err = Lock(ctx, path, "the test tool")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "waiting for another build of the test tool")

	got := make(chan error, 1)
	go func() {
		again, err := Lock(t.Context(), path, "the test tool")
		if err == nil {
			again()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the lock was taken twice: %v", err)
	case <-time.After(700 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the lock after it was let go")
	}
}

func TestLastLines(t *testing.T) {
	require.Equal(t, "c\nd", LastLines("a\nb\nc\nd\n\n", 2))
	require.Equal(t, "a", LastLines("a", 5))
}
