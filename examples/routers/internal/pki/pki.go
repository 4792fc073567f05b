// Package pki mints, in memory, the certificates the router examples'
// tests run with: CAs, a server certificate for loopback, and client
// certificates with a common name and an organizational unit. A nested
// module cannot import certgate's own internal/testpki, hence this small
// copy. It is for tests only: keys live in memory and are never protected.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// CA is a root certificate authority.
type CA struct {
	// Cert is the CA's own certificate.
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA mints a root CA named cn, valid from an hour ago for a day.
func NewCA(tb testing.TB, cn string) *CA {
	tb.Helper()
	tmpl := template(tb, pkix.Name{CommonName: cn})
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	key := newKey(tb)
	ca := &CA{key: key}
	ca.Cert = sign(tb, tmpl, tmpl, key, key)
	return ca
}

// Pool returns a pool holding only this CA, for Config.Roots or RootCAs.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Server mints a server certificate for localhost, 127.0.0.1 and ::1.
func (ca *CA) Server(tb testing.TB) tls.Certificate {
	tb.Helper()
	tmpl := template(tb, pkix.Name{CommonName: "localhost"})
	tmpl.DNSNames = []string{"localhost"}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return ca.issue(tb, tmpl)
}

// Client mints a client certificate with common name cn and
// organizational unit ou (none when empty), with the client-auth extended
// key usage certgate requires.
func (ca *CA) Client(tb testing.TB, cn, ou string) tls.Certificate {
	tb.Helper()
	name := pkix.Name{CommonName: cn}
	if ou != "" {
		name.OrganizationalUnit = []string{ou}
	}
	tmpl := template(tb, name)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.issue(tb, tmpl)
}

func (ca *CA) issue(tb testing.TB, tmpl *x509.Certificate) tls.Certificate {
	tb.Helper()
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	key := newKey(tb)
	cert := sign(tb, tmpl, ca.Cert, key, ca.key)
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func template(tb testing.TB, name pkix.Name) *x509.Certificate {
	tb.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		BasicConstraintsValid: true,
	}
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func sign(tb testing.TB, tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}
