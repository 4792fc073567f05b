package httpauth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ocsp"
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

// ocspResponder answers OCSP requests, GET or POST, about the
// certificates of its issuers: revoked when the serial is in revoked,
// good otherwise, signed as sign says (by the issuer itself by default).
type ocspResponder struct {
	srv     *httptest.Server
	clock   *fakeClock
	release chan struct{}
	hits    atomic.Int32
	gets    atomic.Int32

	mu       sync.Mutex
	issuers  []*testpki.Authority
	revoked  map[string]bool // serial, hex
	validity time.Duration   // nextUpdate - thisUpdate; zero: no nextUpdate
	thisAge  time.Duration   // how long before now thisUpdate is; negative: in the future
	status   *int            // overrides good/revoked
	sign     func(issuer *testpki.Authority) (responder *x509.Certificate, key crypto.Signer, embed bool)
	behave   behaviour
}

func (o *ocspResponder) url() string { return o.srv.URL + "/ocsp" }

func (o *ocspResponder) revoke(c *x509.Certificate) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.revoked[c.SerialNumber.Text(16)] = true
}

func (o *ocspResponder) set(fn func(o *ocspResponder)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fn(o)
}

func (o *ocspResponder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.hits.Add(1)
	o.mu.Lock()
	behave := o.behave
	o.mu.Unlock()
	if behave != nil && behave(w, r, o.release) {
		return
	}
	var der []byte
	switch r.Method {
	case http.MethodGet:
		o.gets.Add(1)
		// The escaped path: base64 holds '/', escaped as %2F.
		b64, err := url.QueryUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/"))
		if err == nil {
			der, err = base64.StdEncoding.DecodeString(b64)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	case http.MethodPost:
		der, _ = io.ReadAll(r.Body)
	}
	resp, err := o.respond(der)
	if err != nil {
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(resp)
}

func (o *ocspResponder) respond(der []byte) ([]byte, error) {
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var issuer *testpki.Authority
	for _, a := range o.issuers {
		if bytes.Equal(issuerKeyHash(a.Cert), req.IssuerKeyHash) {
			issuer = a
		}
	}
	if issuer == nil {
		return ocsp.UnauthorizedErrorResponse, nil
	}
	now := o.clock.Now()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Minute)}
	if o.thisAge != 0 {
		tmpl.ThisUpdate = now.Add(-o.thisAge)
	}
	if o.validity > 0 {
		tmpl.NextUpdate = tmpl.ThisUpdate.Add(o.validity)
	}
	if o.revoked[req.SerialNumber.Text(16)] {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, now.Add(-time.Hour), ocsp.KeyCompromise
	}
	if o.status != nil {
		tmpl.Status = *o.status
	}
	responder, key, embed := issuer.Cert, issuer.Key, false
	if o.sign != nil {
		responder, key, embed = o.sign(issuer)
	}
	if embed {
		tmpl.Certificate = responder
	}
	return ocsp.CreateResponse(issuer.Cert, responder, tmpl, key)
}

// issuerKeyHash is the SHA-1 key hash an OCSP CertID names a by.
func issuerKeyHash(a *x509.Certificate) []byte {
	der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(1)}, a, nil)
	if err != nil {
		return nil
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		return nil
	}
	return req.IssuerKeyHash
}

// crlServer serves, per path, a CRL signed on demand as its crlSpec says.
type crlServer struct {
	srv     *httptest.Server
	clock   *fakeClock
	release chan struct{}
	hits    atomic.Int32
	number  atomic.Int64

	mu     sync.Mutex
	lists  map[string]*crlSpec
	behave behaviour
}

type crlSpec struct {
	signer   *testpki.Authority
	revoked  []*big.Int
	validity time.Duration // nextUpdate - thisUpdate; zero: no nextUpdate
	thisAge  time.Duration // how long before now thisUpdate is
	exts     []pkix.Extension
}

func (c *crlServer) url(path string) string { return c.srv.URL + path }

