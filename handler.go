package certgate

import (
	"context"
	"errors"
	"net/http"

	"github.com/certgate/certgate/httpauth"
)

// ErrCertificateExpired is the cause (context.Cause) of a [Handler]'s
// connection context that ended because the client's certificate reached
// its NotAfter.
var ErrCertificateExpired = errors.New("certgate: client certificate expired")

// Handler runs [Gate], then Upgrade, then Serve with the identity. The
// adapters are instances of it; use it directly to gate another WebSocket
// package, with C its connection type.
//
// Auth, Upgrade and Serve must be set; a nil Auth refuses every request
// with 500. A Handler may serve any number of requests concurrently.
type Handler[C any] struct {
	// Auth authenticates and authorizes each request before the upgrade.
	Auth *httpauth.Authenticator

	// Upgrade upgrades a request that passed the gate. r carries the
	// identity in its context (httpauth.FromContext), so origin checks and
	// subprotocol choice can use it. On failure it must have answered the
	// request itself, with an error status (the WebSocket packages do);
	// Handler then returns without writing anything.
	Upgrade func(w http.ResponseWriter, r *http.Request) (C, error)

	// Serve handles the upgraded connection. ctx derives from the request's
	// context and also ends when the certificate expires, with
	// [ErrCertificateExpired] as its cause. The connection is Serve's to
	// close.
	Serve func(ctx context.Context, conn C, id *httpauth.Identity)

	// Expire is called once, from its own goroutine, if the leaf's NotAfter
	// passes while Serve runs; it should close conn so that Serve returns.
	// It may run concurrently with Serve, and ServeHTTP waits for it. Nil:
	// only ctx ends.
	Expire func(conn C)
}

// ServeHTTP gates r, upgrades it and serves the connection until Serve
// returns. No goroutine it starts outlives it.
func (h *Handler[C]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := Gate(w, r, h.Auth)
	if !ok {
		return
	}
	r = r.WithContext(httpauth.NewContext(r.Context(), id))
	conn, err := h.Upgrade(w, r)
	if err != nil {
		return
	}

	// The lifetime is measured with the Authenticator's clock, which made
	// the validity decision, and turned into a duration on the real clock
	// the context runs on.
	ttl := id.Certificate.NotAfter.Sub(h.Auth.Now())
	ctx, cancel := context.WithTimeoutCause(r.Context(), ttl, ErrCertificateExpired)
	defer cancel()

	if h.Expire != nil {
		done := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(done)
			// ctx also ends when the request's context does (the client or
			// the server went away); only expiry is reported to Expire.
			if errors.Is(context.Cause(ctx), ErrCertificateExpired) {
				h.Expire(conn)
			}
		})
		defer func() {
			if !stop() {
				<-done // the watcher started: let it finish before returning
			}
		}()
	}

	h.Serve(ctx, conn, id)
}
