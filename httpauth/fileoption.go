package httpauth

import (
	"log/slog"
	"time"
)

// FileOption configures the file-backed sources [NewFileRoots],
// [NewCRLFiles] and [NewDenyListFile].
type FileOption func(*fileSettings)

type fileSettings struct {
	grace    time.Duration
	logger   *slog.Logger
	now      func() time.Time
	onReload []func(Reload)
}

// WithGrace sets how long the last good content stays in force while the
// file cannot be loaded. Zero fails closed at the first failed reload;
// negative makes the constructor fail. Without this option:
// DefaultGrace.
func WithGrace(d time.Duration) FileOption {
	return func(s *fileSettings) { s.grace = d }
}

// WithReloadLogger sends one record per change of state: Warn when the
// file is first found bad (with the error) or empty, Error when the grace
// period ends, Info when a good file is loaded again. An ordinary change
// from one good content to another is not logged. Nil: silent, as without
// this option.
func WithReloadLogger(l *slog.Logger) FileOption {
	return func(s *fileSettings) { s.logger = l }
}

// WithReloadObserver calls f after each reload that found the file
// changed, successful or not, and after each failed reload: for metrics of
// trust-data reloads (the contrib/prometheus module counts them). f runs
// on the goroutine of the request or watcher that triggered the reload,
// under the source's reload lock: it must be fast. A panic in f is
// recovered and logged with the reload logger. The option may be given
// more than once.
func WithReloadObserver(f func(Reload)) FileOption {
	return func(s *fileSettings) {
		if f != nil {
			s.onReload = append(s.onReload, f)
		}
	}
}

// Reload is one reload of a file source, for [WithReloadObserver].
type Reload struct {
	// Kind is "roots", "crl" or "deny-list".
	Kind string
	// Path is the file or directory the source reads.
	Path string
	// Err is nil when new content was put in force (an emptied file
	// included: it withdraws), else why the file could not be loaded; the
	// last good content then stays in force for the grace period.
	Err error
}

// withClock replaces time.Now, so tests can step through intervals and
// grace periods without sleeping.
func withClock(now func() time.Time) FileOption {
	return func(s *fileSettings) {
		if now != nil {
			s.now = now
		}
	}
}
