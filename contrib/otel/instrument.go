package certgateotel

import (
	"bufio"
	"context"
	"net"
	"net/http"
)

// Instrument wraps gate (certgate.Gate's handler, a WebSocket adapter's
// Handler, anything that refuses through certgate) in mw, a tracing or
// access-log middleware such as otelhttp.NewMiddleware("ws"), so that mw
// records the real status of refusals certgate wrote raw on a hijacked
// connection instead of the 200 it assumes for a handler that wrote
// nothing. It needs the Authenticator to have a [Telemetry.Observer],
// which tells it the refusal's status.
//
// mw sees the request as before; after gate returns from a raw refusal, mw's
// ResponseWriter is told the status (WriteHeader), and Instrument's own
// writer beneath mw drops that call, since the response is already on the
// wire and net/http would log a WriteHeader on a hijacked connection.
// Responses written through the ResponseWriter (refusals over HTTP/2, the
// middleware's) reach mw as they always did. An accepted WebSocket
// upgrade is not touched: mw records whatever the upgrader told it.
func Instrument(mw func(http.Handler) http.Handler, gate http.Handler) http.Handler {
	inner := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gate.ServeHTTP(w, r)
		if st, ok := r.Context().Value(rawKey{}).(*rawState); ok && st.hijacked && st.status != 0 {
			w.WriteHeader(st.status)
		}
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &rawState{}
		inner.ServeHTTP(&rawWriter{ResponseWriter: w, st: st}, r.WithContext(context.WithValue(r.Context(), rawKey{}, st)))
	})
}

// rawKey is the context key of a request's rawState.
type rawKey struct{}

// rawState is what one request under Instrument learned: the status of a
// refusal (set by the observer) and whether the connection was hijacked.
// Both are written and read on the request's goroutine.
type rawState struct {
	status   int
	hijacked bool
}

// rawWriter sits beneath the instrumenting middleware: it notes a hijack
// and drops what is written after one.
type rawWriter struct {
	http.ResponseWriter
	st *rawState
}

// Hijack is offered whatever the underlying writer is, so that middleware
// built with httpsnoop (otelhttp) offers it too; where the connection
// cannot be hijacked (HTTP/2) it fails with http.ErrNotSupported.
func (w *rawWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, buf, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.st.hijacked = true
	}
	return conn, buf, err
}

func (w *rawWriter) WriteHeader(status int) {
	if !w.st.hijacked {
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *rawWriter) Write(p []byte) (int, error) {
	if w.st.hijacked {
		return 0, http.ErrHijacked
	}
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming responses working through the wrapper.
func (w *rawWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush with its error, which http.ResponseController
// prefers: ErrHijacked once the connection is gone.
func (w *rawWriter) FlushError() error {
	if w.st.hijacked {
		return http.ErrHijacked
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the writer's other methods
// (deadlines, full duplex).
func (w *rawWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
