package certgate_test

// Named tests for the security cases of SECURITY_CASES.md that the gate
// owns. Each reads the raw response off a real connection.

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RSP-01: text with CR/LF, from an authorizer or a certificate's CN, ends up
// in the body of one response with control characters removed.
func TestRSP01HeaderInjection(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	const inject = "x\r\nSet-Cookie: pwn=1"
	srv := authzServer(t, set, httpauth.Config{
		Authorize: func(_ context.Context, id *httpauth.Identity) error {
			if cn := id.Certificate.Subject.CommonName; cn != "alice" {
				return &httpauth.Error{Status: http.StatusForbidden, Public: "denied: " + cn}
			}
			return &httpauth.Error{Status: http.StatusForbidden, Public: inject}
		},
	})

	tests := []struct {
		name string
		leaf *testpki.Leaf
		body string
	}{
		{"authorizer text", set.Alice, "xSet-Cookie: pwn=1"},
		{"text built from the CN", mint(t, set, testpki.WithCN(inject)), "denied: xSet-Cookie: pwn=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := wstest.RawRefusal(t, srv, set, tt.leaf)
			assert.Equal(t, wstest.Refusal(403, tt.body), raw)
			assertOnlyFixedHead(t, raw, 403)
			assert.NotContains(t, raw, "\r\nSet-Cookie")
		})
	}
}

// RSP-02: non-ASCII and client-supplied text never reaches the status line
// or the headers; the body is short, valid UTF-8 without control
// characters.
func TestRSP02ClientTextNeverInHead(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	const cn = "Zoë \u0085Ünïcødé\u2028 \x1b[31m"
	srv := authzServer(t, set, httpauth.Config{
		Authorize: func(_ context.Context, id *httpauth.Identity) error {
			cn := id.Certificate.Subject.CommonName
			if cn == "bob" {
				return &httpauth.Error{Status: http.StatusForbidden, Public: strings.Repeat("é", 500) + "\xff"}
			}
			return &httpauth.Error{Status: http.StatusForbidden, Public: "denied: " + cn}
		},
	})
	proxied := httptest.NewServer(gateHandler(headerAuth(t, set, nil)))
	t.Cleanup(proxied.Close)

	tests := []struct {
		name     string
		exchange func(t *testing.T) string
		status   int
		absent   string
	}{
		{"non-ASCII CN echoed by the authorizer", func(t *testing.T) string {
			return wstest.RawRefusal(t, srv, set, mint(t, set, testpki.WithCN(cn)))
		}, 403, "\u0085"},
		{"oversized authorizer text", func(t *testing.T) string {
			return wstest.RawRefusal(t, srv, set, set.Bob)
		}, 403, "\xff"},
		{"non-ASCII verify header", func(t *testing.T) string {
			header := wstest.NginxHeader(set.Alice)
			header.Set("X-SSL-Client-Verify", "FAILED:ünï")
			return wstest.RawPlainRefusal(t, proxied, header)
		}, 401, "ünï"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.exchange(t)
			assertOnlyFixedHead(t, raw, tt.status)
			head, body, _ := strings.Cut(raw, "\r\n\r\n")
			for _, c := range head {
				assert.True(t, c == '\r' || c == '\n' || (c >= 0x20 && c < 0x7f), "non-ASCII or control byte %q in head", c)
			}
			assert.True(t, utf8.ValidString(body))
			assert.LessOrEqual(t, len(body), httpauth.MaxPublicText+1)
			text := strings.TrimSuffix(body, "\n")
			assert.False(t, strings.ContainsFunc(text, unicode.IsControl), "control character in %q", text)
			assert.NotContains(t, raw, tt.absent)
		})
	}
}

// RSP-03: an authorizer's status outside 400–599 becomes 500; a refusal
// never says 101.
func TestRSP03StatusClamp(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	tests := []struct {
		status int
		want   int
	}{
		{101, 500}, {200, 500}, {302, 500}, {0, 500}, {-1, 500}, {600, 500}, {1000, 500},
		{399, 500}, {400, 400}, {418, 418}, {599, 599},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := authzServer(t, set, httpauth.Config{
				Authorize: func(context.Context, *httpauth.Identity) error {
					return &httpauth.Error{Status: tt.status, Public: "status test"}
				},
			})
			raw := wstest.RawRefusal(t, srv, set, set.Alice)
			assert.Equal(t, wstest.Refusal(tt.want, "status test"), raw)
			assert.NotContains(t, raw, "101")
		})
	}
}

// AUTHZ-01: a panicking authorizer is a 500 whose body says nothing of the
// panic, and the server goes on serving.
func TestAUTHZ01PanickingAuthorizer(t *testing.T) {
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
	resp, body := get(t, wstest.HTTPClient(t, set, set.Alice), srv.URL)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "hello alice", body)
}

// AUTHZ-02: an authorizer that blocks is cut off by AuthorizeTimeout before
// anything is hijacked, and a client that goes away cancels its context.
func TestAUTHZ02BlockingAuthorizer(t *testing.T) {
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

// PROTO-01: over HTTP/2 nothing is hijacked; refusals go through the
// ResponseWriter with the statuses HTTP/1 gets raw.
func TestPROTO01HTTP2(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	srv := wstest.NewTLSServer(t, set, gateHandler(wstest.TLSAuth(t, set)), true)

	tests := []struct {
		name   string
		leaf   *testpki.Leaf
		status int
		body   string
	}{
		{"accepted", set.Alice, 200, "hello alice"},
		{"denied CN", set.Bob, 403, "access denied\n"},
		{"no certificate", nil, 401, "client certificate required\n"},
		{"unknown CA", set.Stranger, 401, "client certificate signed by unknown authority\n"},
		{"forged", set.Forged, 401, "client certificate signed by unknown authority\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, wstest.HTTPClient(t, set, tt.leaf), srv.URL)
			assert.Equal(t, 2, resp.ProtoMajor)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, tt.body, body)
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

// PROTO-01: a request that is not HTTP/1 is never hijacked, even by a
// writer that offers it.
func TestPROTO01NoHijackAttempt(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	r := httptest.NewRequest(http.MethodGet, "https://example.test/ws", nil)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.TLS = tlsState(set.Bob)
	w := &hijackSpy{ResponseRecorder: httptest.NewRecorder()}

	_, ok := certgate.Gate(w, r, wstest.TLSAuth(t, set))
	assert.False(t, ok)
	assert.False(t, w.hijacked)
	assert.Equal(t, http.StatusForbidden, w.Code)
}
