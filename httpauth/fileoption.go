package httpauth

import (
	"log/slog"
	"time"
)

// FileOption configures the file-backed sources [NewFileRoots],
// [NewCRLFiles] and [NewDenyListFile].
type FileOption func(*fileSettings)

type fileSettings struct {
	grace  time.Duration
	logger *slog.Logger
	now    func() time.Time
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

// withClock replaces time.Now, so tests can step through intervals and
// grace periods without sleeping.
func withClock(now func() time.Time) FileOption {
	return func(s *fileSettings) {
		if now != nil {
			s.now = now
		}
	}
}
