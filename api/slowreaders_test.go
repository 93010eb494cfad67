package api_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/api"
)

// TestSlowReaderIsCutOff: a download streams for as long as its client
// reads, but a client that stops reading is cut off once one write has
// waited longer than the server's WriteIdleTimeout, so a crowd of
// downloads nobody reads cannot hold the server's goroutines and buffers.
// Without the bound the paused client would still receive every byte.
func TestSlowReaderIsCutOff(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) { srv.WriteIdleTimeout = 300 * time.Millisecond })
	// 32 MiB: more than the loopback connection's buffers hold.
	content := bytes.Repeat([]byte("现场检查记录：危化品仓库未设置可燃气体报警装置。\n"), 32<<20/69)
	code, body := s.uploadAs(&member, "DOCUMENT", "text/plain", content, url.Values{"file_name": {"记录.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", body)
	id := body["id"].(string)
	base, err := url.Parse(s.BaseURL)
	require.NoError(t, err)

	// download asks for the content over a raw connection, reads nothing
	// for pause, then reads until the server ends the response.
	download := func(pause time.Duration) int64 {
		conn, err := net.Dial("tcp", base.Host)
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "GET /v1/evidence/%s/content HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nConnection: close\r\n\r\n",
			id, base.Host, s.authorization(member))
		require.NoError(t, err)
		time.Sleep(pause)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
		n, _ := io.Copy(io.Discard, conn) // the cut-off connection may end with a reset
		return n
	}
	require.Greater(t, download(0), int64(len(content)), "a reader gets the headers and every byte")
	got := download(3 * time.Second)
	require.Less(t, got, int64(len(content)), "a reader that paused for 3 s past a 300 ms bound was cut off (%d bytes)", got)
	require.Greater(t, got, int64(0), "it had the start of the response")
}

// TestKeptAliveConnectionOutlivesTheBound: a connection kept alive longer
// than the bound between two requests still answers the second, also when
// that answer has no body (304 Not Modified): the bound is each write's,
// not the connection's.
func TestKeptAliveConnectionOutlivesTheBound(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) { srv.WriteIdleTimeout = 200 * time.Millisecond })
	code, body := s.uploadAs(&member, "DOCUMENT", "text/plain", []byte("复查记录：通道已清理。"), url.Values{"file_name": {"复查.txt"}})
	require.Equal(t, http.StatusOK, code, "%v", body)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	get := func(etag string) (*http.Response, bool) {
		req, err := http.NewRequest("GET", s.BaseURL+"/v1/evidence/"+body["id"].(string)+"/content", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", s.authorization(member))
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp, reused
	}
	first, _ := get("")
	require.Equal(t, http.StatusOK, first.StatusCode)
	time.Sleep(time.Second)
	again, reused := get(first.Header.Get("ETag"))
	require.True(t, reused, "the kept-alive connection was used again")
	require.Equal(t, http.StatusNotModified, again.StatusCode)
}

