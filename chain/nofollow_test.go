package chain

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/brain-dev/brain/internal/fsutil"
)

// TestOpenNeverFollowsLinks: a symbolic link at the chain's active file or
// its lock file makes Open fail with a *fsutil.SymlinkError; the link's
// target, an existing file or a missing one, is neither written nor
// created.
func TestOpenNeverFollowsLinks(t *testing.T) {
	for _, name := range []string{"audit.jsonl", "audit.jsonl.lock"} {
		for _, dangling := range []bool{false, true} {
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "target")
			if !dangling {
				os.WriteFile(target, []byte("evidence\n"), 0o600)
			}
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			w, err := Open(filepath.Join(dir, "audit.jsonl"), Options{})
			var se *fsutil.SymlinkError
			if !errors.As(err, &se) {
				if w != nil {
					w.Close()
				}
				t.Errorf("%s (dangling %v): Open: %v, want a *fsutil.SymlinkError", name, dangling, err)
			}
			b, err := os.ReadFile(target)
			switch {
			case dangling && !errors.Is(err, os.ErrNotExist):
				t.Errorf("%s: the dangling link's target was created", name)
			case !dangling && string(b) != "evidence\n":
				t.Errorf("%s: the link's target changed: %q", name, b)
			}
		}
	}
}
