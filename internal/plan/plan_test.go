package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const good = `version: 1
tasks:
  - id: hello
    title: Write a greeting
    prompt: Write hello.txt containing a greeting.
    context: ["docs/*.md"]
    model: small
    checks:
      - module: stock:exists
        args: [hello.txt]
      - module: checks/custom.wasm
        sha256: 7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730
        args: [hello.txt, "a:b"]
        limits: {timeout: 2s, memory_pages: 64, max_module_bytes: 1048576, max_output_bytes: 4096}
`

func TestParse(t *testing.T) {
	p, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := &Plan{Version: 1, Tasks: []Task{{
		ID: "hello", Title: "Write a greeting", Prompt: "Write hello.txt containing a greeting.",
		Context: []string{"docs/*.md"}, Model: "small",
		Checks: []Check{
			{Module: "stock:exists", Args: []string{"hello.txt"}},
			{Module: "checks/custom.wasm", SHA256: "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730", Args: []string{"hello.txt", "a:b"},
				Limits: Limits{Timeout: Duration(2 * time.Second), MemoryPages: 64, MaxModuleBytes: 1 << 20, MaxOutputBytes: 4096}},
		},
	}}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "version: 1\ntasks:\n  - id: a\n    promt: x\n", "field promt not found"},
		{"no version", "tasks: []\n", "version 0 is not supported"},
		{"future version", "version: 2\n", "version 2 is not supported"},
		{"duplicate id", "version: 1\ntasks:\n  - id: a\n  - id: a\n", `task "a": duplicate id`},
		{"bad id", "version: 1\ntasks:\n  - id: 'a b'\n", `id "a b"`},
		{"long id", "version: 1\ntasks:\n  - id: " + strings.Repeat("a", MaxIDBytes+1) + "\n", "is 129 bytes, over the limit of 128"},
		{"empty module", "version: 1\ntasks:\n  - id: a\n    checks:\n      - args: [x]\n", "module is empty"},
		{"bad timeout", "version: 1\ntasks:\n  - id: a\n    checks:\n      - module: stock:exists\n        limits: {timeout: soon}\n", `line 6: timeout "soon"`},
		{"negative timeout", "version: 1\ntasks:\n  - id: a\n    checks:\n      - module: stock:exists\n        limits: {timeout: -1s}\n", "must be positive"},
		{"two documents", "version: 1\n---\nversion: 1\n", "more than one YAML document"},
		{"pinned stock check", "version: 1\ntasks:\n  - id: a\n    checks:\n      - module: stock:exists\n        sha256: " + strings.Repeat("a", 64) + "\n", "stock checks are built in"},
		{"short pin", "version: 1\ntasks:\n  - id: a\n    checks:\n      - module: a.wasm\n        sha256: abc\n", `sha256 "abc" is not 64 lowercase hex digits`},
		{"upper-case pin", "version: 1\ntasks:\n  - id: a\n    checks:\n      - module: a.wasm\n        sha256: " + strings.Repeat("A", 64) + "\n", "is not 64 lowercase hex digits"},
		{"empty", "", "empty document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "build-1.2_x": true, strings.Repeat("a", MaxIDBytes): true,
		"": false, "-a": false, ".": false, "..": false, "a/b": false, "a b": false, "a\x1b[2J": false, "é": false,
		strings.Repeat("a", MaxIDBytes+1): false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%.40q) = %v, want %v", id, got, want)
		}
	}
}

func TestLoadResolvesModules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tasks.yaml")
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	task, ok := p.Task("hello")
	if !ok {
		t.Fatal("task hello not found")
	}
	if got, want := p.ModulePath(task.Checks[1]), filepath.Join(dir, "checks", "custom.wasm"); got != want {
		t.Errorf("ModulePath = %q, want %q", got, want)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load of a missing file returned no error")
	}
}
