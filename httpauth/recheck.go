package httpauth

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
)

// Recheck asks again whether id, which a admitted earlier, would still be
// admitted now: for a connection that outlives its request. It checks the
// validity of the chain by a's clock, the chain against the roots in force
// (when a verifies against roots; a roots rotation may have removed its
// CA), and a's revocation checkers. It does not run the authorizer. It
// returns nil, or an *[Error] as [Authenticator.Authenticate] does: for
// instance [ErrExpired], [ErrUnknownAuthority] or [ErrRevoked].
//
// Call it when a [Notifier] (roots, CRLs, deny-list) signals a change, or
// periodically. Its work is bounded by the verified chain, which is short
// and was proven before.
func (a *Authenticator) Recheck(ctx context.Context, id *Identity) error {
	if id == nil || id.Certificate == nil {
		return &Error{Status: http.StatusInternalServerError, Reason: errors.New("httpauth: Recheck needs an identity that Authenticate returned")}
	}
	chain := id.verifiedChain
	if !id.Verified || len(chain) == 0 {
		// Unverified (InsecureSkipHeaderVerification): only the clock.
		if err := a.checkValidity(id.Certificate, a.now(), true); err != nil {
			return unauthorized(err)
		}
		return nil
	}
	if err := a.checkChain(chain); err != nil {
		return unauthorized(err)
	}
	if roots := a.currentRoots(); roots != nil {
		if err := a.reverify(chain, roots); err != nil {
			return unauthorized(err)
		}
	}
	return a.checkRevocation(ctx, "", id)
}

// reverify verifies a chain verified before against roots, which may have
// changed since; the path is the one found then (the chain without its
// leaf and root).
func (a *Authenticator) reverify(chain []*x509.Certificate, roots *x509.CertPool) error {
	leaf := chain[0]
	path := chain[1:max(1, len(chain)-1)]
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: a.intermediates(path), CurrentTime: a.now(), KeyUsages: clientAuth})
	if err != nil {
		return a.verifyError(leaf, err, roots)
	}
	return nil
}
