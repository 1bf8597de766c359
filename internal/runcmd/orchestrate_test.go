package runcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/auditschema"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/scenario"
	"github.com/brain-dev/brain/internal/spandict"
	"github.com/brain-dev/brain/internal/testutil"
	"github.com/brain-dev/brain/internal/workspace"
)

const basicReplies = "../../golden/scenarios/basic/replies"

// TestDemo runs brain-run demo as a user would and checks what the issue
// asks of it: every task passes, every span follows golden/spans.yaml,
// every audit record golden/audit.schema.json, every record names a span
// of the run, every span that mutates state has its audit record, and no
// state is in the clear in the database file.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := run(t, nil, "demo", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("demo: code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		`golden scenario "basic" in ` + dir,
		"task     readme   passed  3/3 checks", "task     config   passed  3/3 checks", "task     runbook  passed  3/3 checks",
		"spans    34 in .brain/spans.jsonl", "audit    20 records in .brain/audit.jsonl", "verify   PASS, head 19:",
		"http://127.0.0.1:16686/api/traces/", "trace    brain-trace-lint tree --trace ",
		"report   brain-trace-lint report -o " + filepath.Join(dir, "report.html") + " --audit " + filepath.Join(dir, ".brain", "audit.jsonl") + " --trace ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	ws := filepath.Join(dir, ".brain")
	spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
	checkDictionary(t, spans)
	count := map[string]int{}
	byID := map[string]ptrace.Span{}
	for _, s := range spans {
		count[s.Name()]++
		byID[s.SpanID().String()] = s
	}
	want := map[string]int{"brain_cli.command": 1, "orchestrator.plan_generation": 1, "orchestrator.task_execution": 3, "llm_provider.chat": 4,
		"sketch.generate_context": 3, "verifier.run_checks": 3, "audit_logger.write_event": 19}
	for name, n := range want {
		if count[name] != n {
			t.Errorf("%d %s spans, want %d", count[name], name, n)
		}
	}
	n, err := auditschema.ValidateFile(filepath.Join(ws, workspace.AuditFile))
	if err != nil || n != 20 {
		t.Fatalf("schema: %d records: %v", n, err)
	}
	// Each record names a span of the run; each span that mutates state
	// (the dictionary says which) has at least one record.
	recorded := map[string]bool{}
	sc := chain.NewScanner(mustOpen(t, filepath.Join(ws, workspace.AuditFile)))
	for sc.Scan() {
		r := sc.Record()
		if r.Type == chain.HeaderType {
			continue
		}
		if _, ok := byID[r.SpanID]; !ok {
			t.Errorf("%s record names span %s, not a span of the run", r.Type, r.SpanID)
		}
		recorded[r.SpanID] = true
	}
	d := spandict.Default()
	for id, s := range byID {
		if d.Spans[s.Name()].MutatesState && !recorded[id] {
			t.Errorf("span %s (%s) mutates state but has no audit record", s.Name(), id)
		}
	}
	// The state is encrypted: no task id or title in the clear.
	db, err := os.ReadFile(filepath.Join(ws, workspace.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"Write the staging configuration", "runbook", "SQLite format 3"} {
		if bytes.Contains(db, []byte(plain)) {
			t.Errorf("state.db contains %q in the clear", plain)
		}
	}
	checkPrivate(t, ws)

	// The demo's workspace works with the other commands.
	code, stdout, stderr = run(t, nil, "status", "--dir", ws, "--state-key-file", filepath.Join(ws, "state.key"), "--chain")
	if code != 0 || !strings.Contains(stdout, "3 tasks: 3 passed") || !strings.Contains(stdout, "match the state store") {
		t.Errorf("status --chain: code %d\n%s%s", code, stdout, stderr)
	}

	// A directory that is not empty is refused, and left alone.
	code, _, stderr = run(t, nil, "demo", dir)
	if code != cli.ExitUsage || !strings.Contains(stderr, "is not empty") {
		t.Errorf("demo into a used directory: code %d, %s", code, stderr)
	}
}