func (c *crlServer) set(fn func(c *crlServer)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

func (c *crlServer) revoke(path string, cert *x509.Certificate) {
	c.set(func(c *crlServer) { c.lists[path].revoked = append(c.lists[path].revoked, cert.SerialNumber) })
}

func (c *crlServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.hits.Add(1)
	c.mu.Lock()
	behave, spec := c.behave, c.lists[r.URL.Path]
	c.mu.Unlock()
	if behave != nil && behave(w, r, c.release) {
		return
	}
	if spec == nil {
		http.NotFound(w, r)
		return
	}
	der, err := c.sign(spec)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(der)
}

func (c *crlServer) sign(spec *crlSpec) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	tmpl := &x509.RevocationList{Number: big.NewInt(c.number.Add(1)), ThisUpdate: now.Add(-time.Minute), ExtraExtensions: spec.exts}
	if spec.thisAge != 0 {
		tmpl.ThisUpdate = now.Add(-spec.thisAge)
	}
	if spec.validity > 0 {
		tmpl.NextUpdate = tmpl.ThisUpdate.Add(spec.validity)
	}
	for _, s := range spec.revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Hour)})
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, spec.signer.Cert, spec.signer.Key)
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

// netChecker is one network checker as the shared scenarios drive it.
type netChecker struct {
	// new builds the checker over f, as f.newOCSP or f.newCRLDP does.
	new func(tb testing.TB, f *revFixture, c netConfig) httpauth.RevocationChecker
	// server is what answers its fetches.
	server func(f *revFixture) http.Handler
	hits   func(f *revFixture) int32
	behave func(f *revFixture, b behaviour)
	// revoke makes the answer about c say revoked.
	revoke func(f *revFixture, c *x509.Certificate)
	// unreachable mints a leaf whose URL for this checker is a closed port.
	unreachable func(tb testing.TB, f *revFixture) *testpki.Leaf
	// maxSize is the default cap on an answer; noAnswer is what a refusal
	// says when no fetch succeeded.
	maxSize  int
	noAnswer string
	// perURL is set when one answer speaks for every certificate that
	// names its URL (a CRL) rather than for one certificate (an OCSP
	// response).
	perURL bool
}

// netConfig holds the settings both checkers' configs share; a nil client
// is the fixture's.
type netConfig struct {
	leafOnly        bool
	timeout, maxAge time.Duration
	client          *http.Client
}

var ocspChecker = netChecker{
	new: func(tb testing.TB, f *revFixture, c netConfig) httpauth.RevocationChecker {
		return f.newOCSP(tb, httpauth.OCSPConfig{LeafOnly: c.leafOnly, Timeout: c.timeout, MaxAge: c.maxAge, Client: c.client})
	},
	server: func(f *revFixture) http.Handler { return f.ocsp },
	hits:   func(f *revFixture) int32 { return f.ocsp.hits.Load() },
	behave: func(f *revFixture, b behaviour) { f.ocsp.set(func(o *ocspResponder) { o.behave = b }) },
	revoke: func(f *revFixture, c *x509.Certificate) { f.ocsp.revoke(c) },
	unreachable: func(tb testing.TB, f *revFixture) *testpki.Leaf {
		return f.mintLeaf(tb, testpki.WithOCSPServer(closedURL(tb, "/ocsp")))
	},
	maxSize:  64 << 10,
	noAnswer: "no valid OCSP response",
}

