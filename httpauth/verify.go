package httpauth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// clientAuth is passed explicitly: an empty KeyUsages means server auth to
// crypto/x509, which would let server certificates in (VAL-03).
var clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}

// currentRoots returns the roots now in force, nil when none are configured.
func (a *Authenticator) currentRoots() *x509.CertPool {
	if a.roots == nil {
		return nil
	}
	return a.roots.Roots()
}

// verifyLeaf verifies leaf with the presented intermediates against the
// current roots and returns the verified chain, leaf first. Presented
// certificates are only ever intermediates, never trust anchors (CHN-04).
//
// Everything a client controls is screened before the first signature
// check, and the path is proven from the top down (see path.go), so the
// work of one call is bounded by the configured roots and intermediates,
// not by what was presented.
func (a *Authenticator) verifyLeaf(leaf *x509.Certificate, presented []*x509.Certificate, roots *x509.CertPool) ([]*x509.Certificate, error) {
	presented, err := a.screen(leaf, presented)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if err := a.checkLeaf(leaf, now); err != nil {
		return nil, err
	}
	isCA, err := checkLeafPolicy(leaf)
	if err != nil {
		return nil, err
	}
	if roots == nil {
		return nil, fmt.Errorf("%w: certificate %s was not verified by the TLS layer; set Config.Roots, or make the listener verify with tls.RequireAndVerifyClientCert and ClientCAs", ErrNoRoots, shortFP(leaf))
	}
	at := now
	if now.Before(leaf.NotBefore) {
		at = leaf.NotBefore // within ClockSkew, checked by checkLeaf
	}
	var chain []*x509.Certificate
	if isCA {
		chain, err = a.verifyPinned(leaf, roots, at)
	} else {
		chain, err = a.verifyPath(leaf, presented, roots, at)
	}
	if err != nil {
		return nil, err
	}
	if !at.Equal(now) {
		// Verified at the leaf's NotBefore: the skew is for the leaf only,
		// so the rest of the chain must be valid now.
		if err := a.checkChain(chain); err != nil {
			return nil, err
		}
	}
	if len(chain) > a.maxChain {
		return nil, fmt.Errorf("%w: verified chain has %d certificates, at most %d allowed (Config.MaxChainLength)", ErrChainTooLong, len(chain), a.maxChain)
	}
	return chain, nil
}

// verifyPath builds the chain over the one path the presented
// certificates offer, once proven, and the known intermediates.
func (a *Authenticator) verifyPath(leaf *x509.Certificate, presented []*x509.Certificate, roots *x509.CertPool, at time.Time) ([]*x509.Certificate, error) {
	path, err := issuerPath(leaf, presented)
	if err != nil {
		return nil, err
	}
	path, pathErr := a.trustedPath(path, roots, at)
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: a.intermediates(path),
		CurrentTime:   at,
		KeyUsages:     clientAuth,
	})
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) && pathErr != nil {
		// What kept the presented path out is the better reason.
		err = pathErr
	}
	if err != nil {
		return nil, a.verifyError(leaf, err, roots)
	}
	return chains[0], nil
}

// intermediates is the pool for crypto/x509: the known intermediates plus
// path, certificates already proven. Without a path it is the known pool
// itself, not a copy.
func (a *Authenticator) intermediates(path []*x509.Certificate) *x509.CertPool {
	if len(path) == 0 {
		return a.known
	}
	pool := x509.NewCertPool()
	if a.known != nil {
		pool = a.known.Clone()
	}
	for _, c := range path {
		pool.AddCert(c)
	}
	return pool
}

// verifyPinned accepts a CA certificate as a client certificate only when
// it is itself one of the roots: a pinned self-signed client, which
// `openssl req -x509` marks CA:TRUE by default. Any other CA certificate
// names an authority, not a client, and would let whoever holds a CA key
// pass with the CA's own name.
func (a *Authenticator) verifyPinned(leaf *x509.Certificate, roots *x509.CertPool, at time.Time) ([]*x509.Certificate, error) {
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: clientAuth})
	if err == nil && len(chains[0]) == 1 {
		return chains[0], nil
	}
	return nil, fmt.Errorf("%w: certificate %s (serial %s) has CA:TRUE or keyCertSign and is not one of Config.Roots; issue client certificates with CA:FALSE, or put this exact certificate in the roots to pin it", ErrLeafIsCA, shortFP(leaf), serialHex(leaf))
}

// checkLeaf checks what is cheap and gives the most precise reason first:
// the validity window and the client-auth usage of the leaf itself.
func (a *Authenticator) checkLeaf(leaf *x509.Certificate, now time.Time) error {
	if err := a.checkValidity(leaf, now, true); err != nil {
		return err
	}
	return checkUsage(leaf)
}

