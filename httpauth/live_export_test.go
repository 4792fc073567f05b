package httpauth

import "context"

// RecheckHeld runs one round of re-checks over the connections a holds,
// as the watcher does after a change, and waits for it.
func RecheckHeld(a *Authenticator) {
	conns, _ := a.live.since(0)
	a.recheckLive(context.Background(), conns, a.currentRoots())
}
