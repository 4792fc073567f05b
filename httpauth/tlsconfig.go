package httpauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSConfig returns a server *tls.Config for certs that asks every client
// for a certificate (tls.RequestClientCert) and lets this Authenticator
// verify it. Compared with tls.RequireAndVerifyClientCert, a client with a
// missing, unknown or expired certificate then gets an HTTP 401 with a
// reason instead of a bare handshake failure, and requests for public
// routes on the same listener still work. ClientCAs are the configured
// roots (re-read on every handshake with a [RootsProvider]) so clients know
// which certificate to send. TLS 1.2 is the minimum.
//
// The returned config may be adjusted before use. With a RootsProvider it
// carries a GetConfigForClient hook, which starts every handshake from
// this very config: set fields on it, not on a copy (tls.Config.Clone,
// httptest's EnableHTTP2, grpc's credentials.NewTLS copy it), since a
// copy keeps the hook and its own changes are lost. Replacing the hook
// stops the CA list from following rotations (verification still follows
// them). A CA list too long for the handshake's 64 KiB field (some
// hundreds of CAs) is not sent, and clients choose a certificate without
// it, rather than every handshake failing.
//
// It needs roots ([Config.Roots] or [Config.RootsProvider]): without them
// nothing could verify the certificates the listener accepts. With a header
// [Source] it is an error unless Source.FallbackToTLS is set: the clients'
// certificates reach a proxy's TLS, not this listener's, and asking the
// proxy for one would only be confusing.
func (a *Authenticator) TLSConfig(certs ...tls.Certificate) (*tls.Config, error) {
	if a.src.isHeader() && !a.src.FallbackToTLS {
		return nil, fmt.Errorf("httpauth: TLSConfig is for an Authenticator that reads the TLS connection, but Config.Source reads the proxy's header %s: the proxy terminates the clients' TLS, so serve the backend without client authentication, or set Source.FallbackToTLS if clients also connect directly", a.src.Header)
	}
	if a.roots == nil {
		return nil, errors.New("httpauth: TLSConfig needs Config.Roots or Config.RootsProvider; without roots, configure the listener yourself with tls.RequireAndVerifyClientCert and ClientCAs")
	}
	if len(certs) == 0 {
		return nil, errors.New("httpauth: TLSConfig needs the server's certificate")
	}
	base := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: certs,
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    caHint(a.roots.Roots()),
	}
	if _, static := a.roots.(staticRoots); static {
		return base, nil
	}
	// Each handshake clones the returned config itself, so settings the
	// caller changes on it after this call (MinVersion, NextProtos, …)
	// still apply; only ClientCAs is refreshed from the provider.
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = caHint(a.roots.Roots())
		return c, nil
	}
	return base, nil
}

// maxCANames bounds the CA names a CertificateRequest carries: the field
// has a 2-byte length, and a longer list fails every handshake (crypto/tls
// cannot encode it). Kept under 64 KiB with room for the rest.
const maxCANames = 60 << 10

// caHint is pool as the listener's ClientCAs under RequestClientCert, where
// it only tells clients which certificate to send: nil when its names
// would not fit the handshake, so clients choose without the hint.
func caHint(pool *x509.CertPool) *x509.CertPool {
	if pool == nil {
		return nil
	}
	n := 0
	for _, s := range pool.Subjects() { //nolint:staticcheck // roots are never a system pool, whose Subjects would be empty
		n += 2 + len(s)
	}
	if n > maxCANames {
		return nil
	}
	return pool
}
