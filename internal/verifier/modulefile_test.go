package verifier

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/testutil"
)

// TestModuleFileNotRegular: a check module path that is not a regular file
// named directly — a named pipe (with no writer, which would block an open
// for reading forever), a directory, a device, a socket, a symbolic link to
// a module or to a pipe — is refused at once with an error that says what
// it is, as an invalid_module verdict. The module is read through the same
// open when it is a regular file.
func TestModuleFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	art := t.TempDir()
	fifo := filepath.Join(dir, "check.wasm")
	blocked := testutil.Fifo(t, fifo)
	sub := filepath.Join(dir, "dir.wasm")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "real.wasm")
	if err := os.WriteFile(real, hostile(t, "benign.wasm"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.wasm")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	links := map[string]string{"link.wasm": real, "link-fifo.wasm": fifo, "link-rel.wasm": "real.wasm"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}

	v := newVerifier(t, Options{})
	for _, tt := range []struct {
		name, path, want string
	}{
		{"named pipe", fifo, "is a named pipe (FIFO), not a regular file"},
		{"directory", sub, "is a directory, not a regular file"},
		{"character device", "/dev/zero", "is a character device, not a regular file"},
		{"socket", sock, "is a socket, not a regular file"},
		{"symlink to a module", filepath.Join(dir, "link.wasm"), "is a symbolic link, which is not followed"},
		{"relative symlink", filepath.Join(dir, "link-rel.wasm"), "is a symbolic link, which is not followed"},
		{"symlink to a pipe", filepath.Join(dir, "link-fifo.wasm"), "is a symbolic link, which is not followed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runOne(t, v, art, Check{Name: tt.name, Path: tt.path})
			if blocked() {
				t.Fatal("the verifier blocked opening the named pipe until the test gave it a writer")
			}
			if got.Verdict != Error || got.Class != ClassInvalidModule || !strings.Contains(got.Error, tt.want) {
				t.Errorf("verdict %s %s %q; want invalid_module saying %q", got.Verdict, got.Class, got.Error, tt.want)
			}
			if _, err := OpenModuleFile(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("OpenModuleFile: %v; want an error saying %q", err, tt.want)
			}
		})
	}
	if got := runOne(t, v, art, Check{Name: "real", Path: real}); got.Verdict != Pass {
		t.Errorf("the regular module file: %+v, want a pass", got)
	}
}
