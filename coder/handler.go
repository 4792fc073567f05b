package coder

import (
	"context"
	"net/http"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/certgate/certgate/internal/closing"
	"github.com/coder/websocket"
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
// [certgate.CloseReason] of cause ("certificate revoked", …). It waits at
// most a second for the peer's close frame, then closes the connection
// without it. It is safe beside serve's reads and writes.
func Disconnect(conn *websocket.Conn, cause error) {
	closing.Within(closing.Limit,
		func() { _ = conn.Close(websocket.StatusPolicyViolation, certgate.CloseReason(cause)) },
		func() { _ = conn.CloseNow() })
}
