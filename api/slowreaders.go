package api

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/limit"
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
	return limit.Or(s.WriteIdleTimeout, DefaultWriteIdleTimeout)
}

// DefaultReadIdleTimeout bounds, unless Server.ReadIdleTimeout says
// otherwise, how long one read of an HTTP request's body may wait for a
// client that stopped sending: an upload of 100 MiB of evidence or a
// 32 MiB workbook arrives for as long as the client keeps sending, but a
// client that sends the headers and then a byte a minute (a slow-loris
// upload) cannot hold a goroutine and a temporary file or a growing
// buffer for ever.
const DefaultReadIdleTimeout = 60 * time.Second

// readIdleTimeout is the server's bound on one blocked read.
func (s *Server) readIdleTimeout() time.Duration {
	return limit.Or(s.ReadIdleTimeout, DefaultReadIdleTimeout)
}

// slowClients bounds both ways a client can hold a request open without
// moving: each read of the request's body waits at most readIdle for the
// client's next bytes (idleReader), each write of the response at most
// writeIdle for the client to read (slowReaders).
func slowClients(readIdle, writeIdle time.Duration, next http.Handler) http.Handler {
	next = slowReaders(writeIdle, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body := &idleReader{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: readIdle}
		r.Body = body
		// A handler that answers without reading the whole body (a 401
		// before an upload, a 415, a large answer to a GET sent with a
		// body): the server reads what is left of a small body before it
		// sends the answer's header — when the handler returns, or during
		// it once the answer outgrows its buffer — to keep the connection,
		// and without a deadline it waited for a stalled client for ever,
		// the answer unsent, the connection and its goroutine held: a
		// slowloris that needed no token. That read gives up after
		// readIdle, from the start and again once the handler is done,
		// and the connection is closed after the answer. idleReader sets
		// its own deadline before each read of the handler's, and clears
		// it at the body's end.
		_ = body.rc.SetReadDeadline(time.Now().Add(readIdle))
		next.ServeHTTP(w, r)
		if !body.ended {
			// The answer is written after that read gives up: its write
			// gets writeIdle from then. slowReaders gave it writeIdle
			// from now, which passed with the read when both bounds are
			// alike (the defaults): the client got no answer at all.
			now := time.Now()
			_ = body.rc.SetReadDeadline(now.Add(readIdle))
			_ = body.rc.SetWriteDeadline(now.Add(readIdle + writeIdle))
		}
	})
}

// idleReader sets the connection's read deadline before each read of the
// body. The deadline is cleared once the body ends: the server then reads
// the connection itself, to notice a client that goes away, and a deadline
// passing under that read while the handler still works (an import of
// twenty thousand rows) would cancel the request. A body that fails (the
// client stalled) keeps its passed deadline: before it answers, the server
// reads what is left of a small body to keep the connection, and without a
// deadline it waited for the stalled client for ever, the answer unsent
// and the connection open. The read now fails at once, and the connection
// is closed after the answer.
type idleReader struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	// ended: the body was read to its end, or failed (its deadline past).
	ended bool
}

func (r *idleReader) Read(p []byte) (int, error) {
	_ = r.rc.SetReadDeadline(time.Now().Add(r.idle))
	n, err := r.ReadCloser.Read(p)
	if err != nil {
		r.ended = true
	}
	switch {
	case errors.Is(err, io.EOF):
		_ = r.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The client's, not a dependency's: it was answered and logged as
		// the ledger unavailable (503).
		return n, derrors.New(derrors.ErrInvalidArgument, "the request's body stopped coming: nothing arrived for %d seconds; send it again",
			int(r.idle.Seconds()))
	}
	return n, err
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
