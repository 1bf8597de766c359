//go:build unix

package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckReadOnly: a read-only command takes modes and owners as
// it finds them, but not a link or a special file at a workspace name.
func TestCheckReadOnly(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	os.WriteFile(filepath.Join(dir, AuditFile), nil, 0o666)
	if err := Check(dir, false); err != nil {
		t.Errorf("read-only, open modes: %v", err)
	}
	var we *Error
	if err := Check(dir, true); !errors.As(err, &we) {
		t.Errorf("writing, open modes: %v, want a *Error", err)
	}
	os.Symlink(filepath.Join(dir, AuditFile), filepath.Join(dir, StateFile))
	if err := Check(dir, false); !errors.As(err, &we) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("read-only, a link: %v, want a *Error", err)
	}
}

// TestCheckEveryName: a link planted at any name of the workspace is
// refused, for reading and for writing.
func TestCheckEveryName(t *testing.T) {
	for _, ent := range entries {
		dir := t.TempDir()
		os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), filepath.Join(dir, ent.name))
		for _, write := range []bool{false, true} {
			var we *Error
			if err := Check(dir, write); !errors.As(err, &we) {
				t.Errorf("a link at %s (write %v): %v, want an *Error", ent.name, write, err)
			}
		}
	}
}

// TestFind: the nearest workspace of the user in the directory or a
// parent, none when there is none.
func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	os.MkdirAll(deep, 0o700)
	if got, _ := Find(deep, os.Geteuid()); got != "" && !strings.HasPrefix(root, filepath.Dir(got)) {
		t.Errorf("no workspace under the root: found %s", got)
	}
	os.Mkdir(filepath.Join(root, "a", DefaultDir), 0o700)
	if got, _ := Find(deep, os.Geteuid()); got != filepath.Join(root, "a", DefaultDir) {
		t.Errorf("Find = %q, want the parent's workspace", got)
	}
}
