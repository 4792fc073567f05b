package httpauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// The network checkers' tests run against an OCSP responder and a CRL
// server the test starts on loopback, serving answers signed on demand
// for the certificates of one small PKI. Each test can make them slow,
// huge, wrongly signed or gone.

// leakCheck fails t if a goroutine started during t outlives it. Call it
// first, so that it runs after every other cleanup (servers closed,
// fetches waited for). Tests calling it must not be parallel.
func leakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// revFixture is a root, an intermediate and leaves whose certificates name
// the test's OCSP responder and CRL distribution points.
type revFixture struct {
	clock   *fakeClock
	root    *testpki.Authority
	inter   *testpki.Authority // names the root's responder and CRL
	leaf    *testpki.Leaf      // alice, issued by inter
	ocsp    *ocspResponder
	crl     *crlServer
	client  *http.Client
	unblock func() // releases every blocked handler
}

func newRevFixture(tb testing.TB) *revFixture {
	tb.Helper()
	f := &revFixture{clock: &fakeClock{t: time.Now()}}
	release := make(chan struct{})
	var once sync.Once
	f.unblock = func() { once.Do(func() { close(release) }) }
	f.ocsp = &ocspResponder{clock: f.clock, release: release, revoked: map[string]bool{}, validity: time.Hour}
	f.ocsp.srv = startServer(tb, f.ocsp)
	f.crl = &crlServer{clock: f.clock, release: release, lists: map[string]*crlSpec{}}
	f.crl.srv = startServer(tb, f.crl)
	tb.Cleanup(f.unblock) // before the servers close, which waits for handlers

	var err error
	f.root, err = testpki.NewRoot()
	require.NoError(tb, err)
	f.inter, err = f.root.Intermediate(testpki.WithOCSPServer(f.ocsp.url()), testpki.WithCRLDistributionPoints(f.crl.url("/root.crl")))
	require.NoError(tb, err)
	f.leaf = f.mintLeaf(tb)
	f.ocsp.issuers = []*testpki.Authority{f.root, f.inter}
	f.crl.lists["/root.crl"] = &crlSpec{signer: f.root, validity: time.Hour}
	f.crl.lists["/inter.crl"] = &crlSpec{signer: f.inter, validity: time.Hour}

	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	f.client = &http.Client{Transport: tr}
	return f
}

// mintLeaf issues a client certificate from inter naming the test's
// responder and distribution point, unless opts name others.
func (f *revFixture) mintLeaf(tb testing.TB, opts ...testpki.Option) *testpki.Leaf {
	tb.Helper()
	opts = append([]testpki.Option{testpki.WithCN("alice"), testpki.WithOCSPServer(f.ocsp.url()), testpki.WithCRLDistributionPoints(f.crl.url("/inter.crl"))}, opts...)
	leaf, err := f.inter.Leaf(opts...)
	require.NoError(tb, err)
	return leaf
}

// chain is leaf's verified chain: leaf, inter, root.
func (f *revFixture) chain(leaf *testpki.Leaf) []*x509.Certificate {
	return []*x509.Certificate{leaf.Cert, f.inter.Cert, f.root.Cert}
}

// impostors are CAs a wrong answer may come from: an unrelated root, and
// a twin of inter under the real root, with inter's name and another key,
// which binding by name alone would take.
func (f *revFixture) impostors(tb testing.TB) (other, twin *testpki.Authority) {
	tb.Helper()
	other, err := testpki.NewRoot(testpki.WithCN("other root"))
	require.NoError(tb, err)
	twin, err = f.root.Intermediate(testpki.WithSubject(f.inter.Cert.Subject))
	require.NoError(tb, err)
	return other, twin
}

// newOCSP builds an OCSP checker over the fixture's client and clock, and
// waits for its fetches when the test ends.
func (f *revFixture) newOCSP(tb testing.TB, cfg httpauth.OCSPConfig) *httpauth.OCSP {
	tb.Helper()
	if cfg.Client == nil {
		cfg.Client = f.client
	}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	o, err := httpauth.NewOCSP(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { httpauth.WaitFetches(o) })
	tb.Cleanup(f.unblock)
	return o
}

// newCRLDP is newOCSP for the CRL distribution point checker.
func (f *revFixture) newCRLDP(tb testing.TB, cfg httpauth.CRLDistributionPointsConfig) *httpauth.CRLDistributionPoints {
	tb.Helper()
	if cfg.Client == nil {
		cfg.Client = f.client
	}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	d, err := httpauth.NewCRLDistributionPoints(cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { httpauth.WaitFetches(d) })
	tb.Cleanup(f.unblock)
	return d
}

// authenticate runs leaf through an Authenticator with the checkers, as a
// trusted proxy's header, and returns the refusal.
func (f *revFixture) authenticate(tb testing.TB, leaf *testpki.Leaf, checkers ...httpauth.RevocationChecker) error {
	tb.Helper()
	return f.authenticateCtx(tb, context.Background(), leaf, checkers...)
}

func (f *revFixture) authenticateCtx(tb testing.TB, ctx context.Context, leaf *testpki.Leaf, checkers ...httpauth.RevocationChecker) error {
	tb.Helper()
	a := mustNew(tb, httpauth.Config{
		Source:     httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback},
		Roots:      f.root.Pool(),
		Revocation: checkers,
		Now:        f.clock.Now,
	})
	r := headerRequest(proxyAddr, [2]string{"X-SSL-Client-Cert", nginxEscape(leaf.ChainPEM())}, [2]string{"X-SSL-Client-Verify", "SUCCESS"})
	_, err := a.Authenticate(r.WithContext(ctx))
	return err
}

