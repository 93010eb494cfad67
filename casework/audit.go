package casework

// Who takes an anchor of the audit trail (ledger.Store.WriteAnchor). The
// daily anchor workflow names AnchorBySchedule in its activity's input, so
// the value is in its history like any other payload.
const (
	// AnchorBySchedule is the worker's daily anchor.
	AnchorBySchedule = "schedule"
	// AnchorByCommand is `xuncha audit anchor`.
	AnchorByCommand = "command"
)
