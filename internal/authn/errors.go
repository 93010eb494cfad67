package authn

import (
	"errors"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Reasons a bearer token is refused. Compare with errors.Is; every error
// Verify returns also matches derrors.ErrUnauthenticated (the API's table
// maps it to gRPC Unauthenticated / HTTP 401), except ErrIssuerUnavailable,
// which matches derrors.ErrUnavailable. Their messages (Error) are safe to
// send to the caller: they name the rule, never the token's content.
var (
	// ErrNoToken means the request carries no bearer token.
	ErrNoToken = errors.New("no bearer token")
	// ErrMalformed means the token is not a well-formed signed JWT, or a
	// claim xuncha reads has the wrong type (the subject or the expiry is
	// missing, the roles claim is not a list of strings, …).
	ErrMalformed = errors.New("malformed bearer token")
	// ErrAlgorithmNotAllowed means the token's signing algorithm ("alg") is
	// not in the allow-list ("none" and the HMAC algorithms never are).
	ErrAlgorithmNotAllowed = errors.New("signing algorithm not allowed")
	// ErrUnknownKey means the token names a signing key ("kid") that the
	// issuer's key set does not hold, even after fetching it again.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrBadSignature means no key of the issuer's key set verifies the
	// token's signature.
	ErrBadSignature = errors.New("bad signature")
	// ErrWrongIssuer means the token was issued by another issuer ("iss").
	ErrWrongIssuer = errors.New("wrong issuer")
	// ErrWrongAudience means the token is not meant for xuncha ("aud").
	ErrWrongAudience = errors.New("wrong audience")
	// ErrExpired means the token's expiry ("exp") is past, beyond the leeway.
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid means the token's "nbf" is still ahead, beyond the leeway.
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrIssuerUnavailable means the issuer's discovery document or key set
	// could not be fetched, so the token could not be checked; the caller
	// may retry.
	ErrIssuerUnavailable = errors.New("identity provider unavailable")
)

// Error is a refused token: its Kind is one of the Err… values above, its
// message says what is wrong without quoting the token. Unwrap gives the
// underlying library error for logs only: it may quote the token's claims.
type Error struct {
	// Kind is one of ErrNoToken, ErrMalformed, … ErrIssuerUnavailable.
	Kind error
	msg  i18n.Text
	// cause is the library's error, for logs.
	cause error
}

// Error returns the message meant for the caller, in English.
func (e *Error) Error() string { return e.msg.EN }

// In returns the message meant for the caller in lang (derrors.Message).
func (e *Error) In(lang i18n.Lang) string { return e.msg.In(lang) }

// Unwrap returns the underlying error, if any (for logs, not for clients).
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is match the kind, and derrors.ErrUnauthenticated (or
// derrors.ErrUnavailable for ErrIssuerUnavailable).
func (e *Error) Is(target error) bool {
	if target == e.Kind {
		return true
	}
	if e.Kind == ErrIssuerUnavailable {
		return target == derrors.ErrUnavailable
	}
	return target == derrors.ErrUnauthenticated
}

// refuse is a refused token of kind: format and args say why, in both
// languages (i18n.T; the catalogue has the Chinese), cause is for logs.
func refuse(kind error, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, msg: i18n.T(format, args...), cause: cause}
}