// checkPrivate fails for any file or directory under dir that group or
// others may access.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", p, fi.Mode().Perm())
		}
		return nil
	})
}

// model is a fake model server that speaks a provider's API and answers
// from the golden scenario's replies: the plan request with plan.yaml, a
// task's request with TASK.txt.
type model struct {
	wire     string // "openai" or "gemini"
	srv      *httptest.Server
	hits     atomic.Int32
	replies  map[string]string // plan and task id → reply
	fail     int               // answer every request with this HTTP status (set before use)
	held     chan struct{}     // closed when the held request arrived
	heldOnce sync.Once

	pad map[string]int64 // plan or task id → bytes added to its reply (set before use)
	// gate, when set (before use), holds every request until it is
	// closed; each request says on arrived that it came.
	gate, arrived chan struct{}

	mu    sync.Mutex
	asked []string // "plan" or the task id, in order
	hold  string   // a task whose request is held, never answered
	sent  int64    // bytes of replies the server could write
}

func (m *model) setHold(who string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hold = who
}

// takeAsked returns what the server was asked so far, and forgets it.
func (m *model) takeAsked() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := strings.Join(m.asked, " ")
	m.asked = nil
	return s
}

const testKey = "sk-test-CANARY-5f1e2d3c4b5a69788796a5b4"

