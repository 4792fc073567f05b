package wstest

import (
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// RawPlainRefusal is [RawRefusal] over plain TCP, as a proxy that ended TLS
// would forward the request: it sends srv an upgrade request for /ws that
// carries header, and returns all the server sent until it closed the
// connection; one left open fails at the read deadline.
func RawPlainRefusal(tb testing.TB, srv *httptest.Server, header http.Header) string {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
	require.NoError(tb, err)
	req.Header = http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		"Sec-Websocket-Version": {"13"},
	}
	maps.Copy(req.Header, header)

	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 10*time.Second)
	require.NoError(tb, err)
	defer conn.Close()
	require.NoError(tb, conn.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(tb, req.Write(conn))
	raw, err := io.ReadAll(conn)
	require.NoError(tb, err, "the server must close the connection after a refusal")
	return string(raw)
}
