package httpauth

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
)

// Recheck asks again whether id, which a admitted earlier, would still be
// admitted now: for a connection that outlives its request. It checks the
// validity of the chain by a's clock, that the chain's root is still among
// the roots in force (when a verifies against roots; a roots rotation may
// have removed it), and a's revocation checkers. It does not run the
// authorizer. It returns nil, or an *[Error] as [Authenticator.Authenticate]
// does: for instance [ErrExpired], [ErrUnknownAuthority] or [ErrRevoked].
//
// [Authenticator.Hold] runs it for every held connection when trust
// changes; call it yourself for connections you track otherwise. Its work
// is bounded by the verified chain, which is short and whose signatures
// were checked at admission: they need no second look.
func (a *Authenticator) Recheck(ctx context.Context, id *Identity) error {
	if id == nil || id.Certificate == nil {
		return &Error{Status: http.StatusInternalServerError, Reason: errors.New("httpauth: Recheck needs an identity that Authenticate returned")}
	}
	return a.recheck(ctx, id, nil, &anchorMemo{roots: a.currentRoots()})
}

// recheck is Recheck for a held connection: r, when not nil and
// Config.RecheckAuthorizer is set, runs the authorizer again. memo holds
// the roots in force.
func (a *Authenticator) recheck(ctx context.Context, id *Identity, r *http.Request, memo *anchorMemo) error {
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
	if memo.roots != nil {
		if err := a.stillAnchored(chain, memo); err != nil {
			return unauthorized(err)
		}
	}
	if err := a.checkRevocation(ctx, "", id); err != nil {
		return err
	}
	if r != nil && a.recheckAuthz {
		// The request's values (a tenant, a trace) as at admission, but
		// not its cancellation: the request itself has long ended.
		return a.authorize(r.WithContext(context.WithoutCancel(r.Context())), id)
	}
	return nil
}

// stillAnchored checks that the chain, verified at admission, is still
// trusted under the roots in force. Its signatures need no second look;
// what can change is its anchor. When the very root it ended in is still
// in the pool (the common case, memoised per round) nothing else is
// needed. Otherwise the whole chain is verified again, as at admission:
// it may now end in a renewed root (same name and key, perhaps other
// constraints), and it fails fast when its CA is gone. A pinned
// certificate must itself be in the pool.
func (a *Authenticator) stillAnchored(chain []*x509.Certificate, memo *anchorMemo) error {
	root := chain[len(chain)-1]
	in, ok := memo.get(root)
	if !ok {
		in = a.rootInPool(root, memo.roots)
		memo.put(root, in)
	}
	if in {
		return nil
	}
	leaf := chain[0]
	err := error(x509.UnknownAuthorityError{Cert: leaf})
	if len(chain) > 1 {
		_, err = leaf.Verify(x509.VerifyOptions{Roots: memo.roots, Intermediates: a.intermediates(chain[1 : len(chain)-1]), CurrentTime: a.now(), KeyUsages: clientAuth})
		if err == nil {
			return nil
		}
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) && !emptyPool(memo.roots) {
		return fmt.Errorf("%w: certificate %s: its root %q is no longer among the roots in force", ErrUnknownAuthority, shortFP(leaf), truncate(root.Subject.CommonName))
	}
	return a.verifyError(leaf, err, memo.roots)
}

// rootInPool reports whether root itself is in roots. crypto/x509 answers
// that without a signature check.
func (a *Authenticator) rootInPool(root *x509.Certificate, roots *x509.CertPool) bool {
	chains, err := root.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: a.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return false
	}
	for _, ch := range chains {
		if len(ch) == 1 && bytes.Equal(ch[0].Raw, root.Raw) {
			return true
		}
	}
	return false
}
