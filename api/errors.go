// Package api implements xuncha's gRPC services, the REST/JSON gateway in front
// of them, the mapping of errors to status codes and the caller's identity.
package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"

	"go.temporal.io/api/serviceerror"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
)

// errorDomain is the ErrorInfo domain of xuncha's errors.
const errorDomain = "xuncha.v1"

// kindCodes maps each domain error kind to its gRPC code: the one table.
var kindCodes = []struct {
	kind error
	code codes.Code
}{
	{derrors.ErrInvalidArgument, codes.InvalidArgument},
	{derrors.ErrNotFound, codes.NotFound},
	{derrors.ErrFailedPrecondition, codes.FailedPrecondition},
	{derrors.ErrAlreadyExists, codes.AlreadyExists},
	{derrors.ErrPermissionDenied, codes.PermissionDenied},
	{derrors.ErrUnauthenticated, codes.Unauthenticated},
	{derrors.ErrUnavailable, codes.Unavailable},
}

// httpCodes maps gRPC codes to HTTP statuses where the gateway's default
// differs from DESIGN §6 (a refused state change is a conflict, 409). xuncha
// uses RESOURCE_EXHAUSTED only for a request over its size limit, 413; the
// gateway's 429 would make clients retry it forever.
var httpCodes = map[codes.Code]int{
	codes.FailedPrecondition: http.StatusConflict,
	codes.ResourceExhausted:  http.StatusRequestEntityTooLarge,
}

// toStatus turns any error into the status a client sees, in lang. Domain
// errors keep their message (written for clients; derrors.Message) and gain
// details; anything else is logged and reported as an internal error
// without its text. Codes, ErrorInfo reasons and field names are the same
// in every language.
func toStatus(err error, log *zap.Logger, lang i18n.Lang) *status.Status {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		return s
	}
	var calInvalid *calendar.ValidationError
	if errors.As(err, &calInvalid) {
		inv := &derrors.InvalidError{}
		for _, v := range calInvalid.Violations {
			inv.Violations = append(inv.Violations, derrors.FieldViolation{Field: v.Field, Rule: v.Rule, RuleZH: v.RuleZH})
		}
		err = inv
	}
	if errors.Is(err, calendar.ErrNoData) {
		s, _ := status.New(codes.FailedPrecondition, derrors.Message(err, lang)).WithDetails(&errdetails.ErrorInfo{
			Reason: "CALENDAR_NO_DATA", Domain: errorDomain,
		})
		return s
	}
	if errors.Is(err, context.Canceled) {
		return status.New(codes.Canceled, lang.Say("request cancelled"))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.New(codes.DeadlineExceeded, lang.Say("deadline exceeded"))
	}
	var unavailable *serviceerror.Unavailable
	if errors.As(err, &unavailable) {
		log.Warn("temporal unavailable", zap.Error(err))
		return status.New(codes.Unavailable, lang.Say("the workflow service is unavailable; retry later with the same request_id: a retry is safe"))
	}
	var notReady *serviceerror.WorkflowNotReady
	if errors.As(err, &notReady) {
		// The workflow task that would have taken the change failed (a
		// worker restarting, a namespace's new search attributes not yet
		// known to every Temporal service): nothing was changed, and
		// Temporal retries the task.
		log.Warn("workflow not ready", zap.Error(err))
		return status.New(codes.Unavailable, lang.Say("the workflow could not take the change yet; retry later with the same request_id: a retry is safe"))
	}
	if ledger.Unavailable(err) {
		log.Warn("ledger unavailable", zap.Error(err))
		return status.New(codes.Unavailable, lang.Say("the database is unavailable; retry later with the same request_id: a retry is safe"))
	}
	for _, k := range kindCodes {
		if !errors.Is(err, k.kind) {
			continue
		}
		s := status.New(k.code, derrors.Message(err, lang))
		if k.code == codes.Unavailable {
			log.Warn("dependency unavailable", zap.Error(err))
			s = status.New(k.code, lang.Say("a dependency is unavailable; retry later"))
		}
		return withDetails(s, err, lang)
	}
	log.Error("internal error", zap.Error(err))
	return status.New(codes.Internal, lang.Say("internal error"))
}

// withDetails attaches BadRequest field violations (described in lang) or
// ErrorInfo.
func withDetails(s *status.Status, err error, lang i18n.Lang) *status.Status {
	var invalid *derrors.InvalidError
	var stage *derrors.StageError
	switch {
	case errors.As(err, &invalid):
		br := &errdetails.BadRequest{}
		for _, v := range invalid.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.In(lang)})
		}
		if d, e := s.WithDetails(br); e == nil {
			return d
		}
	case errors.As(err, &stage):
		meta := map[string]string{"subject": stage.Subject, "action": stage.Action, "stage": stage.Stage}
		for i, a := range stage.Allowed {
			if i == 0 {
				meta["allowed"] = a
			} else {
				meta["allowed"] += "," + a
			}
		}
		if d, e := s.WithDetails(&errdetails.ErrorInfo{Reason: stage.Reason, Domain: errorDomain, Metadata: meta}); e == nil {
			return d
		}
	}
	return s
}

// acceptLanguageKeys are the metadata keys that carry the caller's
// Accept-Language: a gRPC client's own, and the REST request's as the
// gateway forwards it.
var acceptLanguageKeys = []string{"accept-language", runtime.MetadataPrefix + "accept-language"}

// callLang is the language of a gRPC call's answers: Chinese unless its
// Accept-Language metadata prefers English.
func callLang(md metadata.MD) i18n.Lang {
	for _, k := range acceptLanguageKeys {
		if v := md.Get(k); len(v) > 0 {
			return i18n.FromAcceptLanguage(strings.Join(v, ","))
		}
	}
	return i18n.Chinese
}

// incomingLang is the language of the answers to the gRPC call of ctx.
func incomingLang(ctx context.Context) i18n.Lang {
	md, _ := metadata.FromIncomingContext(ctx)
	return callLang(md)
}

// requestLang is the language of a REST request's answers.
func requestLang(r *http.Request) i18n.Lang {
	return i18n.FromAcceptLanguage(strings.Join(r.Header.Values("Accept-Language"), ","))
}
