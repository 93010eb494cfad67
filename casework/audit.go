package casework

// Who takes an anchor.
const (
	// AnchorBySchedule is the worker's daily anchor.
	AnchorBySchedule = "schedule"
	// AnchorByCommand is `xuncha audit anchor`.
	AnchorByCommand = "command"
)
