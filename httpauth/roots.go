package httpauth

import (
	"bytes"
	"crypto/sha256"
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
// it when its content changes, so rotating a CA needs no restart (the model
// is the Kubernetes API server's dynamic CA bundle). The file is read at
// most once per interval, on demand: there is no background goroutine to
// stop. A file that fails to load keeps the previous roots in force and is
// reported by [FileRoots.Err].
type FileRoots struct {
	path     string
	interval time.Duration

	pool atomic.Pointer[x509.CertPool]
	next atomic.Int64 // unix nanoseconds of the next check

	mu   sync.Mutex // serialises reloads
	hash [sha256.Size]byte
	err  error
}

// DefaultRootsInterval is how often [FileRoots] looks at its file when
// NewFileRoots is given zero.
const DefaultRootsInterval = 10 * time.Second

// NewFileRoots loads the CA bundle at path. It fails when the file cannot
// be read, holds no certificate, or holds a block that does not parse.
// interval is the time between checks for a change; zero means
// DefaultRootsInterval.
func NewFileRoots(path string, interval time.Duration) (*FileRoots, error) {
	if interval < 0 {
		return nil, fmt.Errorf("httpauth: NewFileRoots: negative interval %v", interval)
	}
	if interval == 0 {
		interval = DefaultRootsInterval
	}
	f := &FileRoots{path: path, interval: interval}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("httpauth: roots file: %w", err)
	}
	pool, err := parsePool(path, data)
	if err != nil {
		return nil, err
	}
	f.hash = sha256.Sum256(data)
	f.pool.Store(pool)
	f.next.Store(time.Now().Add(interval).UnixNano())
	return f, nil
}

// Roots returns the current pool, reloading the file first when the check
// interval has passed and its content changed.
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

// reload compares content, not modification times: a rewrite within the
// file system's timestamp granularity, or one that keeps the size, is
// still seen. A CA bundle is small, so reading it every interval is cheap.
func (f *FileRoots) reload(now time.Time) {
	f.next.Store(now.Add(f.interval).UnixNano())
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.err = fmt.Errorf("httpauth: roots file: %w", err)
		return
	}
	hash := sha256.Sum256(data)
	if hash == f.hash {
		f.err = nil
		return
	}
	pool, err := parsePool(f.path, data)
	if err != nil {
		f.err = err
		return
	}
	f.hash, f.err = hash, nil
	f.pool.Store(pool)
}

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
			return nil, fmt.Errorf("httpauth: roots file %s: certificate %d: %w", path, n, err)
		}
		pool.AddCert(c)
		n++
	}
	// pem.Decode skips what it cannot decode, such as a last block without
	// its END line.
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("httpauth: roots file %s: PEM block after certificate %d is damaged (truncated file?)", path, n)
	}
	if n == 0 {
		return nil, errors.New("httpauth: roots file " + path + " holds no PEM certificate")
	}
	return pool, nil
}
