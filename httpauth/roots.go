package httpauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// FileRoots is a [RootsProvider] that reads a PEM bundle file and reloads
// it when its content changes, so rotating a CA needs no restart (the model
// is the Kubernetes API server's dynamic CA bundle). The file is read at
// most once per interval, on demand: there is no background goroutine to
// stop.
//
// An empty file (zero bytes, or only whitespace) withdraws every root at
// the next check: [FileRoots.Roots] returns an empty pool and every client
// certificate is refused. This is how an operator pulls a compromised CA
// without a restart (Kubernetes instead treats an empty bundle as a failed
// load). Writing a bundle again restores it.
//
// A file that cannot be loaded — missing, unreadable, not PEM, without a
// CERTIFICATE block, with a block that does not parse or is cut short —
// is more likely a botched write than a decision, so the last good roots
// stay in force for a grace period ([DefaultRootsGrace], or
// [WithRootsGrace]). If the file is still bad when it ends, the roots fail
// closed: an empty pool, as if withdrawn. A good file restores normal
// operation at any time.
//
// Roots never returns nil, which would tell the [Authenticator] that no
// roots are configured, and never the system roots. [FileRoots.Err] says
// why the roots in force are not the file's current content.
type FileRoots struct {
	path     string
	interval time.Duration
	grace    time.Duration
	logger   *slog.Logger
	now      func() time.Time

	state atomic.Pointer[rootsState] // what Roots and Err report
	next  atomic.Int64               // unix nanoseconds of the next check

	// Reload bookkeeping, guarded by mu, which also serialises reloads.
	mu           sync.Mutex
	hash         [sha256.Size]byte // content of the last good load
	good         *x509.CertPool    // what it produced; empty when it withdrew the roots
	withdrawnAt  time.Time         // when an empty file was first seen; zero when not withdrawn
	failingSince time.Time         // first failed reload since the last good one; zero when loading
	closed       bool              // the grace period ended
}

// rootsState is published as one value so that a pool and the reason for
// it are always read together.
type rootsState struct {
	pool *x509.CertPool
	err  error
}

// DefaultRootsInterval is how often [FileRoots] looks at its file when
// NewFileRoots is given zero.
const DefaultRootsInterval = 10 * time.Second

// DefaultRootsGrace is how long [FileRoots] keeps the last good roots while
// its file cannot be loaded, unless [WithRootsGrace] says otherwise. An hour
// outlasts any half-finished write or ConfigMap update many times over and
// leaves time for an alert on the Warn record to reach someone who can fix
// the file; it is short enough that a bundle nobody can read does not keep
// yesterday's CAs trusted for days. (Kubernetes and Envoy keep the last
// good bundle for as long as the new one fails.) Removing a CA on purpose
// never waits for it: write a bundle without the CA, or empty the file.
const DefaultRootsGrace = time.Hour

// FileRootsOption configures [NewFileRoots].
type FileRootsOption func(*FileRoots)

// WithRootsGrace sets how long the last good roots stay in force while the
// file cannot be loaded. Zero fails closed at the first failed reload.
// Negative makes NewFileRoots fail. Without this option: DefaultRootsGrace.
func WithRootsGrace(d time.Duration) FileRootsOption {
	return func(f *FileRoots) { f.grace = d }
}

// WithRootsLogger sends one record per change of state: Warn when the
// file is first found bad (with the error) or empty, Error when the grace
// period ends, Info when a good file is loaded again. An ordinary rotation
// from one good bundle to another is not logged. Nil: silent, as without
// this option.
func WithRootsLogger(l *slog.Logger) FileRootsOption {
	return func(f *FileRoots) { f.logger = l }
}

// withRootsClock replaces time.Now, so tests can step through intervals and
// grace periods without sleeping.
func withRootsClock(now func() time.Time) FileRootsOption {
	return func(f *FileRoots) {
		if now != nil {
			f.now = now
		}
	}
}

// NewFileRoots loads the CA bundle at path. It fails when the file cannot
// be read, is empty, holds no certificate, or holds a block that does not
// parse: at start-up these are configuration mistakes. interval is the
// time between checks for a change; zero means DefaultRootsInterval.
func NewFileRoots(path string, interval time.Duration, opts ...FileRootsOption) (*FileRoots, error) {
	if interval < 0 {
		return nil, fmt.Errorf("httpauth: NewFileRoots: negative interval %v", interval)
	}
	if interval == 0 {
		interval = DefaultRootsInterval
	}
	f := &FileRoots{path: path, interval: interval, grace: DefaultRootsGrace, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o(f)
		}
	}
	if f.grace < 0 {
		return nil, fmt.Errorf("httpauth: NewFileRoots: negative grace %v", f.grace)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("httpauth: roots file: %w", err)
	}
	if blank(data) {
		return nil, fmt.Errorf("httpauth: roots file: %s is empty; put the CA certificates that issue client certificates in it", path)
	}
	pool, err := parsePool(path, data)
	if err != nil {
		return nil, fmt.Errorf("httpauth: roots file: %w", err)
	}
	f.hash, f.good = sha256.Sum256(data), pool
	f.publish(pool, nil)
	f.next.Store(f.now().Add(interval).UnixNano())
	return f, nil
}

