package certgate_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a refusal
// or an expiry watcher that outlives its request is a bug (CONN-01).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
