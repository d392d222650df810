package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no serve loop, HTTP connection or timer behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
