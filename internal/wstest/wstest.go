package wstest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/stretchr/testify/require"
)

// TLSAuth is the TLS-mode baseline: an Authenticator trusting set's root
// that allows CN alice.
func TLSAuth(tb testing.TB, set *testpki.Set) *httpauth.Authenticator {
	tb.Helper()
	a, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice")})
	require.NoError(tb, err)
	return a
}

// NewTLSServer starts h on loopback TLS, over HTTP/2 when http2 is set, and
// closes it when the test ends. The listener requests a client certificate
// and leaves its verification to the Authenticator.
func NewTLSServer(tb testing.TB, set *testpki.Set, h http.Handler, http2 bool) *httptest.Server {
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

// ClientTLS is a client configuration that trusts set's root and always
// sends leaf (nothing when nil), whether or not the server lists its issuer.
func ClientTLS(set *testpki.Set, leaf *testpki.Leaf) *tls.Config {
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

// HTTPClient is a client that presents leaf, over HTTP/2 when the server
// offers it, and gives up on a request after 10 seconds.
func HTTPClient(tb testing.TB, set *testpki.Set, leaf *testpki.Leaf) *http.Client {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: ClientTLS(set, leaf), ForceAttemptHTTP2: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// URL is the WebSocket URL of the /ws path on srv.
func URL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// RawRefusal dials srv as leaf, sends a handwritten upgrade request for /ws
// (RFC 6455, section 4.1) and returns all the server sent until it closed
// the connection; one left open fails at the read deadline.
func RawRefusal(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf) string {
	tb.Helper()
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), ClientTLS(set, leaf))
	require.NoError(tb, err)
	defer conn.Close()
	require.NoError(tb, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: localhost\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(tb, err)
	raw, err := io.ReadAll(conn)
	require.NoError(tb, err, "the server must close the connection after a refusal")
	return string(raw)
}

// Refusal is the exact raw response of a refusal with status and body,
// spelled out by hand.
func Refusal(status int, body string) string {
	body += "\n"
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, http.StatusText(status)) +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"Connection: close\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Cache-Control: no-store\r\n" +
		"\r\n" + body
}

// SkewedClock is an Authenticator clock that can be moved so a certificate
// expires soon in real time (LIFE-01 without long sleeps). Its zero value
// tells the real time.
type SkewedClock struct{ offset atomic.Int64 }

// Now is the real time moved by the clock's offset; pass it as
// httpauth.Config.Now.
func (c *SkewedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// ExpireIn makes leaf's NotAfter d away by this clock.
func (c *SkewedClock) ExpireIn(leaf *testpki.Leaf, d time.Duration) {
	c.offset.Store(int64(time.Until(leaf.Cert.NotAfter) - d))
}

// Loopback is the header-mode baseline of SECURITY_CASES.md: the trusted
// proxies are the loopback addresses.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// NginxHeader carries leaf as nginx's $ssl_client_escaped_cert would.
func NginxHeader(leaf *testpki.Leaf) http.Header {
	return http.Header{
		"X-Ssl-Client-Cert":   {url.PathEscape(string(leaf.ChainPEM()))},
		"X-Ssl-Client-Verify": {"SUCCESS"},
	}
}

// Receive waits up to 10 seconds for one value from ch, failing the test
// rather than hanging.
func Receive[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		require.FailNow(tb, "timed out")
		var zero T
		return zero
	}
}
