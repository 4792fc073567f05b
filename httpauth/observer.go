package httpauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Observer is told what an [Authenticator] decides and how the
// connections it holds end: for metrics, traces and audit logs. Every
// field is optional. The functions run synchronously on the goroutine of
// the event (the request's, or a held connection's), so they must be fast
// and must not block; a panic in one is recovered and logged (at Error,
// with [Config.Logger]) and changes nothing. No function can change a
// decision: the request is answered the same whatever they do.
//
// The prometheus and otel modules under certgate's contrib directory are
// built on it.
type Observer struct {
	// Accepted is called for each request [Authenticator.Authenticate]
	// admits, whatever then serves it (the middleware, certgate's gate).
	Accepted func(r *http.Request, id *Identity)

	// Refused is called for each refusal Authenticate returns, whatever
	// then answers it: the middleware, [Config.ErrorHandler], or certgate's
	// raw response on a hijacked WebSocket connection, which access-log
	// and tracing middleware never see. id is the identity when the
	// certificate was good but authorization failed, else nil. err is the
	// refusal itself: read it, do not change it.
	Refused func(r *http.Request, id *Identity, err *Error)

	// Held is called when a connection starts being held
	// ([Authenticator.Hold], which every adapter's Handler calls).
	Held func(id *Identity)

	// Ended is called once when a held connection stops being held, with
	// how and why (see [ConnEnd]). With Held it counts live connections.
	Ended func(end ConnEnd)
}

// ConnEnd is how a held connection ended.
type ConnEnd struct {
	// Identity is the connection's identity.
	Identity *Identity
	// Code is the stable code of the end: [EndClosed], [EndCanceled], or
	// the [Error.Code] of the withdrawal ("expired", "revoked",
	// "unknown_authority", "denied", …).
	Code string
	// Cause is nil for EndClosed, the cause of the parent context for
	// EndCanceled, and the *Error of a withdrawal.
	Cause error
	// Duration is how long the connection was held.
	Duration time.Duration
}

// End codes of a held connection that trust did not end; see
// [ConnEnd.Code].
const (
	// EndClosed: the connection was released (Serve returned) while
	// trusted: the client or the application closed it.
	EndClosed = "closed"
	// EndCanceled: the parent context ended first, for instance because
	// the request's context did or the server is shutting down.
	EndCanceled = "canceled"
)

func (a *Authenticator) observeAccepted(r *http.Request, id *Identity) {
	for i := range a.observers {
		if f := a.observers[i].Accepted; f != nil {
			a.guard(r.Context(), "Accepted", func() { f(r, id) })
		}
	}
}

func (a *Authenticator) observeRefused(r *http.Request, id *Identity, e *Error) {
	for i := range a.observers {
		if f := a.observers[i].Refused; f != nil {
			a.guard(r.Context(), "Refused", func() { f(r, id, e) })
		}
	}
}

func (a *Authenticator) observeHeld(id *Identity) {
	for i := range a.observers {
		if f := a.observers[i].Held; f != nil {
			a.guard(context.Background(), "Held", func() { f(id) })
		}
	}
}

func (a *Authenticator) observeEnded(end ConnEnd) {
	for i := range a.observers {
		if f := a.observers[i].Ended; f != nil {
			a.guard(context.Background(), "Ended", func() { f(end) })
		}
	}
}

// guard runs an observer's function, logging a panic instead of letting
// it reach the request.
func (a *Authenticator) guard(ctx context.Context, name string, f func()) {
	defer func() {
		if p := recover(); p != nil && a.logger != nil {
			a.logger.LogAttrs(ctx, slog.LevelError, "httpauth: Observer."+name+" panicked; the decision stands",
				slog.String("panic", fmt.Sprint(p)))
		}
	}()
	f()
}