var crldpChecker = netChecker{
	new: func(tb testing.TB, f *revFixture, c netConfig) httpauth.RevocationChecker {
		return f.newCRLDP(tb, httpauth.CRLDistributionPointsConfig{LeafOnly: c.leafOnly, Timeout: c.timeout, MaxAge: c.maxAge, Client: c.client})
	},
	server: func(f *revFixture) http.Handler { return f.crl },
	hits:   func(f *revFixture) int32 { return f.crl.hits.Load() },
	behave: func(f *revFixture, b behaviour) { f.crl.set(func(c *crlServer) { c.behave = b }) },
	revoke: func(f *revFixture, c *x509.Certificate) {
		// Each CA's CRL lists what it issued.
		path := "/inter.crl"
		if bytes.Equal(c.RawIssuer, f.root.Cert.RawSubject) {
			path = "/root.crl"
		}
		f.crl.revoke(path, c)
	},
	unreachable: func(tb testing.TB, f *revFixture) *testpki.Leaf {
		return f.mintLeaf(tb, testpki.WithCRLDistributionPoints(closedURL(tb, "/inter.crl")))
	},
	maxSize:  10 << 20,
	noAnswer: "no valid CRL",
	perURL:   true,
}

// testGood: a chain nobody revoked passes, over a header and in a real
// handshake, with one fetch for the leaf and one for the intermediate.
func testGood(t *testing.T, k netChecker) *revFixture {
	leakCheck(t)
	f := newRevFixture(t)
	c := k.new(t, f, netConfig{})

	assert.NoError(t, f.authenticate(t, f.leaf, c))
	assert.Equal(t, int32(2), k.hits(f), "the leaf's answer and the intermediate's, each fetched once")

	code, refusal := f.overTLS(t, f.leaf, c)
	assert.Equal(t, http.StatusOK, code)
	assert.Nil(t, refusal)
	assert.Equal(t, int32(2), k.hits(f), "answered from the cache")
	return f
}

// testRevoked: a revoked leaf or intermediate is refused, FailOpen or not,
// and the refusal names its serial.
func testRevoked(t *testing.T, k netChecker) {
	leakCheck(t)
	tests := []struct {
		name    string
		revoked func(f *revFixture) *x509.Certificate
	}{
		{"revoked leaf", func(f *revFixture) *x509.Certificate { return f.leaf.Cert }},
		{"revoked intermediate", func(f *revFixture) *x509.Certificate { return f.inter.Cert }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRevFixture(t)
			k.revoke(f, tt.revoked(f))
			c := k.new(t, f, netConfig{})

			err := f.authenticate(t, f.leaf, c)
			assertRefused(t, err, httpauth.ErrRevoked)
			assert.ErrorContains(t, err, tt.revoked(f).SerialNumber.Text(16))
			assertRefused(t, f.authenticate(t, f.leaf, httpauth.FailOpen(c)), httpauth.ErrRevoked)

			code, refusal := f.overTLS(t, f.leaf, c)
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.ErrorIs(t, refusal, httpauth.ErrRevoked)
		})
	}
}

// testLeafOnly: LeafOnly asks about the leaf alone, so a revoked
// intermediate goes unnoticed; without it, it is refused.
func testLeafOnly(t *testing.T, k netChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	k.revoke(f, f.inter.Cert)

	assert.NoError(t, f.authenticate(t, f.leaf, k.new(t, f, netConfig{leafOnly: true})), "the intermediate is not asked about")
	assert.Equal(t, int32(1), k.hits(f))

	assertRefused(t, f.authenticate(t, f.leaf, k.new(t, f, netConfig{})), httpauth.ErrRevoked)
}

// testUnreachable: a server that cannot be reached leaves the chain
// unknown, refused unless FailOpen.
func testUnreachable(t *testing.T, k netChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	down := k.unreachable(t, f)
	c := k.new(t, f, netConfig{leafOnly: true})

	err := f.authenticate(t, down, c)
	assertRefused(t, err, httpauth.ErrRevocationUnknown)
	assert.ErrorContains(t, err, k.noAnswer)
	assert.NoError(t, f.authenticate(t, down, httpauth.FailOpen(c)), "FailOpen lets an unknown chain pass")

	code, refusal := f.overTLS(t, down, c)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.ErrorIs(t, refusal, httpauth.ErrRevocationUnknown)
}

