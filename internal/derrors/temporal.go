package derrors

import (
	"errors"
	"slices"

	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/internal/i18n"
)

// Application error types that carry domain errors across Temporal (update
// validators, activities) to the API. NonRetryableTypes lists them for
// activity retry policies.
const (
	errTypeInvalid       = "INVALID_ARGUMENT"
	errTypePrecondition  = "FAILED_PRECONDITION"
	errTypeAlreadyExists = "ALREADY_EXISTS"
	errTypeNotFound      = "NOT_FOUND"
	errTypePermission    = "PERMISSION_DENIED"
	// errTypeUnavailable is retryable: the dependency may come back.
	errTypeUnavailable = "UNAVAILABLE"
)

// TypeNotSigned is the application error type of an Update or start a
// worker refused for its signature (payloadcrypt.ReasonNotSigned). The API
// answers it as unavailable: what the API itself sent was refused because
// its signature was older than the workers take (the Update waited for a
// worker longer) or made with a key they do not hold, and the request sent
// again is signed anew.
const TypeNotSigned = "NOT_SIGNED"

// ToTemporal turns a domain error into a non-retryable Temporal
// application error (ErrUnavailable into a retryable one) whose type names
// the kind and whose details carry the structure (field violations, stage
// refusal).
func ToTemporal(err error) error {
	if err == nil {
		return nil
	}
	var invalid *InvalidError
	var stage *StageError
	// A New error's Chinese travels as the details (its English is the
	// message, with the context wrapping added).
	var details []any
	var kind *kindError
	if errors.As(err, &kind) && kind.msg.ZH != "" {
		details = []any{&i18n.Text{ZH: kind.msg.ZH}}
	}
	switch {
	case errors.As(err, &invalid):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeInvalid, nil, invalid)
	case errors.As(err, &stage):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePrecondition, nil, stage)
	case errors.Is(err, ErrAlreadyExists):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeAlreadyExists, nil, details...)
	case errors.Is(err, ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeNotFound, nil, details...)
	case errors.Is(err, ErrPermissionDenied):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePermission, nil, details...)
	case errors.Is(err, ErrFailedPrecondition):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePrecondition, nil, details...)
	case errors.Is(err, ErrInvalidArgument):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeInvalid, nil, details...)
	case errors.Is(err, ErrUnavailable):
		return temporal.NewApplicationError(err.Error(), errTypeUnavailable, details...)
	}
	return err
}

// fromApplication is a New error of kind with the application error's
// message and the Chinese its details carry, if any.
func fromApplication(kind error, app *temporal.ApplicationError) error {
	text := i18n.Text{EN: app.Message()}
	var zh *i18n.Text
	if detailsInto(app, &zh) && zh != nil {
		text.ZH = zh.ZH
	}
	return &kindError{msg: text, kind: kind}
}

// detailsInto decodes app's details into out, a pointer to a pointer, and
// tells whether that worked. Details of another type are no match: decoded
// from payloads they fail or come out empty, and handed over as values (the
// SDK's test environment does) they make the SDK's reflect.Set panic, which
// is recovered here.
func detailsInto(app *temporal.ApplicationError, out any) (ok bool) {
	if !app.HasDetails() {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return app.Details(out) == nil
}

// FromTemporal turns an error returned by the Temporal client for an update
// or workflow back into the domain error the workflow refused with. Errors
// that are not refusals are returned wrapped, unchanged in kind.
func FromTemporal(err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return err
	}
	switch app.Type() {
	case errTypeInvalid:
		// Details decode into a pointer: payloads decode into it, and the
		// SDK's test environment hands over the original *InvalidError.
		var invalid *InvalidError
		if detailsInto(app, &invalid) && invalid != nil && len(invalid.Violations) > 0 {
			return invalid
		}
		return fromApplication(ErrInvalidArgument, app)
	case errTypePrecondition:
		var stage *StageError
		if detailsInto(app, &stage) && stage != nil && stage.Reason != "" {
			return stage
		}
		return fromApplication(ErrFailedPrecondition, app)
	case errTypeAlreadyExists:
		return fromApplication(ErrAlreadyExists, app)
	case errTypeNotFound:
		return fromApplication(ErrNotFound, app)
	case errTypePermission:
		return fromApplication(ErrPermissionDenied, app)
	case errTypeUnavailable:
		return fromApplication(ErrUnavailable, app)
	case TypeNotSigned:
		return New(ErrUnavailable, "the workers could not confirm that this change came from the API (its signature was too old when a worker took it up, or not made with their key ring): send the request again; if it is refused again, the servers' and workers' payload key rings or clocks differ")
	}
	return err
}

// NonRetryableTypes are the application error types of domain refusals:
// retrying an activity that refused will not help.
var NonRetryableTypes = []string{errTypeInvalid, errTypePrecondition, errTypeAlreadyExists, errTypeNotFound, errTypePermission}

// LeftNothing reports whether an application error of type typ left
// nothing behind: a domain refusal (NonRetryableTypes), or UNAVAILABLE (the
// ledger not written within its retries).
func LeftNothing(typ string) bool {
	return typ == errTypeUnavailable || slices.Contains(NonRetryableTypes, typ)
}
