package certgate_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gateCase is one client of the gate's baseline Authenticator and its
// answer. The tests below send every case by a different path: raw over
// HTTP/1.1, through a recorder, over HTTP/2.
type gateCase struct {
	name   string
	leaf   *testpki.Leaf
	status int
	text   string // the refusal's public text, or the greeting
}

// body is what a ResponseWriter receives for c.
func (c gateCase) body() string {
	if c.status == http.StatusOK {
		return c.text
	}
	return c.text + "\n"
}

func gateCases(t *testing.T, set *testpki.Set) []gateCase {
	// A leaf of its own: the Authenticator remembers a leaf that once
	// chained to its roots, so set.Alice, accepted in the first case, would
	// pass alone.
	alone := mint(t, set, testpki.WithCN("alice"))
	alone.Chain = nil
	return []gateCase{
		{"accepted", set.Alice, http.StatusOK, "hello alice"},
		{"no certificate", nil, 401, "client certificate required"},
		{"unknown CA", set.Stranger, 401, "client certificate signed by unknown authority"},
		{"forged self-signed admin", set.Forged, 401, "client certificate signed by unknown authority"},
		{"missing intermediate", alone, 401, "client certificate signed by unknown authority"},
		{"expired leaf", set.Expired, 401, "client certificate expired"},
		{"not yet valid", set.NotYetValid, 401, "client certificate not yet valid"},
		{"server-only key usage", set.ServerOnly, 401, "client certificate not valid for client authentication"},
		{"denied CN", set.Bob, 403, "access denied"},
	}
}

// Each refusal is read off a real TLS connection: the exact bytes, then
// EOF.
func TestGateRefusesOnTheWire(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gateHandler(wstest.TLSAuth(t, set)), false)

	for _, tt := range gateCases(t, set) {
		if tt.status == http.StatusOK {
			continue // TestGateAccepts
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := wstest.RawRefusal(t, srv, set, tt.leaf)
			assert.Equal(t, wstest.Refusal(tt.status, tt.text), raw)
		})
	}
}

func TestGateAccepts(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gateHandler(wstest.TLSAuth(t, set)), false)
	assertGreetsAlice(t, srv, set)
}

// No TLS at all is "nothing offered", answered raw too.
func TestGatePlainHTTPIsRefusedRaw(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := httptest.NewServer(gateHandler(wstest.TLSAuth(t, set)))
	t.Cleanup(srv.Close)

	raw := wstest.RawPlainRefusal(t, srv, nil)
	assert.Equal(t, wstest.Refusal(401, "client certificate required"), raw)
}

// Behind a proxy the refusal is the same raw answer.
func TestGateHeaderSourceIsRefusedRawToo(t *testing.T) {
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

func TestGateHijacksWrappedWriterOnlyWithUnwrap(t *testing.T) {
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

// A refusal answered through the writer ends
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

// A writer that cannot hijack gets the same status, and the same text in
// the body, through WriteError.
func TestGateAnswersRecorderWithTheSameStatus(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	gate := gateHandler(wstest.TLSAuth(t, set))

	for _, tt := range gateCases(t, set) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tlsRequest(tt.leaf)
			w := httptest.NewRecorder()
			gate.ServeHTTP(w, r)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.body(), w.Body.String())
		})
	}
}

// A gate without an Authenticator is closed.
func TestGateWithoutAuthenticatorRefusesAll(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	var a *httpauth.Authenticator

	srv := wstest.NewTLSServer(t, set, gateHandler(a), false)
	raw := wstest.RawRefusal(t, srv, set, set.Alice)
	assert.Equal(t, wstest.Refusal(500, "Internal Server Error"), raw)

	w := httptest.NewRecorder()
	gateHandler(a).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"), "the headers of every refusal")
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
}

