package api

import (
	"net/http"
	"time"
)

// DefaultWriteIdleTimeout bounds, unless Server.WriteIdleTimeout says
// otherwise, how long one write of an HTTP response may wait for a client
// that stopped reading: an export of 100,000 findings or a 100 MiB piece of
// evidence streams for as long as the client keeps reading, but a client
// that opens many downloads and never reads (a slow-reader attack) cannot
// hold their goroutines, buffers and workbooks for ever.
const DefaultWriteIdleTimeout = 60 * time.Second

// writeIdleTimeout is the server's bound on one blocked write.
func (s *Server) writeIdleTimeout() time.Duration {
	if s.WriteIdleTimeout > 0 {
		return s.WriteIdleTimeout
	}
	return DefaultWriteIdleTimeout
}

// slowReaders gives every write of next's responses its own deadline,
// idle from the moment it starts: a response may take as long as it
// needs in all, but no single write may block longer. Past it the
// connection is closed and the handler's writes fail, which ends it (an
// export logs "export broken off"). The deadline is set once more when the
// handler returns, before the server sends what it still buffers: the
// last write's deadline may have passed while the handler finished. The
// server clears it after each response, so a kept-alive connection starts
// the next request without one.
func slowReaders(idle time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iw := &idleWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: idle}
		defer iw.extend()
		next.ServeHTTP(iw, r)
	})
}

// idleWriter sets the connection's write deadline before each write.
type idleWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

// extend moves the connection's write deadline to idle from now. A
// writer that cannot take deadlines (a test recorder) goes without.
func (w *idleWriter) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.idle)) }

func (w *idleWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// Flush passes a flush on, within the same bound.
func (w *idleWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
