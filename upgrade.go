package certgate

import (
	"errors"
	"net/http"

	"github.com/certgate/certgate/httpauth"
)

// errNoAuthenticator refuses every request reaching a gate built without an
// Authenticator: a missing setting must never open the gate.
var errNoAuthenticator = &httpauth.Error{
	Status: http.StatusInternalServerError,
	Reason: errors.New("certgate: no Authenticator configured"),
}

// Gate authenticates and authorizes r with a, before anything is upgraded.
// The authorizer runs with r's context plus [httpauth.Config.AuthorizeTimeout].
//
// When the request may pass, Gate returns its identity and true, and has
// written nothing: the caller upgrades or answers as it likes.
//
// Otherwise Gate has answered the refusal and returns false: over HTTP/1.x
// a fixed raw response on the hijacked connection, which is then closed
// (see [Reject]); where hijacking is impossible (HTTP/2, recorders,
// wrappers without Unwrap, http.TimeoutHandler), through w with the same
// status, and over HTTP/1.x with "Connection: close", so that net/http
// closes the connection after it.
// The identity is then nil, or the refused identity when the certificate
// was valid but authorization failed, for logging only. Branch on ok alone.
//
// Gate must run before anything writes to w: a response already begun
// cannot be taken back. Hijacking makes net/http send the status and
// headers already written, with whatever of the body has left its buffer
// (a short body still in it is dropped); the raw refusal follows them on
// the wire and the connection is closed, so the client sees a malformed
// response. Where hijacking is impossible, the status already written
// stands, the refusal's text is appended to the body, and the connection
// may stay open.
//
// A nil a refuses every request with 500.
func Gate(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator) (*httpauth.Identity, bool) {
	id, err := admit(w, r, a)
	return id, err == nil
}

// Upgrade gates r like [Gate] and, if it may pass, calls upgrade with the
// identity in r's context (httpauth.FromContext), so origin checks and
// subprotocol choice can use it. It returns upgrade's connection and error
// together with the identity. The adapters' Upgrade and Accept functions are
// this with their package's upgrader; use it directly for another one.
//
// A refused request has been answered and its connection closed, and the
// error is the *[httpauth.Error]. id is set whenever one was established,
// also on failure, for logging; use conn only when err is nil.
func Upgrade[C any](w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, upgrade func(http.ResponseWriter, *http.Request) (C, error)) (conn C, id *httpauth.Identity, err error) {
	if id, err = admit(w, r, a); err != nil {
		return conn, id, err
	}
	conn, err = upgrade(w, r.WithContext(httpauth.NewContext(r.Context(), id)))
	return conn, id, err
}

// admit authenticates r and answers a refusal; the identity comes back
// also with the error when authorization failed.
func admit(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator) (*httpauth.Identity, error) {
	if a == nil {
		writeRefusal(w, r, nil, errNoAuthenticator)
		return nil, errNoAuthenticator
	}
	id, err := a.Authenticate(r)
	if err != nil {
		writeRefusal(w, r, a, err)
		return id, err
	}
	return id, nil
}

// writeRefusal answers r with the refusal err.
//
// Over HTTP/1.x it hijacks the connection through
// http.NewResponseController, so wrappers with an Unwrap method keep
// working, and writes the refusal on it with [Reject], which closes it.
// Where hijacking is impossible (HTTP/2, recorders, wrappers without Unwrap,
// http.TimeoutHandler) it answers through w with the same status, by
// [httpauth.Authenticator.WriteError] (plain text when a is nil).
func writeRefusal(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, err error) {
	// HTTP/2 streams share a connection, so there is nothing to hijack and
	// nothing to close; no attempt is made (PROTO-01).
	if r.ProtoMajor == 1 {
		conn, _, herr := http.NewResponseController(w).Hijack()
		if herr == nil {
			// The buffered reader may hold bytes the client sent after its
			// request. They are out of the socket already, so dropping them
			// cannot provoke a reset; Reject drains what is still in it.
			_ = Reject(conn, err)
			return
		}
		// Answered through w, the refusal must end the connection all the
		// same: net/http would otherwise read the rest of an unread body
		// (up to 256 KiB) to keep it, and the refused client would get a
		// connection to send its next request on.
		w.Header().Set("Connection", "close")
	}
	if a != nil {
		a.WriteError(w, r, err)
		return
	}
	status, text := refusalOf(err)
	http.Error(w, text, status)
}
