package runcore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/brain-dev/brain/internal/workspace"
)

// BenchmarkOpenWorkspace is what exec pays for the workspace before its
// first record: MkdirAll of the existing directory and the check of every
// name (workspace.Check), on a workspace holding exec's files. Baseline, in
// the same run: MkdirAll alone, which is all exec did before the check.
func BenchmarkOpenWorkspace(b *testing.B) {
	dir := filepath.Join(b.TempDir(), ".brain")
	os.Mkdir(dir, 0o700)
	for _, f := range []string{workspace.AuditFile, workspace.AuditFile + ".lock", workspace.SpansFile} {
		os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o600)
	}
	b.Run("mkdirall", func(b *testing.B) {
		for b.Loop() {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checked", func(b *testing.B) {
		for b.Loop() {
			if err := openWorkspace(dir, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
