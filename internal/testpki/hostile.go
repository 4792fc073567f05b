package testpki

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
	"testing"
)

// HostileChain is a test-only hostile input: a chain an anonymous client
// can present to make chain building expensive, as certgate's screening
// tests, benchmarks and end-to-end load tests send it. Every certificate is
// signed for real, so a verifier without that screening pays the full
// price. None verifies against the [Set]'s root.
type HostileChain struct {
	// Certs is the chain as presented, leaf first.
	Certs []*x509.Certificate
	// Key is the leaf's private key, so that a TLS client can present the
	// chain in a real handshake.
	Key crypto.Signer
}

// TLSCertificate returns the whole chain, leaf first, with the leaf's key,
// for tls.Config.GetClientCertificate.
func (h HostileChain) TLSCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: h.Key}
	if len(h.Certs) > 0 {
		tc.Leaf = h.Certs[0]
	}
	for _, c := range h.Certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// SharedKeyChain is the permutation attack: a leaf and n CAs that share one
// subject and key, so that each CA is a valid parent of every other and of
// the leaf. The CAs are self-signed with key and named like s.Root, so that
// a verifier also tries the real root at every step.
func SharedKeyChain(tb testing.TB, s *Set, key crypto.Signer, n int) HostileChain {
	tb.Helper()
	subject := s.Root.Cert.Subject
	h := HostileChain{Key: ECKey(tb, elliptic.P256())}
	h.Certs = append(h.Certs, Sign(tb, ClientTemplate("alice"), CATemplate(subject), h.Key.Public(), key))
	for range n {
		h.Certs = append(h.Certs, Sign(tb, CATemplate(subject), nil, key.Public(), key))
	}
	return h
}

// OversizeRSAChain is a leaf and a CA named like s.Intermediate whose RSA
// key has bits bits (see [UnheldRSAKey]), claiming s.Root as its issuer:
// checking the leaf's signature costs an RSA operation of that size. Neither
// signature is valid; both are made by another key.
func OversizeRSAChain(tb testing.TB, s *Set, bits int) HostileChain {
	tb.Helper()
	forger := ECKey(tb, elliptic.P256())
	inter := Sign(tb, CATemplate(s.Intermediate.Cert.Subject), CATemplate(s.Root.Cert.Subject), UnheldRSAKey(tb, bits), forger)
	// The parent is a template, as the forger holds no key for inter, but
	// with inter's key identifier, so that the leaf points at inter.
	parent := CATemplate(inter.Subject)
	parent.SubjectKeyId = inter.SubjectKeyId
	h := HostileChain{Key: ECKey(tb, elliptic.P256())}
	h.Certs = []*x509.Certificate{Sign(tb, ClientTemplate("alice"), parent, h.Key.Public(), forger), inter}
	return h
}

// DistinctIntermediates is a leaf and n CAs with s.Intermediate's subject
// and key identifier but keys of their own, each signed by the next (the
// last by the first), the leaf by the first: n plausible parents at every
// step, none of them proven.
func DistinctIntermediates(tb testing.TB, s *Set, n int) HostileChain {
	tb.Helper()
	subject, skid := s.Intermediate.Cert.Subject, s.Intermediate.Cert.SubjectKeyId
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		keys[i] = ECKey(tb, elliptic.P256())
	}
	parent := CATemplate(subject)
	parent.SubjectKeyId = skid
	h := HostileChain{Key: ECKey(tb, elliptic.P256())}
	h.Certs = append(h.Certs, Sign(tb, ClientTemplate("alice"), parent, h.Key.Public(), keys[0]))
	for i := range n {
		tmpl := CATemplate(subject)
		tmpl.SubjectKeyId = skid
		h.Certs = append(h.Certs, Sign(tb, tmpl, parent, keys[i].Public(), keys[(i+1)%n]))
	}
	return h
}

// ForgedUnderRealIntermediate puts n forged CAs with P-521 keys between a
// leaf and s.Intermediate, so that the top of the chain is genuine. Each
// forged CA signs the one below it; the last claims s.Intermediate as its
// issuer, but another key signed it.
func ForgedUnderRealIntermediate(tb testing.TB, s *Set, n int) HostileChain {
	tb.Helper()
	keys := make([]*ecdsa.PrivateKey, n)
	names := make([]pkix.Name, n)
	for i := range keys {
		keys[i] = ECKey(tb, elliptic.P521())
		names[i] = pkix.Name{CommonName: "forged " + string(rune('A'+i))}
	}
	h := HostileChain{Key: ECKey(tb, elliptic.P256())}
	h.Certs = append(h.Certs, Sign(tb, ClientTemplate("alice"), CATemplate(names[0]), h.Key.Public(), keys[0]))
	for i := range n {
		var signer crypto.Signer = ECKey(tb, elliptic.P256()) // the real intermediate's key is not ours
		issuer := s.Intermediate.Cert.Subject
		if i+1 < n {
			signer, issuer = keys[i+1], names[i+1]
		}
		h.Certs = append(h.Certs, Sign(tb, CATemplate(names[i]), CATemplate(issuer), keys[i].Public(), signer))
	}
	h.Certs = append(h.Certs, s.Intermediate.Cert)
	return h
}

// RSAKeyWithExponent generates a 2,048-bit RSA key with public exponent e:
// crypto/rsa only generates e = 65537, and a huge e makes each signature
// check expensive. Errors stop the test.
func RSAKeyWithExponent(tb testing.TB, e int) *rsa.PrivateKey {
	tb.Helper()
	one, bigE := big.NewInt(1), big.NewInt(int64(e))
	for {
		p, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			tb.Fatalf("testpki: generate RSA prime: %v", err)
		}
		q, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			tb.Fatalf("testpki: generate RSA prime: %v", err)
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(bigE, phi)
		if d == nil || p.Cmp(q) == 0 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: e}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			tb.Fatalf("testpki: RSA key with exponent %d: %v", e, err)
		}
		return k
	}
}

// UnheldRSAKey is an RSA public key with a modulus of bits bits and
// exponent 65537 whose private half nobody holds: checking a signature
// with it costs the same all the same, and generating a real 16,384-bit
// key would take minutes. Errors stop the test.
func UnheldRSAKey(tb testing.TB, bits int) *rsa.PublicKey {
	tb.Helper()
	buf := make([]byte, bits/8)
	if _, err := rand.Read(buf); err != nil {
		tb.Fatalf("testpki: random modulus: %v", err)
	}
	buf[0] |= 0x80
	buf[len(buf)-1] |= 1
	return &rsa.PublicKey{N: new(big.Int).SetBytes(buf), E: 65537}
}
