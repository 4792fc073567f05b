// Package nhooyr gates nhooyr.io/websocket upgrades by the client's X.509
// certificate. nhooyr.io/websocket is deprecated and continues unchanged as
// github.com/coder/websocket, for which [github.com/certgate/certgate/coder]
// is the adapter.
//
// # Where to start
//
// [Handler] serves a WebSocket endpoint: it refuses clients without an
// acceptable certificate, accepts the rest and calls your function with
// the connection, the identity and a context that ends when trust in the
// certificate does (it expires, is revoked, or its CA is rotated out), at
// which point [Disconnect] closes the connection with status 1008 (policy
// violation). For code that calls websocket.Accept
// itself, [Accept] replaces that call: it takes the Authenticator as well
// and returns the identity beside the connection.
//
// # What it trusts
//
// Only the [httpauth.Authenticator] it is given; see package
// [github.com/certgate/certgate] for how refusals are answered.
package nhooyr
