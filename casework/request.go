package casework

import (
	"strings"

	"github.com/xuncha/xuncha/internal/derrors"
)

// ValidateRequestID checks a client-chosen idempotency key, the
// request_id every change carries (the one home of the rule).
func ValidateRequestID(v *derrors.Violations, field, id string) {
	switch {
	case strings.TrimSpace(id) == "":
		v.Add(field, "must not be empty: every change carries a client-chosen request_id")
	case len(id) > 128:
		v.Add(field, "must be at most 128 characters")
	}
}
