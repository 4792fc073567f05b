package nhooyr_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind, such as a
// connection handler or expiry watcher that outlived its request.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
