package certgate_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGateRefusesOnTheWire reads each refusal off a real TLS connection:
// the exact bytes, then EOF.
func TestGateRefusesOnTheWire(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gateHandler(wstest.TLSAuth(t, set)), false)
	aliceAlone := &testpki.Leaf{Cert: set.Alice.Cert, Key: set.Alice.Key}

	tests := []struct {
		name   string
		leaf   *testpki.Leaf
		status int
		body   string
	}{
		{"no certificate", nil, 401, "client certificate required"},
		{"unknown CA", set.Stranger, 401, "client certificate signed by unknown authority"},
		{"forged self-signed admin", set.Forged, 401, "client certificate signed by unknown authority"},
		{"missing intermediate", aliceAlone, 401, "client certificate signed by unknown authority"},
		{"expired leaf", set.Expired, 401, "client certificate expired"},
		{"not yet valid", set.NotYetValid, 401, "client certificate not yet valid"},
		{"server-only key usage", set.ServerOnly, 401, "client certificate not valid for client authentication"},
		{"denied CN", set.Bob, 403, "access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := wstest.RawRefusal(t, srv, set, tt.leaf)
			assert.Equal(t, wstest.Refusal(tt.status, tt.body), raw)
		})
	}
}

func TestGateAccepts(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gateHandler(wstest.TLSAuth(t, set)), false)

	resp, body := get(t, wstest.HTTPClient(t, set, set.Alice), srv.URL)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello alice", body)
}

// TestGatePlainHTTP: no TLS at all is "nothing offered", answered raw too.
func TestGatePlainHTTP(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := httptest.NewServer(gateHandler(wstest.TLSAuth(t, set)))
	t.Cleanup(srv.Close)

	raw := wstest.RawPlainRefusal(t, srv, nil)
	assert.Equal(t, wstest.Refusal(401, "client certificate required"), raw)
}

// TestGateHeaderSource: behind a proxy the refusal is the same raw answer.
func TestGateHeaderSource(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := httptest.NewServer(gateHandler(headerAuth(t, set, nil)))
	t.Cleanup(srv.Close)

	failedAtProxy := wstest.NginxHeader(set.Alice)
	failedAtProxy.Set("X-SSL-Client-Verify", "FAILED:expired")
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"denied CN", wstest.NginxHeader(set.Bob), wstest.Refusal(403, "access denied")},
		{"certificate header missing", http.Header{"X-Ssl-Client-Verify": {"SUCCESS"}},
			wstest.Refusal(401, "client certificate required")},
		{"malformed header", http.Header{"X-Ssl-Client-Cert": {"%zz"}, "X-Ssl-Client-Verify": {"SUCCESS"}},
			wstest.Refusal(401, "client certificate not accepted")},
		{"verification failed at the proxy", failedAtProxy, wstest.Refusal(401, "client certificate not accepted")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, wstest.RawPlainRefusal(t, srv, tt.header))
		})
	}

	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		req.Header = wstest.NginxHeader(set.Alice)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// unwrapping and opaque wrap a ResponseWriter the way logging middleware
// does, with and without the Unwrap method http.ResponseController needs.
type unwrapping struct{ http.ResponseWriter }

func (u unwrapping) Unwrap() http.ResponseWriter { return u.ResponseWriter }

type opaque struct{ http.ResponseWriter }

func TestGateWrappedResponseWriter(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	a := wstest.TLSAuth(t, set)
	gate := gateHandler(a)

	t.Run("with Unwrap: hijacked and answered raw", func(t *testing.T) {
		t.Parallel()
		srv := wstest.NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gate.ServeHTTP(unwrapping{w}, r)
		}), false)
		raw := wstest.RawRefusal(t, srv, set, set.Bob)
		assert.Equal(t, wstest.Refusal(403, "access denied"), raw)
	})
	t.Run("without Unwrap: answered through the writer", func(t *testing.T) {
		t.Parallel()
		srv := wstest.NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gate.ServeHTTP(opaque{w}, r)
		}), false)
		resp, body := get(t, wstest.HTTPClient(t, set, set.Bob), srv.URL)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Equal(t, "access denied\n", body)
		assert.NotEmpty(t, resp.Header.Get("Date"), "net/http wrote it, not the raw writer")
	})
}

// TestGateClosesWithoutHijack: a refusal answered through the writer ends
// the connection as a raw one does. Two requests go out pipelined on one
// connection; the server answers the first and closes without reading the
// second, where a kept connection would answer it too.
func TestGateClosesWithoutHijack(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	gate := gateHandler(wstest.TLSAuth(t, set))

	tests := []struct {
		name    string
		handler http.Handler
	}{
		{"writer without Unwrap", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gate.ServeHTTP(opaque{w}, r)
		})},
		{"http.TimeoutHandler", http.TimeoutHandler(gate, 10*time.Second, "timeout")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
			get := "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
			_, err = io.WriteString(conn, get+get)
			require.NoError(t, err)

			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			assert.Equal(t, "client certificate required\n", string(body))
			assert.True(t, resp.Close, "Connection: close")
			_, err = br.ReadByte()
			assert.ErrorIs(t, err, io.EOF, "the second request was answered")
		})
	}
}

// TestGateRecorder: a writer that cannot hijack gets the same status and
// body through WriteError.
func TestGateRecorder(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	a := wstest.TLSAuth(t, set)

	tests := []struct {
		name   string
		leaf   *testpki.Leaf
		status int
		body   string
	}{
		{"no certificate", nil, 401, "client certificate required\n"},
		{"denied CN", set.Bob, 403, "access denied\n"},
		{"accepted", set.Alice, 200, "hello alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "https://example.test/ws", nil)
			if tt.leaf != nil {
				r.TLS = tlsState(tt.leaf)
			}
			w := httptest.NewRecorder()
			gateHandler(a).ServeHTTP(w, r)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.body, w.Body.String())
		})
	}
}

// TestGateNilAuthenticator: a gate without an Authenticator is closed.
func TestGateNilAuthenticator(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	var a *httpauth.Authenticator

	srv := wstest.NewTLSServer(t, set, gateHandler(a), false)
	raw := wstest.RawRefusal(t, srv, set, set.Alice)
	assert.Equal(t, wstest.Refusal(500, "Internal Server Error"), raw)

	w := httptest.NewRecorder()
	gateHandler(a).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
}
