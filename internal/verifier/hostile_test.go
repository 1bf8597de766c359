package verifier

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/internal/wasmbuild"
	"github.com/brain-dev/brain/internal/wasmgen"
)

// hostMemoryBound is the most the Go runtime may take from the OS for one
// hostile check. wazero's compiler grows a recursing module's stack to about
// 84 MB before it reports a stack overflow (176 MiB measured at peak, with
// the copy); the other attacks stay far below.
const hostMemoryBound = 320 << 20

// slack is added to a check's wall-time limit when asserting that it ended.
const slack = 5 * time.Second

// TestHostile runs every attack of the hostile suite and asserts its exact
// classification, that it ended within its time limit, that host memory
// stayed bounded and that nothing secret leaked into its output.
func TestHostile(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "artifact")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const canary = "brain-canary-7f3a9c1e"
	t.Setenv("BRAIN_TEST_SECRET", canary)
	writeFiles(t, base, map[string]string{"secret.txt": canary})
	writeFiles(t, dir, map[string]string{"result.txt": "original\n"})
	for name, target := range map[string]string{"leak_abs": "/etc/passwd", "leak_rel": "../secret.txt"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	passwdLine, _, _ := strings.Cut(string(passwd), "\n")
	before := snapshot(t, dir)

	v := newVerifier(t, Options{Defaults: Limits{Timeout: 5 * time.Second}})
	attacker := hostile(t, "attacker.wasm")
	contained := outcome{Fail, "", code(1)}
	tests := []struct {
		name   string
		file   string
		args   []string
		limits Limits
		want   outcome
		errMsg string // a substring of Result.Error
	}{
		{name: "benign", file: "benign.wasm", want: outcome{Pass, "", code(0)}},
		{name: "infinite loop", file: "loop.wasm", limits: Limits{Timeout: 500 * time.Millisecond},
			want: outcome{Error, ClassTimeout, nil}, errMsg: "no verdict within 500ms"},
		{name: "memory.grow bomb", file: "grow.wasm", limits: Limits{MemoryPages: 256},
			want: outcome{Error, ClassMemoryLimit, nil}, errMsg: "memory at its limit of 256 pages"},
		{name: "huge memory", file: "hugemem.wasm",
			want: outcome{Error, ClassMemoryLimit, nil}, errMsg: "min 65536 pages (4 Gi) over limit of 1024 pages"},
		{name: "deep recursion", file: "recurse.wasm",
			want: outcome{Error, ClassTrap, nil}, errMsg: "stack overflow"},
		{name: "deep recursion fat frames", file: "recurse_fat.wasm",
			want: outcome{Error, ClassTrap, nil}, errMsg: "stack overflow"},
		{name: "stdout flood", file: "flood.wasm",
			want: outcome{Error, ClassOutputLimit, nil}, errMsg: "output over the limit of 65536 bytes"},
		{name: "unreachable", file: "unreachable.wasm",
			want: outcome{Error, ClassTrap, nil}, errMsg: "unreachable"},
		{name: "undeclared host function", file: "import_func.wasm",
			want: outcome{Error, ClassForbiddenImport, nil}, errMsg: `forbidden import "env"."evil" (function)`},
		{name: "imported memory", file: "import_memory.wasm",
			want: outcome{Error, ClassForbiddenImport, nil}, errMsg: `forbidden import "env"."memory" (memory)`},
		{name: "proc_exit 255", file: "exit_255.wasm", want: outcome{Fail, "", code(255)}},
		{name: "proc_exit 1<<31", file: "exit_2147483648.wasm", want: outcome{Fail, "", code(1 << 31)}},
		{name: "proc_exit -1", file: "exit_minus1.wasm", want: outcome{Fail, "", code(1<<32 - 1)}},
		{name: "malformed", file: "malformed.wasm", want: outcome{Error, ClassInvalidModule, nil}},
		{name: "oversized", file: "oversized.wasm", limits: Limits{MaxModuleBytes: wasmgen.OversizedPadding - 1},
			want: outcome{Error, ClassInvalidModule, nil}, errMsg: "over the size limit"},
		{name: "read /etc/passwd", args: []string{"read-abs"}, want: contained},
		{name: "read ../", args: []string{"read-dotdot"}, want: contained},
		{name: "absolute symlink", args: []string{"read-symlink", "leak_abs"}, want: contained},
		{name: "escaping symlink", args: []string{"read-symlink", "leak_rel"}, want: contained},
		{name: "write artifact", args: []string{"write"}, want: contained},
		{name: "host env secret", args: []string{"env", "BRAIN_TEST_SECRET"}, want: contained},
	}
	suiteStart := time.Now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Check{Name: tt.name, Args: tt.args, Limits: tt.limits, Wasm: attacker}
			if tt.file != "" {
				c.Wasm = hostile(t, tt.file)
			}
			var got Result
			grown := memGrowth(func() { got = runOne(t, v, dir, c) })
			if diff := cmp.Diff(tt.want, outcomeOf(got)); diff != "" {
				t.Fatalf("outcome (-want +got):\n%s\nerror: %s\nstdout: %s\nstderr: %s", diff, got.Error, got.Stdout, got.Stderr)
			}
			if !strings.Contains(got.Error, tt.errMsg) {
				t.Errorf("error = %q, want it to contain %q", got.Error, tt.errMsg)
			}
			limit := tt.limits.Or(v.defaults).Timeout
			if d := time.Duration(got.DurationNS); d > limit+slack {
				t.Errorf("took %v, limit %v", d, limit)
			}
			if grown > hostMemoryBound {
				t.Errorf("host memory grew by %d MiB, bound %d MiB", grown>>20, hostMemoryBound>>20)
			}
			for _, out := range []string{got.Stdout, got.Stderr, got.Error} {
				if strings.Contains(out, canary) || strings.Contains(out, passwdLine) || strings.Contains(out, "ESCAPED") {
					t.Errorf("a secret leaked into the output: %q", out)
				}
			}
			if c.Wasm == nil || tt.file == "" {
				if !strings.Contains(got.Stdout, "blocked") {
					t.Errorf("attacker stdout = %q, want the blocked attempts", got.Stdout)
				}
			}
			if tt.name == "stdout flood" && int64(len(got.Stdout)) != v.defaults.MaxOutputBytes {
				t.Errorf("captured %d bytes of stdout, want the cap %d", len(got.Stdout), v.defaults.MaxOutputBytes)
			}
		})
	}
	t.Logf("hostile suite: %v", time.Since(suiteStart))
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("artifact directory changed (-before +after):\n%s", diff)
	}
}

