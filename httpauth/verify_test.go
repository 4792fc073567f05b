package httpauth_test

import (
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTLSRefusalsCarryTheirReason(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	tests := []struct {
		name string
		leaf *testpki.Leaf
		want error
	}{
		{"expired leaf", pki.Expired, httpauth.ErrExpired},
		{"not yet valid", pki.NotYetValid, httpauth.ErrNotYetValid},
		{"server-only key usage", pki.ServerOnly, httpauth.ErrClientAuthUsage},
		{"unknown CA", pki.Stranger, httpauth.ErrUnknownAuthority},
		{"self-signed", pki.Forged, httpauth.ErrUnknownAuthority},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tlsRequest(tt.leaf)
			id, err := a.Authenticate(r)
			assert.Nil(t, id)
			assert.ErrorIs(t, err, tt.want)
			assert.ErrorIs(t, err, httpauth.ErrNotVerified)
			assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
		})
	}
}

func TestCHN01_UnknownCAInHeaderMode(t *testing.T) {
	pki := testpki.MustSet(t)
	a, authz := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetCaddy}, func(c *httpauth.Config) { c.Authorize = httpauth.AllowCN("admin", "alice") })
	tlsA := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: authz.authorize})
	srv := tlsServer(t, pki, tls.RequestClientCert, tlsA)
	for _, l := range []*testpki.Leaf{pki.Forged, pki.Stranger} {
		_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", b64(l.Cert)}))
		assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority, "header mode")
		status, _ := get(t, tlsClient(t, pki, l), srv.URL)
		assert.Equal(t, http.StatusUnauthorized, status, "TLS mode")
	}
	assert.Zero(t, authz.calls.Load(), "the authorizer would have allowed CN=admin")
}

func TestCHN04_ForwardedRootIsNotAnAnchor(t *testing.T) {
	pki := testpki.MustSet(t)
	// The proxy forwards the stranger's full chain, root included.
	chain := testpki.PEM(append([]*x509.Certificate{pki.Stranger.Cert}, pki.Stranger.Chain...)...)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetAWSALB})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Amzn-Mtls-Clientcert", awsEscape(chain)}))
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
	_, err = a.Authenticate(tlsRequest(pki.Stranger))
	assert.ErrorIs(t, err, httpauth.ErrUntrustedProxy)
	tlsA := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	r := tlsRequest(pki.Stranger)
	r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, pki.OtherRoot.Cert)
	_, err = tlsA.Authenticate(r)
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
}

func TestVAL01_ExpiredInHeaderMode(t *testing.T) {
	pki := testpki.MustSet(t)
	a, _ := headerAuth(t, pki, httpauth.Source{Preset: httpauth.PresetRFC9440})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"Client-Cert", sfBytes(pki.Expired.Cert)}, [2]string{"Client-Cert-Chain", sfBytes(pki.Intermediate.Cert)}))
	assert.ErrorIs(t, err, httpauth.ErrExpired)
	_, err = a.Authenticate(headerRequest(proxyAddr, [2]string{"Client-Cert", sfBytes(pki.NotYetValid.Cert)}, [2]string{"Client-Cert-Chain", sfBytes(pki.Intermediate.Cert)}))
	assert.ErrorIs(t, err, httpauth.ErrNotYetValid)
}

func TestVAL01_ExpiredIntermediate(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	now := time.Now()
	inter, err := root.Intermediate(testpki.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour)))
	require.NoError(t, err)
	leaf, err := inter.Leaf(testpki.WithCN("alice"), testpki.WithValidity(now.Add(-2*time.Hour), now.Add(time.Hour)))
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{Roots: root.Pool()})
	_, err = a.Authenticate(tlsRequest(leaf))
	assert.ErrorIs(t, err, httpauth.ErrNotVerified)
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))
}

