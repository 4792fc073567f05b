package httpauth

import (
	"net/http"
	"strconv"
)

// Middleware authenticates each request before next runs. The identity is
// put in the request context ([FromContext]) also when authorization fails,
// so error handlers and loggers see who was refused. Refusals are answered
// by [Config.ErrorHandler], or by default with the status and a short
// plain-text body holding the error's public text.
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
// set, otherwise as plain text. err is normally what Authenticate returned;
// any other error is answered as a 500.
func (a *Authenticator) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if a.onError != nil {
		a.onError(w, r, e)
		return
	}
	body := e.PublicText() + "\n"
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.ResponseStatus())
	_, _ = w.Write([]byte(body))
}
