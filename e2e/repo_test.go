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
