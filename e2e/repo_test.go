//go:build e2e || e2estack

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// repo returns the repository's root: the tests run in e2e/.
func repo(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// deliveryTimeout gives a live endpoint's exports 5 s: these tests check
// that spans arrive, not how fast, and a command's own default (at most
// 50 ms, so that a dead endpoint costs under 100 ms; docs/telemetry.md)
// can run out on a loaded machine, which would leave the spans for a later
// flush and print a warning the tests treat as a failure.
const deliveryTimeout = "OTEL_EXPORTER_OTLP_TIMEOUT=5000"
