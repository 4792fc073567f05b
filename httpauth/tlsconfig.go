package httpauth

import (
	"crypto/tls"
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
// carries a GetConfigForClient hook; replacing that hook stops the CA list
// from following rotations (verification still follows them).
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
		ClientCAs:    a.roots.Roots(),
	}
	if _, static := a.roots.(staticRoots); static {
		return base, nil
	}
	// Each handshake clones the returned config itself, so settings the
	// caller changes after this call (MinVersion, NextProtos, …) still
	// apply; only ClientCAs is refreshed from the provider.
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = a.roots.Roots()
		return c, nil
	}
	return base, nil
}
