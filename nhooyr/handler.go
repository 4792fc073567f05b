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
// does or when the certificate expires; at expiry the connection is closed
// with StatusPolicyViolation and the reason "certificate expired". serve
// owns conn and should close it when done.
func Handler(a *httpauth.Authenticator, opts *websocket.AcceptOptions, serve func(ctx context.Context, conn *websocket.Conn, id *httpauth.Identity)) http.Handler {
	return &certgate.Handler[*websocket.Conn]{
		Auth: a,
		Upgrade: func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
			return websocket.Accept(w, r, opts)
		},
		Serve: serve,
		Expire: func(conn *websocket.Conn) {
			// Close runs the closing handshake under the package's own
			// timeouts and is safe beside serve's reads and writes.
			_ = conn.Close(websocket.StatusPolicyViolation, "certificate expired")
		},
	}
}
