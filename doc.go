// Package certgate admits WebSocket (and other HTTP) clients only with an
// acceptable X.509 client certificate, and refuses everyone else before the
// connection is upgraded.
//
// # Where to start
//
// Most servers use an adapter: [github.com/certgate/certgate/gorilla] for
// github.com/gorilla/websocket, [github.com/certgate/certgate/coder] for
// github.com/coder/websocket, or [github.com/certgate/certgate/nhooyr] for
// its deprecated predecessor nhooyr.io/websocket. Each is a thin instance
// of [Handler], which runs [Gate], then the upgrade, then the connection
// handler with the identity and a context that ends when the client's
// certificate expires.
//
// Code that upgrades by itself calls [Gate] first and upgrades only when it
// reports ok:
//
//	id, ok := certgate.Gate(w, r, auth)
//	if !ok {
//		return // the refusal has been answered and the connection closed
//	}
//
// [Upgrade] does both with any upgrade function and returns the
// connection with the identity; the adapters' Upgrade and Accept are built
// on it. [Reject] writes the same refusal on a raw [net.Conn], for servers
// that handle connections themselves.
//
// # What it trusts
//
// Everything about the certificate is decided by the
// [github.com/certgate/certgate/httpauth.Authenticator]: where the
// certificate comes from, how it is verified and who may pass. certgate
// adds no trust of its own; it only decides how a refusal reaches the
// client and how long an accepted connection may live.
//
// # How refusals are answered
//
// Over HTTP/1.x the connection is hijacked and a fixed response is written
// on it: a status line with the standard reason phrase, fixed headers
// (Content-Type, Content-Length, Connection: close, nosniff, no-store) and
// a short plain-text body holding the error's public text, which httpauth
// has stripped of control characters. Nothing the client or an authorizer
// wrote ever reaches the status line or the headers, the status is always
// 400–599 (never 101), and the write is bounded by [WriteTimeout]. The
// connection is then closed as net/http closes one: after a half-close and
// a short, capped drain of what the client still sends, so that a client
// in the middle of a request body reads the refusal rather than a reset.
//
// Where hijacking is impossible (HTTP/2, response recorders, wrappers
// without an Unwrap method) the refusal goes through the ResponseWriter
// with the same status, by [httpauth.Authenticator.WriteError]; the
// configured [httpauth.Config.ErrorHandler] applies only there.
//
// # Certificate lifetime
//
// A connection accepted by [Handler] does not outlive the certificate that
// admitted it: the context given to Serve ends at the leaf's NotAfter, with
// [ErrCertificateExpired] as its cause, and the adapters then close the
// WebSocket with status 1008 (policy violation).
package certgate