// Upgrade hands back a refusal as an *httpauth.Error wrapping its reason,
// with the identity whenever one was established, and never calls upgrade
// then; an admitted request reaches upgrade with its identity in r.
func TestUpgradeReturnsTheRefusalAndTheIdentity(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	a := wstest.TLSAuth(t, set)
	tests := []struct {
		name   string
		auth   *httpauth.Authenticator
		leaf   *testpki.Leaf
		status int    // 0: admitted
		reason error  // the sentinel the refusal wraps, if it has one
		cn     string // of the identity returned, "" for none
	}{
		{"accepted", a, set.Alice, 0, nil, "alice"},
		{"denied CN", a, set.Bob, http.StatusForbidden, httpauth.ErrDenied, "bob"},
		{"no certificate", a, nil, http.StatusUnauthorized, httpauth.ErrNoCertificate, ""},
		{"unknown CA", a, set.Stranger, http.StatusUnauthorized, httpauth.ErrUnknownAuthority, ""},
		{"no authenticator", nil, set.Alice, http.StatusInternalServerError, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tlsRequest(tt.leaf)
			w := httptest.NewRecorder()
			upgraded := false

			conn, id, err := certgate.Upgrade(w, r, tt.auth, func(_ http.ResponseWriter, r *http.Request) (*fakeConn, error) {
				upgraded = true
				fromCtx, ok := httpauth.FromContext(r.Context())
				if assert.True(t, ok, "the identity reaches upgrade") {
					assert.Equal(t, "alice", fromCtx.Certificate.Subject.CommonName)
				}
				return newFakeConn(), nil
			})
			if tt.cn == "" {
				assert.Nil(t, id)
			} else if assert.NotNil(t, id) {
				assert.Equal(t, tt.cn, id.Certificate.Subject.CommonName)
			}
			if tt.status == 0 {
				assert.NoError(t, err)
				assert.True(t, upgraded)
				assert.NotNil(t, conn)
				return
			}
			var refusal *httpauth.Error
			assert.ErrorAs(t, err, &refusal)
			if tt.reason != nil {
				assert.ErrorIs(t, err, tt.reason)
			}
			assert.Equal(t, tt.status, w.Code)
			assert.False(t, upgraded)
			assert.Nil(t, conn)
		})
	}
}

// A panicking authorizer is a 500 whose body says nothing of the
// panic, and the server goes on serving.
func TestAUTHZ01_PanickingAuthorizerIsRefusedWith500(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := authzServer(t, set, httpauth.Config{
		Authorize: func(_ context.Context, id *httpauth.Identity) error {
			if id.Certificate.Subject.CommonName == "bob" {
				panic("secret-panic-xyzzy")
			}
			return nil
		},
	})

	for range 2 {
		raw := wstest.RawRefusal(t, srv, set, set.Bob)
		assert.Equal(t, wstest.Refusal(500, "authorization unavailable"), raw)
		assert.NotContains(t, raw, "xyzzy")
	}
	assertGreetsAlice(t, srv, set)
}

// An authorizer that blocks is cut off by AuthorizeTimeout before
// anything is hijacked, and a client that goes away cancels its context.
func TestAUTHZ02_BlockingAuthorizerIsCutOffBeforeHijack(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		srv := authzServer(t, set, httpauth.Config{
			AuthorizeTimeout: 50 * time.Millisecond,
			Authorize: func(ctx context.Context, _ *httpauth.Identity) error {
				<-ctx.Done()
				return ctx.Err()
			},
		})
		raw := wstest.RawRefusal(t, srv, set, set.Alice)
		assert.Equal(t, wstest.Refusal(503, "authorization unavailable"), raw)
	})

	t.Run("client disconnect", func(t *testing.T) {
		t.Parallel()
		started := make(chan struct{})
		ended := make(chan error, 1)
		result := make(chan bool, 1)
		a := mustNew(t, httpauth.Config{
			Roots:            set.Root.Pool(),
			AuthorizeTimeout: time.Minute,
			Authorize: func(ctx context.Context, _ *httpauth.Identity) error {
				close(started)
				<-ctx.Done()
				ended <- ctx.Err()
				return ctx.Err()
			},
		})
		srv := wstest.NewTLSServer(t, set, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, ok := certgate.Gate(w, r, a)
			result <- ok
		}), false)

		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), wstest.ClientTLS(set, set.Alice))
		require.NoError(t, err)
		_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
		require.NoError(t, err)
		<-started
		require.NoError(t, conn.Close())

		assert.ErrorIs(t, wstest.Receive(t, ended), context.Canceled, "the request context ended with the client")
		assert.False(t, wstest.Receive(t, result), "never passes after the client left")
	})
}

// Over HTTP/2 nothing is hijacked; refusals go through the
// ResponseWriter with the statuses HTTP/1 gets raw.
func TestPROTO01_HTTP2RefusalsGoThroughTheWriter(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gateHandler(wstest.TLSAuth(t, set)), true)

	for _, tt := range gateCases(t, set) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, wstest.HTTPClient(t, set, tt.leaf), srv.URL)
			assert.Equal(t, 2, resp.ProtoMajor)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.body(), body)
		})
	}
}

// hijackSpy can hijack but records whether anyone asked.
type hijackSpy struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackSpy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	return nil, nil, http.ErrHijacked
}

// A request that is not HTTP/1 is never hijacked, even by a
// writer that offers it.
func TestPROTO01_HTTP2RequestIsNeverHijacked(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	r := tlsRequest(set.Bob)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	w := &hijackSpy{ResponseRecorder: httptest.NewRecorder()}

	_, ok := certgate.Gate(w, r, wstest.TLSAuth(t, set))
	assert.False(t, ok)
	assert.False(t, w.hijacked)
	assert.Equal(t, http.StatusForbidden, w.Code)
}
