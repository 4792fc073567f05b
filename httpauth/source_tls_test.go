package httpauth_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Real handshakes over loopback, for every ClientAuth mode and every kind
// of client. Status 0 means the TLS layer refused the handshake before
// HTTP, which is what the verifying modes do with bad certificates.
func TestClientAuthModesAdmitOnlyTheValidClient(t *testing.T) {
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
				t.Parallel()
				status, body := get(t, tlsClient(t, pki, c.leaf(pki)), srv.URL)
				assert.Equal(t, m.want[i], status, body)
				if status == http.StatusOK {
					assert.Equal(t, "alice", body)
				}
			})
		}
	}
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

func TestPresentedChainOverMaxChainLengthRefused(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool(), MaxChainLength: 1})
	_, err := a.Authenticate(tlsRequest(pki.Alice))
	assert.ErrorIs(t, err, httpauth.ErrChainTooLong)
}

// A Go client picks its certificate by the CAs the server names and,
// finding none of them, sends nothing; the server can only report that
// nothing arrived, and the reason says what that may mean.
func TestGoClientOfUnknownCASendsNoCertificate(t *testing.T) {
	pki := testpki.MustSet(t)
	a := mustNew(t, httpauth.Config{Roots: pki.Root.Pool()})
	cfg, err := a.TLSConfig(pki.Server.TLSCertificate())
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.Authenticate(r); err != nil {
			http.Error(w, err.Error(), statusOf(t, err)) // the logged reason, for the test
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		leaf     *testpki.Leaf
		wantCode int
		wantBody string
	}{
		{"issuer among the named CAs", pki.Alice, http.StatusOK, "ok"},
		{"issuer not among them", pki.Stranger, http.StatusUnauthorized, "httpauth: no client certificate: the TLS connection carries none: either the listener does not ask for one (tls.Config.ClientAuth), or the client sent none, as a Go client or a browser does when its certificate's issuer is not among the CAs the listener names (tls.Config.ClientCAs)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Go's default selection, unlike tlsClient's.
			tr := &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs:      pki.Root.Pool(),
				Certificates: []tls.Certificate{tt.leaf.TLSCertificate()},
				MinVersion:   tls.VersionTLS12,
			}}
			t.Cleanup(tr.CloseIdleConnections)
			status, body := get(t, &http.Client{Transport: tr}, srv.URL)
			assert.Equal(t, tt.wantCode, status)
			assert.Equal(t, tt.wantBody, strings.TrimSpace(body))
		})
	}
}
