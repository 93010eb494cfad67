package activities_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
)

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	body := []byte(`{"finding_id":"f-1"}`)
	now := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	valid := activities.SignWebhook(secret, now, body)
	require.Regexp(t, `^t=\d+,v1=[0-9a-f]{64}$`, valid)
	stamp, mac, _ := strings.Cut(valid, ",")
	require.Equal(t, fmt.Sprintf("t=%d", now.Unix()), stamp)
	tests := []struct {
		name      string
		secret    string
		header    string
		body      []byte
		now       time.Time
		tolerance time.Duration
		ok        bool
	}{
		{"valid", secret, valid, body, now, 5 * time.Minute, true},
		{"valid within tolerance", secret, valid, body, now.Add(4 * time.Minute), 5 * time.Minute, true},
		{"no time check", secret, valid, body, now.Add(24 * time.Hour), 0, true},
		{"one of several v1 matches", secret, stamp + ",v1=" + strings.Repeat("0", 64) + "," + mac, body, now, time.Minute, true},
		{"spaces after commas", secret, stamp + ", " + mac, body, now, time.Minute, true},
		{"wrong secret", "other", valid, body, now, time.Minute, false},
		{"tampered body", secret, valid, []byte(`{"finding_id":"f-2"}`), now, time.Minute, false},
		{"replayed later", secret, valid, body, now.Add(6 * time.Minute), 5 * time.Minute, false},
		{"from the future", secret, valid, body, now.Add(-6 * time.Minute), 5 * time.Minute, false},
		{"other time, same mac", secret, fmt.Sprintf("t=%d,%s", now.Unix()+1, mac), body, now, 0, false},
		{"no time", secret, mac, body, now, 0, false},
		{"bad time", secret, "t=soon," + mac, body, now, 0, false},
		{"no signature", secret, stamp, body, now, 0, false},
		{"garbage", secret, "not a signature", body, now, 0, false},
		{"empty", secret, "", body, now, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := activities.VerifyWebhookSignature(tt.secret, tt.header, tt.body, tt.now, tt.tolerance)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, activities.ErrWebhookSignature)
		})
	}
}

// receiver is an office system's webhook endpoint that checks signatures.
type receiver struct {
	secret string
	status int
	calls  atomic.Int32
	got    chan *http.Request
	bodies chan []byte
	errs   chan error
}

