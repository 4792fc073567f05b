package gorilla_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandlerAccepts(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gorilla.Handler(wstest.TLSAuth(t, set), nil, echo(nil)), false)

	conn, resp, err := dial(t, srv, set, set.Alice, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("ping")))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "ping", string(msg))
}

// TestHandlerRefuses reads each refusal off the wire: exact bytes, then EOF.
func TestHandlerRefuses(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gorilla.Handler(wstest.TLSAuth(t, set), nil, echo(nil)), false)

	tests := []struct {
		name string
		leaf *testpki.Leaf
		want string
	}{
		{"unknown CA", set.Stranger, wstest.Refusal(401, "client certificate signed by unknown authority")},
		{"denied CN", set.Bob, wstest.Refusal(403, "access denied")},
		{"no certificate", nil, wstest.Refusal(401, "client certificate required")},
		{"forged", set.Forged, wstest.Refusal(401, "client certificate signed by unknown authority")},
		{"expired", set.Expired, wstest.Refusal(401, "client certificate expired")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, wstest.RawRefusal(t, srv, set, tt.leaf))

			// gorilla's own client sees the same status, and no connection.
			conn, resp, err := dial(t, srv, set, tt.leaf, nil)
			assert.ErrorIs(t, err, websocket.ErrBadHandshake)
			assert.Nil(t, conn)
			require.NotNil(t, resp)
			assert.NotEqual(t, http.StatusSwitchingProtocols, resp.StatusCode)
		})
	}
}

// A request that passes the gate but is no upgrade gets gorilla's error
// status, never 101; over HTTP/2 (PROTO-01) refusals keep their statuses.
func TestHandlerCannotUpgrade(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	h := gorilla.Handler(wstest.TLSAuth(t, set), nil, echo(nil))

	tests := []struct {
		name   string
		http2  bool
		leaf   *testpki.Leaf
		status int
	}{
		{"HTTP/1.1 GET", false, set.Alice, http.StatusBadRequest},
		{"HTTP/2 accepted", true, set.Alice, http.StatusBadRequest},
		{"HTTP/2 denied", true, set.Bob, http.StatusForbidden},
		{"HTTP/2 no certificate", true, nil, http.StatusUnauthorized},
		{"HTTP/2 unknown CA", true, set.Stranger, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := wstest.NewTLSServer(t, set, h, tt.http2)
			tr := &http.Transport{TLSClientConfig: wstest.ClientTLS(set, tt.leaf), ForceAttemptHTTP2: true}
			t.Cleanup(tr.CloseIdleConnections)
			resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/ws")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
			if tt.http2 {
				assert.Equal(t, 2, resp.ProtoMajor)
			}
		})
	}
}

// LIFE-01: a connection admitted by a certificate is closed with 1008 when
// the certificate expires, for TLS and header certificates alike. The
// Authenticator's clock is moved so NotAfter is 300ms away in real time.
func TestLIFE01Expiry(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)

	tests := []struct {
		name   string
		server func(t *testing.T, h http.Handler) *httptest.Server
		auth   func(now func() time.Time) httpauth.Config
		header http.Header
	}{
		{
			name:   "tls certificate",
			server: func(t *testing.T, h http.Handler) *httptest.Server { return wstest.NewTLSServer(t, set, h, false) },
			auth: func(now func() time.Time) httpauth.Config {
				return httpauth.Config{Roots: set.Root.Pool(), Authorize: httpauth.AllowCN("alice"), Now: now}
			},
		},
		{
			name: "header certificate",
			server: func(t *testing.T, h http.Handler) *httptest.Server {
				srv := httptest.NewServer(h) // the proxy terminated TLS
				t.Cleanup(srv.Close)
				return srv
			},
			auth: func(now func() time.Time) httpauth.Config {
				return httpauth.Config{
					Source:    httpauth.Source{Preset: httpauth.PresetNginx, TrustedProxies: wstest.Loopback},
					Roots:     set.Root.Pool(),
					Authorize: httpauth.AllowCN("alice"),
					Now:       now,
				}
			},
			header: wstest.NginxHeader(set.Alice),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var clock wstest.SkewedClock
			a, err := httpauth.New(tt.auth(clock.Now))
			require.NoError(t, err)
			causes := make(chan error, 1)
			srv := tt.server(t, gorilla.Handler(a, nil, echo(causes)))

			clock.ExpireIn(set.Alice, 300*time.Millisecond)
			conn, _, err := dial(t, srv, set, set.Alice, tt.header)
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))

			_, _, err = conn.ReadMessage()
			var ce *websocket.CloseError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, websocket.ClosePolicyViolation, ce.Code)
			assert.Equal(t, "certificate expired", ce.Text)
			assert.ErrorIs(t, wstest.Receive(t, causes), certgate.ErrCertificateExpired)
		})
	}
}

// The Upgrader passed to Handler is used, and its CheckOrigin sees the
// identity that passed the gate.
func TestHandlerUsesUpgrader(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	seen := make(chan string, 1)
	u := &websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		id, ok := httpauth.FromContext(r.Context())
		if ok {
			seen <- id.Certificate.Subject.CommonName
		}
		return false
	}}
	srv := wstest.NewTLSServer(t, set, gorilla.Handler(wstest.TLSAuth(t, set), u, echo(nil)), false)

	conn, resp, err := dial(t, srv, set, set.Alice, nil)
	assert.ErrorIs(t, err, websocket.ErrBadHandshake)
	assert.Nil(t, conn)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "alice", wstest.Receive(t, seen))
}
