package httpauth

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
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
// stay in force for a grace period ([DefaultGrace], or
// [WithGrace]). If the file is still bad when it ends, the roots fail
// closed: an empty pool, as if withdrawn. A good file restores normal
// operation at any time.
//
// Roots never returns nil, which would tell the [Authenticator] that no
// roots are configured, and never the system roots. [FileRoots.Err] says
// why the roots in force are not the file's current content.
type FileRoots struct {
	w watched[*x509.CertPool]
}

// DefaultRootsInterval is how often [FileRoots] looks at its file when
// NewFileRoots is given zero.
const DefaultRootsInterval = 10 * time.Second

// DefaultGrace is how long a file source ([FileRoots], [CRLFiles],
// [DenyListFile]) keeps the last good content while its file cannot be
// loaded, unless [WithGrace] says otherwise. An hour
// outlasts any half-finished write or ConfigMap update many times over and
// leaves time for an alert on the Warn record to reach someone who can fix
// the file; it is short enough that a bundle nobody can read does not keep
// yesterday's CAs trusted for days. (Kubernetes and Envoy keep the last
// good bundle for as long as the new one fails.) Removing a CA on purpose
// never waits for it: write a bundle without the CA, or empty the file.
const DefaultGrace = time.Hour

// NewFileRoots loads the CA bundle at path. It fails when the file cannot
// be read, is empty, holds no certificate, or holds a block that does not
// parse: at start-up these are configuration mistakes. interval is the
// time between checks for a change; zero means DefaultRootsInterval.
func NewFileRoots(path string, interval time.Duration, opts ...FileOption) (*FileRoots, error) {
	if interval == 0 {
		interval = DefaultRootsInterval
	}
	f := &FileRoots{w: newWatched(rootsKind, path, interval, opts)}
	if err := f.w.load(); err != nil {
		return nil, err
	}
	return f, nil
}

var rootsKind = watchKind[*x509.CertPool]{
	name:     "roots file",
	short:    "roots",
	read:     os.ReadFile,
	parse:    parsePool,
	empty:    x509.NewCertPool,
	lastGood: "the last good roots",
	emptied:  "every root is withdrawn",
	none:     "no roots in force",
	closed:   "every client certificate is refused",
}

// Roots returns the pool in force, reloading the file first when the check
// interval has passed. It is never nil.
func (f *FileRoots) Roots() *x509.CertPool {
	pool, _ := f.w.current()
	return pool
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
func (f *FileRoots) Err() error { return f.w.err() }

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

// Changed returns a channel closed when the data in force next changes
// (see [Notifier]).
func (f *FileRoots) Changed() <-chan struct{} { return f.w.changes() }
