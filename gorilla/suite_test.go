package gorilla_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	"github.com/certgate/certgate/gorilla"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/wstest"
	"github.com/gorilla/websocket"
)

// adapter is this package and gorilla/websocket as the shared suite
// drives them.
var adapter = wstest.Adapter[*websocket.Conn, *websocket.Upgrader]{
	Handler: gorilla.Handler,
	Upgrade: func(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, u *websocket.Upgrader) (*websocket.Conn, *httpauth.Identity, error) {
		return gorilla.NewUpgrader(a, u).UpgradeWithIdentity(w, r, nil)
	},
	Dial: func(ctx context.Context, url string, cfg *tls.Config, h http.Header) (*websocket.Conn, *http.Response, error) {
		d := websocket.Dialer{TLSClientConfig: cfg}
		return d.DialContext(ctx, url, h)
	},
	Read: func(ctx context.Context, conn *websocket.Conn) ([]byte, error) {
		// gorilla reads by deadline; no deadline clears it.
		deadline, _ := ctx.Deadline()
		if err := conn.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		_, msg, err := conn.ReadMessage()
		return msg, err
	},
	Write: func(_ context.Context, conn *websocket.Conn, msg []byte) error {
		return conn.WriteMessage(websocket.TextMessage, msg)
	},
	Close:      (*websocket.Conn).Close,
	Disconnect: gorilla.Disconnect,
	CloseStatus: func(err error) (int, string) {
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			return 0, ""
		}
		return ce.Code, ce.Text
	},
	Refused:    websocket.ErrBadHandshake,
	NotUpgrade: http.StatusBadRequest,
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
