package runcmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/auditschema"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/workspace"
)

// bigPlan is a plan reply of n tasks whose ids are idLen bytes long.
func bigPlan(n, idLen int) string {
	var b strings.Builder
	b.WriteString("version: 1\ntasks:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: t%0*d\n    prompt: p\n", idLen-1, i)
	}
	return b.String()
}

// failedRun is what every run stopped by a limit must leave: the records of
// its failure (command.end with the exit code and class, and wantRecord),
// a failed root span of that class, and a chain that verifies, whose
// records follow the schema and whose spans follow the dictionary.
func checkFailedRun(t *testing.T, ws string, code int, class, wantRecord string) {
	t.Helper()
	path := filepath.Join(ws, workspace.AuditFile)
	rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("chain: %+v %v", rep, err)
	}
	if _, err := auditschema.ValidateFile(path); err != nil {
		t.Error(err)
	}
	typ, want, _ := strings.Cut(wantRecord, " ")
	var last string
	found := wantRecord == ""
	sc := chain.NewScanner(mustOpen(t, path))
	for sc.Scan() {
		switch sc.Record().Type {
		case "command.end":
			last = string(sc.Line())
		case typ:
			found = found || strings.Contains(string(sc.Line()), want)
		}
	}
	if want := fmt.Sprintf(`"exit_code":%d,`, code); !strings.Contains(last, want) || !strings.Contains(last, `"error":"`+class+`"`) {
		t.Errorf("command.end %s, want exit code %d and class %s", last, code, class)
	}
	if !found {
		t.Errorf("no %s record with %s", typ, want)
	}
	spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
	checkDictionary(t, spans)
	root := false
	for _, s := range spans {
		if v, ok := s.Attributes().Get("error.type"); ok && s.Name() == runcore.RootSpan && v.Str() == class {
			root = true
		}
	}
	if !root {
		t.Errorf("no %s span with error.type %s", runcore.RootSpan, class)
	}
}

// TestPlanLimits: a plan reply over a limit (too many bytes, too many
// tasks, task ids that would make its record too large for the chain, an
// answer over --max-reply-bytes streamed by the server) ends brain-run plan
// with exit 5, an error naming the limit and a hint naming its flag, and
// the run's records all written: llm.call, plan.failed with the class,
// command.end. Nothing is stored and no tasks.yaml appears. The same
// 80,000-task plan is recorded when the flags allow it.
func TestPlanLimits(t *testing.T) {
	const huge = 64 << 20
	tests := []struct {
		name        string
		reply       string
		pad         int64
		flags       []string
		class, msg  string
		hint        string
		serverBound bool // the server must not get to send the whole answer
	}{
		{name: "plan over --max-plan-bytes", reply: bigPlan(80000, 6),
			class: "plan_too_large", msg: "the plan in the reply is 2320018 bytes, over the limit of 1048576", hint: "raise --max-plan-bytes"},
		{name: "tasks over --max-plan-tasks", reply: bigPlan(80000, 6), flags: []string{"--max-plan-bytes", "16777216"},
			class: "plan_too_large", msg: "the plan in the reply has 80000 tasks, over the limit of 1000", hint: "raise --max-plan-tasks"},
		{name: "record over the chain's limit", reply: bigPlan(9000, 128), flags: []string{"--max-plan-bytes", "16777216", "--max-plan-tasks", "100000"},
			class: "plan_too_large", msg: "the audit record of the plan in the reply, which lists its 9000 task ids, would be 1179763 bytes, over the audit chain's limit of 1048576 bytes per record",
			hint: "an audit record is at most 1 MiB"},
		{name: "answer over --max-reply-bytes", pad: huge, flags: []string{"--max-reply-bytes", "1048576"},
			class: "response_too_large", msg: "the answer is over the limit of 1048576 bytes", hint: "raise --max-reply-bytes", serverBound: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t, "openai")
			if tc.reply != "" {
				m.replies["plan"] = tc.reply
			}
			m.pad = map[string]int64{"plan": tc.pad}
			dir, goal := project(t)
			ws := filepath.Join(dir, ".brain")
			tasks := filepath.Join(dir, "tasks.yaml")
			args := append(append([]string{"plan", "--dir", ws, "--goal", goal, "-o", tasks}, m.flags()...), tc.flags...)
			code, stdout, stderr := run(t, m.env(), args...)
			if code != cli.ExitModel || stdout != "" || !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, "brain-run: hint: ") || !strings.Contains(stderr, tc.hint) {
				t.Fatalf("plan: code %d, stdout %q, stderr %q; want %d, %q and a hint with %q", code, stdout, stderr, cli.ExitModel, tc.msg, tc.hint)
			}
			if strings.Contains(stderr, "free space") {
				t.Errorf("the disk is fine, the hint says otherwise: %s", stderr)
			}
			if _, err := os.Stat(tasks); err == nil {
				t.Error("tasks.yaml written")
			}
			if ents, _ := filepath.Glob(filepath.Join(dir, ".tasks.yaml.tmp-*")); len(ents) > 0 {
				t.Errorf("temporary files left: %v", ents)
			}
			checkFailedRun(t, ws, cli.ExitModel, tc.class, `plan.failed "reason":"`+tc.class+`"`)
			m.mu.Lock()
			sent := m.sent
			m.mu.Unlock()
			if tc.serverBound && sent > huge/2 {
				t.Errorf("the server sent %d bytes of a %d-byte answer: the client read far past its limit", sent, huge)
			}
			if _, _, stderr := run(t, m.env(), "status", "--dir", ws); !strings.Contains(stderr, "no plan is recorded in the state store") {
				t.Errorf("a plan was stored: %s", stderr)
			}
		})
	}

	t.Run("80000 tasks within raised limits", func(t *testing.T) {
		m := newModel(t, "openai")
		m.replies["plan"] = bigPlan(80000, 6)
		dir, goal := project(t)
		ws := filepath.Join(dir, ".brain")
		code, stdout, stderr := run(t, m.env(), append([]string{"plan", "--dir", ws, "--goal", goal, "-o", filepath.Join(dir, "tasks.yaml"),
			"--max-plan-bytes", "16777216", "--max-plan-tasks", "100000"}, m.flags()...)...)
		if code != 0 || !strings.Contains(stdout, ", 80000 tasks, sha256 ") {
			t.Fatalf("plan: code %d\n%.300s%s", code, stdout, stderr)
		}
		code, stdout, _ = run(t, m.env(), "status", "--dir", ws, "--chain")
		if code != 0 || !strings.Contains(stdout, "80000 tasks: 0 passed, 0 failed, 0 error, 0 running, 80000 pending") || !strings.Contains(stdout, "match the state store") {
			t.Errorf("status --chain: code %d, %.200s", code, stdout[max(0, len(stdout)-300):])
		}
	})
}

