package httpauth

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// FileRoots is a [RootsProvider] that reads a PEM bundle file and reloads
// it when the file changes, so rotating a CA needs no restart (the model is
// the Kubernetes API server's dynamic CA bundle). The file is checked at
// most once per interval, on demand: there is no background goroutine to
// stop. A file that fails to load keeps the previous roots in force and is
// reported by [FileRoots.Err].
type FileRoots struct {
	path     string
	interval time.Duration

	pool atomic.Pointer[x509.CertPool]
	next atomic.Int64 // unix nanoseconds of the next check

	mu    sync.Mutex // serialises reloads
	stamp fileStamp
	err   error
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// DefaultRootsInterval is how often [FileRoots] looks at its file when
// NewFileRoots is given zero.
const DefaultRootsInterval = 10 * time.Second

// NewFileRoots loads the CA bundle at path. It fails when the file cannot
// be read or holds no certificate. interval is the time between checks for
// a change; zero means DefaultRootsInterval.
func NewFileRoots(path string, interval time.Duration) (*FileRoots, error) {
	if interval < 0 {
		return nil, fmt.Errorf("httpauth: NewFileRoots: negative interval %v", interval)
	}
	if interval == 0 {
		interval = DefaultRootsInterval
	}
	f := &FileRoots{path: path, interval: interval}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("httpauth: roots file: %w", err)
	}
	pool, err := loadPool(path)
	if err != nil {
		return nil, err
	}
	f.stamp = stampOf(st)
	f.pool.Store(pool)
	f.next.Store(time.Now().Add(interval).UnixNano())
	return f, nil
}

// Roots returns the current pool, reloading the file first when the check
// interval has passed and the file's size or modification time changed.
func (f *FileRoots) Roots() *x509.CertPool {
	if now := time.Now(); now.UnixNano() >= f.next.Load() && f.mu.TryLock() {
		// TryLock: while one request reloads, the others use the old pool.
		f.reload(now)
		f.mu.Unlock()
	}
	return f.pool.Load()
}

// Err returns why the last reload failed, or nil when the roots in force
// are the file's current content.
func (f *FileRoots) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *FileRoots) reload(now time.Time) {
	f.next.Store(now.Add(f.interval).UnixNano())
	st, err := os.Stat(f.path)
	if err != nil {
		f.err = fmt.Errorf("httpauth: roots file: %w", err)
		return
	}
	if stampOf(st) == f.stamp {
		return
	}
	pool, err := loadPool(f.path)
	if err != nil {
		f.err = err
		return
	}
	f.stamp, f.err = stampOf(st), nil
	f.pool.Store(pool)
}

func stampOf(st os.FileInfo) fileStamp { return fileStamp{mod: st.ModTime(), size: st.Size()} }

// loadPool parses every CERTIFICATE block of a PEM file. Unlike
// CertPool.AppendCertsFromPEM it fails on a block that does not parse, so
// a truncated bundle is noticed instead of silently dropping a CA.
func loadPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("httpauth: roots file: %w", err)
	}
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
			return nil, fmt.Errorf("httpauth: roots file %s: certificate %d: %w", path, n, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("httpauth: roots file " + path + " holds no PEM certificate")
	}
	return pool, nil
}
