package api

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/limit"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
)

// DefaultRequestTimeout bounds every API call unless Server.RequestTimeout
// says otherwise. A change waits for its workflow Update, which waits for a
// worker; without one it would wait as long as the client does.
const DefaultRequestTimeout = 10 * time.Second

// RetryAfterHeader is the gRPC response header (and, through the gateway,
// the HTTP header Retry-After) that tells a client when to retry a call that
// ran out of time, in whole seconds.
const RetryAfterHeader = "retry-after"

// deadlineSlack is how early before the server's deadline a failure still
// counts as the deadline's: clocks of the API and its dependencies differ by
// about that much.
const deadlineSlack = 100 * time.Millisecond

// requestTimeout is the server-side deadline of one call.
func (s *Server) requestTimeout() time.Duration {
	return limit.Or(s.RequestTimeout, DefaultRequestTimeout)
}

// deadlineInterceptor gives every call a server-side deadline, so that a
// write never stays open while the worker or Temporal is down. When the
// server's deadline (not an earlier one of the client's) ends the call, the
// caller gets UNAVAILABLE (HTTP 503) with a Retry-After header: every change
// carries a request_id, so the same request can be sent again safely, and it
// either finds the change already made or makes it. A dependency that
// refuses sooner gets the same Retry-After.
func (s *Server) deadlineInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	timeout := s.requestTimeout()
	if clientDeadline, ok := ctx.Deadline(); ok && time.Until(clientDeadline) <= timeout {
		// The client gives up first and hears its own DEADLINE_EXCEEDED.
		return handler(ctx, req)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := handler(ctx, req)
	if deadline, _ := ctx.Deadline(); err != nil && ctx.Err() == nil && time.Until(deadline) < deadlineSlack {
		// A dependency can report the deadline a moment before ctx does:
		// Temporal cancels its stream at the deadline it was sent. Let ctx
		// catch up, so that the caller hears it was the deadline.
		<-ctx.Done()
	}
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		logging.Ctx(ctx, s.Log).Warn("request timed out", zap.String("method", info.FullMethod), zap.Duration("timeout", timeout), zap.Error(err))
		setRetryAfter(ctx, timeout)
		return nil, status.Error(codes.Unavailable, timeoutMessage(timeout, incomingLang(ctx)))
	case unavailable(err):
		// Temporal or the ledger refused before the deadline: the same
		// advice, with the status toStatus gives it.
		setRetryAfter(ctx, timeout)
	}
	return nil, err
}

// unavailable tells whether err becomes UNAVAILABLE in toStatus.
func unavailable(err error) bool {
	var temporalDown *serviceerror.Unavailable
	var notReady *serviceerror.WorkflowNotReady
	return errors.As(err, &temporalDown) || errors.As(err, &notReady) || errors.Is(err, derrors.ErrUnavailable) || ledger.Unavailable(err) ||
		status.Code(err) == codes.Unavailable
}

// setRetryAfter sets the retry-after response header: a retry makes sense
// after about one request timeout.
func setRetryAfter(ctx context.Context, timeout time.Duration) {
	retryAfter := strconv.Itoa(int(math.Ceil(timeout.Seconds())))
	// SetHeader fails only once headers were sent, which a unary handler
	// that returns an error has not done; the status says the same anyway.
	_ = grpc.SetHeader(ctx, metadata.Pairs(RetryAfterHeader, retryAfter))
}

func timeoutMessage(timeout time.Duration, lang i18n.Lang) string {
	return lang.Say("the request did not complete within %s (the workflow service or its worker is busy or down); retry later with the same request_id: a retry is safe and does not repeat a change already made", timeout)
}
