// Package gorilla gates github.com/gorilla/websocket upgrades by the
// client's X.509 certificate.
//
// # Where to start
//
// [Handler] serves a WebSocket endpoint: it refuses clients without an
// acceptable certificate, upgrades the rest and calls your function with
// the connection, the identity and a context that ends when trust in the
// certificate does (it expires, is revoked, or its CA is rotated out), at
// which point [Disconnect] closes the connection with status 1008 (policy
// violation). For code that calls websocket.Upgrader.Upgrade
// itself, [NewUpgrader] wraps that Upgrader: [Upgrader.Upgrade] keeps its
// signature, and [Upgrader.UpgradeWithIdentity] also returns the identity.
//
// # What it trusts
//
// Only the [httpauth.Authenticator] it is given; see package
// [github.com/certgate/certgate] for how refusals are answered. The
// sibling packages [github.com/certgate/certgate/coder] and
// [github.com/certgate/certgate/nhooyr] do the same for
// github.com/coder/websocket and nhooyr.io/websocket.
package gorilla
