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
// Otherwise Gate has answered the refusal and returns false. Over HTTP/1.x
// it hijacks the connection through [http.ResponseController], writes the
// raw refusal on it and closes it, as [Reject] does. Where the connection
// cannot be hijacked it answers through w instead, with the same status, by
// [httpauth.Authenticator.WriteError], the only path on which
// [httpauth.Config.ErrorHandler] applies; over HTTP/1.x it adds
// "Connection: close", so that net/http closes the connection after it.
// That is the case for HTTP/2, for recorders, for wrappers of w without an
// Unwrap method, and inside [http.TimeoutHandler].
//
// The identity is then nil, or the refused identity when the certificate
// was valid but authorization failed, for logging only. Branch on ok alone.
//
// Gate must run before anything writes to w: a response already begun
// cannot be taken back. Over a hijacked connection the client would see
// what was written (a short body still buffered is dropped), then the raw
// refusal: a malformed response. Through w, the status already written
// would stand, the refusal's text would be appended to the body, and the
// connection might stay open.
//
// A nil a refuses every request with 500.
func Gate(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator) (*httpauth.Identity, bool) {
	id, err := admit(w, r, a)
	return id, err == nil
}

// Upgrade gates r like [Gate] and, if it may pass, calls upgrade with the
// identity in r's context (httpauth.FromContext), so origin checks and
// subprotocol choice can use it. It returns upgrade's connection and error
// with the identity; the error of a refusal is the *[httpauth.Error]. id is
// set whenever one was established, also on failure, for logging; use conn
// only when err is nil.
func Upgrade[C any](w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, upgrade func(http.ResponseWriter, *http.Request) (C, error)) (conn C, id *httpauth.Identity, err error) {
	if id, err = admit(w, r, a); err != nil {
		return conn, id, err
	}
	conn, err = upgrade(w, r.WithContext(httpauth.NewContext(r.Context(), id)))
	return conn, id, err
}

// admit is Gate returning the refusal: the identity comes back also with
// the error when authorization failed.
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

// writeRefusal answers r with the refusal err, as [Gate] describes; a nil a
// answers in plain text.
func writeRefusal(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, err error) {
	// An HTTP/2 stream shares its connection with others: never hijack
	// one, even through a writer that offers to.
	if r.ProtoMajor == 1 {
		conn, _, herr := http.NewResponseController(w).Hijack()
		if herr == nil {
			// The buffered reader may hold bytes the client sent after its
			// request. They are out of the socket already, so dropping them
			// cannot provoke a reset; Reject drains what is still in it.
			_ = Reject(conn, err)
			return
		}
		// Otherwise net/http would read the rest of an unread body (up to
		// 256 KiB) to keep the connection, and the refused client would get
		// a connection to send its next request on.
		w.Header().Set("Connection", "close")
	}
	if a != nil {
		a.WriteError(w, r, err)
		return
	}
	// Without an Authenticator there is no ErrorHandler; the plain writer
	// keeps the headers every refusal has.
	var e *httpauth.Error
	if !errors.As(err, &e) {
		e = &httpauth.Error{Status: http.StatusInternalServerError, Reason: err}
	}
	httpauth.WritePlainError(w, e)
}
