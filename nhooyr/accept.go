package nhooyr

//lint:file-ignore SA1019 this package exists for users of the deprecated nhooyr.io/websocket.

import (
	"net/http"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"nhooyr.io/websocket"
)

// Accept authenticates r with a and, if it may pass, accepts the WebSocket
// with websocket.Accept and opts; r's context then carries the identity
// (httpauth.FromContext).
//
// A refused request has been answered and its connection closed when
// Accept returns a nil conn and an error wrapping the *httpauth.Error; a
// nil a refuses every request. A failed handshake has been answered by
// websocket.Accept. id is the client's identity whenever one was
// established, also on failure, for logging; use the conn only when err
// is nil.
//
// Unlike [Handler], Accept does not hold the connection: to end it when
// the certificate expires or trust in it is withdrawn, hold it yourself,
//
//	ctx, release := a.Hold(context.Background(), r, id, func(cause error) { nhooyr.Disconnect(conn, cause) })
//	defer release()
//
// and stop serving when ctx ends.
func Accept(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, opts *websocket.AcceptOptions) (*websocket.Conn, *httpauth.Identity, error) {
	return certgate.Upgrade(w, r, a, func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
		return websocket.Accept(w, r, opts)
	})
}
