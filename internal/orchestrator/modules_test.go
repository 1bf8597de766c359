package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/wasmgen"
)

// longLine fails the basic scenario's linelen check (at most 80 bytes).
var longLine = "# ledger\n\n" + strings.Repeat("x", 120) + "\nport 8443\n"

// TestPlanPinsModules: brain-run plan writes the SHA-256 of every check
// module file into tasks.yaml, so the plan's own SHA-256 covers the
// modules; stock checks get none.
func TestPlanPinsModules(t *testing.T) {
	f := newFixture(t)
	pr := f.plan()
	module, err := os.ReadFile(filepath.Join(f.dir, "checks", "linelen.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f.tasksPath())
	if n := strings.Count(string(data), "        sha256: "+sha(module)+"\n"); n != 2 {
		t.Errorf("tasks.yaml pins linelen.wasm %d times, want twice (once per check of it):\n%s", n, data)
	}
	if n := strings.Count(string(data), "sha256:"); n != 2 {
		t.Errorf("tasks.yaml has %d pins, want 2: stock checks are not pinned", n)
	}
	for _, task := range pr.Plan.Tasks {
		for _, c := range task.Checks {
			if want := map[bool]string{true: sha(module)}[c.Module == "checks/linelen.wasm"]; c.SHA256 != want {
				t.Errorf("task %s check %s: pin %q, want %q", task.ID, c.Module, c.SHA256, want)
			}
		}
	}
	// The reply's own comments and layout stay; only the pins are added.
	reply := string(f.replies["plan.yaml"].Data)
	reply = reply[strings.Index(reply, "version: 1"):strings.LastIndex(reply, "```")]
	if got := strings.ReplaceAll(string(data), "        sha256: "+sha(module)+"\n", ""); got != reply {
		t.Errorf("tasks.yaml without its pins differs from the reply:\n%s\nwant\n%s", got, reply)
	}
}

// TestPlanRefusesUnpinnableModules: a reply naming a module file that is
// missing, a symbolic link, under one, or not a regular file (a FIFO must
// not block) is an invalid plan (check_module): nothing is written.
func TestPlanRefusesUnpinnableModules(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		attack       func(t *testing.T, dir string)
	}{
		{"missing", orchestrator.ModuleMissing, func(t *testing.T, dir string) { mustDo(t, os.Remove(filepath.Join(dir, "checks", "linelen.wasm"))) }},
		{"symlink", orchestrator.ModuleSymlink, func(t *testing.T, dir string) { linkAway(t, filepath.Join(dir, "checks", "linelen.wasm")) }},
		{"directory symlink", orchestrator.ModuleSymlink, func(t *testing.T, dir string) { linkAway(t, filepath.Join(dir, "checks")) }},
		{"fifo", orchestrator.ModuleNotRegular, func(t *testing.T, dir string) { fifo(t, filepath.Join(dir, "checks", "linelen.wasm")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.attack(t, f.dir)
			_, err := f.orch().Plan(context.Background(), f.goal, f.tasksPath(), false)
			var me *orchestrator.ModuleError
			if !errors.Is(err, orchestrator.ErrInvalidPlan) || !errors.As(err, &me) || me.Reason != tc.reason || names.ClassOf(err) != names.ClassCheckModule {
				t.Fatalf("Plan = %v, want an invalid plan, check_module, %s", err, tc.reason)
			}
			if _, err := os.Stat(f.tasksPath()); err == nil {
				t.Error("tasks.yaml written")
			}
			var failed audit.PlanFailed
			recs := f.records("plan.failed")
			if len(recs) != 1 || json.Unmarshal(recs[0].Data, &failed) != nil || failed.Reason != "check_module" {
				t.Errorf("plan.failed records %v", recs)
			}
		})
	}
}

// TestModuleReplacedAfterAFailedRun: after a run in which a task failed
// its checks, any change to a check module (another module that always
// passes, a link to a copy of the very same bytes, a link on the way to
// it, a FIFO, a directory, no file, a file over its size limit) is refused
// like an edited plan before anything runs, with or without
// --accept-edited-plan: the refusal is recorded with the module, its pin
// and what was found, and the failed task stays failed.
func TestModuleReplacedAfterAFailedRun(t *testing.T) {
	benign := wasmgen.Hostile()["benign.wasm"]
	for _, tc := range []struct {
		name, reason string
		found        bool // the refusal names the SHA-256 found
		attack       func(t *testing.T, module string)
	}{
		{"always passes", orchestrator.ModuleChanged, true, func(t *testing.T, module string) { mustDo(t, os.WriteFile(module, benign, 0o644)) }},
		{"symlink to the same bytes", orchestrator.ModuleSymlink, false, func(t *testing.T, module string) { linkAway(t, module) }},
		{"symlink on the path", orchestrator.ModuleSymlink, false, func(t *testing.T, module string) { linkAway(t, filepath.Dir(module)) }},
		{"fifo", orchestrator.ModuleNotRegular, false, func(t *testing.T, module string) { fifo(t, module) }},
		{"directory", orchestrator.ModuleNotRegular, false, func(t *testing.T, module string) {
			mustDo(t, os.Remove(module))
			mustDo(t, os.Mkdir(module, 0o755))
		}},
		{"missing", orchestrator.ModuleMissing, false, func(t *testing.T, module string) { mustDo(t, os.Remove(module)) }},
		{"over its size limit", orchestrator.ModuleTooLarge, false, func(t *testing.T, module string) { mustDo(t, os.Truncate(module, 33<<20)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			pr := f.plan()
			f.replies["readme.txt"] = &fstest.MapFile{Data: []byte(longLine)}
			res, err := f.orch().Execute(ctx, f.tasksPath(), false)
			if err != nil || res.Tasks[0].State != "failed" {
				t.Fatalf("first run: %+v, %v; want readme failed", res, err)
			}
			module := filepath.Join(f.dir, "checks", "linelen.wasm")
			pin := pr.Plan.Tasks[0].Checks[2].SHA256
			tc.attack(t, module)
			before := len(f.records(""))
			for _, accept := range []bool{false, true} {
				_, err := f.orch().Execute(ctx, f.tasksPath(), accept)
				var ee *orchestrator.EditedPlanError
				if !errors.As(err, &ee) || ee.Module == nil || ee.Module.Reason != tc.reason || ee.Module.Module != "checks/linelen.wasm" ||
					ee.Module.Pinned != pin || names.ClassOf(err) != names.ClassEditedPlan {
					t.Fatalf("Execute (accept %v) = %v, want an edited plan: module checks/linelen.wasm, %s", accept, err, tc.reason)
				}
			}
			recs := f.records("")[before:]
			if len(recs) != 2 {
				t.Fatalf("records after the change: %v, want two plan.edit_refused", recs)
			}
			for _, r := range recs {
				var ev audit.PlanEditRefused
				if r.Type != "plan.edit_refused" || json.Unmarshal(r.Data, &ev) != nil || ev.Module != "checks/linelen.wasm" || ev.ModuleSHA256 != pin ||
					ev.Reason != tc.reason || (ev.FoundModuleSHA256 != "") != tc.found || ev.PlanID != pr.PlanID || ev.FoundSHA256 != pr.SHA256 {
					t.Errorf("refusal %s %s", r.Type, r.Data)
				}
			}
			if s := f.states(1); s != "readme=failed/1 config=passed/1 runbook=passed/1" {
				t.Errorf("store after the refusals: %s", s)
			}
			f.verify()
		})
	}
}

// TestModuleSwappedDuringTheRun: the bytes checked against the pin are the
// bytes the verifier runs. A module replaced while a task waits for its
// model (its checks already read) does not run in its place: the task's
// checks run the pinned bytes; the next task that reads the module finds
// the change and ends in error (check_module), and the run stops.
func TestModuleSwappedDuringTheRun(t *testing.T) {
	f := newFixture(t)
	pr := f.plan()
	module := filepath.Join(f.dir, "checks", "linelen.wasm")
	pin := pr.Plan.Tasks[0].Checks[2].SHA256
	o := f.orch()
	o.Provider = &hook{Provider: o.Provider, before: func(req llm.Request) {
		if strings.HasPrefix(req.Prompt, "Task readme:") {
			mustDo(t, os.WriteFile(module, wasmgen.Hostile()["benign.wasm"], 0o644))
		}
	}}
	res, err := o.Execute(context.Background(), f.tasksPath(), false)
	var te *orchestrator.TaskError
	if !errors.As(err, &te) || te.TaskID != "runbook" || te.Reason != "check_module" {
		t.Fatalf("Execute = %v, want runbook to end in error, check_module", err)
	}
	if res.Tasks[0].State != "passed" || res.Tasks[0].Checks[2].ModuleSHA256 != pin {
		t.Errorf("readme %s, its linelen check ran module %s; want passed with the pinned %s", res.Tasks[0].State, res.Tasks[0].Checks[2].ModuleSHA256, pin)
	}
	var cr audit.ChecksRun
	json.Unmarshal(f.records("checks.run")[0].Data, &cr)
	if cr.Checks[2].ModuleSHA256 != pin {
		t.Errorf("checks.run records module %s, want the pin %s", cr.Checks[2].ModuleSHA256, pin)
	}
	if s := f.states(1); s != "readme=passed/1 config=passed/1 runbook=error/1" {
		t.Errorf("store: %s", s)
	}
	f.verify()
}

// TestUnpinnedModule: a tasks.yaml whose module file has no pin (an older
// plan, or one written by hand) is never run, even when accepted.
func TestUnpinnedModule(t *testing.T) {
	f := newFixture(t)
	plain := "version: 1\ntasks:\n  - id: solo\n    prompt: say hi\n    checks:\n      - module: checks/linelen.wasm\n        args: [artifact.txt, \"80\"]\n"
	os.WriteFile(f.tasksPath(), []byte(plain), 0o600)
	_, err := f.orch().Execute(context.Background(), f.tasksPath(), true)
	var ee *orchestrator.EditedPlanError
	if !errors.As(err, &ee) || ee.Module == nil || ee.Module.Reason != orchestrator.ModuleUnpinned {
		t.Fatalf("Execute --accept of an unpinned module = %v, want refused, module_unpinned", err)
	}
	if n := len(f.records("plan.edit_accepted")); n != 0 {
		t.Errorf("%d acceptances recorded", n)
	}
}

// hook is a provider that calls before ahead of each request.
type hook struct {
	llm.Provider
	before func(llm.Request)
}

func (h *hook) Chat(ctx context.Context, req llm.Request) (llm.Response, error) {
	h.before(req)
	return h.Provider.Chat(ctx, req)
}

// linkAway moves path out of the project and puts a symbolic link to it in
// its place: the same bytes, reached through a link.
func linkAway(t *testing.T, path string) {
	t.Helper()
	away := filepath.Join(t.TempDir(), filepath.Base(path))
	mustDo(t, os.Rename(path, away))
	mustDo(t, os.Symlink(away, path))
}

// fifo replaces path with a named pipe that nobody writes to.
func fifo(t *testing.T, path string) {
	t.Helper()
	mustDo(t, os.Remove(path))
	mustDo(t, syscall.Mkfifo(path, 0o644))
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestExecuteFIFOPlan: a tasks.yaml that is a named pipe is refused at
// once, not waited on.
func TestExecuteFIFOPlan(t *testing.T) {
	f := newFixture(t)
	mustDo(t, syscall.Mkfifo(f.tasksPath(), 0o600))
	var nre *fsutil.NotRegularError
	if _, err := f.orch().Execute(context.Background(), f.tasksPath(), false); !errors.As(err, &nre) {
		t.Fatalf("Execute of a FIFO = %v, want it refused", err)
	}
}
