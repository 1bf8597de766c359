package auditcmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/testutil"
)

// TestReadOnlyCommands runs the commands that only read — verify-log (of a
// file and of a directory), diff, show and repair --dry-run — on chains an
// investigator may only read: on a read-only mount (a tmpfs remounted
// read-only), and in a writable directory that has no lock file. They work
// there, and leave every file as it was and no new one (repair --dry-run
// used to create the lock file, and failed on the read-only mount).
func TestReadOnlyCommands(t *testing.T) {
	for _, where := range []string{"read-only mount", "writable directory"} {
		t.Run(where, func(t *testing.T) {
			var dir string
			if where == "read-only mount" {
				dir = testutil.Tmpfs(t, "4m")
			} else {
				dir = t.TempDir()
			}
			a, b := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "copy.jsonl")
			for _, p := range []string{a, b} {
				if code, _, stderr := run(t, "{\"type\":\"a\"}\n{\"type\":\"b\",\"n\":1}\n", "append", p); code != 0 {
					t.Fatalf("append: exit %d\n%s", code, stderr)
				}
				os.Remove(p + ".lock")
			}
			// A torn tail, which repair --dry-run would cut.
			f, err := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"seq":3,"ts":"2026-`)
			f.Close()
			if where == "read-only mount" {
				if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
					t.Skipf("skipping: cannot remount read-only: %v: %s", err, out)
				}
				if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err == nil {
					t.Fatal("the mount is still writable")
				}
			}
			before := readTree(t, dir)
			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"verify-log", a}, cli.ExitFindings, "torn_tail: " + a},
				{[]string{"verify-log", dir}, cli.ExitFindings, "PASS " + b},
				{[]string{"diff", a, b}, cli.ExitFindings, ""},
				{[]string{"show", "--type", "b", a}, 0, ""},
				{[]string{"repair", "--dry-run", a}, 0, "would move the torn final line"},
			} {
				code, _, stderr := run(t, "", tc.args...)
				if code != tc.code || !strings.Contains(stderr, tc.want) {
					t.Errorf("%v: exit %d, want %d and %q; stderr:\n%s", tc.args, code, tc.code, tc.want, stderr)
				}
			}
			if diff := cmp.Diff(before, readTree(t, dir)); diff != "" {
				t.Errorf("the read-only commands changed the directory (-before +after):\n%s", diff)
			}
		})
	}
}

// readTree returns every file under dir by name, with its mode and content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		var b []byte
		if fi.Mode().IsRegular() {
			if b, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		m[strings.TrimPrefix(p, dir)] = fi.Mode().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
