package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/internal/derrors"
)

// Application error types that carry domain errors across Temporal (update
// validators, activities) to the API.
const (
	errTypeInvalid       = "INVALID_ARGUMENT"
	errTypePrecondition  = "FAILED_PRECONDITION"
	errTypeAlreadyExists = "ALREADY_EXISTS"
	errTypeNotFound      = "NOT_FOUND"
	errTypePermission    = "PERMISSION_DENIED"
)

// applicationError turns a domain error into a non-retryable Temporal
// application error whose type names the kind and whose details carry the
// structure (field violations, stage refusal).
func applicationError(err error) error {
	if err == nil {
		return nil
	}
	var invalid *derrors.InvalidError
	var stage *derrors.StageError
	switch {
	case errors.As(err, &invalid):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeInvalid, nil, invalid)
	case errors.As(err, &stage):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePrecondition, nil, stage)
	case errors.Is(err, derrors.ErrAlreadyExists):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeAlreadyExists, nil)
	case errors.Is(err, derrors.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeNotFound, nil)
	case errors.Is(err, derrors.ErrPermissionDenied):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePermission, nil)
	case errors.Is(err, derrors.ErrFailedPrecondition):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypePrecondition, nil)
	case errors.Is(err, derrors.ErrInvalidArgument):
		return temporal.NewNonRetryableApplicationError(err.Error(), errTypeInvalid, nil)
	}
	return err
}

// DomainError turns an error returned by the Temporal client for an update
// or workflow back into the domain error the workflow refused with. Errors
// that are not refusals are returned wrapped, unchanged in kind.
func DomainError(err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return err
	}
	msg := app.Message()
	switch app.Type() {
	case errTypeInvalid:
		var invalid derrors.InvalidError
		if app.HasDetails() && app.Details(&invalid) == nil && len(invalid.Violations) > 0 {
			return &invalid
		}
		return derrors.New(derrors.ErrInvalidArgument, "%s", msg)
	case errTypePrecondition:
		var stage derrors.StageError
		if app.HasDetails() && app.Details(&stage) == nil && stage.Reason != "" {
			return &stage
		}
		return derrors.New(derrors.ErrFailedPrecondition, "%s", msg)
	case errTypeAlreadyExists:
		return derrors.New(derrors.ErrAlreadyExists, "%s", msg)
	case errTypeNotFound:
		return derrors.New(derrors.ErrNotFound, "%s", msg)
	case errTypePermission:
		return derrors.New(derrors.ErrPermissionDenied, "%s", msg)
	}
	return err
}
