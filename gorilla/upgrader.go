package gorilla

import (
	"errors"
	"fmt"
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
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (conn *websocket.Conn, id *httpauth.Identity, err error) {
	if u.Auth == nil {
		// A missing setting must never open the gate.
		err = &httpauth.Error{Status: http.StatusInternalServerError, Reason: errors.New("gorilla: Upgrader.Auth is nil")}
		certgate.Refuse(w, r, nil, err)
		return nil, nil, err
	}
	id, err = u.Auth.Authenticate(r)
	if err != nil {
		certgate.Refuse(w, r, u.Auth, err)
		return nil, id, fmt.Errorf("gorilla: %w", err)
	}
	r = r.WithContext(httpauth.NewContext(r.Context(), id))
	conn, err = u.Upgrader.Upgrade(w, r, responseHeader)
	return conn, id, err
}