// TestSlowSenderIsCutOff: an upload arrives for as long as its client
// sends, but a client that sends the headers and a few bytes and then
// stops is cut off once one read has waited longer than the server's
// ReadIdleTimeout, so a crowd of stalled uploads cannot hold the server's
// goroutines, temporary files and buffers. Without the bound the server
// waited for the rest for ever. An upload that keeps sending is whole.
func TestSlowSenderIsCutOff(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) { srv.ReadIdleTimeout = time.Second })
	base, err := url.Parse(s.BaseURL)
	require.NoError(t, err)
	content := bytes.Repeat([]byte("现场检查记录。"), 100)
	sum := sha256.Sum256(content)
	query := url.Values{"kind": {"DOCUMENT"}, "sha256": {hex.EncodeToString(sum[:])}, "captured_at": {"2026-11-20T09:30:00+08:00"},
		"file_name": {"记录.txt"}}

	// upload sends the headers and the first 10 bytes, waits pause, sends
	// the rest and returns the status line the server answered, and how
	// long after the pause began the server's answer or close came.
	upload := func(pause time.Duration, connection string, token ...string) (string, time.Duration) {
		conn, err := net.Dial("tcp", base.Host)
		require.NoError(t, err)
		defer conn.Close()
		authorization := s.authorization(member)
		if len(token) > 0 {
			authorization = token[0]
		}
		_, err = fmt.Fprintf(conn, "POST /v1/evidence?%s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n",
			query.Encode(), base.Host, authorization, len(content), connection)
		require.NoError(t, err)
		_, err = conn.Write(content[:10])
		require.NoError(t, err)
		start := time.Now()
		answered := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(conn).ReadString('\n')
			answered <- line
		}()
		select {
		case line := <-answered:
			return line, time.Since(start)
		case <-time.After(pause):
		}
		_, _ = conn.Write(content[10:]) // may fail: the server closed
		select {
		case line := <-answered:
			return line, time.Since(start)
		case <-time.After(10 * time.Second):
			return "", time.Since(start)
		}
	}
	line, _ := upload(100*time.Millisecond, "close")
	require.Contains(t, line, "200 OK", "a pause within the bound")
	// Kept alive or not: a small body's stalled rest kept the connection
	// open with no answer, the server waiting without a deadline to read
	// what was left before it answered.
	for _, connection := range []string{"close", "keep-alive"} {
		line, after := upload(5*time.Second, connection)
		require.Less(t, after, 5*time.Second, "cut off before the client sent the rest (%q, Connection: %s)", line, connection)
		require.Contains(t, line, "400 Bad Request", "the client's stall, not a dependency's (503)")
	}
	// Refused before its body is read (no valid token): the answer comes
	// although the client stalls; it never did on a kept-alive connection,
	// the server waiting for the rest before answering.
	line, after := upload(5*time.Second, "keep-alive", "Bearer forged")
	require.Less(t, after, 5*time.Second, "answered though the client stalled (%q)", line)
	require.Contains(t, line, "401 Unauthorized")

	// A large answer written while the body is unread (the OpenAPI
	// document, 200 KiB, asks for no token): its header waited for the
	// rest of the body, without a deadline, while the handler wrote.
	line, ok := statusLineOf(t, base.Host, fmt.Sprintf("GET /openapi.json HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\n0123456789", base.Host))
	require.True(t, ok, "a large answer to a request whose body stalled was never sent")
	require.Contains(t, line, "200 OK")
}

// statusLineOf sends request on a new connection to host, sends nothing
// more, and returns the answer's status line, or false when none came in
// 5 s.
func statusLineOf(t *testing.T, host, request string) (string, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	answered := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- l
	}()
	select {
	case l := <-answered:
		return l, true
	case <-time.After(5 * time.Second):
		return "", false
	}
}

// TestRefusedBeforeItsBodyWithLikeBounds: a request refused before its
// body is read (no valid token) and whose client stalls is answered when
// the read of the rest gives up, with the read and write bounds alike (as
// their defaults are). The answer's write had the same deadline as that
// read, and the client got nothing but the close.
func TestRefusedBeforeItsBodyWithLikeBounds(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) {
		srv.ReadIdleTimeout, srv.WriteIdleTimeout = time.Second, time.Second
	})
	base, err := url.Parse(s.BaseURL)
	require.NoError(t, err)
	line, ok := statusLineOf(t, base.Host, fmt.Sprintf("POST /v1/inspections HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer forged\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":", base.Host))
	require.True(t, ok, "a refused request whose body stalled was never answered")
	require.Contains(t, line, "401 Unauthorized", "answered, not just closed")
}

// TestStoppingAPIDrainsFirst: asked to stop, the API answers /readyz 503
// ("draining") and keeps serving for its DrainDelay, so that a load
// balancer takes it out of rotation before its listeners close; it closed
// them at once, refusing connections the endpoints still sent it.
func TestStoppingAPIDrainsFirst(t *testing.T) {
	s := setupConfigured(t, func(srv *api.Server, _ string) { srv.DrainDelay = 3 * time.Second })
	get := func(path string) (int, string, error) {
		resp, err := http.Get(s.BaseURL + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	code, _, err := get("/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)

	stopped := make(chan struct{})
	go func() { s.stopAPI(); close(stopped) }()
	require.Eventually(t, func() bool {
		code, body, err := get("/readyz")
		return err == nil && code == http.StatusServiceUnavailable && strings.Contains(body, "draining")
	}, 2*time.Second, 50*time.Millisecond, "not ready while it drains")
	code, _, err = get("/healthz")
	require.NoError(t, err, "still serving")
	require.Equal(t, http.StatusOK, code)
	<-stopped
	_, _, err = get("/healthz")
	require.Error(t, err, "the listeners closed after the drain")
}
