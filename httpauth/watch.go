package httpauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// watched is trust data loaded from a file (or a directory of files) and
// reloaded when its content changes: the roots of [FileRoots], the lists
// of [CRLFiles] and [DenyListFile]. The file is read at most once per
// interval, on demand, so there is no goroutine to stop; readers get the
// value in force and why, published together in one atomic swap.
//
// The rules are the same for every kind:
//   - content is compared, not modification times;
//   - an emptied file (no bytes, or only whitespace) is a decision and
//     takes effect at once, with its own meaning per kind (no roots, no
//     CRL, an empty deny-list);
//   - a file that fails to load is more likely a botched write than a
//     decision: the last good value stays in force for a grace period,
//     then the kind's fail-closed value does;
//   - one log record per change of state, none for an ordinary change.
type watched[T any] struct {
	kind     watchKind[T]
	path     string
	interval time.Duration
	grace    time.Duration
	logger   *slog.Logger
	now      func() time.Time
	onReload []func(Reload)

	state atomic.Pointer[watchState[T]]
	next  atomic.Int64 // unix nanoseconds of the next check

	changed signal // fired when the value in force changes

	// Reload bookkeeping, guarded by mu, which also serialises reloads.
	mu           sync.Mutex
	hash         [sha256.Size]byte // content of the last good load
	good         T                 // what it produced
	withdrawnAt  time.Time         // when an empty file was first seen; zero when not empty
	failingSince time.Time         // first failed reload since the last good one
	closed       bool              // the grace period ended
}

// watchKind says what one kind of watched file holds and how its states
// read in messages.
type watchKind[T any] struct {
	name     string                                    // "roots file"
	short    string                                    // "roots", for Reload.Kind
	read     func(path string) ([]byte, error)         // the content to hash and parse
	parse    func(path string, data []byte) (T, error) // a non-blank content
	empty    func() T                                  // what an emptied file, and failing closed, put in force
	lastGood string                                    // "the last good roots"
	emptied  string                                    // "every root is withdrawn"
	none     string                                    // "no roots in force"
	closed   string                                    // "every client certificate is refused"
}

