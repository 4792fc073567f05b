package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedBy reports whether c's signature verifies with parent's key,
// whatever parent's own fields say.
func signedBy(c, parent *x509.Certificate) bool {
	return parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func TestHostileChains(t *testing.T) {
	t.Parallel()
	s := MustSet(t)
	tests := []struct {
		name  string
		build func(testing.TB, *Set) HostileChain
		certs int
		check func(t *testing.T, leaf *x509.Certificate, cas []*x509.Certificate)
	}{
		{"shared P-521 key", func(tb testing.TB, s *Set) HostileChain {
			return SharedKeyChain(tb, s, ECKey(tb, elliptic.P521()), 4)
		}, 5, func(t *testing.T, leaf *x509.Certificate, cas []*x509.Certificate) {
			assert.Equal(t, s.Root.Cert.RawSubject, leaf.RawIssuer, "the leaf claims the root's name")
			for i, c := range cas {
				assert.True(t, c.IsCA, "CA %d", i)
				assert.Equal(t, s.Root.Cert.RawSubject, c.RawSubject, "CA %d is named like the root", i)
				pub, ok := c.PublicKey.(*ecdsa.PublicKey)
				require.True(t, ok, "got %T", c.PublicKey)
				assert.Equal(t, elliptic.P521(), pub.Curve, "CA %d", i)
				assert.True(t, pub.Equal(cas[0].PublicKey), "CA %d has the shared key", i)
				assert.NoError(t, c.CheckSignatureFrom(c), "CA %d is self-signed", i)
				assert.True(t, signedBy(leaf, c), "CA %d is a valid parent of the leaf", i)
				for j, other := range cas {
					assert.True(t, signedBy(c, other), "CA %d is a valid parent of CA %d", j, i)
				}
				assert.False(t, signedBy(c, s.Root.Cert), "CA %d is not the root's", i)
			}
		}},
		{"shared RSA key with exponent 2^31-1", func(tb testing.TB, s *Set) HostileChain {
			return SharedKeyChain(tb, s, RSAKeyWithExponent(tb, 1<<31-1), 1)
		}, 2, func(t *testing.T, leaf *x509.Certificate, cas []*x509.Certificate) {
			pub, ok := cas[0].PublicKey.(*rsa.PublicKey)
			require.True(t, ok, "got %T", cas[0].PublicKey)
			assert.Equal(t, 1<<31-1, pub.E)
			assert.True(t, signedBy(leaf, cas[0]))
		}},
		{"oversize RSA key", func(tb testing.TB, s *Set) HostileChain {
			return OversizeRSAChain(tb, s, 16384)
		}, 2, func(t *testing.T, leaf *x509.Certificate, cas []*x509.Certificate) {
			inter := cas[0]
			pub, ok := inter.PublicKey.(*rsa.PublicKey)
			require.True(t, ok, "got %T", inter.PublicKey)
			assert.Equal(t, 16384, pub.N.BitLen())
			assert.Equal(t, s.Intermediate.Cert.RawSubject, inter.RawSubject, "named like the intermediate")
			assert.Equal(t, s.Root.Cert.RawSubject, inter.RawIssuer, "claims the root as issuer")
			assert.False(t, signedBy(inter, s.Root.Cert), "the root did not sign it")
			assert.Equal(t, inter.RawSubject, leaf.RawIssuer)
			assert.Equal(t, inter.SubjectKeyId, leaf.AuthorityKeyId, "the leaf points at the oversize CA")
			assert.False(t, signedBy(leaf, inter), "nobody holds the oversize key")
		}},
		{"distinct intermediates", func(tb testing.TB, s *Set) HostileChain {
			return DistinctIntermediates(tb, s, 4)
		}, 5, func(t *testing.T, leaf *x509.Certificate, cas []*x509.Certificate) {
			genuine := s.Intermediate.Cert
			assert.Equal(t, genuine.RawSubject, leaf.RawIssuer)
			assert.Equal(t, genuine.SubjectKeyId, leaf.AuthorityKeyId)
			assert.True(t, signedBy(leaf, cas[0]), "the first CA signed the leaf")
			keys := map[string]bool{}
			for i, c := range cas {
				assert.True(t, c.IsCA, "CA %d", i)
				assert.Equal(t, genuine.RawSubject, c.RawSubject, "CA %d is named like the intermediate", i)
				assert.Equal(t, genuine.SubjectKeyId, c.SubjectKeyId, "CA %d has the intermediate's key identifier", i)
				assert.Equal(t, genuine.RawSubject, c.RawIssuer, "CA %d claims the intermediate as issuer", i)
				pub, ok := c.PublicKey.(*ecdsa.PublicKey)
				require.True(t, ok, "got %T", c.PublicKey)
				keys[string(elliptic.MarshalCompressed(pub.Curve, pub.X, pub.Y))] = true
				assert.True(t, signedBy(c, cas[(i+1)%len(cas)]), "CA %d is signed by the next", i)
				assert.False(t, signedBy(c, genuine), "CA %d is not the intermediate's", i)
			}
			assert.Len(t, keys, 4, "every CA has its own key")
		}},
		{"forged under the real intermediate", func(tb testing.TB, s *Set) HostileChain {
			return ForgedUnderRealIntermediate(tb, s, 3)
		}, 5, func(t *testing.T, leaf *x509.Certificate, cas []*x509.Certificate) {
			forged, top := cas[:3], cas[3]
			assert.Same(t, s.Intermediate.Cert, top, "the top is the real intermediate")
			assert.True(t, signedBy(leaf, forged[0]), "the first forged CA signed the leaf")
			for i, c := range forged {
				assert.True(t, c.IsCA, "forged CA %d", i)
				pub, ok := c.PublicKey.(*ecdsa.PublicKey)
				require.True(t, ok, "got %T", c.PublicKey)
				assert.Equal(t, elliptic.P521(), pub.Curve, "forged CA %d", i)
				if i+1 < len(forged) {
					assert.True(t, signedBy(c, forged[i+1]), "forged CA %d is signed by the next", i)
				}
			}
			last := forged[len(forged)-1]
			assert.Equal(t, top.RawSubject, last.RawIssuer, "the last forged CA claims the intermediate")
			assert.False(t, signedBy(last, top), "but the intermediate did not sign it")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.build(t, s)
			require.Len(t, h.Certs, tt.certs)
			leaf := h.Certs[0]
			// What every generator's leaf is: a client certificate named
			// alice, whose key is h.Key, that the root does not vouch for.
			assert.Equal(t, "alice", leaf.Subject.CommonName)
			assert.False(t, leaf.IsCA)
			assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
			pub, ok := h.Key.Public().(interface{ Equal(crypto.PublicKey) bool })
			require.True(t, ok, "got %T", h.Key)
			assert.True(t, pub.Equal(leaf.PublicKey), "Key is the leaf's")
			inter := x509.NewCertPool()
			for _, c := range h.Certs[1:] {
				inter.AddCert(c)
			}
			_, err := leaf.Verify(x509.VerifyOptions{Roots: s.Root.Pool(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			assert.Error(t, err, "a hostile chain must not verify")
			tt.check(t, leaf, h.Certs[1:])
		})
	}
}

func TestHostileChainTLSCertificate(t *testing.T) {
	t.Parallel()
	s := MustSet(t)
	h := SharedKeyChain(t, s, ECKey(t, elliptic.P256()), 2)
	tc := h.TLSCertificate()
	require.Len(t, tc.Certificate, len(h.Certs), "the whole chain, self-signed CAs included")
	for i, c := range h.Certs {
		assert.Equal(t, c.Raw, tc.Certificate[i], "certificate %d", i)
	}
	assert.Same(t, h.Certs[0], tc.Leaf)
	assert.Equal(t, h.Key, tc.PrivateKey)
	assert.Empty(t, HostileChain{}.TLSCertificate().Certificate)
}

func TestRSAKeyWithExponent(t *testing.T) {
	t.Parallel()
	k := RSAKeyWithExponent(t, 1<<31-1)
	assert.Equal(t, 1<<31-1, k.E)
	assert.Equal(t, 2048, k.N.BitLen())
	assert.NoError(t, k.Validate())
}

func TestUnheldRSAKey(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{8192, 8200, 16384} {
		k := UnheldRSAKey(t, bits)
		assert.Equal(t, bits, k.N.BitLen())
		assert.Equal(t, uint(1), k.N.Bit(0), "odd, as an RSA modulus is")
		assert.Equal(t, 65537, k.E)
	}
}
