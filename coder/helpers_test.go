package coder_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/testpki"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/coder/websocket"
)

// dial opens a WebSocket to srv as leaf with the package's own client.
func dial(tb testing.TB, srv *httptest.Server, set *testpki.Set, leaf *testpki.Leaf, h http.Header) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	tr := &http.Transport{TLSClientConfig: wstest.ClientTLS(set, leaf)}
	tb.Cleanup(tr.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, wstest.URL(srv), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}, HTTPHeader: h})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if conn != nil {
		tb.Cleanup(func() { conn.CloseNow() })
	}
	return conn, resp, err
}

// echo serves messages back until the connection ends, then reports why
// its context ended, if it did. Reads take ctx, as real handlers do.
func echo(causes chan<- error) func(context.Context, *websocket.Conn, *httpauth.Identity) {
	return func(ctx context.Context, conn *websocket.Conn, _ *httpauth.Identity) {
		defer conn.CloseNow()
		for {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				break
			}
			if err := conn.Write(ctx, typ, msg); err != nil {
				break
			}
		}
		if causes != nil {
			// At expiry ctx ends right after the close handshake.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			causes <- context.Cause(ctx)
		}
	}
}