func newWatched[T any](kind watchKind[T], path string, interval time.Duration, opts []FileOption) watched[T] {
	s := fileSettings{grace: DefaultGrace, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return watched[T]{kind: kind, path: path, interval: interval, grace: s.grace, logger: s.logger, now: s.now, onReload: s.onReload}
}

type watchState[T any] struct {
	val    T
	err    error
	closed bool // the grace period ended: val is the kind's empty value
}

// load reads and parses the file once; at start-up every failure, an
// empty file included, is a configuration mistake.
func (w *watched[T]) load() error {
	if w.grace < 0 {
		return fmt.Errorf("httpauth: %s: negative grace %v", w.kind.name, w.grace)
	}
	if w.interval < 0 {
		return fmt.Errorf("httpauth: %s: negative interval %v", w.kind.name, w.interval)
	}
	data, err := w.kind.read(w.path)
	if err != nil {
		return fmt.Errorf("httpauth: %s: %w", w.kind.name, err)
	}
	if blank(data) {
		return fmt.Errorf("httpauth: %s: %s is empty", w.kind.name, w.path)
	}
	val, err := w.kind.parse(w.path, data)
	if err != nil {
		return fmt.Errorf("httpauth: %s: %w", w.kind.name, err)
	}
	w.hash, w.good = sha256.Sum256(data), val
	w.publish(val, nil)
	w.next.Store(w.now().Add(w.interval).UnixNano())
	return nil
}

// current returns the value in force and why it is not the file's current
// content (nil when it is), reloading first when the interval has passed.
func (w *watched[T]) current() (T, error) {
	s := w.stateAt(w.now())
	return s.val, s.err
}

// stateAt is current for a caller that has read the clock itself: on a
// cache hit a clock read is a good part of a request's cost.
func (w *watched[T]) stateAt(now time.Time) *watchState[T] {
	if now.UnixNano() >= w.next.Load() && w.mu.TryLock() {
		// TryLock: while one caller reloads, the others use the old value.
		w.reload(now)
		w.mu.Unlock()
	}
	return w.state.Load()
}

func (w *watched[T]) err() error { return w.state.Load().err }

func (w *watched[T]) reload(now time.Time) {
	w.next.Store(now.Add(w.interval).UnixNano())
	data, err := w.kind.read(w.path)
	if err == nil {
		hash := sha256.Sum256(data)
		if hash == w.hash && w.failingSince.IsZero() {
			return
		}
		// The last good content back after a failure: its value, and
		// what was decided under it, are valid again.
		val := w.good
		switch {
		case hash == w.hash:
		case blank(data):
			val = w.kind.empty()
		default:
			val, err = w.kind.parse(w.path, data)
		}
		if err == nil {
			w.loaded(now, hash, val, blank(data))
			w.reported(nil)
			return
		}
	}
	w.failed(now, err)
	w.reported(err)
}

// reported tells the reload observers of one reload.
func (w *watched[T]) reported(err error) {
	for _, f := range w.onReload {
		func() {
			defer func() {
				if p := recover(); p != nil {
					w.log(slog.LevelError, fmt.Sprintf("httpauth: %s: reload observer panicked: %v", w.kind.name, p))
				}
			}()
			f(Reload{Kind: w.kind.short, Path: w.path, Err: err})
		}()
	}
}

func (w *watched[T]) loaded(now time.Time, hash [sha256.Size]byte, val T, emptied bool) {
	recovered := !w.failingSince.IsZero() || !w.withdrawnAt.IsZero()
	w.hash, w.good = hash, val
	w.failingSince, w.closed = time.Time{}, false
	if emptied {
		if w.withdrawnAt.IsZero() {
			w.withdrawnAt = now
			w.log(slog.LevelWarn, fmt.Sprintf("httpauth: %s is empty; %s", w.kind.name, w.kind.emptied))
		}
		w.publish(val, w.emptiedErr())
		return
	}
	w.withdrawnAt = time.Time{}
	w.publish(val, nil)
	if recovered {
		w.log(slog.LevelInfo, fmt.Sprintf("httpauth: %s loaded again", w.kind.name))
	}
}

// failed keeps the last good value until the grace period that began with
// the first failure of this run ends, then puts the empty value in force.
func (w *watched[T]) failed(now time.Time, cause error) {
	if w.failingSince.IsZero() {
		w.failingSince = now
		w.log(slog.LevelWarn, fmt.Sprintf("httpauth: %s failed to load; %s stay in force", w.kind.name, w.kind.lastGood),
			slog.Any("error", cause), slog.Time("grace_until", now.Add(w.grace)))
	}
	end := w.failingSince.Add(w.grace)
	if now.Before(end) {
		// Look again when the grace period ends, even if the interval is
		// longer, so it is never exceeded.
		if e := end.UnixNano(); e < w.next.Load() {
			w.next.Store(e)
		}
		err := fmt.Errorf("httpauth: %s: failing to load since %s; %s stay in force until %s: %w", w.kind.name, stamp(w.failingSince), w.kind.lastGood, stamp(end), cause)
		if !w.withdrawnAt.IsZero() {
			err = fmt.Errorf("%w; since %s it fails to load: %w", w.emptiedErr(), stamp(w.failingSince), cause)
		}
		w.publish(w.good, err)
		return
	}
	val := w.state.Load().val
	if !w.closed {
		w.closed = true
		val = w.kind.empty()
		w.log(slog.LevelError, fmt.Sprintf("httpauth: %s grace period ended; %s, %s", w.kind.name, w.kind.none, w.kind.closed),
			slog.Any("error", cause), slog.Time("failing_since", w.failingSince))
	}
	w.store(&watchState[T]{val: val, closed: true,
		err: fmt.Errorf("httpauth: %s: grace period ended at %s, %s; last error: %w", w.kind.name, stamp(end), w.kind.none, cause)})
}

func (w *watched[T]) emptiedErr() error {
	return fmt.Errorf("httpauth: %s: %s was emptied at %s, %s", w.kind.name, w.path, stamp(w.withdrawnAt), w.kind.emptied)
}

func (w *watched[T]) publish(val T, err error) {
	w.store(&watchState[T]{val: val, err: err})
}

// store publishes s and, when the value in force is another one (T is
// always a pointer type), wakes those waiting on changes.
func (w *watched[T]) store(s *watchState[T]) {
	if old := w.state.Swap(s); old != nil && any(old.val) != any(s.val) {
		w.changed.fire()
	}
}

// changes returns a channel closed at the next change of the value in
// force. Changes are found when the file is checked, on demand.
func (w *watched[T]) changes() <-chan struct{} { return w.changed.wait() }

func (w *watched[T]) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if w.logger == nil {
		return
	}
	w.logger.LogAttrs(context.Background(), level, msg, append([]slog.Attr{slog.String("path", w.path)}, attrs...)...)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// blank reports an empty file: no bytes, or only whitespace (an editor's
// or a templating tool's idea of empty).
func blank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }
