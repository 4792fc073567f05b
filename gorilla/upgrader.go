package gorilla

import (
	"net/http"

	"github.com/certgate/certgate"
	"github.com/certgate/certgate/httpauth"
	"github.com/gorilla/websocket"
)

// Upgrader upgrades only the clients its Authenticator accepts. It holds
// a copy of a websocket.Upgrader rather than embedding one, so that no
// ungated Upgrade is reachable through it. The zero Upgrader refuses
// every request with 500.
type Upgrader struct {
	auth *httpauth.Authenticator
	up   websocket.Upgrader
}

// NewUpgrader returns an Upgrader that admits only clients a accepts and
// upgrades them with a copy of u, so changing u later has no effect. A nil
// u means a zero websocket.Upgrader; a nil a refuses every request with
// 500.
//
// To gate an existing call site, replace the websocket.Upgrader with
// NewUpgrader(a, &thatUpgrader): its Upgrade calls stay as they are. Code
// that changes the options later, or passes the upgrader on as a
// websocket.Upgrader, needs changing, since u is copied here.
func NewUpgrader(a *httpauth.Authenticator, u *websocket.Upgrader) *Upgrader {
	g := &Upgrader{auth: a}
	if u != nil {
		g.up = *u
	}
	return g
}

// Upgrade has the signature of websocket.Upgrader.Upgrade and is
// [Upgrader.UpgradeWithIdentity] without the identity, for call sites that
// need the gate alone. A refused request has been answered when it
// returns (over HTTP/1.x raw, on the hijacked connection, then closed);
// like gorilla's, the caller must not write to w after an error.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*websocket.Conn, error) {
	conn, _, err := u.UpgradeWithIdentity(w, r, responseHeader)
	return conn, err
}

// UpgradeWithIdentity authenticates r and, if it may pass, upgrades it;
// the websocket.Upgrader's CheckOrigin and Error then see the identity in
// r's context (httpauth.FromContext).
//
// A refused request has been answered and its connection closed when
// UpgradeWithIdentity returns a nil conn and an error wrapping the
// *httpauth.Error. A failed upgrade has been answered by
// websocket.Upgrader. id is the client's identity whenever one was
// established, also on failure, for logging; use the conn only when err is
// nil.
//
// Unlike [Handler], neither form holds the connection: to end it when the
// certificate expires or trust in it is withdrawn, hold it yourself,
//
//	ctx, release := a.Hold(context.Background(), r, id, func(cause error) { gorilla.Disconnect(conn, cause) })
//	defer release()
//
// and stop serving when ctx ends.
func (u *Upgrader) UpgradeWithIdentity(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (conn *websocket.Conn, id *httpauth.Identity, err error) {
	return certgate.Upgrade(w, r, u.auth, func(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
		return u.up.Upgrade(w, r, responseHeader)
	})
}
