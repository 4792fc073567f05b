package certgate_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mustNew builds an Authenticator or stops the test.
func mustNew(tb testing.TB, cfg httpauth.Config) *httpauth.Authenticator {
	tb.Helper()
	a, err := httpauth.New(cfg)
	require.NoError(tb, err)
	return a
}

// headerAuth is the header-mode baseline: nginx preset, loopback proxies,
// the test root, CN alice allowed.
func headerAuth(tb testing.TB, set *testpki.Set, now func() time.Time) *httpauth.Authenticator {
	tb.Helper()
	return mustNew(tb, httpauth.Config{
		Source:    httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: wstest.Loopback},
		Roots:     set.Root.Pool(),
		Authorize: httpauth.AllowCN("alice"),
		Now:       now,
	})
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

// authzServer serves the gate on loopback TLS with cfg, trusting set's root.
func authzServer(t *testing.T, set *testpki.Set, cfg httpauth.Config) *httptest.Server {
	t.Helper()
	cfg.Roots = set.Root.Pool()
	return wstest.NewTLSServer(t, set, gateHandler(mustNew(t, cfg)), false)
}

// mint issues a client certificate from set's intermediate.
func mint(t *testing.T, set *testpki.Set, opts ...testpki.Option) *testpki.Leaf {
	t.Helper()
	l, err := set.Intermediate.Leaf(opts...)
	require.NoError(t, err)
	return l
}

// tlsRequest is a request for /ws over TLS from a client that sent leaf
// (nothing when nil) under RequestClientCert: r.TLS holds the
// certificates as the TLS layer records them, nothing verified.
func tlsRequest(leaf *testpki.Leaf) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.test/ws", nil)
	if leaf != nil {
		certs := append([]*x509.Certificate{leaf.Cert}, leaf.Intermediates()...)
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: certs}
	}
	return r
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

// assertGreetsAlice checks that alice passes the gate on srv.
func assertGreetsAlice(t *testing.T, srv *httptest.Server, set *testpki.Set) {
	t.Helper()
	resp, body := get(t, wstest.HTTPClient(t, set, set.Alice), srv.URL)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello alice", body)
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
