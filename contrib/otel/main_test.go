package certgateotel_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind, such as a
// WebSocket handler or live-connection watcher that outlived its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
