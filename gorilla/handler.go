package gorilla

import (
	"context"
	"net/http"
	"time"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/gorilla/websocket"
)

// Handler returns an http.Handler that admits only clients a accepts,
// upgrades them with u and calls serve with the connection and identity.
// serve's ctx ends when the request's does or when the certificate
// expires; at expiry the client gets a close frame with status 1008
// (policy violation) and the connection is closed. serve owns conn and
// should close it when done. A nil u means a zero websocket.Upgrader; u is
// copied, so changing it later has no effect.
func Handler(a *httpauth.Authenticator, u *websocket.Upgrader, serve func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity)) http.Handler {
	var up websocket.Upgrader
	if u != nil {
		up = *u
	}
	return &certgate.Handler[*websocket.Conn]{
		Auth: a,
		Upgrade: func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
			return up.Upgrade(w, r, nil)
		},
		Serve:  serve,
		Expire: expire,
	}
}

// expire tells the client why it is disconnected, then closes. WriteControl
// may run concurrently with serve's reads and writes, and its deadline
// keeps a client that does not read from holding the close.
func expire(conn *websocket.Conn) {
	msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "certificate expired")
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(certgate.WriteTimeout))
	_ = conn.Close()
}
