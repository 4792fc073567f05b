package nhooyr

//lint:file-ignore SA1019 this package exists for users of the deprecated nhooyr.io/websocket.

import (
	"context"
	"net/http"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"nhooyr.io/websocket"
)

// Handler returns an http.Handler that admits only clients a accepts,
// accepts their WebSocket with opts (nil for the defaults) and calls serve
// with the connection and identity. serve's ctx ends when the request's
// does, or when trust in the certificate ends: at expiry, or when a
// re-check finds it revoked or its CA withdrawn (see
// [httpauth.Authenticator.Hold]); the connection is then closed by
// [Disconnect]. serve owns conn and should close it when done.
func Handler(a *httpauth.Authenticator, opts *websocket.AcceptOptions, serve func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity)) http.Handler {
	return &certgate.Handler[*websocket.Conn]{
		Auth: a,
		Upgrade: func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
			return websocket.Accept(w, r, opts)
		},
		Serve:      serve,
		Disconnect: Disconnect,
	}
}

// Disconnect closes conn with StatusPolicyViolation (1008) and
// [certgate.CloseReason] of cause ("certificate revoked", …), running the
// closing handshake. It is safe beside serve's reads and writes. It
// returns when the peer answers, or when a read bound to the connection's
// context fails (the [Handler]'s context ends half a second after
// Disconnect starts, whatever the peer does); against a peer that never
// answers and a serve that does not read, the package's own timeouts
// bound it, at about five seconds.
func Disconnect(conn *websocket.Conn, cause error) {
	_ = conn.Close(websocket.StatusPolicyViolation, certgate.CloseReason(cause))
}