// snapshot maps every path under dir to its content or link target.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			m[rel] = "-> " + target
			return err
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			info, _ := d.Info()
			m[rel] = info.Mode().String() + " " + string(b)
			return err
		}
		m[rel] = d.Type().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAttackerReproducible rebuilds attacker.wasm and compares it with the
// committed file, when the go command is the version that built it.
func TestAttackerReproducible(t *testing.T) {
	testReproducible(t, filepath.Join(hostileDir, "attacker"), filepath.Join(hostileDir, "attacker.wasm"))
}

// TestStockReproducible rebuilds each stock check program checks/DIR and
// compares it with the committed checks/DIR.wasm, when the go command is the
// version that built it.
func TestStockReproducible(t *testing.T) {
	for _, dir := range checks.Programs() {
		t.Run(dir, func(t *testing.T) {
			testReproducible(t, "../../checks/"+dir, "../../checks/"+dir+".wasm")
		})
	}
}

func testReproducible(t *testing.T, pkgDir, committed string) {
	if testing.Short() {
		t.Skip("rebuilding a Go wasm module takes seconds; skipped in -short mode")
	}
	ctx := context.Background()
	recorded, err := os.ReadFile(committed + ".goversion")
	if err != nil {
		t.Fatal(err)
	}
	have, err := wasmbuild.GoVersion(ctx)
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	if want := strings.TrimSpace(string(recorded)); have != want {
		t.Skipf("%s was built with %s, the go command is %s: bytes would differ", committed, want, have)
	}
	out := filepath.Join(t.TempDir(), "out.wasm")
	if err := wasmbuild.Build(ctx, pkgDir, out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rebuilt %s differs from the committed file; regenerate it", committed)
	}
}
