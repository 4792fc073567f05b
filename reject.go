package certgate

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/certgate/certgate/httpauth"
)

// Three words for three things:
//
//   - the refusal is the decision: the error that refused the request (an
//     *httpauth.Error) and the status and public text refusalOf derives
//     from it;
//   - the raw response is the refusal as HTTP/1.1 bytes (rawResponse);
//   - the writers put the refusal on the wire: Reject on a connection,
//     writeRefusal on an HTTP request, through Reject when it can hijack.

// WriteTimeout bounds the writes certgate makes on a connection: the raw
// refusal written by [Reject], and the close frame package gorilla sends
// when a certificate expires (coder and nhooyr close under their library's
// own timeouts). A client that never reads cannot hold a server goroutine
// for longer than this.
const WriteTimeout = 5 * time.Second

// Reject writes the raw response for the refusal err on conn and closes
// conn, as [Gate] does on a hijacked connection, for servers that handle
// raw connections themselves. The status (always 400–599) and the public
// text come from err's *[httpauth.Error] and fill the fixed response the
// package documentation describes; any other error, nil included, is
// answered as 500 without its text.
//
// Reject sets its own write deadline ([WriteTimeout]) and always closes
// conn, whatever the write did. After a successful write it lets the client
// finish as net/http does, so that the refusal is not lost to a TCP reset:
// it half-closes conn (after close_notify, on a *[tls.Conn]) and discards
// what the client still sends, at most 256 KiB for at most half a second;
// a conn that cannot half-close is closed without reading. Reject thus
// returns within WriteTimeout plus half a second, with the error of the
// write, or else of the close.
func Reject(conn net.Conn, err error) error {
	deadline := time.Now().Add(WriteTimeout)
	werr := conn.SetWriteDeadline(deadline)
	if werr == nil {
		_, werr = conn.Write(rawResponse(err))
	}
	if werr == nil {
		linger(conn, deadline)
	} else {
		// After a failed write tls.Conn.Close would still try close_notify,
		// under a fresh deadline of its own (see closeNotify); with the
		// transport closed first, it fails at once.
		closeTransport(conn)
	}
	cerr := conn.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

func closeTransport(conn net.Conn) {
	if t, ok := conn.(interface{ NetConn() net.Conn }); ok {
		_ = t.NetConn().Close()
	}
}

// rawResponse renders the refusal err as HTTP/1.1 bytes. Its headers are
// those of [httpauth.Authenticator.WriteError], so a refusal looks the same
// whether or not the connection was hijacked.
func rawResponse(err error) []byte {
	status, text := refusalOf(err)
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

// refusalOf returns the status and the public text of the refusal err.
// An error httpauth did not make carries no public text, so its own text,
// which may hold internal details, is never sent.
func refusalOf(err error) (status int, text string) {
	var e *httpauth.Error
	if errors.As(err, &e) {
		return e.ResponseStatus(), e.PublicText()
	}
	return http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError)
}
