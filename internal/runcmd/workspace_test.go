package runcmd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/scenario"
	"github.com/brain-dev/brain/internal/workspace"

	"github.com/brain-dev/brain/internal/cli"
)

// stateKeyEnv is the environment of the runs in these tests.
var stateKeyEnv = map[string]string{"BRAIN_STATE_KEY": "workspace test key", "GEMINI_API_KEY": "", "BRAIN_SESSION_ID": "sess-1"}

// planAndExecute runs plan and execute of the basic scenario, offline, in
// the project dir with workspace ws, and returns their exit codes and
// stderr. extra flags go to both.
func planAndExecute(t *testing.T, dir, ws string, extra ...string) (codes [2]int, stderr string) {
	t.Helper()
	sc := filepath.Join(dir, scenario.CassetteFile)
	goal, err := os.ReadFile(filepath.Join(dir, scenario.GoalFile))
	if err != nil {
		t.Fatal(err)
	}
	tasks := filepath.Join(dir, "tasks.yaml")
	var e1, e2 string
	codes[0], _, e1 = run(t, stateKeyEnv, append([]string{"plan", "--dir", ws, "--cassette", sc, "--goal", strings.TrimSpace(string(goal)), "-o", tasks}, extra...)...)
	codes[1], _, e2 = run(t, stateKeyEnv, append(append([]string{"execute", "--dir", ws, "--cassette", sc}, extra...), tasks)...)
	return codes, e1 + e2
}

// TestPlantedLinks: a symbolic link planted at any name brain-run writes in
// its workspace — the files at its top, the directories, and the names
// below them (an artifact's directory, the unsafe I/O log) — is never
// followed: the link's target keeps its bytes and mode, a dangling link's
// target is not created, and the run says which link it refused — or, for
// the artifact, which is written aside and renamed into place, the link is
// replaced by the artifact.
func TestPlantedLinks(t *testing.T) {
	renamed := "artifacts/plan-1/readme/" + orchestrator.ArtifactName
	names := []string{
		workspace.AuditFile, workspace.AuditFile + ".lock", workspace.SpansFile, workspace.SpansFile + ".sent",
		workspace.AuditFile + ".checkpoints", workspace.AuditFile + ".checkpoints.state",
		workspace.FlushState, workspace.FlushState + ".lock",
		workspace.StateFile, workspace.StateFile + "-wal", workspace.StateFile + "-shm", workspace.StateFile + "-journal",
		workspace.ExecuteLock, workspace.StateKeyFile,
		workspace.ArtifactsDir, workspace.UnsafeIODir,
		"artifacts/plan-1", "artifacts/plan-1/readme", renamed,
		"unsafe-io/sess-1.jsonl",
	}
	for _, name := range names {
		for _, dangling := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dangling=%v", name, dangling), func(t *testing.T) {
				dir, _ := project(t)
				ws := filepath.Join(dir, ".brain")
				outside := t.TempDir()
				target := filepath.Join(outside, "target")
				if !dangling {
					if err := os.WriteFile(target, []byte("evidence\n"), 0o640); err != nil {
						t.Fatal(err)
					}
				}
				link := filepath.Join(ws, name)
				if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, outside)
				codes, stderr := planAndExecute(t, dir, ws, "--dev-log-unsafe-io")
				if diff := cmp.Diff(before, snapshot(t, outside)); diff != "" {
					t.Errorf("the link's target changed (-before +after):\n%s", diff)
				}
				if name == renamed {
					if fi, err := os.Lstat(link); codes != [2]int{} || err != nil || !fi.Mode().IsRegular() {
						t.Errorf("codes %v; %s: %v, %v; want the artifact in place of the link:\n%s", codes, name, fi.Mode(), err, stderr)
					}
					return
				}
				if !strings.Contains(stderr, "is a symbolic link") || !strings.Contains(stderr, name) {
					t.Errorf("codes %v; stderr does not name the link %s:\n%s", codes, name, stderr)
				}
			})
		}
	}
}

