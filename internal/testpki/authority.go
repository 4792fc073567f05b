package testpki

import (
	"crypto"
	"crypto/x509"
	"errors"
)

// errNilAuthority is returned by the methods of a nil *Authority.
var errNilAuthority = errors.New("testpki: nil authority")

// Authority is a certificate authority, root or intermediate, with its key.
// Its methods only read it, so one Authority may issue from many goroutines.
type Authority struct {
	// Cert is the authority's own certificate.
	Cert *x509.Certificate
	// Key signs what the authority issues.
	Key crypto.Signer
	// Chain holds the issuers above this authority, nearest first and the
	// root last. It is empty for a root.
	Chain []*x509.Certificate
}

// NewRoot mints a self-signed root CA. Unless the options say otherwise its
// common name is "certgate test root", it is valid from an hour before the
// reference time for 365 days, has no path length limit and no extended key
// usage.
func NewRoot(opts ...Option) (*Authority, error) {
	cert, key, err := mint(rootProfile, nil, opts)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: cert, Key: key}, nil
}

// Intermediate mints a CA signed by a. Unless the options say otherwise its
// common name is "certgate test intermediate", it is valid from an hour
// before the reference time for 365 days, has no path length limit and no
// extended key usage. Its Chain is a followed by a's Chain.
func (a *Authority) Intermediate(opts ...Option) (*Authority, error) {
	if a == nil {
		return nil, errNilAuthority
	}
	cert, key, err := mint(intermediateProfile, a, opts)
	if err != nil {
		return nil, err
	}
	return &Authority{Cert: cert, Key: key, Chain: a.issued()}, nil
}

// Leaf mints a client certificate signed by a. Unless the options say
// otherwise its common name is "client", its extended key usage is client
// authentication, its key usage digital signature, and it is valid from an
// hour before the reference time for 24 hours. Its Chain is a followed by
// a's Chain.
func (a *Authority) Leaf(opts ...Option) (*Leaf, error) {
	if a == nil {
		return nil, errNilAuthority
	}
	cert, key, err := mint(clientProfile, a, opts)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, Chain: a.issued()}, nil
}

// Server mints a server certificate signed by a. Unless the options say
// otherwise its common name is "localhost", its extended key usage is server
// authentication, and it is valid from an hour before the reference time for
// 24 hours. When the options name neither DNS nor IP SANs it gets DNS
// localhost and IP 127.0.0.1 and ::1, so loopback tests verify it.
func (a *Authority) Server(opts ...Option) (*Leaf, error) {
	if a == nil {
		return nil, errNilAuthority
	}
	cert, key, err := mint(serverProfile, a, opts)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, Chain: a.issued()}, nil
}

// Pool returns a new pool holding only a.Cert, to use as Roots,
// RootCAs or ClientCAs. It is empty if a or a.Cert is nil.
func (a *Authority) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	if a != nil && a.Cert != nil {
		pool.AddCert(a.Cert)
	}
	return pool
}

// PEM returns a.Cert as a PEM CERTIFICATE block, or nil if there is none.
func (a *Authority) PEM() []byte {
	if a == nil {
		return nil
	}
	return PEM(a.Cert)
}

// issued returns the chain of whatever a signs: a itself, then its issuers.
// It is a fresh slice, so callers may append to it without touching a.
func (a *Authority) issued() []*x509.Certificate {
	chain := make([]*x509.Certificate, 0, 1+len(a.Chain))
	chain = append(chain, a.Cert)
	return append(chain, a.Chain...)
}
