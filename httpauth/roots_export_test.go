package httpauth

// WithClock lets the external tests drive the file sources' clock; it exists
// only in test builds.
var WithClock = withClock
