package testpki

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Leaf is an end-entity certificate with its key.
type Leaf struct {
	// Cert is the leaf certificate.
	Cert *x509.Certificate
	// Key is the private key for Cert.
	Key crypto.Signer
	// Chain holds the issuers, nearest first: the intermediates, then the
	// root last. It is empty for a self-signed leaf.
	Chain []*x509.Certificate
}

// SelfSigned mints a leaf signed by its own key, which no authority vouches
// for: the forged certificate a verifier must refuse. Unless the options say
// otherwise it is a client certificate like those of [Authority.Leaf]: common
// name "client", client-auth extended key usage, not a CA.
func SelfSigned(opts ...Option) (*Leaf, error) {
	cert, key, err := mint(clientProfile, nil, opts)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// TLSCertificate returns l for tls.Config.Certificates. Its chain is the leaf
// followed by the intermediates, without the root, as a TLS peer sends it
// (RFC 8446, section 4.4.2).
func (l *Leaf) TLSCertificate() tls.Certificate {
	var tc tls.Certificate
	if l == nil || l.Cert == nil {
		return tc
	}
	tc.Certificate = [][]byte{l.Cert.Raw}
	for _, c := range l.Intermediates() {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	tc.PrivateKey = l.Key
	tc.Leaf = l.Cert
	return tc
}

// PEM returns the leaf certificate alone as a PEM CERTIFICATE block.
func (l *Leaf) PEM() []byte {
	if l == nil {
		return nil
	}
	return PEM(l.Cert)
}

// ChainPEM returns the leaf followed by its intermediates, without the root,
// as PEM CERTIFICATE blocks: what a proxy forwards as the client chain.
func (l *Leaf) ChainPEM() []byte {
	if l == nil {
		return nil
	}
	return PEM(append([]*x509.Certificate{l.Cert}, l.Intermediates()...)...)
}

// KeyPEM returns the private key as a PKCS #8 "PRIVATE KEY" PEM block.
func (l *Leaf) KeyPEM() ([]byte, error) {
	if l == nil || l.Key == nil {
		return nil, errors.New("testpki: leaf has no key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		return nil, fmt.Errorf("testpki: marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Intermediates returns a new slice with Chain minus the self-signed root at
// its end, nearest issuer first. It is empty for a leaf issued by a root or
// a self-signed leaf.
func (l *Leaf) Intermediates() []*x509.Certificate {
	if l == nil {
		return nil
	}
	chain := l.Chain
	if n := len(chain); n > 0 && isSelfSigned(chain[n-1]) {
		chain = chain[:n-1]
	}
	return append([]*x509.Certificate(nil), chain...)
}

// isSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key, as a root's does.
func isSelfSigned(c *x509.Certificate) bool {
	return c != nil && bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
