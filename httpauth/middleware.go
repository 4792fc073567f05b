package httpauth

import (
	"net/http"
	"strconv"
)

// Middleware authenticates each request before next runs. The identity is
// put in the request context ([FromContext]) also when authorization fails,
// so error handlers and loggers see who was refused. Refusals are answered
// by [Authenticator.WriteError]: [Config.ErrorHandler], or by default
// [WritePlainError].
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r)
		if id != nil {
			r = r.WithContext(NewContext(r.Context(), id))
		}
		if err != nil {
			a.WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// WriteError answers a refusal through w: with [Config.ErrorHandler] when
// set, otherwise with [WritePlainError]. err is normally what Authenticate
// returned; any other error is answered as a 500.
//
// Cache-Control: no-store and X-Content-Type-Options: nosniff are set on w
// before the ErrorHandler runs, so that no refusal is cached by a shared
// cache or sniffed into HTML, whoever writes it. An ErrorHandler that has
// a reason to may still change or delete them before writing. One that
// writes nothing at all (a forgotten case) is followed by WritePlainError,
// so a refusal is never an empty 200.
func (a *Authenticator) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	refusalHeaders(w.Header())
	if a.onError != nil {
		tw := &wroteWriter{ResponseWriter: w}
		a.onError(tw, r, e)
		if !tw.wrote {
			// A handler that forgot a case must not turn a refusal into an
			// empty 200 OK.
			WritePlainError(w, e)
		}
		return
	}
	WritePlainError(w, e)
}

// wroteWriter notes whether an ErrorHandler answered at all.
type wroteWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *wroteWriter) WriteHeader(status int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *wroteWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the writer's other methods.
func (w *wroteWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WritePlainError writes e the way certgate does when no
// [Config.ErrorHandler] is set: e's [Error.ResponseStatus] and a
// plain-text body holding its [Error.PublicText], with Content-Type,
// Content-Length, Cache-Control: no-store and X-Content-Type-Options:
// nosniff. An ErrorHandler can call it for the refusals it does not render
// itself, say every client that did not ask for JSON. A nil e is answered
// as a 500.
func WritePlainError(w http.ResponseWriter, e *Error) {
	body := e.PublicText() + "\n"
	h := w.Header()
	refusalHeaders(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.ResponseStatus())
	_, _ = w.Write([]byte(body))
}

// refusalHeaders are on every refusal: a refusal must not be replayed from
// a cache to a client that would now pass, nor be read as anything but
// text.
func refusalHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}
