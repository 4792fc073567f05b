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
// Otherwise Gate has answered the refusal (see [Refuse]) and returns false.
// The identity is then nil, or the refused identity when the certificate
// was valid but authorization failed, for logging only. Branch on ok alone.
//
// A nil a refuses every request with 500.
func Gate(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator) (*httpauth.Identity, bool) {
	if a == nil {
		Refuse(w, r, nil, errNoAuthenticator)
		return nil, false
	}
	id, err := a.Authenticate(r)
	if err != nil {
		Refuse(w, r, a, err)
		return id, false
	}
	return id, true
}

// Refuse answers err, as returned by [httpauth.Authenticator.Authenticate],
// for callers that authenticate by themselves; [Gate] uses it.
//
// Over HTTP/1.x it hijacks the connection through
// http.NewResponseController, so wrappers with an Unwrap method keep
// working, and writes the refusal on it with [Reject], which closes it.
// Where hijacking is impossible (HTTP/2, recorders, wrappers without Unwrap)
// it answers through w with the same status, by
// [httpauth.Authenticator.WriteError] (plain text when a is nil).
func Refuse(w http.ResponseWriter, r *http.Request, a *httpauth.Authenticator, err error) {
	// HTTP/2 streams share a connection, so there is nothing to hijack and
	// nothing to close; no attempt is made (PROTO-01).
	if r.ProtoMajor == 1 {
		conn, _, herr := http.NewResponseController(w).Hijack()
		if herr == nil {
			// The buffered reader may hold bytes the client sent after its
			// request; they are dropped unread with the connection.
			_ = Reject(conn, err)
			return
		}
	}
	if a != nil {
		a.WriteError(w, r, err)
		return
	}
	status, text := refusal(err)
	http.Error(w, text, status)
}
