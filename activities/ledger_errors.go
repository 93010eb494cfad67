package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/derrors"
)

// LedgerFailure says how an activity treats an error of a ledger call: a
// transient failure (the database restarting, a serialization conflict) is
// retried by the activity's retry policy; a permanent one (data PostgreSQL
// refuses, a broken constraint, a domain refusal) is not, because the same
// write would be refused again forever.
type LedgerFailure struct {
	// Retry is true when the same call may succeed later.
	Retry bool
	// Kind is the derrors kind of a permanent failure
	// (derrors.ErrInvalidArgument, derrors.ErrFailedPrecondition, or the kind
	// of a domain error); nil when Retry is true.
	Kind error
	// Domain is true when the ledger itself refused with a domain error,
	// whose message is written for clients and is kept.
	Domain bool
	// Reason says, for clients, what was refused; it never quotes SQL or the
	// database's own message. Empty for domain errors and retries.
	Reason string
	// SQLState is PostgreSQL's error code, when the database answered one.
	SQLState string
}

// domainKinds are the derrors kinds a ledger call can refuse with.
var domainKinds = []error{derrors.ErrInvalidArgument, derrors.ErrFailedPrecondition, derrors.ErrNotFound,
	derrors.ErrAlreadyExists, derrors.ErrPermissionDenied}

// transientStates are the SQLSTATE codes and classes (two characters) that
// say "try again": the connection or server went away, the transaction lost a
// race, the server is short of resources or shutting down.
var transientStates = []string{
	"08",    // connection exception
	"40001", // serialization_failure
	"40P01", // deadlock_detected
	"53",    // insufficient resources, e.g. 53300 too_many_connections
	"55P03", // lock_not_available
	"57014", // query_canceled (statement timeout)
	"57P01", // admin_shutdown
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now (starting up)
}

// ClassifyLedgerError sorts an error returned by the ledger (package
// ledger) into retryable and permanent. Permanent are the ledger's domain
// refusals and SQLSTATE classes 22 (data exception: a NUL byte or invalid
// UTF-8 in text, a value out of range), 23 (integrity constraint violation)
// and 42 (syntax error or undefined object: a defect in xuncha, which a retry
// cannot mend), and what the ledger holds failing to read (JSON that does
// not decode, a column that does not scan). Everything else — connection
// errors, the transient SQLSTATEs, a context deadline, and errors not known
// — is retried; the activity options bound how long.
func ClassifyLedgerError(err error) LedgerFailure {
	if err == nil {
		return LedgerFailure{}
	}
	var calInvalid *calendar.ValidationError
	if errors.Is(err, calendar.ErrNoData) {
		return LedgerFailure{Kind: derrors.ErrFailedPrecondition, Domain: true}
	}
	if errors.As(err, &calInvalid) {
		return LedgerFailure{Kind: derrors.ErrInvalidArgument, Domain: true}
	}
	for _, kind := range domainKinds {
		if errors.Is(err, kind) {
			return LedgerFailure{Kind: kind, Domain: true}
		}
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var scan pgx.ScanArgError
	if errors.As(err, &syntax) || errors.As(err, &typ) || errors.As(err, &scan) || errors.Is(err, pgx.ErrTooManyRows) {
		// What the ledger holds does not read as xuncha wrote it (a defect,
		// or a row changed behind its back): reading it again will not help.
		return LedgerFailure{Kind: derrors.ErrFailedPrecondition,
			Reason: "the ledger holds data this change cannot read (a defect in xuncha, or a row changed outside it); the worker's log has the details"}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		// Connection refused or reset, a timeout, a closed pool, a cancelled
		// context: all may pass.
		return LedgerFailure{Retry: true}
	}
	code := pgErr.Code
	for _, s := range transientStates {
		if strings.HasPrefix(code, s) {
			return LedgerFailure{Retry: true, SQLState: code}
		}
	}
	switch {
	case strings.HasPrefix(code, "22"):
		return LedgerFailure{Kind: derrors.ErrInvalidArgument, SQLState: code, Reason: dataExceptionReason(code)}
	case strings.HasPrefix(code, "23"):
		return LedgerFailure{Kind: derrors.ErrFailedPrecondition, SQLState: code,
			Reason: "the ledger refused the change: it breaks a rule of the ledger's data (SQLSTATE " + code + ")"}
	case strings.HasPrefix(code, "42"):
		return LedgerFailure{Kind: derrors.ErrFailedPrecondition, SQLState: code,
			Reason: "the ledger cannot apply this change because of a defect in xuncha (SQLSTATE " + code + "); the worker's log has the details"}
	}
	return LedgerFailure{Retry: true, SQLState: code}
}

// dataExceptionReason explains an SQLSTATE of class 22 in words for clients.
func dataExceptionReason(code string) string {
	switch code {
	case "22021", "22P05": // character_not_in_repertoire, untranslatable_character
		return "the ledger refused a text value: it contains a NUL byte (\\u0000) or is not valid UTF-8"
	case "22001": // string_data_right_truncation
		return "the ledger refused a text value: it is too long"
	case "22003", "22008": // numeric_value_out_of_range, datetime_field_overflow
		return "the ledger refused a value: it is out of range"
	}
	return "the ledger refused a value of the change as invalid data (SQLSTATE " + code + ")"
}

// LedgerError is what an activity returns for an error of a ledger call made
// for what (e.g. `applying diagnose to finding "f-1"`): nil for nil; a
// retryable error with context for a transient failure; a non-retryable
// Temporal application error of the derrors kind for a permanent one, whose
// message names what was refused but not the SQL or the database's text.
func LedgerError(what string, err error) error {
	if err == nil {
		return nil
	}
	f := ClassifyLedgerError(err)
	switch {
	case f.Retry:
		return fmt.Errorf("%s: %w", what, err)
	case f.Domain:
		return refusal(fmt.Errorf("%s: %w", what, err))
	}
	return derrors.ToTemporal(derrors.New(f.Kind, "%s: %s", what, f.Reason))
}

// ledgerError is LedgerError that also logs a permanent database refusal
// with the database's own text, which clients never see.
func (a *Activities) ledgerError(ctx context.Context, what string, err error) error {
	if f := ClassifyLedgerError(err); err != nil && !f.Retry && !f.Domain && a.Log != nil {
		a.log(ctx).Error("ledger refused a change permanently; not retried", zap.String("what", what),
			zap.String("sqlstate", f.SQLState), zap.Error(err))
	}
	return LedgerError(what, err)
}
