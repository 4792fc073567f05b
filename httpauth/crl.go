package httpauth

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CRLFiles is a [RevocationChecker] over certificate revocation lists read
// from a file or a directory, DER or PEM ("X509 CRL" blocks), several
// issuers at once. It reloads them when their content changes, by the
// rules of [FileRoots]: checked at most once per interval on demand, an
// emptied file or directory puts no CRL in force, a damaged one keeps the
// last good lists for the grace period ([WithGrace]) and then none.
//
// Each certificate of the verified chain except the root is looked up in
// the CRL of its issuer in that chain: a CRL counts only when its issuer
// name is that certificate's subject, its signature verifies with that
// certificate's key, and its issuing distribution point, if any, covers
// the certificate, so a CRL can never speak for another CA, nor for a
// certificate the client sent outside the verified chain. The newest such
// CRL is used; when its nextUpdate has passed it is stale. A revoked
// serial answers revoked; a certificate whose issuer has no usable CRL, or
// only a stale one, answers unknown — refused unless the checker is
// wrapped in [FailOpen], as nginx refuses a chain without CRLs for all its
// CAs. Lookups are one map access per certificate; signatures are checked
// once per CRL and issuer. Delta and indirect CRLs, CRLs partitioned by
// reason and unknown critical extensions are refused when loading.
type CRLFiles struct {
	w watched[*crlSet]
}

// DefaultCRLInterval is how often [CRLFiles] looks at its files when
// NewCRLFiles is given zero.
const DefaultCRLInterval = time.Minute

// NewCRLFiles loads the CRLs at path, a file or a directory whose regular
// files (names starting with "." skipped, as Kubernetes' ..data links are)
// each hold one DER CRL or PEM CRLs. It fails when nothing can be read or
// parsed. interval is the time between checks for a change; zero means
// DefaultCRLInterval.
func NewCRLFiles(path string, interval time.Duration, opts ...FileOption) (*CRLFiles, error) {
	if interval == 0 {
		interval = DefaultCRLInterval
	}
	c := &CRLFiles{w: newWatched(crlKind, path, interval, opts)}
	if err := c.w.load(); err != nil {
		return nil, err
	}
	return c, nil
}

var crlKind = watchKind[*crlSet]{
	name:     "CRL files",
	short:    "crl",
	read:     readFiles,
	parse:    parseCRLs,
	empty:    func() *crlSet { return &crlSet{} },
	lastGood: "the last good CRLs",
	emptied:  "no CRL is in force",
	none:     "no CRL in force",
	closed:   "every chain's revocation status is unknown",
}

// Err returns nil when the CRLs in force are what the files hold now, and
// otherwise why not, as [FileRoots.Err] does.
func (c *CRLFiles) Err() error { return c.w.err() }

// CheckRevocation looks every certificate of chain but the root up in the
// CRL of its issuer.
func (c *CRLFiles) CheckRevocation(_ context.Context, chain []*x509.Certificate) RevocationAnswer {
	now := c.w.now()
	st := c.w.stateAt(now)
	set, loadErr := st.val, st.err
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		crl := set.find(cert, issuer)
		if crl == nil {
			detail := fmt.Sprintf("no CRL signed by %q for certificate %d (serial %s)", truncate(issuer.Subject.CommonName), i, serialHex(cert))
			if loadErr != nil {
				detail += " (" + strings.TrimPrefix(loadErr.Error(), "httpauth: ") + ")"
			}
			return RevocationAnswer{Status: RevocationUnknown, Detail: detail}
		}
		if ans, bad := crl.judge(cert, issuer, now); bad {
			return ans
		}
	}
	return RevocationAnswer{Status: RevocationGood, Detail: "not on the CRLs"}
}

// crlSet is the CRLs of one load, indexed by issuer name.
type crlSet struct {
	byIssuer map[string][]*crlEntry // key: the CRL's raw issuer name
}

type crlEntry struct {
	list    *x509.RevocationList
	revoked map[string]time.Time // serial bytes → revocation time

	scope crlScope // which certificates of its issuer it speaks for

	mu   sync.RWMutex
	sigs map[string]bool                  // issuer certificate DER → signature verified; only CA certificates of verified chains get here
	last atomic.Pointer[x509.Certificate] // the issuer last found to have signed: cached chains reuse their certificates
}

// find returns the newest CRL issued by issuer, checked as its signer,
// whose scope covers cert (RFC 5280, section 6.3.3 b: a CRL partitioned by
// an issuing distribution point speaks only for its part).
func (s *crlSet) find(cert, issuer *x509.Certificate) *crlEntry {
	var best *crlEntry
	for _, e := range s.byIssuer[string(issuer.RawSubject)] {
		if e.scope.covers(cert) != nil {
			continue
		}
		if !e.signedBy(issuer) {
			continue
		}
		if best == nil || e.list.ThisUpdate.After(best.list.ThisUpdate) {
			best = e
		}
	}
	return best
}

