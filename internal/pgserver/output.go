package pgserver

import (
	"bytes"
	"os"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// tailBuffer is an io.Writer that keeps the last tailLines complete lines
// written to it (and a pending partial line). Safe for concurrent use.
type tailBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	// onLine, if set, is called with each complete line, under mu.
	onLine func(string)
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(b.partial[:i]), "\r")
		b.partial = b.partial[i+1:]
		b.lines = append(b.lines, line)
		if len(b.lines) > tailLines {
			b.lines = b.lines[len(b.lines)-tailLines:]
		}
		if b.onLine != nil {
			b.onLine(line)
		}
	}
	return len(p), nil
}

// Tail returns the kept lines, newline-separated.
func (b *tailBuffer) Tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := b.lines
	if len(b.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(b.partial))
	}
	return strings.Join(lines, "\n")
}

// outputSink receives the server's stdout and stderr: every line goes to the
// log file, to the logger at debug level, and to the tail quoted in errors.
type outputSink struct {
	tailBuffer
	file *os.File
}

func newOutputSink(file *os.File, log *zap.Logger) *outputSink {
	s := &outputSink{file: file}
	s.onLine = func(line string) {
		if s.file != nil {
			_, _ = s.file.WriteString(line + "\n")
		}
		log.Debug(line)
	}
	return s
}

// Close closes the log file; later output only reaches the logger and tail.
func (s *outputSink) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
}
