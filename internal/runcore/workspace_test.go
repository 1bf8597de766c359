package runcore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/cli"
)

// TestWorkspaceNotYours: a workspace directory another user owns is refused
// by exec, which writes, even to root; nothing is written in it.
func TestWorkspaceNotYours(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: giving a directory to another user needs root")
	}
	dir := filepath.Join(t.TempDir(), "ws")
	os.Mkdir(dir, 0o700)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Skipf("skipping: cannot chown: %v", err)
	}
	code, _, stderr := run(t, "exec", "--dir", dir, "--", "true")
	if code != cli.ExitIO || !strings.Contains(stderr, "the directory belongs to uid 65534, not to you (uid 0)") ||
		!strings.Contains(stderr, "hint: run brain-run as the workspace's owner") {
		t.Errorf("code %d, stderr:\n%s", code, stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("written in another user's workspace: %v", ents)
	}
}
