package httpauth_test

import (
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// presenting runs chain through both ways a chain reaches the verifier: a
// proxy header that forwards the whole chain (AWS ALB), and a TLS
// handshake whose certificate the library verifies (Authenticator.TLSConfig).
func presenting(t *testing.T, cfg httpauth.Config, chain []*x509.Certificate) map[string]error {
	t.Helper()
	header := cfg
	header.Source = httpauth.Source{Preset: httpauth.PresetAWSALB, TrustedProxies: loopback}
	var pemText []byte
	for _, c := range chain {
		pemText = append(pemText, testpki.PEM(c)...)
	}
	_, headerErr := mustNew(t, header).Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(pemText)}))

	r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: chain}
	_, tlsErr := mustNew(t, cfg).Authenticate(r)
	return map[string]error{"header": headerErr, "tls": tlsErr}
}

func chainOf(l *testpki.Leaf) []*x509.Certificate {
	return append([]*x509.Certificate{l.Cert}, l.Intermediates()...)
}

func TestUnsupportedKeyRefusedBeforeVerification(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	leafWithKey := func(pub any) []*x509.Certificate {
		return []*x509.Certificate{mint(t, clientTemplate("alice", inter.Cert.Subject), inter.Cert, pub, inter.Key)}
	}
	tests := []struct {
		name, want string
		chain      []*x509.Certificate
	}{
		{"intermediate with 16384-bit RSA", "16384-bit RSA key", oversizeRSAChain(t, pki, 16384)},
		{"intermediate with RSA exponent 2^31-1", "RSA exponent 2147483647", sharedKeyChain(t, pki, rsaKeyWithExponent(t, 1<<31-1), 1)},
		{"leaf with 8200-bit RSA", "8200-bit RSA key", leafWithKey(bigModulus(t, 8200))},
		{"leaf on curve P-224", "curve P-224", leafWithKey(ecKey(t, elliptic.P224()).Public())},
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
	leaf := mint(t, clientTemplate("alice", inter.Cert.Subject), inter.Cert, bigModulus(t, 8192), inter.Key)
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
	reissuedTmpl := caTemplate(inter.Subject)
	reissuedTmpl.SubjectKeyId = inter.SubjectKeyId
	reissued := mint(t, reissuedTmpl, pki.Root.Cert, inter.PublicKey, pki.Root.Key)
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
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, sharedKeyChain(t, pki, ecKey(t, elliptic.P521()), 4)) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
}

func TestAmbiguousChainRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, distinctIntermediates(t, pki, 3)) {
		assert.ErrorIs(t, err, httpauth.ErrAmbiguousChain, mode)
		assert.ErrorContains(t, err, "could both have issued", mode)
	}
	// One forged twin beside the real intermediate is as ambiguous.
	twin := distinctIntermediates(t, pki, 1)[1]
	chain := []*x509.Certificate{pki.Alice.Cert, pki.Intermediate.Cert, twin}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, chain) {
		assert.ErrorIs(t, err, httpauth.ErrAmbiguousChain, mode)
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

func TestForgedCertificatesUnderRealIntermediateRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, sandwich(t, pki, 3)) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
}

func TestStaleRootCopyDoesNotBreakTheChain(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// A self-signed certificate with the root's name but another key, as a
	// client bundle with an outdated root holds: it vouches for nothing,
	// and the chain below it still reaches the configured root.
	stale := mint(t, caTemplate(pki.Root.Cert.Subject), nil, p256(t).Public(), p256(t))
	// The root's own key and name in an expired copy, as the expired
	// AddTrust cross-certificate was in 2020.
	expiredTmpl := caTemplate(pki.Root.Cert.Subject)
	expiredTmpl.NotBefore, expiredTmpl.NotAfter = pki.Root.Cert.NotBefore, pki.Root.Cert.NotBefore.Add(time.Minute)
	expired := mint(t, expiredTmpl, pki.Root.Cert, pki.Root.Cert.PublicKey, pki.Root.Key)
	for name, extra := range map[string]*x509.Certificate{"other key": stale, "expired copy": expired} {
		for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, append(chainOf(pki.Alice), extra)) {
			assert.NoError(t, err, "%s, %s", name, mode)
		}
	}
}

func TestExpiredIntermediateKeepsItsReason(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	// The path is proven from the top, so the intermediate's expiry is
	// found there; the refusal must still say expired.
	old := mint(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "expired intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: pki.Root.Cert.NotBefore, NotAfter: pki.Root.Cert.NotBefore.Add(1),
	}, pki.Root.Cert, pki.Intermediate.Key.Public(), pki.Root.Key)
	leaf := mint(t, clientTemplate("alice", old.Subject), old, p256(t).Public(), pki.Intermediate.Key)
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, []*x509.Certificate{leaf, old}) {
		assert.ErrorIs(t, err, httpauth.ErrExpired, mode)
	}
}

