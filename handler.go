package certgate

import (
	"context"
	"errors"
	"net/http"

	"github.com/certgate/certgate/httpauth"
)

// ErrCertificateExpired is what the cause (context.Cause) of a connection
// context that ended because the client's certificate reached its NotAfter
// wraps: it is [httpauth.ErrExpired], kept under this name for callers
// written before connections were re-checked.
var ErrCertificateExpired = httpauth.ErrExpired

var errIncompleteHandler = &httpauth.Error{
	Status: http.StatusInternalServerError,
	Reason: errors.New("certgate: Handler needs Upgrade and Serve"),
}

// Handler runs [Gate], then Upgrade, then Serve with the identity; C is
// the WebSocket package's connection type.
//
// Each connection is held with [httpauth.Authenticator.Hold] while Serve
// runs: it ends when the certificate expires, and when a re-check after a
// change of trust (a CA rotated out, a CRL or deny-list that revokes it)
// no longer admits it.
//
// Auth, Upgrade and Serve must be set; a Handler missing one refuses every
// request with 500, before any upgrade. A Handler may serve any number of
// requests concurrently.
type Handler[C any] struct {
	// Auth authenticates and authorizes each request before the upgrade.
	Auth *httpauth.Authenticator

	// Upgrade upgrades a request that passed the gate; r carries the
	// identity in its context, as with [Upgrade]. On failure it must have
	// answered the request itself, with an error status (the WebSocket
	// packages do); Handler then returns without writing anything.
	Upgrade func(w http.ResponseWriter, r *http.Request) (C, error)

	// Serve handles the upgraded connection. ctx derives from the request's
	// context and also ends when trust in the certificate ends, right after
	// Disconnect returns or half a second after it began, whichever is
	// first, with the reason as its cause (context.Cause): an
	// *httpauth.Error wrapping [httpauth.ErrExpired], [httpauth.ErrRevoked],
	// [httpauth.ErrUnknownAuthority], …. Serve may thus see the connection
	// fail an instant before ctx ends. The connection is Serve's to close.
	Serve func(ctx context.Context, conn C, id *httpauth.Identity)

	// Disconnect is called once, from its own goroutine, if trust in the
	// certificate ends while Serve runs, with the reason ([CloseReason]
	// gives its short text). It should tell the peer (a close frame with
	// code 1008) and close conn, within a bounded time: ServeHTTP waits
	// for it. It runs concurrently with Serve. Nil: only ctx ends.
	Disconnect func(conn C, cause error)
}

// ServeHTTP gates r, upgrades it and serves the connection until Serve
// returns. No goroutine it starts outlives it.
func (h *Handler[C]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// This frame stays on the stack under Serve for the connection's life,
	// so it holds one pointer: a few bytes more per frame are enough to
	// keep a resting connection's goroutine on a 16 KiB stack where a bare
	// upgrade's shrinks to 8 KiB.
	s := h.open(w, r)
	if s == nil {
		return
	}
	defer s.release()
	h.Serve(s.ctx, s.conn, s.id)
}

// session is a connection that passed the gate and is held.
type session[C any] struct {
	ctx     context.Context
	conn    C
	id      *httpauth.Identity
	release func()
}

// open gates and upgrades r and holds the connection; nil when r was
// refused or the upgrade failed, both answered.
func (h *Handler[C]) open(w http.ResponseWriter, r *http.Request) *session[C] {
	if h.Upgrade == nil || h.Serve == nil {
		// A missing function must fail before the upgrade, not leave an
		// upgraded connection nobody serves or closes.
		writeRefusal(w, r, h.Auth, errIncompleteHandler)
		return nil
	}
	conn, id, err := Upgrade(w, r, h.Auth, h.Upgrade)
	if err != nil {
		return nil // answered by the gate or by the upgrader
	}
	r = r.WithContext(httpauth.NewContext(r.Context(), id))
	var end func(error)
	if h.Disconnect != nil {
		end = func(cause error) { h.Disconnect(conn, cause) }
	}
	s := &session[C]{conn: conn, id: id}
	s.ctx, s.release = h.Auth.Hold(r.Context(), r, id, end)
	return s
}
