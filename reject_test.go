package certgate_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
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

// closeCounter records Close calls on the connection it wraps.
type closeCounter struct {
	net.Conn
	closes atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closes.Add(1)
	return c.Conn.Close()
}

// rejectOverPipe runs Reject on one end of a pipe and returns what the
// other end read until EOF, and Reject's result.
func rejectOverPipe(t *testing.T, err error) (string, error) {
	t.Helper()
	server, client := net.Pipe()
	conn := &closeCounter{Conn: server}
	done := make(chan error, 1)
	go func() { done <- certgate.Reject(conn, err) }()
	raw, rerr := io.ReadAll(client)
	require.NoError(t, rerr)
	require.NoError(t, client.Close())
	assert.Equal(t, int32(1), conn.closes.Load(), "Reject closes the connection once")
	return string(raw), <-done
}

func TestRejectAnswersEachErrorWithItsPublicText(t *testing.T) {
	t.Parallel()
	denied := &httpauth.Error{Status: http.StatusForbidden, Reason: httpauth.ErrDenied, Public: "not on the list"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no certificate", &httpauth.Error{Status: 401, Reason: httpauth.ErrNoCertificate},
			wstest.Refusal(401, "client certificate required")},
		{"denied with public text", denied, wstest.Refusal(403, "not on the list")},
		{"wrapped httpauth error", fmt.Errorf("lookup: %w", denied), wstest.Refusal(403, "not on the list")},
		{"status without reason phrase", &httpauth.Error{Status: 499, Public: "closed"}, wstest.Refusal(499, "closed")},
		{"status out of range", &httpauth.Error{Status: 1000, Public: "odd"}, wstest.Refusal(500, "odd")},
		{"foreign error keeps its text private", errors.New("db password=hunter2"),
			wstest.Refusal(500, "Internal Server Error")},
		{"nil error", nil, wstest.Refusal(500, "Internal Server Error")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := rejectOverPipe(t, tt.err)
			assert.NoError(t, err)
			assert.Equal(t, tt.want, raw)
			assert.NotContains(t, raw, "hunter2")
		})
	}
}

// handshake runs TLS over s (server) and c (client) and returns both TLS
// ends. TLS 1.2 without tickets is strictly ping-pong, which an unbuffered
// pipe needs: TLS 1.3 has both sides write at once.
func handshake(t *testing.T, set *testpki.Set, s, c net.Conn) (*tls.Conn, *tls.Conn) {
	t.Helper()
	ts := tls.Server(s, &tls.Config{
		Certificates:           []tls.Certificate{set.Server.TLSCertificate()},
		MaxVersion:             tls.VersionTLS12,
		SessionTicketsDisabled: true,
	})
	tc := tls.Client(c, &tls.Config{RootCAs: set.Root.Pool(), ServerName: "localhost"})
	done := make(chan error, 1)
	go func() { done <- tc.Handshake() }()
	require.NoError(t, ts.Handshake())
	require.NoError(t, <-done)
	return ts, tc
}

// A client that never reads holds Reject for WriteTimeout and no
// longer, and the connection is closed afterwards. synctest's clock makes
// the five seconds pass at once and lets the test check them exactly.
func TestCONN01_ClientThatNeverReadsIsCutOffAtWriteTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wrap func(t *testing.T, server, client net.Conn) (net.Conn, net.Conn)
	}{
		{"plain", func(_ *testing.T, s, c net.Conn) (net.Conn, net.Conn) { return s, c }},
		{"tls", func(t *testing.T, s, c net.Conn) (net.Conn, net.Conn) {
			// A TLS close sends close_notify under a fresh deadline of its
			// own; Reject must not wait for that too. The set is minted
			// inside the bubble, whose clock starts in 2000.
			return handshake(t, testpki.MustSet(t), s, c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s, c := net.Pipe()
				server, client := tt.wrap(t, s, c)

				start := time.Now()
				err := certgate.Reject(server, &httpauth.Error{Status: 401, Reason: httpauth.ErrNoCertificate})

				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
				assert.Equal(t, certgate.WriteTimeout, time.Since(start))
				// Closed, not merely idle: were the server's end still
				// open, this read would block and synctest report a
				// deadlock.
				_, rerr := client.Read(make([]byte, 1))
				assert.Error(t, rerr)
				_ = client.Close()
			})
		})
	}
}

// A client that disconnected before the refusal costs nothing:
// Reject returns the write error at once and still closes.
func TestCONN01_ClientGoneBeforeTheRefusalCostsNothing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		server, client := net.Pipe()
		require.NoError(t, client.Close())
		conn := &closeCounter{Conn: server}

		start := time.Now()
		err := certgate.Reject(conn, &httpauth.Error{Status: 403})

		assert.ErrorIs(t, err, io.ErrClosedPipe)
		assert.Zero(t, time.Since(start))
		assert.Equal(t, int32(1), conn.closes.Load())
	})
}

// echoServer serves the gate with an authorizer that refuses everyone with
// text a client chose: "denied: " and its CN, or text for the CN special.
func echoServer(t *testing.T, set *testpki.Set, special, text string) *httptest.Server {
	t.Helper()
	return authzServer(t, set, httpauth.Config{
		Authorize: func(_ context.Context, id *httpauth.Identity) error {
			cn := id.Certificate.Subject.CommonName
			if cn == special {
				return &httpauth.Error{Status: http.StatusForbidden, Public: text}
			}
			return &httpauth.Error{Status: http.StatusForbidden, Public: "denied: " + cn}
		},
	})
}

// Text with CR/LF, from an authorizer or a certificate's CN, ends up
// in the body of one response with control characters removed.
func TestRSP01_CRLFInRefusalTextStaysInTheBody(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	const inject = "x\r\nSet-Cookie: pwn=1"
	srv := echoServer(t, set, "alice", inject)

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

// Non-ASCII and client-supplied text never reaches the status line
// or the headers; the body is short, valid UTF-8 without control
// characters.
func TestRSP02_ClientTextNeverReachesTheHead(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	const cn = "Zoë \u0085Ünïcødé\u2028 \x1b[31m"
	srv := echoServer(t, set, "bob", strings.Repeat("é", 500)+"\xff")
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

// An authorizer's status outside 400–599 becomes 500; a refusal
// never says 101.
func TestRSP03_OddAuthorizerStatusesAreSentAs500(t *testing.T) {
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
