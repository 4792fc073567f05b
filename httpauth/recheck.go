package httpauth

import (
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
		return asErrorOrNil(a.authorize(r.WithContext(ctx), id))
	}
	return nil
}

// stillAnchored checks that the root of a verified chain is still trusted
// under the roots in force: in the pool, or vouched for by it (a renewed
// root with the same name and key).
func (a *Authenticator) stillAnchored(chain []*x509.Certificate, memo *anchorMemo) error {
	root := chain[len(chain)-1]
	err, ok := memo.get(root)
	if !ok {
		err = a.anchored(root, memo.roots, a.now())
		memo.put(root, err)
	}
	if err == nil {
		return nil
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) && !emptyPool(memo.roots) {
		return fmt.Errorf("%w: certificate %s: its root %q is no longer among the roots in force", ErrUnknownAuthority, shortFP(chain[0]), truncate(root.Subject.CommonName))
	}
	return a.verifyError(chain[0], err, memo.roots)
}

// asErrorOrNil is asError that keeps nil.
func asErrorOrNil(err error) error {
	if err == nil {
		return nil
	}
	return asError(err)
}