// overTLS runs leaf through the Authenticator's middleware in a real
// handshake and returns the status and the refusal, if any.
func (f *revFixture) overTLS(tb testing.TB, leaf *testpki.Leaf, checkers ...httpauth.RevocationChecker) (int, *httpauth.Error) {
	tb.Helper()
	refusals := make(errorRecorder, 1)
	a := mustNew(tb, httpauth.Config{Revocation: checkers, Now: f.clock.Now, ErrorHandler: refusals.handle})
	server, err := f.root.Server()
	require.NoError(tb, err)
	srv := httptest.NewUnstartedServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "welcome")
	})))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{server.TLSCertificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    f.root.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	defer srv.Close()

	cert := leaf.TLSCertificate()
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{
		RootCAs:      f.root.Pool(),
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	require.NoError(tb, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(tb, resp.Body.Close())
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, refusals.next(tb)
}

func startServer(tb testing.TB, h http.Handler) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// closedURL is an http URL on a loopback port nothing listens on.
func closedURL(tb testing.TB, path string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := l.Addr().String()
	require.NoError(tb, l.Close())
	return "http://" + addr + path
}

// behaviour overrides a test server's answer: it returns true when it
// answered. Blocking behaviours end when the request's context does or the
// fixture unblocks.
type behaviour func(w http.ResponseWriter, r *http.Request, release <-chan struct{}) bool

// slow never answers.
func slow(_ http.ResponseWriter, r *http.Request, release <-chan struct{}) bool {
	select {
	case <-r.Context().Done():
	case <-release:
	}
	return true
}

// huge streams n bytes without announcing a length.
func huge(n int) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) bool {
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte{0x30}, 32<<10)
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				break
			}
		}
		return true
	}
}

// announcedHuge announces n bytes and sends nothing.
func announcedHuge(n int64) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) bool {
		w.Header().Set("Content-Length", big.NewInt(n).String())
		w.WriteHeader(http.StatusOK)
		return true
	}
}

func status(code int) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) bool {
		w.WriteHeader(code)
		return true
	}
}

func body(b []byte) behaviour {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) bool {
		_, _ = w.Write(b)
		return true
	}
}

// assertRefused asserts that err is a 401 refusal for reason.
func assertRefused(tb testing.TB, err, reason error) {
	tb.Helper()
	require.Error(tb, err)
	assert.ErrorIs(tb, err, reason)
	assert.Equal(tb, http.StatusUnauthorized, statusOf(tb, err))
}

func TestNetworkCheckerConfigErrors(t *testing.T) {
	t.Parallel()
	ocspCases := []struct {
		name string
		cfg  httpauth.OCSPConfig
		want string
	}{
		{"relative responder", httpauth.OCSPConfig{Responder: "ocsp.example.com"}, "OCSPConfig.Responder"},
		{"ldap responder", httpauth.OCSPConfig{Responder: "ldap://ocsp.example.com"}, "OCSPConfig.Responder"},
		{"negative timeout", httpauth.OCSPConfig{Timeout: -1}, "OCSPConfig.Timeout is negative"},
		{"negative size", httpauth.OCSPConfig{MaxSize: -1}, "OCSPConfig.MaxSize is negative"},
		{"negative age", httpauth.OCSPConfig{MaxAge: -1}, "OCSPConfig.MaxAge is negative"},
		{"negative retry", httpauth.OCSPConfig{RetryAfter: -1}, "OCSPConfig.RetryAfter is negative"},
		{"negative cache", httpauth.OCSPConfig{CacheSize: -1}, "OCSPConfig.CacheSize is negative"},
	}
	for _, tt := range ocspCases {
		t.Run("OCSP "+tt.name, func(t *testing.T) {
			t.Parallel()
			o, err := httpauth.NewOCSP(tt.cfg)
			assert.ErrorContains(t, err, tt.want)
			assert.Nil(t, o)
		})
	}
	dpCases := []struct {
		name string
		cfg  httpauth.CRLDistributionPointsConfig
		want string
	}{
		{"negative timeout", httpauth.CRLDistributionPointsConfig{Timeout: -1}, "CRLDistributionPointsConfig.Timeout is negative"},
		{"negative size", httpauth.CRLDistributionPointsConfig{MaxSize: -1}, "CRLDistributionPointsConfig.MaxSize is negative"},
		{"negative cache", httpauth.CRLDistributionPointsConfig{CacheSize: -1}, "CRLDistributionPointsConfig.CacheSize is negative"},
	}
	for _, tt := range dpCases {
		t.Run("CRL DP "+tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := httpauth.NewCRLDistributionPoints(tt.cfg)
			assert.ErrorContains(t, err, tt.want)
			assert.Nil(t, d)
		})
	}
	_, err := httpauth.NewOCSP(httpauth.OCSPConfig{})
	assert.NoError(t, err, "the zero config is valid")
	_, err = httpauth.NewCRLDistributionPoints(httpauth.CRLDistributionPointsConfig{})
	assert.NoError(t, err, "the zero config is valid")
}

// The scenarios below are what the network checkers do alike, because
// fetch.go does it for both: fetching, caching, single flight, caps and
// timeouts. Each is a named test of each checker (TestOCSPSlowResponder
// and TestCRLDistributionPointSlow run testSlowServer, and so on); what
// only one checker does stays in its own file.
