package verifier

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/golden"
	"github.com/brain-dev/brain/internal/wasmgen"
)

// hostileDir holds the committed hostile modules.
const hostileDir = "../../testdata/hostile"

func newVerifier(t testing.TB, opts Options) *Verifier {
	t.Helper()
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close(context.Background()) })
	return v
}

func hostile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hostileDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stock(t testing.TB, name string, args ...string) Check {
	t.Helper()
	wasm, lead, ok := checks.Lookup("stock:" + name)
	if !ok {
		t.Fatalf("no stock check %q", name)
	}
	return Check{Name: "stock:" + name, Wasm: wasm, Args: append(lead, args...)}
}

// runOne runs c alone against dir and returns its result.
func runOne(t testing.TB, v *Verifier, dir string, c Check) Result {
	t.Helper()
	res, err := v.Run(context.Background(), dir, []Check{c})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// outcome is the part of a Result that tests compare.
type outcome struct {
	Verdict  Verdict
	Class    Class
	ExitCode *uint32
}

func outcomeOf(r Result) outcome { return outcome{r.Verdict, r.Class, r.ExitCode} }

func code(c uint32) *uint32 { return &c }

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStockChecks(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"out.txt":     "hello\nworld 42\n",
		"empty.txt":   "",
		"good.json":   `{"name": "brain", "n": 3}`,
		"bad.json":    `{"name": "brain",`,
		"schema.json": `{"type": "object", "required": ["name"], "properties": {"n": {"type": "integer"}}}`,
	})
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The time limit counts compiling, which takes seconds for a Go-built
	// module on a busy machine; this test is about the verdicts.
	v := newVerifier(t, Options{Defaults: Limits{Timeout: 5 * time.Minute}})
	pass, fail, usage := outcome{Pass, "", code(0)}, outcome{Fail, "", code(1)}, outcome{Fail, "", code(2)}
	tests := []struct {
		name  string
		check Check
		want  outcome
		out   string
	}{
		{"exists", stock(t, "exists", "out.txt"), pass, "ok out.txt exists (15 bytes)\n"},
		{"exists missing", stock(t, "exists", "nope.txt"), fail, "FAIL nope.txt does not exist\n"},
		{"exists empty", stock(t, "exists", "empty.txt"), fail, "FAIL empty.txt is empty\n"},
		{"exists dir", stock(t, "exists", "sub"), fail, "FAIL sub is not a regular file\n"},
		{"match", stock(t, "match", "out.txt", `^world \d+$`), pass, "ok out.txt matches \"^world \\\\d+$\"\n"},
		{"match none", stock(t, "match", "out.txt", `^bye`), fail, "FAIL out.txt does not match \"^bye\"\n"},
		{"nomatch", stock(t, "nomatch", "out.txt", `TODO`), pass, "ok out.txt does not match \"TODO\"\n"},
		{"nomatch found", stock(t, "nomatch", "out.txt", `wor`), fail, "FAIL out.txt:2 matches \"wor\"\n"},
		{"json", stock(t, "json", "good.json"), pass, "ok good.json is valid JSON\n"},
		{"json bad", stock(t, "json", "bad.json"), fail, ""},
		{"jsonschema file", stock(t, "jsonschema", "good.json", "schema.json"), pass, "ok good.json matches the schema\n"},
		{"jsonschema inline", stock(t, "jsonschema", "good.json", `{"required": ["missing"]}`), fail, ""},
		{"bad regex", stock(t, "match", "out.txt", `(`), usage, ""},
		{"too few args", stock(t, "exists"), usage, ""},
		{"jsonschema too few args", stock(t, "jsonschema", "good.json"), usage, ""},
		{"jsonschema bad schema", stock(t, "jsonschema", "good.json", `{"type": 7}`), usage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runOne(t, v, dir, tt.check)
			if diff := cmp.Diff(tt.want, outcomeOf(got)); diff != "" {
				t.Fatalf("outcome (-want +got):\n%s\nstdout: %s\nstderr: %s", diff, got.Stdout, got.Stderr)
			}
			if tt.out != "" && got.Stdout != tt.out {
				t.Errorf("stdout = %q, want %q", got.Stdout, tt.out)
			}
		})
	}
}