func TestVAL02_ClockSkewOnlyForNotBefore(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	now := time.Now()
	soon, err := root.Leaf(testpki.WithCN("soon"), testpki.WithValidity(now.Add(30*time.Second), now.Add(time.Hour)))
	require.NoError(t, err)

	strict := mustNew(t, httpauth.Config{Roots: root.Pool()})
	_, err = strict.Authenticate(tlsRequest(soon))
	assert.ErrorIs(t, err, httpauth.ErrNotYetValid)

	tolerant := mustNew(t, httpauth.Config{Roots: root.Pool(), ClockSkew: time.Minute})
	id, err := tolerant.Authenticate(tlsRequest(soon))
	require.NoError(t, err)
	assert.Equal(t, "soon", id.Certificate.Subject.CommonName)

	past := mustNew(t, httpauth.Config{Roots: root.Pool(), ClockSkew: time.Minute, Now: func() time.Time { return now.Add(2 * time.Hour) }})
	_, err = past.Authenticate(tlsRequest(soon))
	assert.ErrorIs(t, err, httpauth.ErrExpired, "skew never stretches NotAfter")
}

func TestVAL02_ClockSkewDoesNotStretchTheIntermediate(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	now := time.Now()
	inter, err := root.Intermediate(testpki.WithValidity(now.Add(20*time.Second), now.Add(time.Hour)))
	require.NoError(t, err)
	leaf, err := inter.Leaf(testpki.WithValidity(now.Add(30*time.Second), now.Add(time.Hour)))
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{Roots: root.Pool(), ClockSkew: time.Minute})
	_, err = a.Authenticate(tlsRequest(leaf))
	assert.ErrorIs(t, err, httpauth.ErrNotYetValid)
}

func TestVAL03_NoExtendedKeyUsageIsRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	noEKU, err := pki.Intermediate.Leaf(testpki.WithCN("legacy"), testpki.WithEKU())
	require.NoError(t, err)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	_, err = a.Authenticate(tlsRequest(noEKU))
	assert.ErrorIs(t, err, httpauth.ErrClientAuthUsage)
	assert.Contains(t, err.Error(), "no extended key usage")
}

func TestVerifiedChainOverMaxChainLengthRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	// Only the leaf is presented (1 certificate); the verified chain adds
	// the intermediate from Config.Intermediates and the root (3).
	known := x509.NewCertPool()
	known.AddCert(pki.Intermediate.Cert)
	a := mustNew(t, httpauth.Config{Source: httpauth.Source{Preset: httpauth.PresetCaddy, TrustedProxies: loopback}, Roots: pki.Root.Pool(), Intermediates: known, MaxChainLength: 2})
	_, err := a.Authenticate(headerRequest(proxyAddr, [2]string{"X-Client-Cert", encodeDER(pki.Alice.Cert.Raw)}))
	assert.ErrorIs(t, err, httpauth.ErrChainTooLong)
	assert.Contains(t, err.Error(), "verified chain has 3")
}

func TestPinnedSelfSignedCALeafAccepted(t *testing.T) {
	t.Parallel()
	// `openssl req -x509` marks a self-signed client certificate CA:TRUE;
	// pinned as a root it is that exact client.
	key := testpki.ECKey(t, elliptic.P256())
	tmpl := testpki.ClientTemplate("device-7")
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	pinned := testpki.Sign(t, tmpl, nil, key.Public(), key)
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
	other := testpki.Sign(t, testpki.CATemplate(pkix.Name{CommonName: "device-7"}), nil, key.Public(), key)
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other)
	for mode, err := range presenting(t, httpauth.Config{Roots: otherRoots}, []*x509.Certificate{pinned}) {
		assert.ErrorIs(t, err, httpauth.ErrLeafIsCA, mode)
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

func TestVerifyErrorMessagesPinned(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	_, err := a.Authenticate(tlsRequest(pki.Expired))
	require.Error(t, err)
	assert.Regexp(t, `^httpauth: certificate expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: certificate sha256:[0-9a-f]{16} \(serial [0-9a-f]+\)$`, err.Error())
	_, err = a.Authenticate(tlsRequest(pki.ServerOnly))
	assert.Contains(t, err.Error(), "allows only serverAuth; issue it with extended key usage clientAuth")
	var e *httpauth.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "client certificate not valid for client authentication", e.PublicText())
	assert.True(t, errors.Is(e, httpauth.ErrNotVerified))
}
