package httpauth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopback is the header-mode baseline of SECURITY_CASES.md.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

const (
	proxyAddr    = "127.0.0.1:40000" // a trusted proxy
	strangerAddr = "192.0.2.7:40000" // any other peer
)

// mustNew builds an Authenticator or fails the test.
func mustNew(tb testing.TB, cfg httpauth.Config) *httpauth.Authenticator {
	tb.Helper()
	a, err := httpauth.New(cfg)
	require.NoError(tb, err)
	return a
}

// headerAuth is the header-mode baseline: trusted loopback proxies, the test
// root, an authorizer allowing CN alice, and the given source. The counter
// counts the calls of whatever authorizer mod leaves in place.
func headerAuth(tb testing.TB, pki *testpki.Set, src httpauth.Source, mod ...func(*httpauth.Config)) (*httpauth.Authenticator, *countingAuthorizer) {
	tb.Helper()
	if src.TrustedProxies == nil {
		src.TrustedProxies = loopback
	}
	cfg := httpauth.Config{Source: src, Roots: pki.Root.Pool(), Authorize: httpauth.AllowCN("alice")}
	for _, m := range mod {
		m(&cfg)
	}
	counter := &countingAuthorizer{}
	if allow := cfg.Authorize; allow != nil {
		cfg.Authorize = func(ctx context.Context, id *httpauth.Identity) error {
			_ = counter.authorize(ctx, id)
			return allow(ctx, id)
		}
	}
	return mustNew(tb, cfg), counter
}

// fallbackAuth is behind nginx with Source.FallbackToTLS, and allows every
// verified certificate, so a test sees which certificate became the
// identity rather than the authorizer's verdict.
func fallbackAuth(tb testing.TB, pki *testpki.Set) *httpauth.Authenticator {
	tb.Helper()
	src := nginxSrc()
	src.FallbackToTLS = true
	a, _ := headerAuth(tb, pki, src, func(c *httpauth.Config) { c.Authorize = nil })
	return a
}

func nginxSrc() httpauth.Source { return httpauth.Source{Preset: httpauth.PresetNginx} }

// headerRequest is a request from remote carrying the given header lines.
func headerRequest(remote string, headers ...[2]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://backend.test/ws", nil)
	r.RemoteAddr = remote
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	return r
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

// tlsChainRequest is tlsRequest for a chain as presented, in any order.
func tlsChainRequest(chain []*x509.Certificate) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://server.test/", nil)
	r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: chain}
	return r
}

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

	_, tlsErr := mustNew(t, cfg).Authenticate(tlsChainRequest(chain))
	return map[string]error{"header": headerErr, "tls": tlsErr}
}

func chainOf(l *testpki.Leaf) []*x509.Certificate {
	return append([]*x509.Certificate{l.Cert}, l.Intermediates()...)
}

// serve runs one TLS request from leaf through the middleware and returns
// the recorded response.
func serve(t *testing.T, pki *testpki.Set, cfg httpauth.Config, leaf *testpki.Leaf) *httptest.ResponseRecorder {
	t.Helper()
	cfg.Roots = pki.Root.Pool()
	a := mustNew(t, cfg)
	w := httptest.NewRecorder()
	a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("welcome"))
	})).ServeHTTP(w, tlsRequest(leaf))
	return w
}

// statusOf returns the status Authenticate's error carries, 0 for success.
func statusOf(tb testing.TB, err error) int {
	tb.Helper()
	if err == nil {
		return 0
	}
	var e *httpauth.Error
	require.ErrorAs(tb, err, &e)
	return e.ResponseStatus()
}

// countingAuthorizer records calls so tests can assert it never saw an
// unverified certificate.
type countingAuthorizer struct{ calls atomic.Int32 }

func (c *countingAuthorizer) authorize(context.Context, *httpauth.Identity) error {
	c.calls.Add(1)
	return nil
}

// tlsServer starts an httptest TLS server with the given client-auth mode
// whose handler answers through the Authenticator's middleware.
func tlsServer(tb testing.TB, pki *testpki.Set, mode tls.ClientAuthType, a *httpauth.Authenticator) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := httpauth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(id.Certificate.Subject.CommonName))
	})))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake refusals are expected
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.Server.TLSCertificate()},
		ClientAuth:   mode,
		ClientCAs:    pki.Root.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv
}

// tlsClient dials with leaf as client certificate (none when nil).
func tlsClient(tb testing.TB, pki *testpki.Set, leaf *testpki.Leaf) *http.Client {
	tb.Helper()
	cfg := &tls.Config{RootCAs: pki.Root.Pool(), MinVersion: tls.VersionTLS12}
	if leaf != nil {
		// Always send the certificate: Go's default would silently send none
		// when the server's CA list does not match, hiding the cases under
		// test (curl sends what it is given; browsers, like Go, only offer
		// certificates of a CA the server names).
		cert := leaf.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get performs a GET and returns the status, or 0 when the handshake failed.
func get(tb testing.TB, c *http.Client, url string, headers ...[2]string) (int, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url, nil)
	require.NoError(tb, err)
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		var netErr interface{ Timeout() bool }
		assert.False(tb, errors.As(err, &netErr) && netErr.Timeout(), "unexpected timeout: %v", err)
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

// Encoders producing each proxy's wire shape (PROXY_FORMATS.md §0).

// nginxEscape percent-escapes PEM like nginx's $ssl_client_escaped_cert:
// everything but unreserved characters, uppercase hex.
func nginxEscape(pemText []byte) string {
	var b strings.Builder
	for _, c := range pemText {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hexByte(c)))
		}
	}
	return b.String()
}

// awsEscape escapes like AWS ALB: '+', '=', '/' stay literal.
func awsEscape(pemText []byte) string {
	s := nginxEscape(pemText)
	return strings.NewReplacer("%2B", "+", "%3D", "=", "%2F", "/").Replace(s)
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// lowerHex rewrites %XX escapes in lowercase, as Apache's escape() does.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// folded is PEM with newlines turned into spaces (Apache mod_headers).
func folded(pemText []byte) string {
	return strings.TrimSpace(strings.ReplaceAll(string(pemText), "\n", " "))
}

func b64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

func sfBytes(c *x509.Certificate) string { return ":" + b64(c) + ":" }

// encodeDER is base64 of the concatenated DER blobs, as a Base64DER header
// carries one certificate or HAProxy's ssl_c_chain_der several.
func encodeDER(ders ...[]byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Join(ders, nil))
}

func xfccElem(leaf *testpki.Leaf) string {
	return `Hash=` + xfccHash(leaf.Cert) + `;Cert="` + url.PathEscape(string(leaf.PEM())) + `";Subject="CN=` + leaf.Cert.Subject.CommonName + `"`
}

// xfccHash is an XFCC Hash value as Envoy writes it: lowercase hex of the
// SHA-256 of the leaf's DER.
func xfccHash(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x10
	return out
}

func mustParse(tb testing.TB, der []byte) *x509.Certificate {
	tb.Helper()
	c, err := x509.ParseCertificate(der)
	require.NoError(tb, err)
	return c
}