func newModel(t *testing.T, wire string) *model {
	m := &model{wire: wire, held: make(chan struct{}), replies: map[string]string{}}
	entries, err := os.ReadDir(basicReplies)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(basicReplies, e.Name()))
		m.replies[strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".txt"), ".yaml")] = string(b)
	}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *model) serve(w http.ResponseWriter, r *http.Request) {
	m.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization") == "Bearer "+testKey || r.Header.Get("x-goog-api-key") == testKey
	if !auth || m.fail != 0 {
		status := m.fail
		if !auth {
			status = http.StatusUnauthorized
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		// Providers echo the key in their errors; brain must not.
		fmt.Fprintf(w, `{"error":{"code":%d,"message":"API key %s rejected","status":"UNAUTHENTICATED","type":"invalid_request_error"}}`, status, testKey)
		return
	}
	// The task is the "Task ID:" line of the prompt; a prompt without one
	// asks for the plan.
	text := string(body)
	who := "plan"
	if i := strings.Index(text, `Task `); i >= 0 && strings.Contains(text, "acceptance checks then examine") {
		rest := text[i+len("Task "):]
		who = rest[:strings.Index(rest, ":")]
	}
	m.mu.Lock()
	m.asked = append(m.asked, who)
	hold := who == m.hold
	m.mu.Unlock()
	if hold {
		m.heldOnce.Do(func() { close(m.held) })
		<-r.Context().Done()
		return
	}
	if m.gate != nil {
		m.arrived <- struct{}{}
		select {
		case <-m.gate:
		case <-r.Context().Done():
			return
		}
	}
	reply, ok := m.replies[who]
	if !ok {
		http.Error(w, "no reply", http.StatusNotFound)
		return
	}
	enc, _ := json.Marshal(reply)
	form := `{"candidates":[{"content":{"role":"model","parts":[{"text":%s}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":50,"totalTokenCount":150},"modelVersion":"served-model"}`
	if m.wire == "openai" {
		form = `{"id":"c1","object":"chat.completion","created":1,"model":"served-model","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}}`
	}
	head, tail, _ := strings.Cut(form, "%s")
	w.Header().Set("Content-Type", "application/json")
	// The reply, then m.pad[who] bytes more of it, streamed.
	sent, _ := io.WriteString(w, head+string(enc[:len(enc)-1]))
	total := int64(sent)
	chunk := []byte(strings.Repeat("a", 64<<10))
	for pad := m.pad[who]; pad > 0; pad -= int64(len(chunk)) {
		n, err := w.Write(chunk)
		total += int64(n)
		if err != nil {
			break
		}
	}
	io.WriteString(w, `"`+tail)
	m.mu.Lock()
	m.sent += total
	m.mu.Unlock()
}

// flags are the command-line flags that point brain-run at the server.
func (m *model) flags() []string {
	if m.wire == "openai" {
		return []string{"--provider", "openai", "--openai-base-url", m.srv.URL + "/v1"}
	}
	return []string{"--provider", "gemini", "--gemini-base-url", m.srv.URL}
}

func (m *model) env() map[string]string {
	return map[string]string{"OPENAI_API_KEY": testKey, "GEMINI_API_KEY": testKey, "BRAIN_STATE_KEY": "state key of the test"}
}

// project installs the basic scenario's project (no cassette needed) and
// returns its directory and goal.
func project(t *testing.T) (string, string) {
	dir := t.TempDir()
	sc, err := scenario.Install("basic", dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, sc.Goal
}

// TestLiveProviders plans and executes the golden scenario through the real
// Gemini and OpenAI client libraries against a local server that speaks
// their APIs.
func TestLiveProviders(t *testing.T) {
	for _, wire := range []string{"gemini", "openai"} {
		t.Run(wire, func(t *testing.T) {
			m := newModel(t, wire)
			dir, goal := project(t)
			ws := filepath.Join(dir, ".brain")
			tasks := filepath.Join(dir, "tasks.yaml")
			code, stdout, stderr := run(t, m.env(), append([]string{"plan", "--dir", ws, "--goal", goal, "-o", tasks}, m.flags()...)...)
			if code != 0 || stderr != "" || !strings.Contains(stdout, "plan 1: "+tasks+", 3 tasks, sha256 ") {
				t.Fatalf("plan: code %d\n%s%s", code, stdout, stderr)
			}
			code, stdout, stderr = run(t, m.env(), append(append([]string{"execute", "--dir", ws}, m.flags()...), tasks)...)
			if code != 0 || stderr != "" || !strings.Contains(stdout, "3 of 3 tasks passed") {
				t.Fatalf("execute: code %d\n%s%s", code, stdout, stderr)
			}
			if got := m.takeAsked(); got != "plan readme config runbook" {
				t.Errorf("the server was asked %q", got)
			}
			spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
			checkDictionary(t, spans)
			provider := map[string]string{"gemini": "gcp.gemini", "openai": "openai"}[wire]
			for _, s := range spans {
				if s.Name() != "llm_provider.chat" {
					continue
				}
				a := s.Attributes().AsRaw()
				if a["gen_ai.provider.name"] != provider || a["server.address"] != "127.0.0.1" || a["gen_ai.response.model"] != "served-model" || a["gen_ai.usage.input_tokens"] != int64(100) {
					t.Errorf("chat span attributes %v", a)
				}
			}
			if _, err := auditschema.ValidateFile(filepath.Join(ws, workspace.AuditFile)); err != nil {
				t.Error(err)
			}
			checkNoCanary(t, dir, testKey)
		})
	}
}

// checkNoCanary fails if any file under dir holds the secret.
func checkNoCanary(t *testing.T, dir, secret string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the API key", p)
		}
		return nil
	})
}