func TestResultFields(t *testing.T) {
	dir := t.TempDir()
	v := newVerifier(t, Options{})
	wasm := hostile(t, "exit_255.wasm")
	got := runOne(t, v, dir, Check{Name: "exit", Wasm: wasm, Args: []string{"a"}})
	want := Result{
		Check:        "exit",
		Args:         []string{"a"},
		ModuleSHA256: hashHex(wasm),
		Verdict:      Fail,
		ExitCode:     code(255),
		StdoutSHA256: hashHex(nil),
		StderrSHA256: hashHex(nil),
	}
	if got.DurationNS <= 0 {
		t.Errorf("DurationNS = %d, want > 0", got.DurationNS)
	}
	got.DurationNS = 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestRunOrderAndConcurrency(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{1, 3} {
		v := newVerifier(t, Options{Concurrency: n})
		var cs []Check
		var want []outcome
		for i := range 6 {
			if i%2 == 0 {
				cs = append(cs, Check{Name: "benign", Wasm: hostile(t, "benign.wasm")})
				want = append(want, outcome{Pass, "", code(0)})
			} else {
				cs = append(cs, Check{Name: "unreachable", Wasm: hostile(t, "unreachable.wasm")})
				want = append(want, outcome{Error, ClassTrap, nil})
			}
		}
		res, err := v.Run(context.Background(), dir, cs)
		if err != nil {
			t.Fatal(err)
		}
		var got []outcome
		for _, r := range res {
			got = append(got, outcomeOf(r))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("concurrency %d: outcomes (-want +got):\n%s", n, diff)
		}
	}
}

func TestRunCanceled(t *testing.T) {
	v := newVerifier(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := v.Run(ctx, t.TempDir(), []Check{{Name: "loop", Wasm: hostile(t, "loop.wasm")}})
	if err == nil {
		t.Fatal("Run with a canceled context returned no error")
	}
	if res[0].Class != ClassCanceled {
		t.Errorf("class = %q, want %q", res[0].Class, ClassCanceled)
	}
}

func TestRunBadArtifactDir(t *testing.T) {
	v := newVerifier(t, Options{})
	if _, err := v.Run(context.Background(), filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("Run on a missing directory returned no error")
	}
}

func TestCacheDirModeAndCorruption(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"out.txt": "x"})
	c := Check{Name: "recurse-benign", Wasm: hostile(t, "unreachable.wasm")}

	v := newVerifier(t, Options{CacheDir: cache})
	if got := runOne(t, v, dir, c); got.Class != ClassTrap {
		t.Fatalf("first run: class %q, want %q", got.Class, ClassTrap)
	}
	v.Close(context.Background())
	st, err := os.Stat(cache)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("cache mode = %v, want 0700", st.Mode().Perm())
	}

	var entries []string
	filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			entries = append(entries, path)
		}
		return nil
	})
	if len(entries) == 0 {
		t.Fatal("no cache entries written")
	}
	for _, corrupt := range []func(string) error{
		func(p string) error { return os.WriteFile(p, []byte("garbage, not a compiled module"), 0o600) },
		func(p string) error { return os.Truncate(p, 0) },
		// What a sandbox killed in the middle of writing an entry in
		// place would leave.
		func(p string) error {
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, st.Size()/2)
		},
	} {
		for _, p := range entries {
			if err := corrupt(p); err != nil {
				t.Fatal(err)
			}
		}
		v := newVerifier(t, Options{CacheDir: cache})
		if got := runOne(t, v, dir, c); got.Class != ClassTrap {
			t.Fatalf("run with a corrupted cache: %+v", got)
		}
		v.Close(context.Background())
	}
}

// TestHostileModulesUpToDate regenerates the raw hostile modules and compares
// them with the committed files.
func TestHostileModulesUpToDate(t *testing.T) {
	for name, want := range wasmgen.Hostile() {
		got := hostile(t, name)
		if string(got) != string(want) {
			t.Errorf("%s differs from its generator; run go run ./testdata/hostile/gen", name)
		}
	}
}

func TestLimitsOr(t *testing.T) {
	got := Limits{Timeout: time.Second}.Or(DefaultLimits())
	want := DefaultLimits()
	want.Timeout = time.Second
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Or (-want +got):\n%s", diff)
	}
	if err := (Limits{MemoryPages: MaxMemoryPages + 1}).Validate(); err == nil || !strings.Contains(err.Error(), "memory_pages") {
		t.Errorf("Validate = %v, want a memory_pages error", err)
	}
}

// TestClassesInAuditSchema: every error class a verdict can have is one the
// audit schema accepts for a checks.run record, and no other.
func TestClassesInAuditSchema(t *testing.T) {
	var schema any
	if err := json.Unmarshal(golden.AuditSchema, &schema); err != nil {
		t.Fatal(err)
	}
	var enum []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if c, ok := v["class"].(map[string]any); ok {
				for _, e := range c["enum"].([]any) {
					enum = append(enum, e.(string))
				}
			}
			for _, w := range v {
				walk(w)
			}
		case []any:
			for _, w := range v {
				walk(w)
			}
		}
	}
	walk(schema)
	var want []string
	for _, c := range []Class{ClassTimeout, ClassMemoryLimit, ClassTrap, ClassInvalidModule, ClassForbiddenImport,
		ClassOutputLimit, ClassCanceled, ClassSandboxDied} {
		want = append(want, string(c))
	}
	if diff := cmp.Diff(want, enum); diff != "" {
		t.Errorf("the audit schema's classes (-verifier +schema):\n%s", diff)
	}
}
