// Package buildlock lets the processes that build a pinned tool into bin/
// (the Temporal CLI, the Temporal server: internal/temporaldev,
// internal/temporalcluster) take turns: tests of several packages start at
// once, and only one of them should build while the others wait and then
// find the binary there.
package buildlock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Lock takes an exclusive flock on path, polling every half second so that
// ctx can cancel the wait. what names the build in errors ("the Temporal
// CLI"). Closing the file, which unlock does, releases the lock; so does
// the process's end.
func Lock(ctx context.Context, path, what string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the build lock of %s: %w", what, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("taking the build lock %s of %s: %w", path, what, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("waiting for another build of %s: %w", what, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// LastLines is the last n lines of a build's output, for an error.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