// TestProviderFailures: a rejected key, a rate limit, a server error and a
// timeout each end brain-run plan with exit 5, a clear message with the
// stable error type that never repeats the key (which the server echoes),
// an llm.call record and a failed chat span, and no tasks.yaml.
func TestProviderFailures(t *testing.T) {
	for _, wire := range []string{"gemini", "openai"} {
		for _, tc := range []struct {
			name   string
			status int
			key    string
			slow   bool
			typ    string
			msg    string
		}{
			{name: "revoked key", key: "sk-revoked-0000", typ: "auth", msg: "the API key was rejected"},
			{name: "forbidden", status: 403, typ: "auth", msg: "HTTP 403"},
			{name: "rate limit", status: 429, typ: "rate_limit", msg: "rate limited or out of quota (HTTP 429"},
			{name: "server error", status: 503, typ: "server", msg: "the provider failed (HTTP 503"},
			{name: "timeout", slow: true, typ: "timeout", msg: "no answer within 300ms"},
		} {
			t.Run(wire+"/"+tc.name, func(t *testing.T) {
				m := newModel(t, wire)
				m.fail = tc.status
				if tc.slow {
					m.setHold("plan")
				}
				env := m.env()
				if tc.key != "" {
					env["GEMINI_API_KEY"], env["OPENAI_API_KEY"] = tc.key, tc.key
				}
				dir, goal := project(t)
				ws := filepath.Join(dir, ".brain")
				args := append([]string{"plan", "--dir", ws, "--goal", goal, "-o", filepath.Join(dir, "tasks.yaml"), "--llm-timeout", "300ms"}, m.flags()...)
				code, stdout, stderr := run(t, env, args...)
				if code != cli.ExitModel || stdout != "" || !strings.Contains(stderr, tc.msg) {
					t.Fatalf("plan: code %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, cli.ExitModel, tc.msg)
				}
				if strings.Contains(stderr, testKey) || (tc.key != "" && strings.Contains(stderr, tc.key)) {
					t.Errorf("stderr repeats the key: %s", stderr)
				}
				if _, err := os.Stat(filepath.Join(dir, "tasks.yaml")); err == nil {
					t.Error("tasks.yaml written after a failed call")
				}
				rec := findRecord(t, filepath.Join(ws, workspace.AuditFile), "llm.call")
				if !strings.Contains(rec, `"outcome":"error","error_type":"`+tc.typ+`"`) {
					t.Errorf("llm.call record %s, want outcome error, error_type %s", rec, tc.typ)
				}
				spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
				checkDictionary(t, spans)
				for _, s := range spans {
					if s.Name() == "llm_provider.chat" && s.Attributes().AsRaw()["error.type"] != tc.typ {
						t.Errorf("chat span error.type %v, want %s", s.Attributes().AsRaw()["error.type"], tc.typ)
					}
				}
				checkNoCanary(t, dir, testKey)
			})
		}
	}
}

// findRecord returns the first record of type typ in the chain.
func findRecord(t *testing.T, path, typ string) string {
	t.Helper()
	sc := chain.NewScanner(mustOpen(t, path))
	for sc.Scan() {
		if sc.Record().Type == typ {
			return string(sc.Line())
		}
	}
	t.Fatalf("no %s record in %s", typ, path)
	return ""
}

// held is a brain-run execute process (this test binary, as brain-run-full)
// that the model server holds on a task's request.
type held struct {
	cmd            *exec.Cmd
	exited         chan error // Wait's result
	stdout, stderr bytes.Buffer
	ws, tasks      string
}

func (h *held) out() string { return h.stdout.String() + h.stderr.String() }

// startHeld plans the basic scenario, starts execute on it and returns once
// the server holds the request of task, which it never answers.
func startHeld(t *testing.T, m *model, task string) *held {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	dir, goal := project(t)
	h := &held{exited: make(chan error, 1), ws: filepath.Join(dir, ".brain"), tasks: filepath.Join(dir, "tasks.yaml")}
	if code, _, stderr := run(t, m.env(), append([]string{"plan", "--dir", h.ws, "--goal", goal, "-o", h.tasks}, m.flags()...)...); code != 0 {
		t.Fatalf("plan: %d %s", code, stderr)
	}
	m.takeAsked()
	m.setHold(task)
	h.cmd = exec.Command(self, append(append([]string{"execute", "--dir", h.ws}, m.flags()...), h.tasks)...)
	h.cmd.Env = append(os.Environ(), "BRAIN_RUN_TEST_MAIN=1", "OPENAI_API_KEY="+testKey, "BRAIN_STATE_KEY=state key of the test", "NO_COLOR=1")
	h.cmd.Stdout, h.cmd.Stderr = &h.stdout, &h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.exited <- h.cmd.Wait() }()
	// A safety net, not synchronisation: the caller acts once the server
	// holds the request.
	watchdog := time.AfterFunc(60*time.Second, func() { h.cmd.Process.Kill() })
	t.Cleanup(func() { watchdog.Stop() })
	select {
	case <-m.held:
	case err := <-h.exited:
		t.Fatalf("execute ended (%v) before it asked for task %s:\n%s", err, task, h.out())
	}
	return h
}

