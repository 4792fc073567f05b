package certgate_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loopback is the header-mode baseline of SECURITY_CASES.md.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// mustNew builds an Authenticator or stops the test.
func mustNew(tb testing.TB, cfg httpauth.Config) *httpauth.Authenticator {
	tb.Helper()
	a, err := httpauth.New(cfg)
	require.NoError(tb, err)
	return a
}

// tlsAuth is the TLS-mode baseline: the test root, CN alice allowed.
func tlsAuth(tb testing.TB, set *testpki.Set) *httpauth.Authenticator {
	tb.Helper()
	return mustNew(tb, httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice")})
}

// gateHandler answers "hello <CN>" to requests that pass the gate.
func gateHandler(a *httpauth.Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := certgate.Gate(w, r, a)
		if !ok {
			return
		}
		fmt.Fprintf(w, "hello %s", id.Certificate.Subject.CommonName)
	})
}

// newTLSServer starts h on loopback TLS with the server certificate from
// set. The listener requests a client certificate but leaves verification
// to the Authenticator (DESIGN.md's TLS mode).
func newTLSServer(tb testing.TB, set *testpki.Set, h http.Handler, http2 bool) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = http2
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{set.Server.TLSCertificate()},
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    set.Root.Pool(),
	}
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv
}

// clientTLS trusts set's root and presents leaf (none when nil).
// GetClientCertificate makes Go send the certificate even when its issuer
// is not among the server's acceptable CAs, as a hostile client would.
func clientTLS(set *testpki.Set, leaf *testpki.Leaf) *tls.Config {
	return &tls.Config{
		RootCAs: set.Root.Pool(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if leaf == nil {
				return &tls.Certificate{}, nil
			}
			c := leaf.TLSCertificate()
			return &c, nil
		},
	}
}

// upgradeRequest is a handwritten WebSocket upgrade request (RFC 6455,
// section 4.1) plus extra header lines.
func upgradeRequest(host string, extra ...string) string {
	var b strings.Builder
	b.WriteString("GET /ws HTTP/1.1\r\nHost: " + host + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// rawExchange dials srv over TLS as leaf, writes req and returns every byte
// the server sent until it closed the connection. A server that leaves the
// connection open fails the test when the read deadline passes.
func rawExchange(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf, req string) string {
	tb.Helper()
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), clientTLS(set, leaf))
	require.NoError(tb, err)
	defer conn.Close()
	return exchange(tb, conn, req)
}

// rawPlainExchange is rawExchange without TLS.
func rawPlainExchange(tb testing.TB, srv *httptest.Server, req string) string {
	tb.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(tb, err)
	defer conn.Close()
	return exchange(tb, conn, req)
}

func exchange(tb testing.TB, conn net.Conn, req string) string {
	tb.Helper()
	require.NoError(tb, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := io.WriteString(conn, req)
	require.NoError(tb, err)
	raw, err := io.ReadAll(conn) // returns only at EOF: the server closed
	require.NoError(tb, err, "the server must close the connection after a refusal")
	return string(raw)
}

// refusal is the exact response certgate writes on a hijacked connection,
// spelled out here independently of the implementation.
func refusal(status int, reason, body string) string {
	body += "\n"
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, reason) +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"Connection: close\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Cache-Control: no-store\r\n" +
		"\r\n" + body
}

// nginxHeaders are the request header lines nginx's preset reads, carrying
// leaf and its intermediates as $ssl_client_escaped_cert would.
func nginxHeaders(leaf *testpki.Leaf) []string {
	return []string{
		"X-SSL-Client-Cert: " + url.PathEscape(string(leaf.ChainPEM())),
		"X-SSL-Client-Verify: SUCCESS",
	}
}

// headerAuth is the header-mode baseline: nginx preset, loopback proxies,
// the test root, CN alice allowed.
func headerAuth(tb testing.TB, set *testpki.Set, now func() time.Time) *httpauth.Authenticator {
	tb.Helper()
	return mustNew(tb, httpauth.Config{
		Source:    httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: loopback},
		Roots:     set.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Now:       now,
	})
}

// tlsState is what the TLS layer records for a client that sent leaf with
// RequestClientCert: the certificates, nothing verified.
func tlsState(leaf *testpki.Leaf) *tls.ConnectionState {
	certs := append([]*x509.Certificate{leaf.Cert}, leaf.Intermediates()...)
	return &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
}

// assertOnlyFixedHead checks that the status line and headers of raw are
// exactly the fixed ones, with nothing from the request or authorizer.
func assertOnlyFixedHead(tb testing.TB, raw string, status int) {
	tb.Helper()
	head, _, ok := strings.Cut(raw, "\r\n\r\n")
	require.True(tb, ok, "no end of headers in %q", raw)
	lines := strings.Split(head, "\r\n")
	assert.Equal(tb, fmt.Sprintf("HTTP/1.1 %d %s", status, http.StatusText(status)), lines[0])
	names := make([]string, 0, len(lines)-1)
	for _, l := range lines[1:] {
		name, _, _ := strings.Cut(l, ":")
		names = append(names, name)
	}
	assert.Equal(tb, []string{"Content-Type", "Content-Length", "Connection", "X-Content-Type-Options", "Cache-Control"}, names)
	assert.Equal(tb, 1, strings.Count(raw, "HTTP/1."), "exactly one response")
}

// httpClient is a client presenting leaf to srv's TLS listener, over HTTP/2
// when the server offers it.
func httpClient(tb testing.TB, set *testpki.Set, leaf *testpki.Leaf) *http.Client {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: clientTLS(set, leaf), ForceAttemptHTTP2: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get fetches url with c and returns the response and its body.
func get(tb testing.TB, c *http.Client, url string) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, string(body)
}
