package httpauth

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
)

// Revocation runs after chain verification and before authorization, for
// every source and on every request (cached verifications included, since
// revocation data changes while a certificate stays valid). Checkers only
// ever see the verified chain, so each answer can be bound to the issuer
// that chain names, never to a certificate the client merely sent.

// RevocationStatus is a checker's answer for one verified chain.
type RevocationStatus int

const (
	// RevocationUnknown: the checker cannot tell, for example it has no
	// data for the issuer, its data is stale, or a responder is down. It
	// is the zero value, so an answer left unset never passes as good.
	RevocationUnknown RevocationStatus = iota
	// RevocationGood: no certificate of the chain is revoked.
	RevocationGood
	// RevocationRevoked: a certificate of the chain is revoked.
	RevocationRevoked
)

// String returns "good", "revoked" or "unknown".
func (s RevocationStatus) String() string {
	switch s {
	case RevocationGood:
		return "good"
	case RevocationRevoked:
		return "revoked"
	default:
		return "unknown"
	}
}

// RevocationAnswer is a [RevocationStatus] with the reason for logs, such
// as which certificate and which list or responder said so.
type RevocationAnswer struct {
	// Status is the verdict: good, revoked or unknown.
	Status RevocationStatus
	// Detail says why, for logs and the refusal's reason; never sent to
	// the client.
	Detail string
}

// RevocationChecker tells whether a verified chain is revoked. chain is
// leaf first, root last, as verified by the [Authenticator]; ctx is the
// request's. Implementations must be safe for concurrent use and bound
// their own work (a network checker honours ctx and caches). They may be
// asked again for a chain already admitted, to re-check a live connection.
//
// The Authenticator refuses a revoked chain with [ErrRevoked] and an
// unknown one with [ErrRevocationUnknown], unless the checker is wrapped
// in [FailOpen]. See [CRLFiles], [OCSP], [CRLDistributionPoints],
// [DenyList] and [DenyListFile].
type RevocationChecker interface {
	CheckRevocation(ctx context.Context, chain []*x509.Certificate) RevocationAnswer
}

// FailOpen lets chains that c cannot judge pass: an unknown answer counts
// as good, and each such pass is logged (Warn) by the Authenticator. Use
// it for a checker whose outage should not lock every client out, for
// instance an OCSP responder of a CA you do not run. Revoked stays
// revoked.
func FailOpen(c RevocationChecker) RevocationChecker { return failOpen{c} }

type failOpen struct{ RevocationChecker }

// checkRevocation asks every checker; any revoked answer refuses the
// chain, then any unknown answer of a fail-closed checker does. remote is
// the peer's address, for the log.
func (a *Authenticator) checkRevocation(ctx context.Context, remote string, id *Identity) error {
	if len(a.revocation) == 0 {
		return nil
	}
	chain := id.verifiedChain
	var (
		unknown    RevocationAnswer
		anyUnknown bool
	)
	for _, c := range a.revocation {
		ans := c.CheckRevocation(ctx, chain)
		switch ans.Status {
		case RevocationGood:
		case RevocationRevoked:
			return unauthorized(fmt.Errorf("%w: certificate %s: %s", ErrRevoked, shortFP(id.Certificate), ans.Detail))
		default:
			if _, open := c.(failOpen); open {
				a.logFailOpen(ctx, remote, id, ans)
				continue
			}
			if !anyUnknown {
				unknown, anyUnknown = ans, true
			}
		}
	}
	if anyUnknown {
		return unauthorized(fmt.Errorf("%w: certificate %s: %s; wrap the checker in httpauth.FailOpen to let such chains pass", ErrRevocationUnknown, shortFP(id.Certificate), unknown.Detail))
	}
	return nil
}

func (a *Authenticator) logFailOpen(ctx context.Context, remote string, id *Identity, ans RevocationAnswer) {
	if a.logger == nil {
		return
	}
	a.logger.LogAttrs(ctx, slog.LevelWarn, "httpauth: revocation status unknown, allowed by FailOpen",
		slog.String("detail", ans.Detail),
		slog.String("fingerprint", id.Fingerprint),
		slog.String("remote_addr", remote))
}