// judge answers for cert from e, the CRL of its issuer: unknown when e
// is stale, revoked when it lists cert's serial. bad is false when e has
// nothing against cert.
func (e *crlEntry) judge(cert, issuer *x509.Certificate, now time.Time) (ans RevocationAnswer, bad bool) {
	if !e.list.NextUpdate.IsZero() && now.After(e.list.NextUpdate) {
		return RevocationAnswer{Status: RevocationUnknown, Detail: fmt.Sprintf("the CRL of %q is stale: its nextUpdate %s has passed", truncate(issuer.Subject.CommonName), stamp(e.list.NextUpdate))}, true
	}
	if at, ok := e.revokedAt(cert); ok {
		return RevocationAnswer{Status: RevocationRevoked, Detail: fmt.Sprintf("serial %s revoked at %s by the CRL of %q", serialHex(cert), stamp(at), truncate(issuer.Subject.CommonName))}, true
	}
	return RevocationAnswer{}, false
}

func (e *crlEntry) signedBy(issuer *x509.Certificate) bool {
	if e.last.Load() == issuer {
		return true
	}
	e.mu.RLock()
	ok, seen := e.sigs[string(issuer.Raw)] // no allocation for the lookup
	e.mu.RUnlock()
	if seen {
		if ok {
			e.last.Store(issuer)
		}
		return ok
	}
	ok = e.list.CheckSignatureFrom(issuer) == nil
	if ok {
		e.last.Store(issuer)
	}
	e.mu.Lock()
	if e.sigs == nil {
		e.sigs = map[string]bool{}
	}
	e.sigs[string(issuer.Raw)] = ok
	e.mu.Unlock()
	return ok
}

// revokedAt looks cert's serial up; for every serial RFC 5280 allows (20
// octets) the key is built on the stack, so a lookup allocates nothing.
// Go's parser refuses negative serials, so the magnitude is the serial.
func (e *crlEntry) revokedAt(cert *x509.Certificate) (time.Time, bool) {
	sn := cert.SerialNumber
	if sn == nil {
		return time.Time{}, false
	}
	var buf [32]byte
	var key []byte
	if n := (sn.BitLen() + 7) / 8; n <= len(buf) {
		key = sn.FillBytes(buf[len(buf)-n:])
	} else {
		key = sn.Bytes()
	}
	at, ok := e.revoked[string(key)]
	return at, ok
}

// parseCRLs parses the framed files readFiles returned.
func parseCRLs(_ string, data []byte) (*crlSet, error) {
	set := &crlSet{byIssuer: map[string][]*crlEntry{}}
	for name, content := range frames(data) {
		lists, err := parseCRLFile(content)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for i, l := range lists {
			scope, err := crlScopeOf(l)
			if err != nil {
				return nil, fmt.Errorf("%s: CRL %d is not supported: %w", name, i, err)
			}
			set.add(l, scope)
		}
	}
	return set, nil
}

// add indexes l by issuer name and serial. It drops l's parsed entries,
// which the index replaces: for a large CRL they are most of its memory.
func (s *crlSet) add(l *x509.RevocationList, scope crlScope) {
	e := &crlEntry{list: l, scope: scope, revoked: make(map[string]time.Time, len(l.RevokedCertificateEntries))}
	for _, r := range l.RevokedCertificateEntries {
		e.revoked[string(r.SerialNumber.Bytes())] = r.RevocationTime
	}
	l.RevokedCertificateEntries = nil
	s.byIssuer[string(l.RawIssuer)] = append(s.byIssuer[string(l.RawIssuer)], e)
}

// parseCRLFile parses one DER CRL or every "X509 CRL" block of PEM text,
// refusing what does not parse rather than skipping it.
func parseCRLFile(data []byte) ([]*x509.RevocationList, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		l, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("not a DER CRL: %w", err)
		}
		return []*x509.RevocationList{l}, nil
	}
	var lists []*x509.RevocationList
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "X509 CRL" {
			continue
		}
		l, err := x509.ParseRevocationList(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CRL %d: %w", len(lists), err)
		}
		lists = append(lists, l)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("PEM block after CRL %d is damaged (truncated file?)", len(lists))
	}
	if len(lists) == 0 {
		return nil, errors.New("holds no X509 CRL block")
	}
	return lists, nil
}

// Changed returns a channel closed when the data in force next changes
// (see [Notifier]).
func (c *CRLFiles) Changed() <-chan struct{} { return c.w.changes() }

// refresh looks at the files if the interval has passed, for the watcher
// of live connections.
func (c *CRLFiles) refresh() { c.w.current() }