// checkUsage requires the leaf to allow client authentication.
func checkUsage(leaf *x509.Certificate) error {
	// Require clientAuth (or anyExtendedKeyUsage) to be listed. A leaf
	// without the extension is valid for any purpose to RFC 5280, but a
	// client certificate that does not say so is refused on purpose.
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return fmt.Errorf("%w: certificate %s (serial %s) allows %s; issue it with extended key usage clientAuth", ErrClientAuthUsage, shortFP(leaf), serialHex(leaf), ekuNames(leaf.ExtKeyUsage))
	}
	return nil
}

// checkValidity checks one certificate's window against now. ClockSkew
// stretches only the leaf's NotBefore.
func (a *Authenticator) checkValidity(c *x509.Certificate, now time.Time, leaf bool) error {
	notBefore := c.NotBefore
	if leaf {
		notBefore = notBefore.Add(-a.skew)
	}
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("%w at %s: certificate %s (serial %s)", ErrExpired, c.NotAfter.UTC().Format(time.RFC3339), shortFP(c), serialHex(c))
	case now.Before(notBefore):
		return fmt.Errorf("%w until %s: certificate %s (serial %s)", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339), shortFP(c), serialHex(c))
	}
	return nil
}

// checkChain re-checks the validity window of every certificate of an
// already verified chain. It runs on every request that reuses a verified
// chain (TLS VerifiedChains, cache hits), because a long-lived connection
// or cache entry can outlive a certificate.
func (a *Authenticator) checkChain(chain []*x509.Certificate) error {
	now := a.now()
	for i, c := range chain {
		if err := a.checkValidity(c, now, i == 0); err != nil {
			return err
		}
	}
	return nil
}

// verifyError maps crypto/x509 errors onto the sentinel reasons, saying
// so when the roots in force are empty (withdrawn by their provider).
func (a *Authenticator) verifyError(leaf *x509.Certificate, err error, roots *x509.CertPool) error {
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) && emptyPool(roots) {
		return fmt.Errorf("%w: certificate %s: the roots in force are empty, so every CA is withdrawn%s", ErrUnknownAuthority, shortFP(leaf), providerErr(a.roots))
	}
	return verifyError(leaf, err)
}

// verifyError maps crypto/x509 errors onto the sentinel reasons.
func verifyError(leaf *x509.Certificate, err error) error {
	var (
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("%w: certificate %s issued by %q; add the issuing CA to Config.Roots, or have the client or proxy send the missing intermediate", ErrUnknownAuthority, shortFP(leaf), truncate(leaf.Issuer.CommonName))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		// The leaf's window was checked before, so this is a chain member.
		return fmt.Errorf("%w: a certificate in the chain of %s: %s", ErrExpired, shortFP(leaf), invalid.Detail)
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return fmt.Errorf("%w: the chain of %s does not allow clientAuth", ErrClientAuthUsage, shortFP(leaf))
	}
	return fmt.Errorf("%w: certificate %s: %v", ErrNotVerified, shortFP(leaf), err)
}

func ekuNames(ekus []x509.ExtKeyUsage) string {
	if len(ekus) == 0 {
		return "no extended key usage"
	}
	names := map[x509.ExtKeyUsage]string{
		x509.ExtKeyUsageServerAuth: "serverAuth", x509.ExtKeyUsageClientAuth: "clientAuth",
		x509.ExtKeyUsageCodeSigning: "codeSigning", x509.ExtKeyUsageEmailProtection: "emailProtection",
		x509.ExtKeyUsageTimeStamping: "timeStamping", x509.ExtKeyUsageOCSPSigning: "OCSPSigning",
	}
	out := ""
	for i, u := range ekus {
		if i > 0 {
			out += ", "
		}
		if n, ok := names[u]; ok {
			out += n
		} else {
			out += fmt.Sprintf("usage %d", u)
		}
	}
	return "only " + out
}

// emptyPool reports whether pool holds no certificate. Only asked on a
// refusal, so the allocation of Subjects does not matter.
func emptyPool(pool *x509.CertPool) bool {
	return pool != nil && len(pool.Subjects()) == 0 //nolint:staticcheck // not a system pool
}

// providerErr is the roots provider's own account of its state, such as
// [FileRoots.Err], for a refusal's reason.
func providerErr(p RootsProvider) string {
	if e, ok := p.(interface{ Err() error }); ok {
		if err := e.Err(); err != nil {
			return " (" + strings.TrimPrefix(err.Error(), "httpauth: ") + ")"
		}
	}
	return ""
}
