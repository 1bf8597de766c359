package runcmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/auditschema"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/testutil"
	"github.com/brain-dev/brain/internal/workspace"
)

// TestCheckAudited: brain-run check is traced and audited like every
// command. Its spans follow golden/spans.yaml and its records the audit
// schema, for checks that pass, fail and cannot run and for an unreadable
// input; a failed audit write of the verdicts aborts with "audit write
// failed" before any verdict is printed, and leaves no partial record.
func TestCheckAudited(t *testing.T) {
	dir := t.TempDir()
	art := filepath.Join(dir, "art")
	if err := os.Mkdir(art, 0o700); err != nil {
		t.Fatal(err)
	}
	const secret = "canary-argument-7f3d"
	if err := os.WriteFile(filepath.Join(art, secret), []byte("TODO\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notWasm := filepath.Join(dir, "not.wasm")
	if err := os.WriteFile(notWasm, []byte("not WebAssembly"), 0o600); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(dir, "ws")
	check := func(env map[string]string, args ...string) (int, string, string) {
		return run(t, env, append([]string{"check", "--dir", ws, "--artifact", art}, args...)...)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"pass", []string{"--check", "stock:exists:" + secret}, 0},
		{"fail", []string{"--check", "stock:nomatch:" + secret + ":TODO"}, cli.ExitFindings},
		{"error verdict", []string{"--check", notWasm}, cli.ExitFindings},
		{"unreadable module", []string{"--check", filepath.Join(dir, "missing.wasm")}, cli.ExitIO},
	} {
		if code, _, stderr := check(nil, c.args...); code != c.code {
			t.Errorf("%s: code %d, want %d: %s", c.name, code, c.code, stderr)
		}
	}
	audit := filepath.Join(ws, workspace.AuditFile)
	n, err := auditschema.ValidateFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1+3*3+2 {
		t.Errorf("%d records, want a header, three commands with their checks.run and one without", n)
	}
	spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
	checkDictionary(t, spans)
	runs := 0
	for _, sp := range spans {
		if sp.Name() == "verifier.run_checks" {
			runs++
		}
	}
	if runs != 3 {
		t.Errorf("%d verifier.run_checks spans, want 3", runs)
	}

	code, stdout, stderr := check(map[string]string{"BRAIN_FAULTS": "ioerr@audit.write=checks.run"}, "--check", "stock:exists:"+secret)
	if code != cli.ExitAuditWrite || stdout != "" || !strings.Contains(stderr, "audit write failed, operation aborted") {
		t.Errorf("audit write failure: code %d, stdout %q, stderr %q; want %d, no verdict, the abort named", code, stdout, stderr, cli.ExitAuditWrite)
	}
	rep, err := chain.VerifyFile(context.Background(), audit, chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("chain after the failed write: %+v, %v; want PASS", rep, err)
	}
	for _, name := range []string{workspace.AuditFile, workspace.SpansFile} {
		b, err := os.ReadFile(filepath.Join(ws, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds a check argument raw", name)
		}
	}
}

// TestCheckModuleFIFO: a check module that is a named pipe with no writer,
// given by --check or by a task of tasks.yaml, or a symbolic link to one, is
// unreadable input (exit 3) named as such, at once: brain-run never blocks
// opening it.
func TestCheckModuleFIFO(t *testing.T) {
	dir := t.TempDir()
	art := filepath.Join(dir, "art")
	if err := os.Mkdir(art, 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "check.wasm")
	blocked := testutil.Fifo(t, fifo)
	if err := os.Symlink("check.wasm", filepath.Join(dir, "link.wasm")); err != nil {
		t.Fatal(err)
	}
	tasks := filepath.Join(dir, "tasks.yaml")
	if err := os.WriteFile(tasks, []byte("version: 1\ntasks:\n  - id: t\n    checks:\n      - module: check.wasm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"--check", []string{"--check", fifo}, `check.wasm" is a named pipe (FIFO), not a regular file`},
		{"--tasks", []string{"--tasks", tasks, "--task", "t"}, `task "t": check module check.wasm is not a regular file`},
		{"symlink", []string{"--check", filepath.Join(dir, "link.wasm")}, `link.wasm" is a symbolic link, which is not followed`},
	} {
		code, stdout, stderr := run(t, nil, append([]string{"check", "--dir", filepath.Join(dir, "ws"), "--artifact", art}, c.args...)...)
		if blocked() {
			t.Fatalf("%s: brain-run blocked opening the named pipe until the test gave it a writer", c.name)
		}
		if code != cli.ExitIO || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: code %d, stdout %q, stderr %q; want %d naming it: %s", c.name, code, stdout, stderr, cli.ExitIO, c.want)
		}
	}
}

func TestSplitCheck(t *testing.T) {
	tests := []struct {
		spec   string
		module string
		args   []string
	}{
		{"check.wasm", "check.wasm", []string{}},
		{"check.wasm:a:b", "check.wasm", []string{"a", "b"}},
		{"check.wasm::b", "check.wasm", []string{"", "b"}},
		{"stock:exists", "stock:exists", []string{}},
		{"stock:match:out.txt:^ok", "stock:match", []string{"out.txt", "^ok"}},
		{`stock:match:out.txt:^a\:\d`, "stock:match", []string{"out.txt", `^a:\d`}},
		{`dir\\:x`, `dir\`, []string{"x"}},
		{`c\:x.wasm:y`, "c:x.wasm", []string{"y"}},
	}
	for _, tt := range tests {
		module, args, err := SplitCheck(tt.spec)
		if err != nil {
			t.Errorf("SplitCheck(%q): %v", tt.spec, err)
			continue
		}
		if args == nil {
			args = []string{}
		}
		if diff := cmp.Diff(tt.module, module); diff != "" {
			t.Errorf("SplitCheck(%q) module (-want +got):\n%s", tt.spec, diff)
		}
		if diff := cmp.Diff(tt.args, args); diff != "" {
			t.Errorf("SplitCheck(%q) args (-want +got):\n%s", tt.spec, diff)
		}
	}
	if _, _, err := SplitCheck(":a"); err == nil {
		t.Error(`SplitCheck(":a") returned no error`)
	}
}
