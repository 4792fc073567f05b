package nhooyr_test

//lint:file-ignore SA1019 this package exists for users of the deprecated nhooyr.io/websocket.

import (
	"context"
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
	"nhooyr.io/websocket"
)

// tlsAuth is the TLS-mode baseline: the test root, CN alice allowed.
func tlsAuth(tb testing.TB, set *testpki.Set) *httpauth.Authenticator {
	tb.Helper()
	a, err := httpauth.New(httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice")})
	require.NoError(tb, err)
	return a
}

// newTLSServer starts h on loopback TLS. The listener requests a client
// certificate and leaves its verification to the Authenticator.
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

// clientTLS trusts set's root and always sends leaf (nothing when nil),
// whether or not the server lists its issuer.
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

// httpClient presents leaf, over HTTP/2 when the server offers it.
func httpClient(tb testing.TB, set *testpki.Set, leaf *testpki.Leaf) *http.Client {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: clientTLS(set, leaf), ForceAttemptHTTP2: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// dial opens a WebSocket to srv as leaf with the package's own client.
func dial(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf, h http.Header) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: clientTLS(set, leaf)}
	tb.Cleanup(tr.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}, HTTPHeader: h})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if conn != nil {
		tb.Cleanup(func() { conn.CloseNow() })
	}
	return conn, resp, err
}

// rawRefusal dials srv as leaf, sends a handwritten upgrade request
// (RFC 6455, section 4.1) and returns all the server sent until it closed
// the connection; one left open fails at the read deadline.
func rawRefusal(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf) string {
	tb.Helper()
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), clientTLS(set, leaf))
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

// refusal is the exact raw response of a refusal, spelled out by hand.
func refusal(status int, body string) string {
	body += "\n"
	return fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, http.StatusText(status)) +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"Connection: close\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Cache-Control: no-store\r\n" +
		"\r\n" + body
}

// echo serves messages back until the connection ends, then reports why
// its context ended, if it did. Reads take ctx, as real handlers do.
func echo(causes chan<- error) func(context.Context, *websocket.Conn, *httpauth.Identity) {
	return func(ctx context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
		defer conn.CloseNow()
		for {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				break
			}
			if err := conn.Write(ctx, typ, msg); err != nil {
				break
			}
		}
		if causes != nil {
			// At expiry ctx ends right after the close handshake.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			causes <- context.Cause(ctx)
		}
	}
}

// skewedClock is an Authenticator clock that can be moved so a certificate
// expires soon in real time (LIFE-01 without long sleeps).
type skewedClock struct{ offset atomic.Int64 }

func (c *skewedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// expireIn makes leaf's NotAfter d away by this clock.
func (c *skewedClock) expireIn(leaf *testpki.Leaf, d time.Duration) {
	c.offset.Store(int64(time.Until(leaf.Cert.NotAfter) - d))
}

// loopback is the header-mode baseline of SECURITY_CASES.md.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// nginxHeader carries leaf as nginx's $ssl_client_escaped_cert would.
func nginxHeader(leaf *testpki.Leaf) http.Header {
	return http.Header{
		"X-Ssl-Client-Cert":   {url.PathEscape(string(leaf.ChainPEM()))},
		"X-Ssl-Client-Verify": {"SUCCESS"},
	}
}

// receive waits for one value, failing the test rather than hanging.
func receive[T any](tb testing.TB, ch <-chan T) T {
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
