package certgate_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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

func TestReject(t *testing.T) {
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

// CONN-01: a client that never reads holds Reject for WriteTimeout and no
// longer, and the connection is closed afterwards. synctest's clock makes
// the five seconds pass at once and lets the test check them exactly.
func TestCONN01ClientNeverReads(t *testing.T) {
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

// CONN-01: a client that disconnected before the refusal costs nothing:
// Reject returns the write error at once and still closes.
func TestCONN01ClientGone(t *testing.T) {
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
