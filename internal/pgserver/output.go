package pgserver

import (
	"os"
	"sync"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/internal/childproc"
)

// outputSink receives the server's stdout and stderr: every line goes to the
// log file, to the logger at debug level, and to the tail quoted in errors.
type outputSink struct {
	childproc.Tail

	mu   sync.Mutex // guards file
	file *os.File
}

func newOutputSink(file *os.File, log *zap.Logger) *outputSink {
	s := &outputSink{file: file}
	s.OnLine = func(line string) {
		s.mu.Lock()
		if s.file != nil {
			_, _ = s.file.WriteString(line + "\n")
		}
		s.mu.Unlock()
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
