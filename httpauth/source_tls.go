package httpauth

import (
	"fmt"
	"net/http"
)

// fromTLS authenticates by the request's own TLS connection.
//
// With roots configured, the library verifies the leaf itself against them,
// what else the client sent serving as untrusted intermediates (CHN-07), also
// when the TLS layer verified a chain: the listener's ClientCAs may hold more
// CAs than Config.Roots, or a CA that a FileRoots rotation has removed.
// Without roots, only chains the TLS layer verified (from the listener's
// ClientCAs) are accepted, after re-checking their validity by the clock.
func (a *Authenticator) fromTLS(r *http.Request) (*Identity, error) {
	if r.TLS == nil {
		return nil, unauthorized(fmt.Errorf("%w: request is plain HTTP, not TLS", ErrNoCertificate))
	}
	if len(r.TLS.PeerCertificates) == 0 {
		// All the server can know is that none arrived. The listener may not
		// ask for one, or the client had none to offer for the CAs the
		// listener named: Go clients and browsers pick a certificate by
		// those names and send none when theirs is not among them.
		return nil, unauthorized(fmt.Errorf("%w: the TLS connection carries none: either the listener does not ask for one (tls.Config.ClientAuth), or the client sent none, as a Go client or a browser does when its certificate's issuer is not among the CAs the listener names (tls.Config.ClientCAs)", ErrNoCertificate))
	}
	leaf := r.TLS.PeerCertificates[0]
	roots := a.currentRoots()
	if roots == nil && len(r.TLS.VerifiedChains) > 0 {
		chain := r.TLS.VerifiedChains[0]
		if len(chain) > a.maxChain {
			return nil, unauthorized(fmt.Errorf("%w: verified chain has %d certificates, at most %d allowed (Config.MaxChainLength)", ErrChainTooLong, len(chain), a.maxChain))
		}
		// checkChain covers the leaf's window too (it is chain[0]).
		if err := a.checkChain(chain); err != nil {
			return nil, unauthorized(err)
		}
		if err := checkUsage(leaf); err != nil {
			return nil, unauthorized(err)
		}
		if err := checkVerifiedLeaf(leaf, chain); err != nil {
			return nil, unauthorized(err)
		}
		return a.newIdentity(leaf, "", chain, "", true), nil
	}
	// A success is keyed by the leaf alone, a refusal by everything
	// presented (see verdictCache).
	leafKey := string(leaf.Raw)
	key := cacheKey{tls: true, value: leafKey}
	if e, ok := a.cache.get(key, roots); ok && a.checkChain(e.chain) == nil {
		return a.newIdentity(e.leaf, e.fingerprint, e.chain, "", true), nil
	}
	failKey := a.cache.tlsFailureKey(leafKey, r.TLS.PeerCertificates)
	if e, ok := a.cache.failed(failKey, roots); ok {
		return nil, e
	}
	chain, err := a.verifyLeaf(leaf, r.TLS.PeerCertificates[1:], roots)
	if err != nil {
		e := unauthorized(err)
		a.cache.fail(failKey, roots, e)
		return nil, e
	}
	return a.remember(key, roots, leaf, chain, "", true), nil
}