// Roots returns the pool in force, reloading the file first when the check
// interval has passed. It is never nil.
func (f *FileRoots) Roots() *x509.CertPool {
	if now := f.now(); now.UnixNano() >= f.next.Load() && f.mu.TryLock() {
		// TryLock: while one request reloads, the others use the old pool.
		f.reload(now)
		f.mu.Unlock()
	}
	return f.state.Load().pool
}

// Err returns nil when the roots in force are a bundle the file holds now,
// and otherwise why not, as of the last check (Err does not reload):
//
//   - the file was emptied, and every root is withdrawn;
//   - the file fails to load, and the last good roots stay in force until
//     the grace period ends;
//   - the grace period has ended, and no root is in force.
//
// While the pool in force is empty, Err is never nil, so a refusal for an
// unknown authority can say why there are no roots.
func (f *FileRoots) Err() error {
	return f.state.Load().err
}

// reload compares content, not modification times: a rewrite within the
// file system's timestamp granularity, or one that keeps the size, is
// still seen. A CA bundle is small, so reading it every interval is cheap.
func (f *FileRoots) reload(now time.Time) {
	f.next.Store(now.Add(f.interval).UnixNano())
	data, err := os.ReadFile(f.path)
	if err == nil {
		hash := sha256.Sum256(data)
		if hash == f.hash && f.failingSince.IsZero() {
			return
		}
		// The last good content back after a failure: its pool, and what
		// was verified against it, are valid again.
		pool := f.good
		switch {
		case hash == f.hash:
		case blank(data):
			pool = x509.NewCertPool()
		default:
			pool, err = parsePool(f.path, data)
		}
		if err == nil {
			f.loaded(now, hash, pool, blank(data))
			return
		}
	}
	f.failed(now, err)
}

// loaded puts a good file's roots in force; withdrawn says the file was
// empty.
func (f *FileRoots) loaded(now time.Time, hash [sha256.Size]byte, pool *x509.CertPool, withdrawn bool) {
	recovered := !f.failingSince.IsZero() || !f.withdrawnAt.IsZero()
	f.hash, f.good = hash, pool
	f.failingSince, f.closed = time.Time{}, false
	if withdrawn {
		if f.withdrawnAt.IsZero() {
			f.withdrawnAt = now
			f.log(slog.LevelWarn, "httpauth: roots file is empty; every root withdrawn")
		}
		f.publish(pool, f.withdrawnErr())
		return
	}
	f.withdrawnAt = time.Time{}
	f.publish(pool, nil)
	if recovered {
		f.log(slog.LevelInfo, "httpauth: roots file loaded again")
	}
}

// failed keeps the last good roots until the grace period that began with
// the first failure of this run ends, then puts an empty pool in force.
func (f *FileRoots) failed(now time.Time, cause error) {
	if f.failingSince.IsZero() {
		f.failingSince = now
		f.log(slog.LevelWarn, "httpauth: roots file failed to load; the last good roots stay in force",
			slog.Any("error", cause), slog.Time("grace_until", now.Add(f.grace)))
	}
	end := f.failingSince.Add(f.grace)
	if now.Before(end) {
		// Look again when the grace period ends, even if the interval is
		// longer, so it is never exceeded.
		if e := end.UnixNano(); e < f.next.Load() {
			f.next.Store(e)
		}
		err := fmt.Errorf("httpauth: roots file: failing to load since %s; the last good roots stay in force until %s: %w", stamp(f.failingSince), stamp(end), cause)
		if !f.withdrawnAt.IsZero() {
			err = fmt.Errorf("%w; since %s it fails to load: %w", f.withdrawnErr(), stamp(f.failingSince), cause)
		}
		f.publish(f.good, err)
		return
	}
	pool := f.state.Load().pool
	if !f.closed {
		f.closed = true
		pool = x509.NewCertPool()
		f.log(slog.LevelError, "httpauth: roots grace period ended; no roots in force, every client certificate is refused",
			slog.Any("error", cause), slog.Time("failing_since", f.failingSince))
	}
	f.publish(pool, fmt.Errorf("httpauth: roots file: grace period ended at %s, no roots in force; last error: %w", stamp(end), cause))
}

func (f *FileRoots) withdrawnErr() error {
	return fmt.Errorf("httpauth: roots file: %s was emptied at %s, every root is withdrawn", f.path, stamp(f.withdrawnAt))
}

func (f *FileRoots) publish(pool *x509.CertPool, err error) {
	f.state.Store(&rootsState{pool: pool, err: err})
}

func (f *FileRoots) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if f.logger == nil {
		return
	}
	f.logger.LogAttrs(context.Background(), level, msg, append([]slog.Attr{slog.String("path", f.path)}, attrs...)...)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// blank reports an empty bundle: no bytes, or only whitespace (an editor's
// or a templating tool's idea of empty).
func blank(data []byte) bool { return len(bytes.TrimSpace(data)) == 0 }

// parsePool parses every CERTIFICATE block of a PEM bundle. Unlike
// CertPool.AppendCertsFromPEM it fails on a block that does not parse or a
// block cut short, so a damaged bundle is noticed instead of silently
// dropping a CA.
func parsePool(path string, data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n, err)
		}
		pool.AddCert(c)
		n++
	}
	// pem.Decode skips what it cannot decode, such as a last block without
	// its END line.
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("%s: PEM block after certificate %d is damaged (truncated file?)", path, n)
	}
	if n == 0 {
		return nil, errors.New(path + " holds no PEM certificate")
	}
	return pool, nil
}
