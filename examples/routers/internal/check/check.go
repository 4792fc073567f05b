// Package check runs the router examples end to end: each example's
// server on a loopback TLS listener, reached by real clients (net/http and
// gorilla/websocket's Dialer) with certificates from package pki. chi,
// echo and gin serve the same two routes under the same rules, so one
// suite, [Router], checks all three.
package check

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/certgate/certgate/examples/routers/internal/pki"
	"github.com/certgate/certgate/httpauth"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Start serves srv's handler with srv's TLS configuration on a loopback
// port until the test ends.
func Start(tb testing.TB, srv *http.Server) *httptest.Server {
	tb.Helper()
	ts := httptest.NewUnstartedServer(srv.Handler)
	ts.TLS = srv.TLSConfig
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	return ts
}

// clientTLS trusts serverCA and always sends cert, or no certificate when
// cert is nil, whatever CAs the server names: the cases under test include
// certificates it does not name, which curl and browsers send too.
func clientTLS(serverCA *pki.CA, cert *tls.Certificate) *tls.Config {
	return &tls.Config{
		RootCAs:    serverCA.Pool(),
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		},
	}
}

// Get sends a GET with cert and returns the status and body.
func Get(tb testing.TB, serverCA *pki.CA, cert *tls.Certificate, url string) (int, string) {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: clientTLS(serverCA, cert), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url, nil)
	require.NoError(tb, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, string(body)
}

// Dial opens a WebSocket with cert (nil: none). A refused upgrade returns
// websocket.ErrBadHandshake and the raw refusal as resp, its body read
// into the returned string.
func Dial(tb testing.TB, serverCA *pki.CA, cert *tls.Certificate, url string) (*websocket.Conn, *http.Response, string, error) {
	tb.Helper()
	d := websocket.Dialer{TLSClientConfig: clientTLS(serverCA, cert)}
	conn, resp, err := d.DialContext(tb.Context(), url, nil)
	if conn != nil {
		tb.Cleanup(func() { conn.Close() })
	}
	var body string
	if resp != nil && resp.Body != nil {
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		resp.Body.Close()
	}
	return conn, resp, body, err
}

// Echo expects the greeting, then sends msg and expects it back.
func Echo(tb testing.TB, conn *websocket.Conn, greeting, msg string) {
	tb.Helper()
	_, got, err := conn.ReadMessage()
	require.NoError(tb, err)
	assert.Equal(tb, greeting, string(got))
	require.NoError(tb, conn.WriteMessage(websocket.TextMessage, []byte(msg)))
	_, got, err = conn.ReadMessage()
	require.NoError(tb, err)
	assert.Equal(tb, msg, string(got))
}

// whoami is the JSON the examples answer on GET /api/whoami.
type whoami struct {
	CN          string `json:"cn"`
	Fingerprint string `json:"fingerprint"`
}

// Router checks a chi, echo or gin example. newServer gets the CA whose
// clients are trusted and the server certificate, as main passes them
// from files, and must admit certificates of that CA with the
// organizational unit "chat": on GET /api/whoami, answering the caller's
// common name and fingerprint as JSON; on GET /ws, greeting with
// "hello <cn>" and echoing every message.
func Router(t *testing.T, newServer func(roots *x509.CertPool, cert tls.Certificate) (*http.Server, error)) {
	ca := pki.NewCA(t, "chat CA")
	other := pki.NewCA(t, "other CA")
	srv, err := newServer(ca.Pool(), ca.Server(t))
	require.NoError(t, err)
	ts := Start(t, srv)
	wsURL := "wss" + ts.URL[len("https"):] + "/ws"

	alice := ca.Client(t, "alice", "chat")
	carol := ca.Client(t, "carol", "sales")
	stranger := other.Client(t, "alice", "chat") // alice's name, unknown CA
	tests := []struct {
		name   string
		cert   *tls.Certificate
		status int    // for REST; the upgrade answers 101 instead of 200
		body   string // in a refusal
	}{
		{"member", &alice, http.StatusOK, ""},
		{"not a member", &carol, http.StatusForbidden, "access denied"},
		{"unknown CA", &stranger, http.StatusUnauthorized, "unknown authority"},
		{"no certificate", nil, http.StatusUnauthorized, "certificate required"},
	}
	for _, tt := range tests {
		t.Run("REST/"+tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := Get(t, ca, tt.cert, ts.URL+"/api/whoami")
			assert.Equal(t, tt.status, status)
			if tt.status != http.StatusOK {
				assert.Contains(t, body, tt.body)
				return
			}
			var got whoami
			require.NoError(t, json.Unmarshal([]byte(body), &got), body)
			assert.Equal(t, "alice", got.CN)
			assert.Equal(t, httpauth.Fingerprint(tt.cert.Leaf), got.Fingerprint)
		})
		t.Run("WebSocket/"+tt.name, func(t *testing.T) {
			t.Parallel()
			conn, resp, body, err := Dial(t, ca, tt.cert, wsURL)
			if tt.status == http.StatusOK {
				require.NoError(t, err)
				Echo(t, conn, "hello alice", "ping")
				return
			}
			assert.ErrorIs(t, err, websocket.ErrBadHandshake)
			require.NotNil(t, resp)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, body, tt.body)
		})
	}
}
