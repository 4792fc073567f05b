package httpauth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/require"
)

// Hostile chains: what an anonymous client can present to make chain
// building expensive. Each is signed for real, so that a verifier without
// certgate's screening would pay the full price for it.

// hostile is a presented chain, leaf first.
type hostile []*x509.Certificate

// mint signs tmpl for pub with signer as parent (tmpl itself when parent
// is nil) and parses the result.
func mint(tb testing.TB, tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) *x509.Certificate {
	tb.Helper()
	if parent == nil {
		parent = tmpl
	}
	if tmpl.SerialNumber == nil {
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
		require.NoError(tb, err)
		tmpl.SerialNumber = serial
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	require.NoError(tb, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	return c
}

func caTemplate(name pkix.Name) *x509.Certificate {
	return &x509.Certificate{Subject: name, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
}

func clientTemplate(cn string, issuer pkix.Name) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		Issuer:      issuer,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

func p256(tb testing.TB) *ecdsa.PrivateKey { return ecKey(tb, elliptic.P256()) }

func ecKey(tb testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(tb, err)
	return k
}

// rsaKeyWithExponent makes a 2,048-bit RSA key with public exponent e:
// crypto/rsa only generates e = 65537.
func rsaKeyWithExponent(tb testing.TB, e int) *rsa.PrivateKey {
	tb.Helper()
	one, bigE := big.NewInt(1), big.NewInt(int64(e))
	for {
		p, err := rand.Prime(rand.Reader, 1024)
		require.NoError(tb, err)
		q, err := rand.Prime(rand.Reader, 1024)
		require.NoError(tb, err)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(bigE, phi)
		if d == nil || p.Cmp(q) == 0 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: e}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		require.NoError(tb, k.Validate())
		return k
	}
}

// bigModulus is an RSA public key of the given size that nobody holds the
// private half of: checking a signature with it costs the same all the
// same, and generating a real 16,384-bit key would take minutes.
func bigModulus(tb testing.TB, bits int) *rsa.PublicKey {
	tb.Helper()
	buf := make([]byte, bits/8)
	_, err := rand.Read(buf)
	require.NoError(tb, err)
	buf[0] |= 0x80
	buf[len(buf)-1] |= 1
	return &rsa.PublicKey{N: new(big.Int).SetBytes(buf), E: 65537}
}

// sharedKeyChain is the permutation attack: a leaf and n intermediates
// that share one subject and one key, so each intermediate is a valid
// parent of every other and of the leaf. Named like the real root, so
// that a verifier also tries the real root at every step.
func sharedKeyChain(tb testing.TB, pki *testpki.Set, key crypto.Signer, n int) hostile {
	tb.Helper()
	name := pki.Root.Cert.Subject
	chain := hostile{mint(tb, clientTemplate("alice", name), caTemplate(name), p256(tb).Public(), key)}
	for range n {
		chain = append(chain, mint(tb, caTemplate(name), nil, key.Public(), key))
	}
	return chain
}

// oversizeRSAChain is a leaf claiming an intermediate whose RSA key has
// bits bits, named like the real intermediate.
func oversizeRSAChain(tb testing.TB, pki *testpki.Set, bits int) hostile {
	tb.Helper()
	forger := p256(tb)
	inter := mint(tb, caTemplate(pki.Intermediate.Cert.Subject), caTemplate(pki.Root.Cert.Subject), bigModulus(tb, bits), forger)
	parent := caTemplate(inter.Subject)
	parent.SubjectKeyId = inter.SubjectKeyId // the template without the key forger cannot sign for
	leaf := mint(tb, clientTemplate("alice", inter.Subject), parent, p256(tb).Public(), forger)
	return hostile{leaf, inter}
}

// distinctIntermediates is a leaf and n intermediates with the real
// intermediate's subject and key identifier but keys of their own, each
// signed by the next: n plausible parents at every step.
func distinctIntermediates(tb testing.TB, pki *testpki.Set, n int) hostile {
	tb.Helper()
	name, skid := pki.Intermediate.Cert.Subject, pki.Intermediate.Cert.SubjectKeyId
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		keys[i] = p256(tb)
	}
	parent := caTemplate(name)
	parent.SubjectKeyId = skid
	chain := hostile{mint(tb, clientTemplate("alice", name), parent, p256(tb).Public(), keys[0])}
	for i := range n {
		tmpl := caTemplate(name)
		tmpl.SubjectKeyId = skid
		chain = append(chain, mint(tb, tmpl, parent, keys[i].Public(), keys[(i+1)%n]))
	}
	return chain
}

// sandwich puts n forged P-521 intermediates between a leaf and the real,
// public intermediate, so the top of the chain is genuine.
func sandwich(tb testing.TB, pki *testpki.Set, n int) hostile {
	tb.Helper()
	keys := make([]*ecdsa.PrivateKey, n)
	names := make([]pkix.Name, n)
	for i := range keys {
		keys[i] = ecKey(tb, elliptic.P521())
		names[i] = pkix.Name{CommonName: "forged " + string(rune('A'+i))}
	}
	chain := hostile{mint(tb, clientTemplate("alice", names[0]), caTemplate(names[0]), p256(tb).Public(), keys[0])}
	for i := range n {
		var signer crypto.Signer = p256(tb) // the real intermediate's key is not ours
		issuer := pki.Intermediate.Cert.Subject
		if i+1 < n {
			signer, issuer = keys[i+1], names[i+1]
		}
		chain = append(chain, mint(tb, caTemplate(names[i]), caTemplate(issuer), keys[i].Public(), signer))
	}
	return append(chain, pki.Intermediate.Cert)
}

// pemChain is the chain as AWS ALB forwards it: URL-escaped PEM, leaf
// first.
func (h hostile) pemChain() string {
	var pem []byte
	for _, c := range h {
		pem = append(pem, testpki.PEM(c)...)
	}
	return awsEscape(pem)
}