// snapshot returns every entry under dir: its type, mode, size, modification
// time and the SHA-256 of a file's bytes, or a link's target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		desc := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			desc += " -> " + to
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(sum[:])
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStatusReadOnly: status is read-only. On a workspace on a read-only
// mount, and on a writable copy, status and status --chain succeed, show
// what the state store and the chain hold, and leave every byte, name,
// mode and time of the workspace as it was: no spans file, no audit
// record, no lock file, no -wal or -shm file of the state store.
func TestStatusReadOnly(t *testing.T) {
	dir, _ := project(t)
	ws := filepath.Join(dir, ".brain")
	if codes, stderr := planAndExecute(t, dir, ws); codes != [2]int{} {
		t.Fatalf("codes %v: %s", codes, stderr)
	}
	// A state store a crashed process left: committed transactions in the
	// write-ahead log, not yet in the database file. A second plan commits
	// while this connection holds the log open, and the files are copied
	// before it closes.
	t.Setenv("BRAIN_STATE_KEY", stateKeyEnv["BRAIN_STATE_KEY"])
	st, err := openState(t.Context(), cli.NewPrinter("test", io.Discard), ws, "", false)
	if err != nil {
		t.Fatal(err)
	}
	goal, _ := os.ReadFile(filepath.Join(dir, scenario.GoalFile))
	if code, _, stderr := run(t, stateKeyEnv, "plan", "--dir", ws, "--cassette", filepath.Join(dir, scenario.CassetteFile),
		"--goal", strings.TrimSpace(string(goal)), "-o", filepath.Join(dir, "tasks.yaml"), "--force"); code != 0 {
		t.Fatalf("second plan: %d %s", code, stderr)
	}
	crashed := filepath.Join(t.TempDir(), "crashed")
	if out, err := exec.Command("cp", "-a", ws, crashed).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	st.Close()
	if fi, err := os.Stat(filepath.Join(crashed, workspace.StateFile+"-wal")); err != nil || fi.Size() == 0 {
		t.Fatalf("the copy has no write-ahead log to recover: %v", err)
	}
	os.Remove(filepath.Join(crashed, workspace.StateFile+"-shm"))

	check := func(t *testing.T, ws string) {
		t.Helper()
		before := snapshot(t, ws)
		for _, args := range [][]string{{"status"}, {"status", "--chain"}, {"status", "--json", "--plan", "1"}} {
			code, stdout, stderr := run(t, stateKeyEnv, append(args, "--dir", ws)...)
			if code != 0 || stderr != "" {
				t.Errorf("%v: code %d, stderr %s", args, code, stderr)
			}
			if args[len(args)-1] == "--chain" && !strings.Contains(stdout, "match the state store") {
				t.Errorf("%v:\n%s", args, stdout)
			}
			if len(args) == 1 && !strings.Contains(stdout, "plan 2: ") {
				t.Errorf("status does not show the plan the write-ahead log holds:\n%s", stdout)
			}
		}
		if diff := cmp.Diff(before, snapshot(t, ws)); diff != "" {
			t.Errorf("status changed the workspace (-before +after):\n%s", diff)
		}
	}
	t.Run("writable copy", func(t *testing.T) {
		check(t, crashed)
	})
	t.Run("read-only files", func(t *testing.T) {
		ro := filepath.Join(t.TempDir(), "ro")
		if out, err := exec.Command("cp", "-a", crashed, ro).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		if out, err := exec.Command("chmod", "-R", "a-w", ro).CombinedOutput(); err != nil {
			t.Fatalf("chmod: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", ro).Run() })
		check(t, ro)
	})
	t.Run("read-only mount", func(t *testing.T) {
		mnt := readOnlyMount(t, crashed)
		check(t, mnt)
	})
}

// readOnlyMount mounts a tmpfs holding a copy of dir, remounted read-only,
// and returns the copy's path; it skips the test where mounting is not
// permitted.
func readOnlyMount(t *testing.T, dir string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: a read-only mount needs root; the read-only files case runs instead")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	ws := filepath.Join(mnt, ".brain")
	if out, err := exec.Command("cp", "-a", dir, ws).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("skipping: cannot remount read-only: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if err := os.WriteFile(filepath.Join(ws, "probe"), nil, 0o600); err == nil {
		t.Fatal("the read-only mount took a write")
	}
	return ws
}
