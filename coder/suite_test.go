package coder_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	"github.com/certgate/certgate/coder"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/coder/websocket"
)

// TestAdapter runs the shared adapter suite over this package and
// github.com/coder/websocket; nhooyr's suite_test.go differs only in its
// imports, because the two packages' types differ.
func TestAdapter(t *testing.T) {
	wstest.RunAdapterSuite(t, wstest.Adapter[*websocket.Conn, *websocket.AcceptOptions]{
		Handler: coder.Handler,
		Upgrade: coder.Accept,
		Dial: func(ctx context.Context, url string, cfg *tls.Config, h http.Header) (*websocket.Conn, *http.Response, error) {
			tr := &http.Transport{TLSClientConfig: cfg}
			defer tr.CloseIdleConnections()
			return websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}, HTTPHeader: h})
		},
		Read: func(ctx context.Context, conn *websocket.Conn) ([]byte, error) {
			_, msg, err := conn.Read(ctx)
			return msg, err
		},
		Write: func(ctx context.Context, conn *websocket.Conn, msg []byte) error {
			return conn.Write(ctx, websocket.MessageText, msg)
		},
		Close: func(conn *websocket.Conn) error {
			return conn.Close(websocket.StatusNormalClosure, "")
		},
		CloseStatus: func(err error) (int, string) {
			var ce websocket.CloseError
			errors.As(err, &ce)
			return int(ce.Code), ce.Reason
		},
		NotUpgrade: http.StatusUpgradeRequired,
	})
}
