package httpauth

// RecheckHeld runs one round of re-checks over the connections a holds,
// as the watcher does after a change, and waits for it.
func RecheckHeld(a *Authenticator) {
	a.recheckLive(a.live.newRound(), a.currentRoots())
}
