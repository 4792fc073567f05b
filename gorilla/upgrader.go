package gorilla

import (
	"net/http"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/gorilla/websocket"
)

// Upgrader is a websocket.Upgrader that admits only clients Auth accepts.
// Set the embedded Upgrader's fields as usual; a nil Auth refuses every
// request.
type Upgrader struct {
	websocket.Upgrader
	Auth *httpauth.Authenticator
}

// Upgrade authenticates r and, if it may pass, upgrades it with the
// embedded Upgrader; CheckOrigin then sees the identity in r's context
// (httpauth.FromContext).
//
// A refused request has been answered and its connection closed when
// Upgrade returns a nil conn and an error wrapping the *httpauth.Error. A
// failed upgrade has been answered by websocket.Upgrader. id is the
// client's identity whenever one was established, also on failure, for
// logging; use the conn only when err is nil.
//
// Unlike Handler, Upgrade does not end the connection when the certificate
// expires: close it by id.NotAfter yourself.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*websocket.Conn, *httpauth.Identity, error) {
	return certgate.Upgrade(w, r, u.Auth, func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
		return u.Upgrader.Upgrade(w, r, responseHeader)
	})
}