func TestLeafIsCARefused(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	inter := pki.Intermediate
	caLeaf := clientTemplate("alice", inter.Cert.Subject)
	caLeaf.IsCA, caLeaf.BasicConstraintsValid = true, true
	certSignLeaf := clientTemplate("alice", inter.Cert.Subject)
	certSignLeaf.KeyUsage |= x509.KeyUsageCertSign
	for name, tmpl := range map[string]*x509.Certificate{"CA:TRUE": caLeaf, "keyCertSign": certSignLeaf} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			leaf := mint(t, tmpl, inter.Cert, p256(t).Public(), inter.Key)
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

func TestPinnedSelfSignedCALeafAccepted(t *testing.T) {
	t.Parallel()
	// `openssl req -x509` marks a self-signed client certificate CA:TRUE;
	// pinned as a root it is that exact client.
	key := p256(t)
	tmpl := clientTemplate("device-7", pkix.Name{CommonName: "device-7"})
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	pinned := mint(t, tmpl, nil, key.Public(), key)
	roots := x509.NewCertPool()
	roots.AddCert(pinned)
	for mode, err := range presenting(t, httpauth.Config{Roots: roots}, []*x509.Certificate{pinned}) {
		assert.NoError(t, err, mode)
	}
	r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{pinned},
		VerifiedChains: [][]*x509.Certificate{{pinned}}}
	_, err := mustNew(t, httpauth.Config{}).Authenticate(r)
	assert.NoError(t, err)

	// The same certificate is refused when not pinned, even though it
	// would chain: another self-signed CA signed by the same key is in
	// the roots instead.
	other := mint(t, caTemplate(pkix.Name{CommonName: "device-7"}), nil, key.Public(), key)
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other)
	for mode, err := range presenting(t, httpauth.Config{Roots: otherRoots}, []*x509.Certificate{pinned}) {
		assert.ErrorIs(t, err, httpauth.ErrLeafIsCA, mode)
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
			tmpl := clientTemplate("alice", inter.Cert.Subject)
			tmpl.KeyUsage = tt.usage
			leaf := mint(t, tmpl, inter.Cert, p256(t).Public(), inter.Key)
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

func TestLeafHeaderHoldsExactlyOneCertificate(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	alice, inter := pki.Alice.Cert.Raw, pki.Intermediate.Cert.Raw
	known := func(c *httpauth.Config) { c.Intermediates = pki.Intermediate.Pool() }
	tests := []struct {
		name   string
		src    httpauth.Source
		header [][2]string
		ok     bool
	}{
		{"base64 leaf alone", httpauth.Source{Preset: httpauth.PresetCaddy}, [][2]string{{"X-Client-Cert", encodeDER(alice)}}, true},
		{"base64 leaf and intermediate", httpauth.Source{Preset: httpauth.PresetCaddy}, [][2]string{{"X-Client-Cert", encodeDER(alice, inter)}}, false},
		{"base64 leaf and trailing bytes", httpauth.Source{Preset: httpauth.PresetCaddy}, [][2]string{{"X-Client-Cert", encodeDER(alice, []byte{0x30, 0x00})}}, false},
		{"rfc9440 leaf and intermediate in Client-Cert", httpauth.Source{Preset: httpauth.PresetRFC9440}, [][2]string{{"Client-Cert", ":" + encodeDER(alice, inter) + ":"}}, false},
		{"haproxy chain header concatenated", httpauth.Source{Preset: httpauth.PresetHAProxy}, [][2]string{
			{"X-SSL-Client-Cert", encodeDER(alice)}, {"X-SSL-Client-Chain", encodeDER(inter, pki.Root.Cert.Raw)}, {"X-SSL-Client-Verify", "0"}}, true},
		{"haproxy leaf header concatenated", httpauth.Source{Preset: httpauth.PresetHAProxy}, [][2]string{
			{"X-SSL-Client-Cert", encodeDER(alice, inter)}, {"X-SSL-Client-Verify", "0"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := headerAuth(t, pki, tt.src, known)
			_, err := a.Authenticate(headerRequest(proxyAddr, tt.header...))
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, httpauth.ErrHeaderMalformed)
			assert.ErrorContains(t, err, "exactly one")
		})
	}
}

func TestKnownIntermediatesBuildPathsButAreNotAnchors(t *testing.T) {
	t.Parallel()
	pki := testpki.MustSet(t)
	leafOnly := []*x509.Certificate{pki.Alice.Cert}
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool(), Intermediates: pki.Intermediate.Pool()}, leafOnly) {
		assert.NoError(t, err, mode)
	}
	// Without the intermediate's root among the roots, the intermediate
	// alone is no anchor.
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.OtherRoot.Pool(), Intermediates: pki.Intermediate.Pool()}, leafOnly) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
	// Without it, the leaf alone does not reach the root.
	for mode, err := range presenting(t, httpauth.Config{Roots: pki.Root.Pool()}, leafOnly) {
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, mode)
	}
}
