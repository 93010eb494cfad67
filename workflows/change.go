package workflows

import "github.com/xuncha/xuncha/internal/actor"

// Change is what every change of a lifecycle carries, whatever its action:
// the client-chosen request ID that makes a retry change nothing twice, and
// the caller. Every update's input embeds it, first, so that its JSON
// begins with request_id and actor as it always did; the API fills it in
// one place (Header) and the input's own fields say only what the action
// needs.
type Change struct {
	RequestID string      `json:"request_id"`
	Actor     actor.Actor `json:"actor"`
	// Fingerprint is the API's fingerprint of the request (its idempotency
	// key's: caller and body), which the update's answer echoes
	// (Progress.Answers). An update sent again under the same ID is
	// answered by Temporal with the first one's answer, unrun; the echo
	// tells the API whether that answer is this request's or another's,
	// which reused the request_id. Empty from a sender that has none.
	Fingerprint []byte `json:"fingerprint,omitempty"`
}

// Header is the change's request ID and caller, to be filled in.
func (c *Change) Header() *Change { return c }
