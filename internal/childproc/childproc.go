// Package childproc starts the helper servers xuncha runs as children (the
// private PostgreSQL and the Temporal dev server) so that they never outlive
// it, keeps the tail of their output for error messages, and finds free
// ports for them.
package childproc

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
)

// Tail is an io.Writer that keeps the last N complete lines written to it
// (and a pending partial line) and hands each complete line to OnLine. Safe
// for concurrent use. The zero N keeps 20 lines.
type Tail struct {
	// N is how many lines are kept (default 20).
	N int
	// OnLine, if set, is called with each complete line, under the lock.
	OnLine func(string)

	mu      sync.Mutex
	lines   []string
	partial []byte
}

// Write keeps p's complete lines.
func (b *Tail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.N
	if n <= 0 {
		n = 20
	}
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimRight(string(b.partial[:i]), "\r")
		b.partial = b.partial[i+1:]
		if b.lines = append(b.lines, line); len(b.lines) > n {
			b.lines = b.lines[len(b.lines)-n:]
		}
		if b.OnLine != nil {
			b.OnLine(line)
		}
	}
}

// String returns the kept lines and any pending partial line,
// newline-separated.
func (b *Tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	if len(b.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(b.partial))
	}
	return strings.Join(lines, "\n")
}

// FreePort asks the kernel for a free port on 127.0.0.1. It connects to it
// once before returning, which leaves the port in TIME_WAIT: the kernel then
// does not hand it out again to bind(:0) for a while, yet a server can still
// bind it explicitly. This keeps parallel test binaries from picking the same
// port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	// The server side closes first, so the TIME_WAIT is on this port.
	_ = s.Close()
	return port, nil
}

// OneLine joins the lines of s with " | " so errors stay on one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", " | ")), " ")
}
