package certgate_test

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// A client still sending its request body when refused reads the refusal,
// not a reset: Reject must not close with unread bytes in the socket, or
// the kernel answers with a TCP RST that can overtake the response. Each
// case repeats: the loss is a race, which some cases lost only once in a
// few dozen runs.
func TestCONN01_ClientStillSendingReadsTheRefusal(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	gate := gateHandler(wstest.TLSAuth(t, set))
	plain := httptest.NewServer(gate)
	t.Cleanup(plain.Close)
	secure := wstest.NewTLSServer(t, set, gate, false)

	tests := []struct {
		name   string
		srv    *httptest.Server
		client *http.Client
		size   int
	}{
		{"plain HTTP, 64 KiB body", plain, plain.Client(), 64 << 10},
		{"plain HTTP, 8 MiB body", plain, plain.Client(), 8 << 20},
		{"TLS without certificate, 64 KiB body", secure, wstest.HTTPClient(t, set, nil), 64 << 10},
		{"TLS without certificate, 8 MiB body", secure, wstest.HTTPClient(t, set, nil), 8 << 20},
	}
	const runs = 40
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := make([]byte, tt.size)
			var lost int
			var first error
			for range runs {
				status, err := post(tt.client, tt.srv.URL, body)
				if err != nil {
					lost++
					first = cmp.Or(first, err)
					continue
				}
				assert.Equal(t, http.StatusUnauthorized, status)
			}
			assert.Zero(t, lost, "%d of %d refusals lost, the first: %v", lost, runs, first)
		})
	}
}

// post sends body to url and returns the status of the complete response.
func post(c *http.Client, url string, body []byte) (int, error) {
	resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// loopbackPair returns both ends of a fresh loopback TCP connection, with a
// TLS handshake done over it when secure.
func loopbackPair(t *testing.T, set *testpki.Set, secure bool) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // nil once ln closes, if the dial failed
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	server = <-accepted
	require.NotNil(t, server)
	t.Cleanup(func() { _ = server.Close() })
	if secure {
		return handshake(t, set, server, client)
	}
	return server, client
}

// transport returns the connection beneath TLS, or conn itself.
func transport(conn net.Conn) net.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return tc.NetConn()
	}
	return conn
}

// On real sockets, bytes the client sent and the server never read
// do not turn the close into a reset that destroys the refusal, and a
// client that never stops sending is cut off all the same.
func TestCONN01_UnreadBytesDoNotResetTheRefusal(t *testing.T) {
	t.Parallel()
	set := testpki.MustSet(t)
	noCert := &httpauth.Error{Status: 401, Reason: httpauth.ErrNoCertificate}
	want := wstest.Refusal(401, "client certificate required")

	transports := []struct {
		name   string
		secure bool
	}{{"plain", false}, {"tls", true}}
	for _, tr := range transports {
		t.Run(tr.name+"/client reads only after the close", func(t *testing.T) {
			t.Parallel()
			server, client := loopbackPair(t, set, tr.secure)
			// A body the gate never reads; it fits the socket buffers, so
			// the client finishes sending before it reads, as simple
			// clients do.
			_, err := client.Write(make([]byte, 64<<10))
			require.NoError(t, err)

			assert.NoError(t, certgate.Reject(server, noCert))
			raw, err := io.ReadAll(client)
			assert.NoError(t, err)
			assert.Equal(t, want, string(raw))
			// TCP itself ends with a FIN, also beneath TLS, whose
			// close_notify alone would hide a reset that follows it.
			_, err = transport(client).Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "a reset ended the connection")
		})
		t.Run(tr.name+"/client never stops sending", func(t *testing.T) {
			t.Parallel()
			server, client := loopbackPair(t, set, tr.secure)
			sending := make(chan error, 1)
			go func() {
				chunk := make([]byte, 32<<10)
				for {
					if _, err := client.Write(chunk); err != nil {
						sending <- err
						return
					}
				}
			}()

			assert.NoError(t, certgate.Reject(server, noCert))
			assert.Error(t, <-sending, "the server closed the connection")
		})
	}
}

// halfPipe is a pipe end that offers CloseWrite, as a TCP connection does,
// so that Reject drains it. A pipe cannot half-close, so it only counts.
type halfPipe struct {
	net.Conn
	closeWrites atomic.Int32
}

func (h *halfPipe) CloseWrite() error {
	h.closeWrites.Add(1)
	return nil
}

// afterRefusal is what a client does once it has read the refusal.
type afterRefusal int

const (
	goesQuiet    afterRefusal = iota // waits for the close
	keepsSending                     // sends until the close
	stopsReading                     // before close_notify, TLS only
)

// After its refusal Reject drains for DrainTimeout and at most
// DrainLimit bytes, and no client stretches that: one that goes quiet, one
// that never stops sending, one that stops reading before close_notify.
// synctest's clock lets the test check the bounds exactly.
func TestCONN01_DrainAfterTheRefusalIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		secure   bool
		delay    time.Duration // before the client reads the refusal
		then     afterRefusal
		wantTime time.Duration
		wantSent int
		wantErr  error
		wantHalf int32 // half-closes of the transport
	}{
		{name: "plain, client goes quiet", then: goesQuiet, wantTime: certgate.DrainTimeout, wantHalf: 1},
		{name: "tls, client goes quiet", secure: true, then: goesQuiet, wantTime: certgate.DrainTimeout, wantHalf: 1},
		{name: "plain, client never stops sending", then: keepsSending,
			wantTime: certgate.DrainTimeout, wantSent: certgate.DrainLimit, wantHalf: 1},
		{name: "tls, client never stops sending", secure: true, then: keepsSending,
			wantTime: certgate.DrainTimeout, wantSent: certgate.DrainLimit, wantHalf: 1},
		// crypto/tls would give close_notify 5 s from when it is sent,
		// here 7 s after the start; WriteTimeout counts from the start.
		{name: "tls, client stops reading before close_notify", secure: true, delay: 2 * time.Second,
			then: stopsReading, wantTime: certgate.WriteTimeout, wantErr: io.ErrClosedPipe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s, raw := net.Pipe()
				half := &halfPipe{Conn: s}
				var server, client net.Conn = half, raw
				if tt.secure {
					server, client = handshake(t, testpki.MustSet(t), half, raw)
				}
				want := wstest.Refusal(403, "no")
				rejected, done := make(chan struct{}), make(chan struct{})
				sent := 0
				go func() {
					defer close(done)
					defer raw.Close()
					time.Sleep(tt.delay)
					got := make([]byte, len(want))
					_, err := io.ReadFull(client, got)
					assert.NoError(t, err)
					assert.Equal(t, want, string(got))
					if tt.then == stopsReading {
						<-rejected
					} else if tt.secure {
						_, err = client.Read(got) // the close_notify
						assert.ErrorIs(t, err, io.EOF)
					}
					if tt.then != keepsSending {
						_, err = raw.Read(got)
						assert.Error(t, err, "the server closed the connection")
						return
					}
					chunk := make([]byte, 4<<10)
					for {
						n, err := raw.Write(chunk)
						sent += n
						if err != nil {
							return // the server closed the connection
						}
					}
				}()

				start := time.Now()
				err := certgate.Reject(server, &httpauth.Error{Status: 403, Public: "no"})
				elapsed := time.Since(start)
				close(rejected)
				<-done

				assert.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, tt.wantTime, elapsed)
				assert.Equal(t, tt.wantSent, sent)
				assert.Equal(t, tt.wantHalf, half.closeWrites.Load())
			})
		})
	}
}
