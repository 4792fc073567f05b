package httpauth_test

import (
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnsupportedKeyRefusedBeforeVerification(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	leafWithKey := func(pub any) []*x509.Certificate {
		return []*x509.Certificate{testpki.Sign(t, testpki.ClientTemplate("alice"), inter.Cert, pub, inter.Key)}
	}
	tests := []struct {
		name, want string
		chain      []*x509.Certificate
	}{
		{"intermediate with 16384-bit RSA", "16384-bit RSA key", testpki.OversizeRSAChain(t, pki, 16384).Certs},
		{"intermediate with RSA exponent 2^31-1", "RSA exponent 2147483647", testpki.SharedKeyChain(t, pki, testpki.RSAKeyWithExponent(t, 1<<31-1), 1).Certs},
		{"leaf with 8200-bit RSA", "8200-bit RSA key", leafWithKey(testpki.UnheldRSAKey(t, 8200))},
		{"leaf on curve P-224", "curve P-224", leafWithKey(testpki.ECKey(t, elliptic.P224()).Public())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, tt.chain) {
				assert.ErrorIs(t, err, httpauth.ErrUnsupportedKey, mode)
				assert.ErrorContains(t, err, tt.want, mode)
				assert.Equal(t, http.StatusUnauthorized, statusOf(t, err), mode)
			}
		})
	}
}

func TestRSAKeyAtTheLimitsAccepted(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	// 8,192 bits is the cap itself: the leaf's key is never used to check
	// a signature here, so a modulus nobody holds is enough.
	leaf := testpki.Sign(t, testpki.ClientTemplate("alice"), inter.Cert, testpki.UnheldRSAKey(t, 8192), inter.Key)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{leaf, inter.Cert}) {
		assert.NoError(t, err, mode)
	}
}

func TestDuplicatePresentedCertificatesDropped(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate.Cert
	// The same intermediate re-issued by the root: another DER, the same
	// subject and key, as a cross-signed or renewed CA certificate is.
	reissuedTmpl := testpki.CATemplate(inter.Subject)
	reissuedTmpl.SubjectKeyId = inter.SubjectKeyId
	reissued := testpki.Sign(t, reissuedTmpl, pki.Root.Cert, inter.PublicKey, pki.Root.Key)
	require.NotEqual(t, inter.Raw, reissued.Raw)

	for name, chain := range map[string][]*x509.Certificate{
		"same DER twice":           {pki.Alice.Cert, inter, inter},
		"re-issued copy after":     {pki.Alice.Cert, inter, reissued},
		"leaf repeated":            {pki.Alice.Cert, pki.Alice.Cert, inter},
		"root appended":            {pki.Alice.Cert, inter, pki.Root.Cert},
		"root appended and copied": {pki.Alice.Cert, inter, pki.Root.Cert, pki.Root.Cert},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain) {
				assert.NoError(t, err, mode)
			}
		})
	}
}

func TestSharedKeyPermutationChainRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, testpki.SharedKeyChain(t, pki, testpki.ECKey(t, elliptic.P521()), 4).Certs) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
}

func TestDefaultMaxChainLengthRefusesSixCertificates(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	assert.Equal(t, 5, httpauth.DefaultMaxChainLength)
	chain := append(chainOf(pki.Alice), pki.Root.Cert, pki.Root.Cert, pki.Root.Cert, pki.Root.Cert)
	require.Len(t, chain, 6)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain) {
		assert.ErrorIs(t, err, httpauth.ErrChainTooLong, mode)
	}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain[:5]) {
		assert.NoError(t, err, mode)
	}
}

func TestMaxChainLengthIsInclusive(t *testing.T) {
	pki := testpki.MustSet(t)
	full := testpki.PEM(append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)...) // leaf, intermediate, root
	for _, tt := range []struct {
		max int
		ok  bool
	}{{3, true}, {2, false}} {
		a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB}, func(c *httpauth.Config) { c.MaxChainLength = tt.max })
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(full)}))
		if tt.ok {
			assert.NoError(t, err, "header, max %d", tt.max)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrChainTooLong, "header, max %d", tt.max)
		}

		tlsA := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), MaxChainLength: tt.max})
		r := tlsRequest(pki.Alice)
		r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, pki.Root.Cert)
		_, err = tlsA.Authenticate(r)
		if tt.ok {
			assert.NoError(t, err, "TLS presented, max %d", tt.max)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrChainTooLong, "TLS presented, max %d", tt.max)
		}

		verified := tlsRequest(pki.Alice)
		verified.TLS.VerifiedChains = [][]*x509.Certificate{append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)}
		_, err = mustNew(t, httpauth.Config{MaxChainLength: tt.max}).Authenticate(verified)
		if tt.ok {
			assert.NoError(t, err, "TLS verified, max %d", tt.max)
		} else {
			assert.ErrorIs(t, err, httpauth.ErrChainTooLong, "TLS verified, max %d", tt.max)
		}
	}
}

func TestLeafIsCARefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	caLeaf := testpki.ClientTemplate("alice")
	caLeaf.IsCA, caLeaf.BasicConstraintsValid = true, true
	certSignLeaf := testpki.ClientTemplate("alice")
	certSignLeaf.KeyUsage |= x509.KeyUsageCertSign
	for name, tmpl := range map[string]*x509.Certificate{"CA:TRUE": caLeaf, "keyCertSign": certSignLeaf} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			leaf := testpki.Sign(t, tmpl, inter.Cert, testpki.ECKey(t, elliptic.P256()).Public(), inter.Key)
			chain := []*x509.Certificate{leaf, inter.Cert}
			for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain) {
				assert.ErrorIs(t, err, httpauth.ErrLeafIsCA, mode)
			}
			// Also when the listener verified it and no roots are set.
			r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
			r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: chain,
				VerifiedChains: [][]*x509.Certificate{{leaf, inter.Cert, pki.Root.Cert}}}
			_, err := mustNew(t, httpauth.Config{}).Authenticate(r)
			assert.ErrorIs(t, err, httpauth.ErrLeafIsCA)
		})
	}
}

func TestLeafKeyUsageMustAllowSigningOrKeyAgreement(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	tests := []struct {
		name  string
		usage x509.KeyUsage
		ok    bool
	}{
		{"digitalSignature", x509.KeyUsageDigitalSignature, true},
		{"keyAgreement", x509.KeyUsageKeyAgreement, true},
		{"no key usage extension", 0, true},
		{"keyEncipherment only", x509.KeyUsageKeyEncipherment, false},
		{"contentCommitment only", x509.KeyUsageContentCommitment, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl := testpki.ClientTemplate("alice")
			tmpl.KeyUsage = tt.usage
			leaf := testpki.Sign(t, tmpl, inter.Cert, testpki.ECKey(t, elliptic.P256()).Public(), inter.Key)
			for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{leaf, inter.Cert}) {
				if tt.ok {
					assert.NoError(t, err, mode)
				} else {
					assert.ErrorIs(t, err, httpauth.ErrLeafKeyUsage, mode)
				}
			}
		})
	}
}
