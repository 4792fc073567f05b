package httpauth

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
)

// fromTLS authenticates by the request's own TLS connection. Chains the TLS
// layer verified (RequireAndVerifyClientCert, VerifyClientCertIfGiven) are
// used as they are, after re-checking validity against the clock; a
// certificate the TLS layer only requested (RequestClientCert,
// RequireAnyClientCert) is verified here against the configured roots, the
// rest of what the client sent serving as untrusted intermediates (CHN-07).
func (a *Authenticator) fromTLS(r *http.Request) (*Identity, error) {
	if r.TLS == nil {
		return nil, unauthorized(fmt.Errorf("%w: request is plain HTTP, not TLS", ErrNoCertificate))
	}
	if len(r.TLS.PeerCertificates) == 0 {
		return nil, unauthorized(fmt.Errorf("%w: the TLS client sent none; the listener must request one (tls.Config.ClientAuth)", ErrNoCertificate))
	}
	leaf := r.TLS.PeerCertificates[0]
	if len(r.TLS.VerifiedChains) > 0 {
		chain := r.TLS.VerifiedChains[0]
		if len(chain) > a.maxChain {
			return nil, unauthorized(fmt.Errorf("%w: verified chain has %d certificates, at most %d allowed (Config.MaxChainLength)", ErrChainTooLong, len(chain), a.maxChain))
		}
		if err := a.checkLeaf(leaf, a.now()); err != nil {
			return nil, unauthorized(err)
		}
		if err := a.checkChain(chain); err != nil {
			return nil, unauthorized(err)
		}
		return a.newIdentity(leaf, "", chain, "", true), nil
	}
	// A client reconnecting with the same certificates is verified once:
	// the cache is keyed by their exact DER and re-checks the clock.
	roots := a.currentRoots()
	key := tlsCacheKey(r.TLS.PeerCertificates)
	if e, ok := a.cache.get(key, roots); ok && a.checkChain(e.chain) == nil {
		return a.newIdentity(e.leaf, e.fingerprint, e.chain, "", true), nil
	}
	chain, err := a.verifyLeaf(leaf, r.TLS.PeerCertificates[1:], roots)
	if err != nil {
		return nil, unauthorized(err)
	}
	id := a.newIdentity(leaf, "", chain, "", true)
	a.cache.add(key, roots, cacheEntry{leaf: leaf, fingerprint: id.Fingerprint, chain: chain, verified: true})
	return id, nil
}

// tlsCacheKey keys the cache by the DER the client presented. The leading
// byte keeps these keys apart from header values, which are text.
func tlsCacheKey(certs []*x509.Certificate) cacheKey {
	if len(certs) == 1 {
		return cacheKey{value: "\x00" + string(certs[0].Raw)}
	}
	var rest strings.Builder
	for _, c := range certs[1:] {
		rest.Write(c.Raw)
	}
	return cacheKey{value: "\x00" + string(certs[0].Raw), chain: rest.String()}
}
