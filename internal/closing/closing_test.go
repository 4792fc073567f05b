package closing

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// A handshake the peer answers needs no abort; one it does not answer is
// aborted at the limit, and Within still waits for it to return.
func TestWithin(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		aborted := false
		Within(Limit, func() { time.Sleep(100 * time.Millisecond) }, func() { aborted = true })
		assert.False(t, aborted)
		assert.Equal(t, 100*time.Millisecond, time.Since(start))

		start = time.Now()
		stuck := make(chan struct{})
		Within(Limit, func() { <-stuck; time.Sleep(time.Millisecond) }, func() { close(stuck) })
		assert.Equal(t, Limit+time.Millisecond, time.Since(start))
	})
}
