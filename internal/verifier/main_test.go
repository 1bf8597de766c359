package verifier

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the check sandbox of the
// Verifiers its tests create.
func TestMain(m *testing.M) {
	ServeSandbox()
	os.Exit(m.Run())
}