// testCachedUntilNextUpdate: one fetch serves repeated requests, and a
// cached answer stands until its nextUpdate, an hour after its
// thisUpdate, even when the server has learnt of a revocation since.
func testCachedUntilNextUpdate(t *testing.T, k netChecker) (*revFixture, httpauth.RevocationChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	c := k.new(t, f, netConfig{leafOnly: true, maxAge: 24 * time.Hour})

	for range 3 {
		assert.NoError(t, f.authenticate(t, f.leaf, c))
	}
	assert.Equal(t, int32(1), k.hits(f), "one fetch for three requests")

	k.revoke(f, f.leaf.Cert)
	f.clock.Advance(30 * time.Minute)
	assert.NoError(t, f.authenticate(t, f.leaf, c), "the cached answer stands until its nextUpdate")
	assert.Equal(t, int32(1), k.hits(f))

	f.clock.Advance(31 * time.Minute)
	assertRefused(t, f.authenticate(t, f.leaf, c), httpauth.ErrRevoked)
	assert.Equal(t, int32(2), k.hits(f), "fetched again once nextUpdate passed")
	return f, c
}

// testHugeAnswer: an answer past the size cap, streamed or announced, is
// no answer.
func testHugeAnswer(t *testing.T, k netChecker) {
	leakCheck(t)
	tests := []struct {
		name   string
		behave behaviour
	}{
		{"streamed past the cap", huge(k.maxSize + 1)},
		{"announced past the cap", announcedHuge(1 << 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newRevFixture(t)
			k.behave(f, tt.behave)
			c := k.new(t, f, netConfig{leafOnly: true})
			ans := c.CheckRevocation(t.Context(), f.chain(f.leaf))
			assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
			assert.Contains(t, ans.Detail, "exceeds the cap")
			assertRefused(t, f.authenticate(t, f.leaf, c), httpauth.ErrRevocationUnknown)
		})
	}
}

// testSlowServer: a server that never answers costs a request the
// checker's Timeout, then leaves the chain unknown, refused unless
// FailOpen.
func testSlowServer(t *testing.T, k netChecker) {
	leakCheck(t)
	f := newRevFixture(t)
	k.behave(f, slow)
	c := k.new(t, f, netConfig{leafOnly: true, timeout: 50 * time.Millisecond})

	ans := c.CheckRevocation(t.Context(), f.chain(f.leaf))
	assert.Equal(t, httpauth.RevocationUnknown, ans.Status)
	assert.Contains(t, ans.Detail, "deadline exceeded")
	assertRefused(t, f.authenticate(t, f.leaf, c), httpauth.ErrRevocationUnknown)
	assert.NoError(t, f.authenticate(t, f.leaf, httpauth.FailOpen(c)))
}

// roundTripFunc serves requests in memory, so that a test can run inside
// a synctest bubble, where loopback sockets do not count as blocked.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// gatedClient serves h after gate closes.
func gatedClient(h http.Handler, gate <-chan struct{}) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-gate
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

// testOneFetchInFlight: sixteen requests that need the same answer at
// once share one fetch. For a checker whose answer is per URL they are
// sixteen leaves naming one URL, otherwise sixteen requests for one leaf.
func testOneFetchInFlight(t *testing.T, k netChecker) {
	f := newRevFixture(t)
	leaves := make([]*testpki.Leaf, 16)
	for i := range leaves {
		leaves[i] = f.leaf
		if k.perURL {
			leaves[i] = f.mintLeaf(t)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		c := k.new(t, f, netConfig{leafOnly: true, client: gatedClient(k.server(f), gate)})

		answers := make([]httpauth.RevocationAnswer, len(leaves))
		var wg sync.WaitGroup
		for i, leaf := range leaves {
			wg.Go(func() { answers[i] = c.CheckRevocation(t.Context(), f.chain(leaf)) })
		}
		synctest.Wait() // every request waits, on the one fetch or on its gate
		close(gate)
		wg.Wait()
		httpauth.WaitFetches(c)

		assert.Equal(t, int32(1), k.hits(f))
		for _, a := range answers {
			assert.Equal(t, httpauth.RevocationGood, a.Status, a.Detail)
		}
	})
}
