//go:build e2e

package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/certgate/certgate/internal/testpki"
)

// Hostile chains for a client on the wire: the shapes of
// httpauth/hostile_test.go (which an external test package cannot share),
// each with the leaf's private key, so that a TLS client can present it
// in a real handshake. Each is signed for real, so a verifier without
// certgate's screening pays the full price for it.

// hostileChain is a presented chain, leaf first, and the leaf's key.
type hostileChain struct {
	name  string
	certs []*x509.Certificate
	key   crypto.Signer
}

// hostileChains returns one chain of each shape that was expensive before
// certgate screened presented certificates, every one within the default
// MaxChainLength, so that it reaches the path proof.
func hostileChains(tb testing.TB, pki *testpki.Set) []hostileChain {
	tb.Helper()
	return []hostileChain{
		sharedKeyChain(tb, "shared-key-p521", pki, ecKey(tb, elliptic.P521()), 4),
		distinctIntermediates(tb, pki, 4),
		sandwich(tb, pki, 3),
		sharedKeyChain(tb, "shared-key-rsa-e2^31-1", pki, rsaKeyWithExponent(tb, 1<<31-1), 4),
	}
}

// tlsCertificate is the chain for tls.Config.GetClientCertificate.
func (h hostileChain) tlsCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: h.key, Leaf: h.certs[0]}
	for _, c := range h.certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// awsEscaped is the chain as AWS ALB forwards it in X-Amzn-Mtls-Clientcert:
// percent-escaped PEM, leaf first, with '+', '=' and '/' left literal.
func awsEscaped(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.WriteString(nginxEscaped(c))
	}
	return strings.NewReplacer("%2B", "+", "%3D", "=", "%2F", "/").Replace(b.String())
}

// sharedKeyChain is the permutation attack: a leaf and n intermediates
// that share one subject and one key, so each intermediate is a valid
// parent of every other and of the leaf. Named like the real root, so
// that a verifier also tries the real root at every step.
func sharedKeyChain(tb testing.TB, name string, pki *testpki.Set, key crypto.Signer, n int) hostileChain {
	tb.Helper()
	subject := pki.Root.Cert.Subject
	leafKey := p256(tb)
	h := hostileChain{name: name, key: leafKey}
	h.certs = append(h.certs, mint(tb, clientTemplate("alice", subject), caTemplate(subject), leafKey.Public(), key))
	for range n {
		h.certs = append(h.certs, mint(tb, caTemplate(subject), nil, key.Public(), key))
	}
	return h
}

// distinctIntermediates is a leaf and n intermediates with the real
// intermediate's subject and key identifier but keys of their own, each
// signed by the next: n plausible parents at every step.
func distinctIntermediates(tb testing.TB, pki *testpki.Set, n int) hostileChain {
	tb.Helper()
	subject, skid := pki.Intermediate.Cert.Subject, pki.Intermediate.Cert.SubjectKeyId
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		keys[i] = p256(tb)
	}
	parent := caTemplate(subject)
	parent.SubjectKeyId = skid
	leafKey := p256(tb)
	h := hostileChain{name: "distinct-intermediates", key: leafKey}
	h.certs = append(h.certs, mint(tb, clientTemplate("alice", subject), parent, leafKey.Public(), keys[0]))
	for i := range n {
		tmpl := caTemplate(subject)
		tmpl.SubjectKeyId = skid
		h.certs = append(h.certs, mint(tb, tmpl, parent, keys[i].Public(), keys[(i+1)%n]))
	}
	return h
}

// sandwich puts n forged P-521 intermediates between a leaf and the real,
// public intermediate, so the top of the chain is genuine.
func sandwich(tb testing.TB, pki *testpki.Set, n int) hostileChain {
	tb.Helper()
	keys := make([]*ecdsa.PrivateKey, n)
	names := make([]pkix.Name, n)
	for i := range keys {
		keys[i] = ecKey(tb, elliptic.P521())
		names[i] = pkix.Name{CommonName: "forged " + string(rune('A'+i))}
	}
	leafKey := p256(tb)
	h := hostileChain{name: "forged-under-real-intermediate", key: leafKey}
	h.certs = append(h.certs, mint(tb, clientTemplate("alice", names[0]), caTemplate(names[0]), leafKey.Public(), keys[0]))
	for i := range n {
		var signer crypto.Signer = p256(tb) // the real intermediate's key is not ours
		issuer := pki.Intermediate.Cert.Subject
		if i+1 < n {
			signer, issuer = keys[i+1], names[i+1]
		}
		h.certs = append(h.certs, mint(tb, caTemplate(names[i]), caTemplate(issuer), keys[i].Public(), signer))
	}
	h.certs = append(h.certs, pki.Intermediate.Cert)
	return h
}

// mint signs tmpl for pub with signer as parent (tmpl itself when parent
// is nil) and parses the result.
func mint(tb testing.TB, tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) *x509.Certificate {
	tb.Helper()
	if parent == nil {
		parent = tmpl
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	require.NoError(tb, err)
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
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