// TestKilledExecuteResumes kills brain-run execute (SIGKILL, no chance to
// clean up) while it waits for the model on the second task, and checks
// that a rerun continues from the state store: the first task is not asked
// again, and every task passes.
func TestKilledExecuteResumes(t *testing.T) {
	m := newModel(t, "openai")
	h := startHeld(t, m, "config")
	ws, tasks := h.ws, h.tasks
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var xe *exec.ExitError
	if err := <-h.exited; !errors.As(err, &xe) || xe.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("execute ended with %v, want killed:\n%s", err, h.out())
	}
	key := map[string]string{"BRAIN_STATE_KEY": "state key of the test"}
	_, stdout, _ := run(t, key, "status", "--dir", ws)
	if !strings.Contains(stdout, "readme   passed   1") || !strings.Contains(stdout, "config   running  1") || !strings.Contains(stdout, "runbook  pending  0") {
		t.Fatalf("status after the kill:\n%s", stdout)
	}

	m.setHold("")
	if got := m.takeAsked(); got != "readme config" {
		t.Errorf("the killed run asked %q, want readme, then config", got)
	}
	code, stdout, stderr := run(t, m.env(), append(append([]string{"execute", "--dir", ws}, m.flags()...), tasks)...)
	if code != 0 || !strings.Contains(stdout, "readme   skipped  passed in an earlier run") {
		t.Fatalf("rerun: code %d\n%s%s", code, stdout, stderr)
	}
	if got := m.takeAsked(); got != "config runbook" {
		t.Errorf("the rerun asked %q, want config and runbook only", got)
	}
	_, stdout, _ = run(t, key, "status", "--dir", ws, "--chain")
	if !strings.Contains(stdout, "config   passed  2") || !strings.Contains(stdout, "match the state store") {
		t.Errorf("status after the rerun:\n%s", stdout)
	}
	rep, err := chain.VerifyFile(context.Background(), filepath.Join(ws, workspace.AuditFile), chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("chain after a kill: %+v %v", rep, err)
	}
}

// TestInterruptedExecute: SIGINT (Ctrl-C) while execute waits for the model
// stops it with 130, not with the model's exit code: stderr says it was
// interrupted and what it was doing, the chain records the canceled call,
// the task's end and command.end with 130 and the class "interrupted", and
// the chain, the schema and the span dictionary all hold.
func TestInterruptedExecute(t *testing.T) {
	m := newModel(t, "openai")
	h := startHeld(t, m, "config")
	ws := h.ws
	if err := h.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-h.exited
	if code := h.cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code %d, want 130:\n%s", code, h.out())
	}
	if !strings.Contains(h.stderr.String(), "brain-run: error: interrupted by signal 2 (interrupt): ") {
		t.Errorf("stderr does not say execute was interrupted:\n%s", h.stderr.String())
	}

	path := filepath.Join(ws, workspace.AuditFile)
	last := map[string]string{}
	sc := chain.NewScanner(mustOpen(t, path))
	for sc.Scan() {
		last[sc.Record().Type] = string(sc.Line())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]string{
		"llm.call":    `"outcome":"error","error_type":"canceled"`,
		"task.state":  `"task_id":"config","from":"running","to":"error"`,
		"command.end": `"data":{"command":"execute","exit_code":130,`,
	} {
		if !strings.Contains(last[typ], want) {
			t.Errorf("last %s record %s, want %s", typ, last[typ], want)
		}
	}
	if !strings.Contains(last["command.end"], `"error":"interrupted"`) {
		t.Errorf("command.end %s, want the class interrupted", last["command.end"])
	}
	rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("chain after the interrupt: %+v %v", rep, err)
	}
	if _, err := auditschema.ValidateFile(path); err != nil {
		t.Error(err)
	}
	spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
	checkDictionary(t, spans)
	root := false
	for _, sp := range spans {
		if v, ok := sp.Attributes().Get("error.type"); ok && sp.Name() == runcore.RootSpan && v.Str() == "interrupted" {
			root = true
		}
	}
	if !root {
		t.Error("no brain_cli.command span with error.type interrupted")
	}
}