func newReceiver(t *testing.T, secret string, status int) (*receiver, *httptest.Server) {
	r := &receiver{secret: secret, status: status, got: make(chan *http.Request, 10), bodies: make(chan []byte, 10), errs: make(chan error, 10)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		body, err := io.ReadAll(req.Body)
		if err == nil {
			err = activities.VerifyWebhookSignature(r.secret, req.Header.Get(activities.HeaderWebhookSignature), body, time.Now(), 5*time.Minute)
		}
		r.errs <- err
		r.got <- req
		r.bodies <- body
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(r.status)
		_, _ = w.Write([]byte("receiver says hello"))
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func TestDeliverWebhook(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	payload := json.RawMessage(`{"finding_id":"f-1","ledger_number":"2026-430100-0001","severity":"MAJOR"}`)

	t.Run("signed and recorded", func(t *testing.T) {
		rcv, srv := newReceiver(t, "s3cret-ok", http.StatusNoContent)
		_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-ok", RequestID: "req-ok", URL: srv.URL,
			Secret: "s3cret-ok", CreatedBy: office})
		require.NoError(t, err)

		_, err = fx.env.ExecuteActivity(fx.acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: "w-ok", DeliveryID: "d-ok", EventType: "finding.major", Payload: payload})
		require.NoError(t, err)

		require.EqualValues(t, 1, rcv.calls.Load())
		require.NoError(t, <-rcv.errs, "the receiver verifies the signature")
		req, body := <-rcv.got, <-rcv.bodies
		require.Equal(t, http.MethodPost, req.Method)
		require.Equal(t, "application/json", req.Header.Get("Content-Type"))
		require.Equal(t, "finding.major", req.Header.Get(activities.HeaderWebhookEvent))
		require.Equal(t, "d-ok", req.Header.Get(activities.HeaderWebhookDelivery))
		require.JSONEq(t, string(payload), string(body))

		attempts, err := fx.store.Deliveries(t.Context(), "d-ok")
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, 1, attempts[0].Attempt)
		require.Equal(t, http.StatusNoContent, attempts[0].StatusCode)
		require.Empty(t, attempts[0].Error)
		require.Equal(t, "w-ok", attempts[0].WebhookID)
		require.JSONEq(t, string(payload), string(attempts[0].Payload))
	})

	t.Run("server error is retried", func(t *testing.T) {
		rcv, srv := newReceiver(t, "s3cret-500", http.StatusInternalServerError)
		_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-500", RequestID: "req-500", URL: srv.URL,
			Secret: "s3cret-500", CreatedBy: office})
		require.NoError(t, err)

		_, err = fx.env.ExecuteActivity(fx.acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: "w-500", DeliveryID: "d-500", EventType: "finding.escalated", Payload: payload})
		require.Error(t, err)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.False(t, app.NonRetryable(), "a failed attempt is retried")
		require.Equal(t, activities.ErrTypeWebhookDelivery, app.Type())
		require.NoError(t, <-rcv.errs)

		attempts, err := fx.store.Deliveries(t.Context(), "d-500")
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Equal(t, http.StatusInternalServerError, attempts[0].StatusCode)
		require.Contains(t, attempts[0].Error, "500")
		require.Contains(t, attempts[0].Error, "receiver says hello")
	})

	t.Run("a hostile status line is recorded as text", func(t *testing.T) {
		// The receiver answers a reason phrase PostgreSQL's text refuses
		// (a NUL, bytes that are not UTF-8) and longer than any reason:
		// the attempt is recorded all the same, its error printable and
		// bounded, and retried as any failed attempt.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 500 bad\x00reason \xff\xfe" + strings.Repeat("x", 5000) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			_ = buf.Flush()
		}))
		t.Cleanup(srv.Close)
		_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-hostile", RequestID: "req-hostile", URL: srv.URL,
			Secret: "s3cret-hostile", CreatedBy: office})
		require.NoError(t, err)
		_, err = fx.env.ExecuteActivity(fx.acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: "w-hostile", DeliveryID: "d-hostile", EventType: "finding.major", Payload: payload})
		failure := err
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.Equal(t, activities.ErrTypeWebhookDelivery, app.Type(), "a failed attempt, not a ledger failure")
		attempts, err := fx.store.Deliveries(t.Context(), "d-hostile")
		require.NoError(t, err)
		require.Len(t, attempts, 1, "the attempt is recorded")
		require.Equal(t, http.StatusInternalServerError, attempts[0].StatusCode)
		require.True(t, utf8.ValidString(attempts[0].Error))
		require.NotContains(t, attempts[0].Error, "\x00")
		require.Contains(t, attempts[0].Error, "500 bad")
		require.Less(t, len(attempts[0].Error), 1000)
		require.Less(t, len(failure.Error()), 1000, "the activity's failure quotes it bounded too")
	})

	t.Run("unreachable is retried", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-down", RequestID: "req-down", URL: url,
			Secret: "x", CreatedBy: office})
		require.NoError(t, err)
		_, err = fx.env.ExecuteActivity(fx.acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: "w-down", DeliveryID: "d-down", EventType: "finding.major", Payload: payload})
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.False(t, app.NonRetryable())
		attempts, err := fx.store.Deliveries(t.Context(), "d-down")
		require.NoError(t, err)
		require.Len(t, attempts, 1)
		require.Zero(t, attempts[0].StatusCode)
		require.NotEmpty(t, attempts[0].Error)
	})

	t.Run("deleted webhook is skipped", func(t *testing.T) {
		rcv, srv := newReceiver(t, "s3cret-gone", http.StatusOK)
		_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-gone", RequestID: "req-gone", URL: srv.URL,
			Secret: "s3cret-gone", CreatedBy: office})
		require.NoError(t, err)
		require.NoError(t, fx.store.DeleteWebhook(t.Context(), "w-gone", office))

		_, err = fx.env.ExecuteActivity(fx.acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: "w-gone", DeliveryID: "d-gone", EventType: "finding.major", Payload: payload})
		require.NoError(t, err)
		require.Zero(t, rcv.calls.Load())
		attempts, err := fx.store.Deliveries(t.Context(), "d-gone")
		require.NoError(t, err)
		require.Empty(t, attempts)
	})

	t.Run("unknown webhook is refused", func(t *testing.T) {
		_, err := fx.env.ExecuteActivity(fx.acts.DeliverWebhook, activities.DeliverWebhookInput{
			WebhookID: "w-none", DeliveryID: "d-none", EventType: "finding.major", Payload: payload})
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "%v", err)
		require.True(t, app.NonRetryable())
		require.Equal(t, "NOT_FOUND", app.Type())
	})
}

// TestDeliverWebhookRefusedAddress checks the address policy at delivery
// time: a receiver the policy refuses (here loopback, without an
// allow-list) gets no request, and the refusal is recorded and not retried.
func TestDeliverWebhookRefusedAddress(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	rcv, srv := newReceiver(t, "s3cret-refused", http.StatusOK)
	_, _, err := fx.store.CreateWebhook(t.Context(), casework.Webhook{ID: "w-local", RequestID: "req-local", URL: srv.URL,
		Secret: "s3cret-refused", CreatedBy: office})
	require.NoError(t, err)

	publicOnly := &activities.Activities{Ledger: fx.store, Log: fx.acts.Log}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(publicOnly)
	_, err = env.ExecuteActivity(publicOnly.DeliverWebhook, activities.DeliverWebhookInput{
		WebhookID: "w-local", DeliveryID: "d-local", EventType: "finding.major", Payload: json.RawMessage(`{}`)})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable(), "a refused address does not get better")
	require.Equal(t, activities.ErrTypeWebhookRefused, app.Type())
	require.Zero(t, rcv.calls.Load(), "nothing reached the receiver")

	attempts, err := fx.store.Deliveries(t.Context(), "d-local")
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Zero(t, attempts[0].StatusCode)
	require.Contains(t, attempts[0].Error, "loopback")
}
