package certgate

import (
	"crypto/tls"
	"io"
	"net"
	"time"
)

const (
	// drainTimeout is net/http's rstAvoidanceDelay: about a round trip
	// around the world, time for the refusal to reach the client before
	// anything could reset it.
	drainTimeout = 500 * time.Millisecond

	// drainLimit is net/http's maxPostHandlerReadBytes. It covers a body
	// sent in full before the client reads, without letting a client make
	// the server read at line rate for the whole drainTimeout.
	drainLimit = 256 << 10
)

// linger half-closes conn and drains what the client still sends, as
// net/http's closeWriteAndWait does, so that the caller's Close finds no
// unread bytes: closing a TCP socket with unread data sends a reset, which
// can make the client fail its write, or drop the refusal from its
// buffers, before it has read it (RFC 9112, section 9.6). A client that
// reads the "Connection: close" response closes, which ends the drain
// early; the caps bound one that does not. Writes keep to deadline; a
// failure anywhere only means the close comes sooner.
func linger(conn net.Conn, deadline time.Time) {
	transport := conn
	if tc, ok := conn.(*tls.Conn); ok {
		if !closeNotify(tc, deadline) {
			return
		}
		// The drained bytes are discarded, so they are read beneath TLS:
		// decrypting them would cost the server for nothing.
		transport = tc.NetConn()
	}
	// A conn that cannot half-close is no socket (a pipe, say), and closing
	// it resets nothing.
	cw, ok := transport.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	end := time.Now().Add(drainTimeout)
	if transport.SetReadDeadline(end) != nil {
		return
	}
	if n, _ := io.CopyN(io.Discard, transport, drainLimit); n == drainLimit {
		// Still sending: leave the rest unread, so that TCP flow control
		// stops the client, but give the refusal the whole drainTimeout
		// to reach it before the close resets the connection.
		time.Sleep(time.Until(end))
	}
}

// closeNotify sends tc's close_notify alert and reports whether it went
// out. crypto/tls gives the alert a fresh 5 s deadline of its own; closing
// the transport once deadline passes keeps Reject's deadline the bound of
// every write, also for a client that read the refusal but stopped reading
// before the alert.
func closeNotify(tc *tls.Conn, deadline time.Time) bool {
	t := time.AfterFunc(time.Until(deadline), func() { _ = tc.NetConn().Close() })
	defer t.Stop()
	return tc.CloseWrite() == nil
}