// TestExecuteDiskFull: on a real full file system, execute stops at its
// first audit record: the model is never asked, no state changes, and the
// chain still verifies. Needs root to mount a tmpfs.
func TestExecuteDiskFull(t *testing.T) {
	mnt := testutil.Tmpfs(t, "8m")
	m := newModel(t, "openai")
	dir := filepath.Join(mnt, "project")
	os.Mkdir(dir, 0o700)
	sc, err := scenario.Install("basic", dir)
	if err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(dir, ".brain")
	tasks := filepath.Join(dir, "tasks.yaml")
	if code, _, stderr := run(t, m.env(), append([]string{"plan", "--dir", ws, "--goal", sc.Goal, "-o", tasks}, m.flags()...)...); code != 0 {
		t.Fatalf("plan: %d %s", code, stderr)
	}
	free := fillChain(t, mnt, filepath.Join(ws, workspace.AuditFile))
	m.takeAsked()
	code, _, stderr := run(t, m.env(), append(append([]string{"execute", "--dir", ws}, m.flags()...), tasks)...)
	if code != cli.ExitAuditWrite || !strings.Contains(stderr, "audit write failed, operation aborted") || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("execute on a full disk: code %d, %s", code, stderr)
	}
	if got := m.takeAsked(); got != "" {
		t.Errorf("the model was asked %q although nothing could be recorded", got)
	}
	free() // status records its own run
	_, stdout, _ := run(t, m.env(), "status", "--dir", ws)
	if !strings.Contains(stdout, "3 tasks: 0 passed, 0 failed, 0 error, 0 running, 3 pending") {
		t.Errorf("status after the failure:\n%s", stdout)
	}
	rep, err := chain.VerifyFile(context.Background(), filepath.Join(ws, workspace.AuditFile), chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("chain after disk full: %+v %v", rep, err)
	}
}

// fillChain fills the file system at dir, then the chain's last page, so
// that the next audit record cannot be written. free frees the space again.
func fillChain(t *testing.T, dir, chainPath string) (free func()) {
	t.Helper()
	free = testutil.Fill(t, dir)
	w, err := chain.Open(chainPath, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if _, err := w.Append(context.Background(), chain.Event{Type: "filler"}); err != nil {
			break
		}
	}
	w.Close()
	return free
}

