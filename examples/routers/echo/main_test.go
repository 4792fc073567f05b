package main

import (
	"testing"

	"github.com/certgate/certgate/examples/routers/internal/check"
	"go.uber.org/goleak"
)

// TestMain fails the run when a connection's goroutine outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRouter(t *testing.T) {
	check.Router(t, newServer)
}
