package certgateprom_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind, such as a
// live-connection watcher or a server that outlived its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
