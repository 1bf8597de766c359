package orchestrator

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o700)
		if err := os.WriteFile(full, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGatherContext(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"src/a.go": "package a\n", "src/deep/b.go": "package b\n", "src/c.txt": "not go",
		"README.md": "# readme\n", "bin/blob.go": "\x00\x01binary",
	})
	outside := filepath.Join(t.TempDir(), "secret.go")
	os.WriteFile(outside, []byte("package secret"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "src", "link.go"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tc, err := GatherContext(root, []string{"src/**/*.go", "README.md", "bin/*.go"}, DefaultContextLimits, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range tc.Files {
		got = append(got, f.Path)
	}
	if diff := cmp.Diff([]string{"README.md", "src/a.go", "src/deep/b.go"}, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(tc.Skipped, ","), "bin/blob.go") || strings.Contains(tc.Text, "secret") {
		t.Errorf("skipped %v; text %q: want the binary skipped and nothing from outside the workspace", tc.Skipped, tc.Text)
	}
	sum := sha256.Sum256([]byte("package a\n"))
	if tc.Files[1].SHA256 != hex.EncodeToString(sum[:]) || tc.Bytes != int64(len("# readme\npackage a\npackage b\n")) {
		t.Errorf("hash %s bytes %d", tc.Files[1].SHA256, tc.Bytes)
	}
}

func TestGatherContextLimits(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": strings.Repeat("a", 100), "b.txt": "bb", "c.txt": "cc"})
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	tc, err := GatherContext(root, []string{"*.txt"}, ContextLimits{MaxFiles: 2, MaxBytes: 1000, MaxFileBytes: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Files) != 2 || !tc.Files[0].Truncated || tc.Files[0].Bytes != 10 || !tc.Truncated || len(tc.Skipped) != 1 {
		t.Fatalf("context %+v: want a.txt cut to 10 bytes, b.txt whole, c.txt skipped", tc)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../b", `a\b`, "[", ""} {
		if _, err := GatherContext(root, []string{bad}, DefaultContextLimits, nil); err == nil {
			t.Errorf("glob %q accepted", bad)
		}
	}
}

// TestGatherContextExclude: an excluded directory (the workspace, with the
// state key) is never read, even by a glob that matches everything.
func TestGatherContextExclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"notes/a.md": "a", ".brain/state.key": "the-key", ".brain/sub/x.md": "x", "other/.brain/y.md": "y"})
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	tc, err := GatherContext(root, []string{"**"}, DefaultContextLimits, []string{".brain"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range tc.Files {
		got = append(got, f.Path)
	}
	if diff := cmp.Diff([]string{"notes/a.md", "other/.brain/y.md"}, got); diff != "" || strings.Contains(tc.Text, "the-key") {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestGatherContextSkipsGit: a Git directory, at any depth, is never read,
// even by a glob that matches everything (its config can hold a token), and a
// glob that names one is refused.
func TestGatherContextSkipsGit(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"notes/a.md": "a", ".git/config": "url = https://user:tok3n@example.com/r", "sub/.git/HEAD": "ref", ".github/ci.yml": "ci", "x.git/y": "y"})
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	tc, err := GatherContext(root, []string{"**"}, DefaultContextLimits, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range tc.Files {
		got = append(got, f.Path)
	}
	if diff := cmp.Diff([]string{".github/ci.yml", "notes/a.md", "x.git/y"}, got); diff != "" || strings.Contains(tc.Text, "tok3n") {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, g := range []string{".git/config", "sub/.git/**", "**/.git/*"} {
		if _, err := GatherContext(root, []string{g}, DefaultContextLimits, nil); err == nil || !strings.Contains(err.Error(), "never given to a model") {
			t.Errorf("glob %q: err %v, want it refused", g, err)
		}
	}
}