// TestExecuteLimits: a task's answer over --max-reply-bytes is never
// written as an artifact: the task ends in error with the class, the run
// stops with exit 5 and its records are written; the client stops reading
// the streamed answer at the limit. A tasks.yaml over --max-plan-bytes is
// refused before anything is recorded (exit 3), with command.end.
func TestExecuteLimits(t *testing.T) {
	const huge = 64 << 20
	m := newModel(t, "openai")
	dir, goal := project(t)
	ws := filepath.Join(dir, ".brain")
	tasks := filepath.Join(dir, "tasks.yaml")
	if code, _, stderr := run(t, m.env(), append([]string{"plan", "--dir", ws, "--goal", goal, "-o", tasks}, m.flags()...)...); code != 0 {
		t.Fatalf("plan: %s", stderr)
	}
	m.pad = map[string]int64{"readme": huge}
	code, stdout, stderr := run(t, m.env(), append(append([]string{"execute", "--dir", ws, "--max-reply-bytes", "1048576"}, m.flags()...), tasks)...)
	if code != cli.ExitModel || !strings.Contains(stderr, "the answer is over the limit of 1048576 bytes") || !strings.Contains(stderr, "raise --max-reply-bytes") ||
		!strings.Contains(stdout, "readme   error  response_too_large") {
		t.Fatalf("execute: code %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(ws, "artifacts", "plan-1", "readme", "artifact.txt")); err == nil {
		t.Error("the answer over the limit was written as the artifact")
	}
	checkFailedRun(t, ws, cli.ExitModel, "response_too_large", `task.state "to":"error","attempt":1,"reason":"response_too_large"`)
	checkFailedRun(t, ws, cli.ExitModel, "response_too_large", `llm.call "task_id":"readme","provider":"openai",`+
		`"model":"gemini-2.5-flash","input_tokens":0,"output_tokens":0,"latency_ms":`)
	checkFailedRun(t, ws, cli.ExitModel, "response_too_large", `llm.call "outcome":"error","error_type":"response_too_large"`)
	m.mu.Lock()
	sent := m.sent
	m.mu.Unlock()
	if sent > huge/2 {
		t.Errorf("the server sent %d bytes of a %d-byte answer", sent, huge)
	}

	code, _, stderr = run(t, m.env(), append(append([]string{"execute", "--dir", ws, "--max-plan-bytes", "100"}, m.flags()...), tasks)...)
	if code != cli.ExitIO || !strings.Contains(stderr, "tasks.yaml is over the limit of 100 bytes") || !strings.Contains(stderr, "raise --max-plan-bytes") {
		t.Fatalf("execute of a tasks.yaml over the limit: code %d\n%s", code, stderr)
	}
	checkFailedRun(t, ws, cli.ExitIO, "tasks_too_large", "")

	if code, _, stderr = run(t, m.env(), append(append([]string{"execute", "--dir", ws, "--max-plan-tasks", "0"}, m.flags()...), tasks)...); code != cli.ExitUsage {
		t.Errorf("--max-plan-tasks 0: code %d, %s", code, stderr)
	}
}
