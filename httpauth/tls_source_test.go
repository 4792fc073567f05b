package httpauth_test

import (
	"crypto/tls"
	"crypto/x509"
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

// TestTLSModes runs real handshakes over loopback for every ClientAuth mode
// and every kind of client. Status 0 means the TLS layer refused the
// handshake before HTTP, which is what the verifying modes do with bad
// certificates.
func TestTLSModes(t *testing.T) {
	pki := testpki.MustSet(t)
	clients := []struct {
		name string
		leaf func(*testpki.Set) *testpki.Leaf
	}{
		{"valid", func(s *testpki.Set) *testpki.Leaf { return s.Alice }},
		{"expired", func(s *testpki.Set) *testpki.Leaf { return s.Expired }},
		{"server-only", func(s *testpki.Set) *testpki.Leaf { return s.ServerOnly }},
		{"unknown CA", func(s *testpki.Set) *testpki.Leaf { return s.Stranger }},
		{"self-signed", func(s *testpki.Set) *testpki.Leaf { return s.Forged }},
		{"no certificate", func(*testpki.Set) *testpki.Leaf { return nil }},
	}
	modes := []struct {
		mode  tls.ClientAuthType
		roots bool
		want  []int // per client, in the order above
	}{
		// The library verifies: every failure is an HTTP answer (CHN-07).
		{tls.RequestClientCert, true, []int{200, 401, 401, 401, 401, 401}},
		{tls.RequireAnyClientCert, true, []int{200, 401, 401, 401, 401, 0}},
		// Without roots only TLS-verified chains count (CFG-01).
		{tls.RequestClientCert, false, []int{401, 401, 401, 401, 401, 401}},
		// The TLS layer verifies: bad certificates never reach HTTP.
		{tls.VerifyClientCertIfGiven, false, []int{200, 0, 0, 0, 0, 401}},
		{tls.RequireAndVerifyClientCert, false, []int{200, 0, 0, 0, 0, 0}},
		{tls.RequireAndVerifyClientCert, true, []int{200, 0, 0, 0, 0, 0}},
		{tls.NoClientCert, true, []int{401, 401, 401, 401, 401, 401}},
	}
	for _, m := range modes {
		cfg := httpauth.Config{}
		if m.roots {
			cfg.Roots = pki.Root.Pool()
		}
		srv := tlsServer(t, pki, m.mode, mustNew(t, cfg))
		for i, c := range clients {
			name := m.mode.String() + "/" + c.name
			if !m.roots {
				name += "/no roots"
			}
			t.Run(name, func(t *testing.T) {
				status, body := get(t, tlsClient(t, pki, c.leaf(pki)), srv.URL)
				assert.Equal(t, m.want[i], status, body)
				if status == http.StatusOK {
					assert.Equal(t, "alice", body)
				}
			})
		}
	}
}

func TestTLSReasons(t *testing.T) {
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

// tlsRequest simulates a request whose TLS layer only requested the
// certificate: PeerCertificates set, no VerifiedChains.
func tlsRequest(leaf *testpki.Leaf) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if leaf != nil {
		r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, leaf.Cert)
		r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, leaf.Intermediates()...)
	}
	return r
}

func TestPROTO03_PlainHTTPAndNoCertificate(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})

	plain := httptest.NewRequest(http.MethodGet, "http://server.test/", nil)
	id, err := a.Authenticate(plain)
	assert.Nil(t, id)
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.Contains(t, err.Error(), "plain HTTP")
	assert.Equal(t, http.StatusUnauthorized, statusOf(t, err))

	id, err = a.Authenticate(tlsRequest(nil))
	assert.Nil(t, id)
	assert.ErrorIs(t, err, httpauth.ErrNoCertificate)
	assert.Contains(t, err.Error(), "sent none")
	assert.NotErrorIs(t, err, httpauth.ErrNotVerified, "nothing offered is not offered-but-invalid")
}

func TestCHN07_RequestedCertificateIsVerifiedByLibrary(t *testing.T) {
	pki := testpki.MustSet(t)
	authz := &countingAuthorizer{}
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), Authorize: authz.authorize})
	srv := tlsServer(t, pki, tls.RequireAnyClientCert, a)

	status, _ := get(t, tlsClient(t, pki, pki.Forged), srv.URL)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Zero(t, authz.calls.Load(), "authorizer saw an unverified certificate")

	status, body := get(t, tlsClient(t, pki, pki.Alice), srv.URL)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "alice", body)
	assert.Equal(t, int32(1), authz.calls.Load())
}

func TestCFG01_NoRootsAcceptsOnlyTLSVerifiedChains(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{})
	_, err := a.Authenticate(tlsRequest(pki.Alice))
	require.ErrorIs(t, err, httpauth.ErrNoRoots)
	assert.Contains(t, err.Error(), "set Config.Roots", "the reason says how to configure it")
}

func TestVerifiedChainRecheckedAgainstClock(t *testing.T) {
	pki := testpki.MustSet(t)
	later := pki.Alice.Cert.NotAfter.Add(time.Minute)
	a := mustNew(t, httpauth.Config{Now: func() time.Time { return later }})
	r := tlsRequest(pki.Alice)
	r.TLS.VerifiedChains = [][]*x509.Certificate{append([]*x509.Certificate{pki.Alice.Cert}, pki.Alice.Chain...)}
	_, err := a.Authenticate(r)
	assert.ErrorIs(t, err, httpauth.ErrExpired, "a keep-alive connection must not outlive its certificate")

	a = mustNew(t, httpauth.Config{IncludeChain: true})
	id, err := a.Authenticate(r)
	require.NoError(t, err)
	assert.Len(t, id.Chain, 3)
	assert.Empty(t, id.Header)
	assert.True(t, id.Verified)

	a = mustNew(t, httpauth.Config{MaxChainLength: 2})
	_, err = a.Authenticate(r)
	assert.ErrorIs(t, err, httpauth.ErrChainTooLong)
}

func TestMaxChainLengthOnPresentedChain(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), MaxChainLength: 1})
	_, err := a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrChainTooLong)
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

func TestErrorMessagesPinned(t *testing.T) {
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

// TestCHN07_ListenerVerifiedChainStillNeedsConfiguredRoots: the listener's
// ClientCAs may trust more than Config.Roots; with roots configured, the
// library's own verification decides.
func TestCHN07_ListenerVerifiedChainStillNeedsConfiguredRoots(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	r := tlsRequest(pki.Stranger)
	r.TLS.VerifiedChains = [][]*x509.Certificate{append([]*x509.Certificate{pki.Stranger.Cert}, pki.Stranger.Chain...)}
	_, err := a.Authenticate(r)
	assert.ErrorIs(t, err, httpauth.ErrUnknownAuthority)
}

func TestIdentityNotAfterIsTheEarliestOfTheChain(t *testing.T) {
	root, err := testpki.NewRoot()
	require.NoError(t, err)
	now := time.Now()
	inter, err := root.Intermediate(testpki.WithValidity(now.Add(-time.Hour), now.Add(time.Hour)))
	require.NoError(t, err)
	leaf, err := inter.Leaf(testpki.WithValidity(now.Add(-time.Hour), now.Add(48*time.Hour)))
	require.NoError(t, err)
	id, err := mustNew(t, httpauth.Config{Roots: root.Pool()}).Authenticate(tlsRequest(leaf))
	require.NoError(t, err)
	assert.Equal(t, inter.Cert.NotAfter, id.NotAfter, "the intermediate expires first")
	assert.Nil(t, id.Chain, "the chain is not kept unless asked for")
}
