package httpauth

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Path building on a budget. Go's chain builder checks a signature for
// every candidate parent it finds by name, with the candidate's key, in any
// order, up to 100 checks; a client that presents several plausible
// parents, or parents with keys that are slow to use, sets that cost. So
// certgate decides first, without any signature, which single path the
// presented certificates offer (issuerPath), then proves that path from
// the top down, each step with a key already proven (trustedPath): a key a
// client made up is never used before a configured root or a proven
// intermediate has vouched for it. Go's verifier then runs over that path
// and the configured pools only.

// issuerPath orders the presented certificates into the path they offer
// from the leaf upward: each next certificate's subject is the current
// one's issuer, and its subject key ID the current one's authority key ID
// when both are present. Certificates off that path play no part. Two
// presented candidates for one issuer make the chain ambiguous, which no
// well-configured client sends.
func issuerPath(leaf *x509.Certificate, presented []*x509.Certificate) ([]*x509.Certificate, error) {
	rest := slices.Clone(presented)
	var path []*x509.Certificate
	for cur := leaf; len(rest) > 0; {
		found := -1
		for i, c := range rest {
			if !mayIssue(c, cur) {
				continue
			}
			if found >= 0 {
				return nil, fmt.Errorf("%w: certificates %s and %s could both have issued %s; send only the client certificate's own chain", ErrAmbiguousChain, shortFP(rest[found]), shortFP(c), shortFP(cur))
			}
			found = i
		}
		if found < 0 {
			break
		}
		cur = rest[found]
		path = append(path, cur)
		rest = slices.Delete(rest, found, found+1)
	}
	return path, nil
}

// mayIssue is the name and key-identifier match crypto/x509 uses to find
// candidate parents.
func mayIssue(parent, child *x509.Certificate) bool {
	if !bytes.Equal(parent.RawSubject, child.RawIssuer) {
		return false
	}
	return len(child.AuthorityKeyId) == 0 || len(parent.SubjectKeyId) == 0 || bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
}

// trustedPath returns the part of path, from its start, whose every
// certificate a configured root or known intermediate vouches for,
// directly or through the certificates above it. The top is checked
// against those pools; each certificate below it with the key of the one
// above, now proven. A top that fails is dropped and the next one tried:
// a client may append a stale root copy or an expired cross-certificate
// (as in the 2020 AddTrust expiry) to a chain that is good without it.
// The first such failure is returned beside the path, so that a refusal
// can still say "expired" rather than "unknown authority".
func (a *Authenticator) trustedPath(path []*x509.Certificate, roots *x509.CertPool, at time.Time) ([]*x509.Certificate, error) {
	var first error
	for len(path) > 0 {
		top := len(path) - 1
		if err := a.anchored(path[top], roots, at); err != nil {
			var unknown x509.UnknownAuthorityError
			if first == nil && !errors.As(err, &unknown) {
				first = err
			}
			path = path[:top]
			continue
		}
		for k := top - 1; k >= 0; k-- {
			if !a.issuedBy(path[k], path[k+1], roots) {
				// Nothing below a broken link can chain through it.
				return nil, first
			}
		}
		return path, first
	}
	return nil, first
}

// anchored verifies c against the configured roots and known
// intermediates alone: every signature it checks uses an operator's key.
func (a *Authenticator) anchored(c *x509.Certificate, roots *x509.CertPool, at time.Time) error {
	if a.proven.has(c, roots) {
		return nil
	}
	_, err := c.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: a.known,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, // usage is the leaf's check
	})
	if err == nil {
		a.proven.add(c, roots)
	}
	return err
}

// issuedBy checks child's signature with parent's proven key.
func (a *Authenticator) issuedBy(child, parent *x509.Certificate, roots *x509.CertPool) bool {
	if a.proven.has(child, roots) {
		return true
	}
	if child.CheckSignatureFrom(parent) != nil {
		return false
	}
	a.proven.add(child, roots)
	return true
}

// provenCache remembers intermediates proven under a root pool, so the
// intermediate that many clients share is proven once rather than on each
// new client's first request. Only certificates a configured CA signed get
// in, so clients cannot fill it; its size bounds it all the same.
type provenCache struct {
	lru *lru.Cache[string, *x509.CertPool]
}

// provenCacheSize is far more intermediates than one deployment has.
const provenCacheSize = 256

func newProvenCache() provenCache {
	c, _ := lru.New[string, *x509.CertPool](provenCacheSize) // errors only on size <= 0
	return provenCache{lru: c}
}

func (p provenCache) has(c *x509.Certificate, roots *x509.CertPool) bool {
	r, ok := p.lru.Get(string(c.Raw))
	return ok && r == roots
}

func (p provenCache) add(c *x509.Certificate, roots *x509.CertPool) {
	p.lru.Add(string(c.Raw), roots)
}
