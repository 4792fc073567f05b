package certgate

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/certgate/certgate/httpauth"
)

// ErrCertificateExpired is the cause (context.Cause) of a [Handler]'s
// connection context that ended because the client's certificate reached
// its NotAfter.
var ErrCertificateExpired = errors.New("certgate: client certificate expired")

var errIncompleteHandler = &httpauth.Error{
	Status: http.StatusInternalServerError,
	Reason: errors.New("certgate: Handler needs Upgrade and Serve"),
}

// Handler runs [Gate], then Upgrade, then Serve with the identity; C is
// the WebSocket package's connection type.
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
	// context and also ends when the certificate expires, right after
	// Expire returns, with [ErrCertificateExpired] as its cause; Serve may
	// thus see the connection fail an instant before ctx ends. The
	// connection is Serve's to close.
	Serve func(ctx context.Context, conn C, id *httpauth.Identity)

	// Expire is called once, from its own goroutine, if the identity's
	// NotAfter (the earliest of the leaf and its chain) passes while Serve
	// runs: it should tell the peer (a close frame) and close conn, within
	// a bounded time, since Serve's ctx ends only when it returns. It runs
	// concurrently with Serve, and ServeHTTP waits for it. Nil: ctx ends at
	// NotAfter and nothing else happens.
	Expire func(conn C)
}

// ServeHTTP gates r, upgrades it and serves the connection until Serve
// returns. No goroutine it starts outlives it.
func (h *Handler[C]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Upgrade == nil || h.Serve == nil {
		// A missing function must fail before the upgrade, not leave an
		// upgraded connection nobody serves or closes.
		writeRefusal(w, r, h.Auth, errIncompleteHandler)
		return
	}
	conn, id, err := Upgrade(w, r, h.Auth, h.Upgrade)
	if err != nil {
		return // answered by the gate or by the upgrader
	}
	r = r.WithContext(httpauth.NewContext(r.Context(), id))

	// Measured by the Authenticator's clock, which made the validity
	// decision; the timer runs on the real clock.
	ttl := id.NotAfter.Sub(h.Auth.Now())
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(context.Canceled)

	done := make(chan struct{})
	timer := time.AfterFunc(ttl, func() {
		defer close(done)
		// Expire runs before ctx ends, so the close frame goes out while
		// the connection still works: coder/websocket, for one, drops a
		// connection without a close frame as soon as the context of a
		// pending Read ends. A ctx already ended by the request (client or
		// server gone) is no expiry.
		if h.Expire != nil && ctx.Err() == nil {
			h.Expire(conn)
		}
		cancel(ErrCertificateExpired)
	})
	defer func() {
		if !timer.Stop() {
			<-done // the watcher started: let it finish before returning
		}
	}()

	h.Serve(ctx, conn, id)
}
