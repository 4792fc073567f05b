package gorilla_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/gorilla/websocket"
)

// dial opens a WebSocket to srv as leaf with gorilla's client.
func dial(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf, h http.Header) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	d := websocket.Dialer{TLSClientConfig: wstest.ClientTLS(set, leaf), HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(wstest.URL(srv), h)
	if resp != nil {
		resp.Body.Close()
	}
	if conn != nil {
		tb.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// echo serves messages back until the connection ends, then reports why
// its context ended, if it did.
func echo(causes chan<- error) func(context.Context, *websocket.Conn, *httpauth.Identity) {
	return func(ctx context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
		defer conn.Close()
		for {
			mt, msg, err := conn.ReadMessage()
			if err != nil {
				break
			}
			if err := conn.WriteMessage(mt, msg); err != nil {
				break
			}
		}
		if causes != nil {
			// At expiry ctx ends right after Expire has closed conn.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			causes <- context.Cause(ctx)
		}
	}
}
