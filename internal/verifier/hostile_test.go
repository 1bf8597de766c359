package verifier

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/internal/wasmbuild"
	"github.com/brain-dev/brain/internal/wasmgen"
)

// hostMemoryBound is the most resident memory a check's sandbox process may
// reach (its peak, getrusage's ru_maxrss) under the default limits: its
// memory limit, 448 MiB of private writable memory, plus the program's own
// code.
const hostMemoryBound = 512 << 20

// TestHostile runs every attack of the hostile suite and asserts its exact
// classification, that its sandbox's memory stayed under the bound and
// that nothing secret leaked into its output.
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
	exits := recordExits(v)
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
			want: outcome{Error, ClassMemoryLimit, nil}, errMsg: "module declares a memory of at least 65536 pages, over the limit of 1024 pages"},
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
			got := runOne(t, v, dir, c)
			if diff := cmp.Diff(tt.want, outcomeOf(got)); diff != "" {
				t.Fatalf("outcome (-want +got):\n%s\nerror: %s\nstdout: %s\nstderr: %s", diff, got.Error, got.Stdout, got.Stderr)
			}
			if !strings.Contains(got.Error, tt.errMsg) {
				t.Errorf("error = %q, want it to contain %q", got.Error, tt.errMsg)
			}
			// An oversized module is refused before any sandbox starts.
			if exit, ok := exits.get(tt.name); ok {
				if exit.Killed {
					t.Errorf("the sandbox was killed; want it to end by itself with its verdict")
				}
				if exit.Peak() > hostMemoryBound {
					t.Errorf("the sandbox's peak memory was %d MiB, bound %d MiB", exit.Peak()>>20, hostMemoryBound>>20)
				}
			} else if tt.name != "oversized" {
				t.Errorf("no sandbox ran")
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

// TestHostileBombs runs every resource bomb (wasmgen.Bombs) under a short
// time limit and asserts that none passes, that each ends with the class
// its attack allows, that a sandbox still compiling or running at the
// deadline was killed then, and that no sandbox's memory passed the bound.
// Without the sandbox process, nested_blocks, br_table_wide and
// straight_line passed after compiling for seconds to minutes, and the
// table bombs took gigabytes.
func TestHostileBombs(t *testing.T) {
	const limit = 2 * time.Second
	dir := t.TempDir()
	v := newVerifier(t, Options{Defaults: Limits{Timeout: limit}})
	exits := recordExits(v)
	// The classes each bomb may end with: what stops it first depends on
	// the machine's speed, but either stop is a bound. Those that may
	// time out while compiling are killed at the deadline.
	both := []Class{ClassMemoryLimit, ClassTimeout}
	allowed := map[string][]Class{
		"table_grow_funcref":   {ClassMemoryLimit},
		"table_grow_externref": {ClassMemoryLimit},
		"table_grow_loop":      both,
		"table_huge_min":       {ClassInvalidModule},
		"big_elem":             both,
		"memory_spin":          {ClassTimeout},
		"nested_blocks":        {ClassTimeout},
		"straight_line":        both,
		"br_table_wide":        both,
		"many_funcs":           both,
		"many_data":            {ClassInvalidModule},
		"many_globals":         {ClassInvalidModule},
		"huge_locals":          {ClassInvalidModule},
	}
	for _, b := range wasmgen.Bombs() {
		t.Run(b.Name, func(t *testing.T) {
			want, ok := allowed[b.Name]
			if !ok {
				t.Fatalf("no expected classes for bomb %s", b.Name)
			}
			got := runOne(t, v, dir, Check{Name: b.Name, Wasm: b.Module()})
			exit := exits.of(t, b.Name)
			t.Logf("%s: %s %s in %v, peak %d MiB, killed %v: %s", b.Name, got.Verdict, got.Class,
				time.Duration(got.DurationNS).Round(time.Millisecond), exit.Peak()>>20, exit.Killed, got.Error)
			if got.Verdict != Error || !slices.Contains(want, got.Class) {
				t.Fatalf("verdict %s, class %q (%s); want an error of class %v", got.Verdict, got.Class, got.Error, want)
			}
			switch {
			case exit.Killed && !errors.Is(exit.killedFor, errTimeout):
				t.Errorf("the sandbox was killed for %v, not at its deadline", exit.killedFor)
			case exit.Killed && exit.report == nil && got.Class != ClassTimeout:
				// (One that answered as it was killed keeps its answer.)
				t.Errorf("the sandbox was killed at its deadline, but the class is %s", got.Class)
			}
			if b.Name == "nested_blocks" && (!exit.Killed || exit.Compiled) {
				t.Errorf("killed %v, compiled %v; want the sandbox killed while it compiled", exit.Killed, exit.Compiled)
			}
			if exit.Peak() > hostMemoryBound {
				t.Errorf("the sandbox's peak memory was %d MiB, bound %d MiB", exit.Peak()>>20, hostMemoryBound>>20)
			}
			// A guest's memory is mapped once, never copied: holding all
			// of it costs the sandbox that much, and little more.
			if guest := int64(v.defaults.MemoryPages) << 16; b.Name == "memory_spin" && exit.Peak() > guest+guestMemorySlack {
				t.Errorf("the sandbox's peak memory was %d MiB holding %d MiB of guest memory; want at most %d MiB more",
					exit.Peak()>>20, guest>>20, guestMemorySlack>>20)
			}
		})
	}
}

// guestMemorySlack is how much more than its guest's memory a sandbox that
// only holds that memory may take: the Go runtime and wazero.
const guestMemorySlack = 32 << 20

// exitLog records how each check's sandbox ended, by check name.
type exitLog struct {
	mu    sync.Mutex
	exits map[string]SandboxExit
}

// recordExits makes v record its sandboxes' exits.
func recordExits(v *Verifier) *exitLog {
	l := &exitLog{exits: map[string]SandboxExit{}}
	v.sandboxEnded = func(c Check, e SandboxExit) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.exits[c.Name] = e
	}
	return l
}

// get returns how the sandbox of the check named name ended, if one ran.
func (l *exitLog) get(name string) (SandboxExit, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.exits[name]
	return e, ok
}

// of returns how the sandbox of the check named name ended.
func (l *exitLog) of(t testing.TB, name string) SandboxExit {
	t.Helper()
	e, ok := l.get(name)
	if !ok {
		t.Fatalf("no sandbox ran for check %q", name)
	}
	return e
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

// TestMemoryPagesRaiseSandbox: a module that needs more memory to compile
// than a sandbox has by default (three 7 MB straight-line functions) is
// memory_limit, and passes when its memory_pages, which raise the sandbox's
// limit with the linear memory's, give it room.
func TestMemoryPagesRaiseSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 21 MB of code twice")
	}
	var wasm []byte
	for _, b := range wasmgen.Bombs() {
		if b.Name == "straight_line" {
			wasm = b.Module()
		}
	}
	v := newVerifier(t, Options{Defaults: Limits{Timeout: 5 * time.Minute}})
	if got := runOne(t, v, t.TempDir(), Check{Name: "default", Wasm: wasm}); got.Class != ClassMemoryLimit {
		t.Errorf("with the default limits: %s %s %q, want memory_limit", got.Verdict, got.Class, got.Error)
	}
	if got := runOne(t, v, t.TempDir(), Check{Name: "raised", Wasm: wasm, Limits: Limits{MemoryPages: 8192}}); got.Verdict != Pass {
		t.Errorf("with memory_pages 8192: %s %s %q, want a pass", got.Verdict, got.Class, got.Error)
	}
}
