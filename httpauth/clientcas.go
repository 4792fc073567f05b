package httpauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
)

// TLSConfigFor returns the server *tls.Config of one listener whose routes
// are gated by different Authenticators, each with its own roots and
// authorizer (say devices on /ws/devices, administrators on /api/admin).
// It is [Authenticator.TLSConfig] for several Authenticators: the listener
// only requests a certificate (tls.RequestClientCert), and each route's
// Authenticator verifies it against its own roots. A certificate good for
// one route is therefore refused, with an HTTP 401, on a route whose
// Authenticator does not trust its CA.
//
// The handshake cannot decide: it happens before the request names its
// route, so the listener has to accept any CA of any route. ClientCAs
// exists to tell clients which certificate to send, and lists the CAs of
// every Authenticator's roots in force, re-read on every handshake through
// GetConfigForClient, so a [RootsProvider] rotation shows up without a
// restart.
//
// That list carries only the CAs' names: crypto/x509 gives no way to read
// the certificates back out of a pool, and names are all a CA list on the
// wire holds. So it cannot verify, and ClientAuth must stay
// tls.RequestClientCert or tls.RequireAnyClientCert; with another value,
// every handshake fails with an error naming this function (a listener
// that verified against the union would prove nothing per route anyway).
// Other fields may be adjusted before use, on the returned config itself:
// its GetConfigForClient hook starts every handshake from it, so a copy
// (tls.Config.Clone, httptest's EnableHTTP2, grpc's credentials.NewTLS)
// loses its own changes. Replacing the hook stops the CA list from
// following rotations (verification still does). A list too long for the
// handshake's 64 KiB field (some hundreds of CAs) is not sent at all, so
// that handshakes still succeed; clients then choose without it.
//
// Every Authenticator needs roots, as for TLSConfig. An Authenticator
// that reads certificates from a proxy's header is refused unless it has
// [Source.FallbackToTLS]: this listener never sees its certificates.
func TLSConfigFor(certs []tls.Certificate, auths ...*Authenticator) (*tls.Config, error) {
	if len(certs) == 0 {
		return nil, errors.New("httpauth: TLSConfigFor needs the server's certificate")
	}
	if len(auths) == 0 {
		return nil, errors.New("httpauth: TLSConfigFor needs the Authenticators that gate the listener's routes")
	}
	for i, a := range auths {
		switch {
		case a == nil:
			return nil, fmt.Errorf("httpauth: TLSConfigFor: Authenticator %d is nil", i)
		case a.roots == nil:
			return nil, fmt.Errorf("httpauth: TLSConfigFor: Authenticator %d has no Config.Roots or Config.RootsProvider; without roots nothing would verify the certificates the listener accepts for its routes", i)
		case a.src.isHeader() && !a.src.FallbackToTLS:
			return nil, fmt.Errorf("httpauth: TLSConfigFor: Authenticator %d reads certificates from header %s set by a proxy, not from this listener; leave it out, or set Source.FallbackToTLS", i, a.src.Header)
		}
	}
	names := &caNames{auths: slices.Clone(auths)}
	base := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: certs,
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    names.pool(),
	}
	// As in TLSConfig, each handshake clones the returned config itself, so
	// changes the caller makes on it after this call still apply (but not
	// changes made only to a copy of it).
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if ca := base.ClientAuth; ca != tls.RequestClientCert && ca != tls.RequireAnyClientCert {
			return nil, fmt.Errorf("httpauth: the listener from TLSConfigFor has ClientAuth %v; its CA list only names the routes' CAs and cannot verify: keep tls.RequestClientCert and let each route's Authenticator verify", ca)
		}
		c := base.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = names.pool()
		return c, nil
	}
	return base, nil
}

// caNames builds the CA list of [TLSConfigFor]. The list is rebuilt only
// when some Authenticator's pool changes: RootsProvider promises a new
// pointer for new roots, so the pointers identify the list.
type caNames struct {
	auths []*Authenticator
	last  atomic.Pointer[caList]
}

type caList struct {
	from  []*x509.CertPool
	union *x509.CertPool
}

// pool returns the list for the roots now in force. Two handshakes that
// race after a rotation may both build it; either result is the same.
func (n *caNames) pool() *x509.CertPool {
	from := make([]*x509.CertPool, len(n.auths))
	for i, a := range n.auths {
		from[i] = a.currentRoots()
	}
	if last := n.last.Load(); last != nil && slices.Equal(last.from, from) {
		return last.union
	}
	union := x509.NewCertPool()
	for _, p := range from {
		if p == nil {
			continue
		}
		subjects := p.Subjects() //nolint:staticcheck // roots are never a system pool, whose Subjects would be empty
		for _, subject := range subjects {
			// A placeholder carrying the name alone: crypto/tls reads only
			// Subjects from ClientCAs under RequestClientCert. It has no key,
			// so a chain through it could never verify. Raw is the name, so
			// CAs of the same name are listed once.
			union.AddCert(&x509.Certificate{Raw: subject, RawSubject: subject})
		}
	}
	union = caHint(union)
	n.last.Store(&caList{from: from, union: union})
	return union
}
