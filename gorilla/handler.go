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
// serve's ctx ends when the request's does, or when trust in the
// certificate ends: at expiry, or when a re-check finds it revoked or its
// CA withdrawn (see [httpauth.Authenticator.Hold]); the connection is then
// closed by [Disconnect]. serve owns conn and should close it when done. A
// nil u means a zero websocket.Upgrader; u is copied, so changing it later
// has no effect.
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
		Serve:      serve,
		Disconnect: Disconnect,
	}
}

// Disconnect tells the client why it is disconnected, with a close frame
// of status 1008 (policy violation) and [certgate.CloseReason] of cause,
// then closes conn. It may run beside serve's reads and writes
// (WriteControl may), and a client that does not read gets no more than a
// second to take the frame.
func Disconnect(conn *websocket.Conn, cause error) {
	msg := websocket.FormatCloseMessage(websocket.ClosePolicyViolation, certgate.CloseReason(cause))
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = conn.Close()
}