// TestRecordThenReplay records a cassette from a live provider with
// --record, then plans and executes offline from it with the replay
// provider: the same plan, the same artifacts, no request to the server.
func TestRecordThenReplay(t *testing.T) {
	m := newModel(t, "gemini")
	dir, goal := project(t)
	cassette := filepath.Join(t.TempDir(), "recorded.jsonl")
	live := filepath.Join(dir, ".brain")
	rec := append(m.flags(), "--record", cassette)
	if code, _, stderr := run(t, m.env(), append([]string{"plan", "--dir", live, "--goal", goal, "-o", filepath.Join(dir, "tasks.yaml")}, rec...)...); code != 0 {
		t.Fatalf("plan --record: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, m.env(), append(append([]string{"execute", "--dir", live}, rec...), filepath.Join(dir, "tasks.yaml"))...); code != 0 {
		t.Fatalf("execute --record: %d %s", code, stderr)
	}
	if fi, err := os.Stat(cassette); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cassette: %v, mode %v; want a 0600 file", err, fi.Mode().Perm())
	}
	checkNoCanary(t, filepath.Dir(cassette), testKey)
	m.takeAsked()

	// Offline, in a second copy of the project.
	dir2, _ := project(t)
	ws := filepath.Join(dir2, ".brain")
	env := map[string]string{"GEMINI_API_KEY": "", "BRAIN_STATE_KEY": "another key"}
	if code, _, stderr := run(t, env, "plan", "--dir", ws, "--cassette", cassette, "--goal", goal, "-o", filepath.Join(dir2, "tasks.yaml")); code != 0 {
		t.Fatalf("replayed plan: %d %s", code, stderr)
	}
	code, stdout, stderr := run(t, env, "execute", "--dir", ws, "--cassette", cassette, filepath.Join(dir2, "tasks.yaml"))
	if code != 0 || !strings.Contains(stdout, "3 of 3 tasks passed") {
		t.Fatalf("replayed execute: %d\n%s%s", code, stdout, stderr)
	}
	if got := m.takeAsked(); got != "" {
		t.Errorf("the replay asked the server %q", got)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "tasks.yaml"))
	b, _ := os.ReadFile(filepath.Join(dir2, "tasks.yaml"))
	if !bytes.Equal(a, b) {
		t.Error("the replayed plan differs from the recorded one")
	}
}

// TestFailureSpansMatchDictionary: the spans of runs that fail (an audit
// write failure inside a task, a model with no answer, a crash in the
// checks) follow golden/spans.yaml too, error.type included.
func TestFailureSpansMatchDictionary(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if code, _, stderr := run(t, nil, "demo", dir); code != 0 {
		t.Fatalf("demo: %s", stderr)
	}
	ws := filepath.Join(dir, ".brain")
	key := filepath.Join(ws, "state.key")
	cassette := filepath.Join(dir, "cassette.jsonl")
	tasks := filepath.Join(dir, "tasks.yaml")
	plan := func() {
		t.Helper()
		if code, _, stderr := run(t, map[string]string{"BRAIN_FAULTS": ""}, "plan", "--dir", ws, "--state-key-file", key, "--cassette", cassette, "--force",
			"--goal", mustGoal(t, dir), "-o", tasks); code != 0 {
			t.Fatalf("plan: %s", stderr)
		}
	}
	execute := func(faults, cassette string) int {
		code, _, _ := run(t, map[string]string{"BRAIN_FAULTS": faults}, "execute", "--dir", ws, "--state-key-file", key, "--cassette", cassette, tasks)
		return code
	}
	plan()
	if code := execute("ioerr@audit.write=checks.run", cassette); code != cli.ExitAuditWrite {
		t.Errorf("audit fault: code %d", code)
	}
	plan()
	if code := execute("panic@verifier.run_checks", cassette); code != cli.ExitInternal {
		t.Errorf("crash: code %d", code)
	}
	plan()
	only := filepath.Join(t.TempDir(), "plan-only.jsonl")
	b, _ := os.ReadFile(cassette)
	os.WriteFile(only, b[:bytes.IndexByte(b, '\n')+1], 0o600)
	if code := execute("", only); code != cli.ExitModel {
		t.Errorf("cassette miss: code %d", code)
	}
	spans := readSpans(t, filepath.Join(ws, workspace.SpansFile))
	checkDictionary(t, spans)
	errs := map[string]bool{}
	for _, s := range spans {
		if v, ok := s.Attributes().Get("error.type"); ok {
			errs[s.Name()+"="+v.Str()] = true
		}
	}
	for _, want := range []string{"verifier.run_checks=audit_write_failed", "orchestrator.task_execution=audit_write_failed",
		"llm_provider.chat=not_found", "orchestrator.task_execution=not_found", "brain_cli.command=panic"} {
		if !errs[want] {
			t.Errorf("no span with error.type %s; have %v", want, errs)
		}
	}
}

func mustGoal(t *testing.T, dir string) string {
	g, err := scenario.ReadGoal(filepath.Join(dir, scenario.GoalFile))
	if err != nil {
		t.Fatal(err)
	}
	return g
}
