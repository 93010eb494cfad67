package authn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// maxJWKSBytes bounds a key set response.
const maxJWKSBytes = 1 << 20

// jwksTransport is the HTTP transport of go-oidc's remote key set. For the
// key set's URL it
//   - remembers the key IDs of the last key set fetched, so that a token
//     whose signature fails can be told apart: its key is unknown, or its
//     signature is bad;
//   - answers from the last response when a fetch was made less than
//     minInterval ago: go-oidc fetches the key set again for every token it
//     cannot verify, which forged tokens would turn into a flood of requests
//     to the identity provider.
//
// Every other request (discovery) passes through.
type jwksTransport struct {
	base        http.RoundTripper
	minInterval time.Duration
	now         func() time.Time

	mu      sync.Mutex
	url     string
	fetched time.Time       // of the last successful fetch
	body    []byte          // its response body
	kids    map[string]bool // its key IDs
	lastErr error           // of the last fetch attempt; nil after a success
}

func newJWKSTransport(client *http.Client, minInterval time.Duration, now func() time.Time) *jwksTransport {
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &jwksTransport{base: base, minInterval: minInterval, now: now}
}

func (t *jwksTransport) setURL(raw string) {
	// Compared with each request's URL in the form net/url prints it.
	if u, err := url.Parse(raw); err == nil {
		raw = u.String()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.url = raw
}

// knownKeys returns the key IDs of the last key set fetched (nil before the
// first) and the error of the last attempt.
func (t *jwksTransport) knownKeys() (map[string]bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.kids, t.lastErr
}

func (t *jwksTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	isJWKS := t.url != "" && req.Method == http.MethodGet && req.URL.String() == t.url
	if isJWKS && t.body != nil && t.now().Sub(t.fetched) < t.minInterval {
		body := t.body
		t.mu.Unlock()
		return cachedResponse(req, body), nil
	}
	t.mu.Unlock()
	if !isJWKS {
		return t.base.RoundTrip(req)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.fail(err)
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err == nil && len(body) > maxJWKSBytes {
		err = fmt.Errorf("key set larger than %d bytes", maxJWKSBytes)
	}
	if err != nil {
		t.fail(err)
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if jerr := json.Unmarshal(body, &set); jerr == nil {
			kids := make(map[string]bool, len(set.Keys))
			for _, k := range set.Keys {
				kids[k.Kid] = true
			}
			t.mu.Lock()
			t.fetched, t.body, t.kids, t.lastErr = t.now(), body, kids, nil
			t.mu.Unlock()
		} else {
			t.fail(fmt.Errorf("key set is not JSON: %w", jerr))
		}
	} else {
		t.fail(fmt.Errorf("key set answered %s", resp.Status))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (t *jwksTransport) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr = err
}

func cachedResponse(req *http.Request, body []byte) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": []string{"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
