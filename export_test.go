package certgate

// The drain caps, for the tests that check Reject keeps to them.
const (
	DrainTimeout = drainTimeout
	DrainLimit   = drainLimit
)
