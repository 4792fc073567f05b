package certgate

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/certgate/certgate/httpauth"
)

// WriteTimeout bounds the writes certgate makes on a connection: the raw
// refusal written by [Reject], and the close frame package gorilla sends
// when a certificate expires (coder and nhooyr close under their library's
// own timeouts). A client that never reads cannot hold a server goroutine
// for longer than this.
const WriteTimeout = 5 * time.Second

// Reject writes a complete HTTP/1.1 refusal for err on conn and closes conn.
// It is what [Gate] does on a hijacked connection, for servers that handle
// raw connections themselves.
//
// The status is err's [httpauth.Error.StatusCode] (always 400–599); any
// error that is not an *[httpauth.Error], nil included, is answered as 500
// without its text. The status line carries the standard reason phrase and
// the headers are fixed; only the error's public text, sanitized by
// httpauth, reaches the body.
//
// Reject sets its own write deadline ([WriteTimeout]) and always closes
// conn, whatever the write did. After a successful write it ends the
// connection the way net/http does, so that the refusal is not lost to a
// TCP reset: it sends close_notify on a *[tls.Conn] (within the same
// deadline), half-closes the TCP connection beneath, and discards what the
// client still sends until the client closes, reading at most 256 KiB and
// waiting at most half a second. A conn without a CloseWrite method
// (beneath TLS, if any) is closed without reading. Reject thus returns
// within WriteTimeout plus half a second, with the error of the write, or
// else of the close.
func Reject(conn net.Conn, err error) error {
	return reject(conn, err, WriteTimeout)
}

// reject is Reject with the timeout as a parameter, so tests can bound a
// client that never reads without waiting for WriteTimeout.
func reject(conn net.Conn, err error, timeout time.Duration) error {
	resp := response(err)
	deadline := time.Now().Add(timeout)
	werr := conn.SetWriteDeadline(deadline)
	if werr == nil {
		_, werr = conn.Write(resp)
	}
	if werr == nil {
		linger(conn, deadline)
	} else {
		// A failed write leaves a TLS connection with an unsent record, and
		// tls.Conn.Close would then try a close_notify alert under a fresh
		// deadline of its own. Closing the transport first makes that alert
		// fail at once, so the deadline above stays the only bound.
		closeTransport(conn)
	}
	cerr := conn.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// closeTransport closes the connection under a TLS layer, if there is one.
func closeTransport(conn net.Conn) {
	if t, ok := conn.(interface{ NetConn() net.Conn }); ok {
		_ = t.NetConn().Close()
	}
}

// response renders the refusal for err. Only the status and the public
// text vary; both come from httpauth, which clamps the one to 400–599 and
// strips control characters from the other, and neither is placed in a
// header. The headers match those of [httpauth.Authenticator.WriteError],
// so a refusal looks the same whether or not the connection was hijacked.
func response(err error) []byte {
	status, text := refusal(err)
	body := text + "\n"

	b := make([]byte, 0, 512) // head and the capped body fit
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n"+
		"Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"+
		"Connection: close\r\n"+
		"X-Content-Type-Options: nosniff\r\n"+
		"Cache-Control: no-store\r\n"+
		"\r\n"...)
	return append(b, body...)
}

// refusal returns the status and the public text to answer err with. An
// error httpauth did not make carries no public text, so its own text,
// which may hold internal details, is never sent.
func refusal(err error) (status int, text string) {
	var e *httpauth.Error
	if errors.As(err, &e) {
		return e.ResponseStatus(), e.PublicText()
	}
	return http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError)
}
