package derrors

import (
	"errors"

	"go.temporal.io/sdk/temporal"
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
	switch {
	case errors.As(err, &invalid):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeInvalid, nil, invalid)
	case errors.As(err, &stage):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePrecondition, nil, stage)
	case errors.Is(err, ErrAlreadyExists):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeAlreadyExists, nil)
	case errors.Is(err, ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeNotFound, nil)
	case errors.Is(err, ErrPermissionDenied):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePermission, nil)
	case errors.Is(err, ErrFailedPrecondition):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePrecondition, nil)
	case errors.Is(err, ErrInvalidArgument):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeInvalid, nil)
	case errors.Is(err, ErrUnavailable):
		return temporal.NewApplicationError(err.Error(), errTypeUnavailable)
	}
	return err
}

// FromTemporal turns an error returned by the Temporal client for an update
// or workflow back into the domain error the workflow refused with. Errors
// that are not refusals are returned wrapped, unchanged in kind.
func FromTemporal(err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return err
	}
	msg := app.Message()
	switch app.Type() {
	case errTypeInvalid:
		// Details decode into a pointer: payloads decode into it, and the
		// SDK's test environment hands over the original *InvalidError.
		var invalid *InvalidError
		if app.HasDetails() && app.Details(&invalid) == nil && invalid != nil && len(invalid.Violations) > 0 {
			return invalid
		}
		return New(ErrInvalidArgument, "%s", msg)
	case errTypePrecondition:
		var stage *StageError
		if app.HasDetails() && app.Details(&stage) == nil && stage != nil && stage.Reason != "" {
			return stage
		}
		return New(ErrFailedPrecondition, "%s", msg)
	case errTypeAlreadyExists:
		return New(ErrAlreadyExists, "%s", msg)
	case errTypeNotFound:
		return New(ErrNotFound, "%s", msg)
	case errTypePermission:
		return New(ErrPermissionDenied, "%s", msg)
	case errTypeUnavailable:
		return New(ErrUnavailable, "%s", msg)
	}
	return err
}

// NonRetryableTypes are the application error types of domain refusals:
// retrying an activity that refused will not help.
var NonRetryableTypes = []string{errTypeInvalid, errTypePrecondition, errTypeAlreadyExists, errTypeNotFound, errTypePermission}
