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
// handler with the identity.
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
// wrote ever reaches the status line or the headers, and the status is
// always 400–599 (never 101). The connection is then closed the way
// net/http closes one, so that a client in the middle of a request body
// reads the refusal rather than a reset; [Reject] gives the time bounds.
// [Gate] says how a connection that cannot be hijacked, such as an HTTP/2
// stream, is answered.
//
// # Trust over a connection's life
//
// A connection accepted by [Handler] does not outlive the trust that
// admitted it. The context given to Serve ends, with the reason as its
// cause, at the earliest NotAfter of the leaf and its chain, and when a
// re-check finds the certificate revoked, its CA rotated out of the roots,
// or (if asked) no longer authorized; the adapters then close the
// WebSocket with status 1008 (policy violation) and [CloseReason]'s text.
// Re-checks run when the trust sources change and periodically; see
// [github.com/certgate/certgate/httpauth.Authenticator.Hold], which code
// that upgrades by itself calls to get the same lifetime.
package certgate
