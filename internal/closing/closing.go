// Package closing bounds a WebSocket closing handshake for the adapters of
// packages whose Close waits for the peer's answer.
package closing

import "time"

// Limit is how long a closing handshake may take when trust in a
// connection ends: long enough for a peer that reads to answer, short
// enough that one that does not cannot hold the connection open.
const Limit = time.Second

// Within runs handshake, which sends a close frame and may wait for the
// peer's, and calls abort, which must make handshake return (by closing the
// connection), if it has not returned within limit. It returns once
// handshake has.
func Within(limit time.Duration, handshake, abort func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		handshake()
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		abort()
		<-done
	}
}
