package nhooyr_test

//lint:file-ignore SA1019 this package exists for users of the deprecated nhooyr.io/websocket.

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	"github.com/certgate/certgate/internal/wstest"
	"github.com/certgate/certgate/nhooyr"
	"nhooyr.io/websocket"
)

// adapter is this package and nhooyr.io/websocket as the shared suite
// drives them; coder's suite_test.go differs only in its imports, because
// the two packages' types differ.
var adapter = wstest.Adapter[*websocket.Conn, *websocket.AcceptOptions]{
	Handler: nhooyr.Handler,
	Upgrade: nhooyr.Accept,
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
	Disconnect: nhooyr.Disconnect,
	CloseStatus: func(err error) (int, string) {
		var ce websocket.CloseError
		errors.As(err, &ce)
		return int(ce.Code), ce.Reason
	},
	NotUpgrade: http.StatusUpgradeRequired,
}

func TestAdapter(t *testing.T) {
	wstest.RunAdapterSuite(t, adapter)
}

func TestLiveConnectionClosedOnRevocation(t *testing.T) {
	wstest.LiveClosedOnRevocation(t, adapter)
}

func TestLiveConnectionClosedOnRootRotation(t *testing.T) {
	wstest.LiveClosedOnRootRotation(t, adapter)
}

func TestExpiryContextWithinOneSecond(t *testing.T) {
	wstest.ExpiryContextWithinOneSecond(t, adapter)
}

func TestObserverSeesRawRefusal(t *testing.T) {
	wstest.ObserverSeesRawRefusal(t, adapter)
}
