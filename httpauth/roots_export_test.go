package httpauth

// WithRootsClock lets the external tests drive FileRoots' clock; it exists
// only in test builds.
var WithRootsClock = withRootsClock
