package scenario

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/wasmbuild"
)

const basicDir = "../../golden/scenarios/basic"

// TestGoldenCassette rebuilds the basic scenario's cassette from its
// replies, on the scenario as Install lays it out, and compares it with the
// committed one. UPDATE_GOLDEN=1 rewrites it.
func TestGoldenCassette(t *testing.T) {
	dir := t.TempDir()
	sc, err := Install("basic", dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := BuildCassette(dir, sc.Goal, os.DirFS(filepath.Join(basicDir, "replies")), "", "", ".brain")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(got, []byte("\n")); n != 4 {
		t.Fatalf("cassette has %d entries, want the plan and three tasks", n)
	}
	checkGolden(t, filepath.Join(basicDir, CassetteFile), got, "prompts or replies changed?")
}

// TestGoldenCassettes rebuilds the cassette of every other golden scenario
// that has replies (the ones coverage-lint runs: check-fails, llm-errors)
// from its project directory, and compares it with the committed one.
// UPDATE_GOLDEN=1 rewrites them.
func TestGoldenCassettes(t *testing.T) {
	dirs, err := filepath.Glob("../../golden/scenarios/*/replies")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, replies := range dirs {
		dir := filepath.Dir(replies)
		if filepath.Base(dir) == "basic" {
			continue // TestGoldenCassette, on the scenario as demo installs it
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			goal, err := ReadGoal(filepath.Join(dir, GoalFile))
			if err != nil {
				t.Fatal(err)
			}
			got, err := BuildCassette(filepath.Join(dir, "project"), goal, os.DirFS(replies), "", "", ".brain")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, CassetteFile), got, "prompts or replies changed?")
		})
	}
	if n < 2 {
		t.Fatalf("found %d scenarios with replies besides basic, want check-fails and llm-errors", n)
	}
}

// TestBuildCassetteErrors: a .error reply becomes an error entry that the
// replay reproduces, plan@MODEL.yaml answers the plan request to MODEL, and
// the tasks come from the first valid plan reply.
func TestBuildCassetteErrors(t *testing.T) {
	dir := "../../golden/scenarios/llm-errors"
	goal, err := ReadGoal(filepath.Join(dir, GoalFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildCassette(filepath.Join(dir, "project"), goal, os.DirFS(filepath.Join(dir, "replies")), "", "", ".brain")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d entries, want the failed plan, the plan and the failed task:\n%s", len(lines), b)
	}
	for i, want := range []string{`"error":{"type":"auth","status":401}`, `"response":"`, `"error":{"type":"rate_limit","status":429}`} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("entry %d %s, want %s", i+1, lines[i], want)
		}
	}
	if _, err := BuildCassette(t.TempDir(), goal, os.DirFS(t.TempDir()), "", "", ".brain"); err == nil {
		t.Error("BuildCassette without a plan reply succeeded")
	}
}

// checkGolden compares got with the committed file, or rewrites the file
// with UPDATE_GOLDEN=1.
func checkGolden(t *testing.T, committed string, got []byte, why string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(committed, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what it is built from (%s); rerun with UPDATE_GOLDEN=1", committed, why)
	}
}

// TestInstall: every file lands in place, and an existing file is never
// replaced.
func TestInstall(t *testing.T) {
	dir := t.TempDir()
	sc, err := Install("basic", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"goal.txt", "cassette.jsonl", "notes/service.md", "notes/oncall.md", "checks/linelen.wasm"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.HasPrefix(sc.Goal, "Write the operator documentation") || strings.HasSuffix(sc.Goal, "\n") {
		t.Errorf("goal %q", sc.Goal)
	}
	if _, err := Install("basic", dir); err == nil {
		t.Error("a second Install into the same directory succeeded")
	}
	if _, err := Install("nope", t.TempDir()); err == nil || !strings.Contains(err.Error(), "basic") {
		t.Errorf("Install of an unknown scenario: %v, want an error listing the scenarios", err)
	}
}

// TestLinelenReproducible rebuilds examples/check-go and compares it with
// the scenario's checks/linelen.wasm, when the go command is the version
// that built it. UPDATE_GOLDEN=1 rewrites it.
func TestLinelenReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("rebuilding a Go wasm module takes seconds; skipped in -short mode")
	}
	ctx := context.Background()
	committed := filepath.Join(basicDir, "project", "checks", "linelen.wasm")
	have, err := wasmbuild.GoVersion(ctx)
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	recorded, err := os.ReadFile(filepath.Join(basicDir, "linelen.wasm.goversion"))
	if err != nil {
		t.Fatal(err)
	}
	update := os.Getenv("UPDATE_GOLDEN") == "1"
	if want := strings.TrimSpace(string(recorded)); have != want && !update {
		t.Skipf("%s was built with %s, the go command is %s: bytes would differ", committed, want, have)
	}
	out := filepath.Join(t.TempDir(), "linelen.wasm")
	if err := wasmbuild.Build(ctx, "../../examples/check-go", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, committed, got, "examples/check-go changed?")
	if update {
		if err := os.WriteFile(filepath.Join(basicDir, "linelen.wasm.goversion"), []byte(have+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
