package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/auditschema"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/scenario"
	"github.com/brain-dev/brain/internal/state"
	"github.com/brain-dev/brain/internal/verifier"
	"github.com/brain-dev/brain/internal/workspace"
)

// cacheDir is the checks' compilation cache shared by the tests, so that
// each module is compiled once per test binary.
var cacheDir string

// BRAIN_CACHE_DIR, when set, names a cache to use and keep (the benchmark
// script runs the test binary several times over one warm cache). The test
// binary serves as the check sandbox.
func TestMain(m *testing.M) {
	verifier.ServeSandbox()
	cacheDir = os.Getenv("BRAIN_CACHE_DIR")
	keep := cacheDir != ""
	if !keep {
		d, err := os.MkdirTemp("", "orchestrator-test-cache-")
		if err != nil {
			panic(err)
		}
		cacheDir = d
	}
	code := m.Run()
	if !keep {
		os.RemoveAll(cacheDir)
	}
	os.Exit(code)
}

// fixture is the basic golden scenario installed in a directory, with a
// real state store, audit chain, tracer and verifier.
type fixture struct {
	t       *testing.T
	dir     string // the project: tasks.yaml, notes/, checks/
	ws      string // the workspace, dir/.brain
	goal    string
	replies fstest.MapFS
	spans   *tracetest.SpanRecorder
	tp      *sdktrace.TracerProvider
	log     *audit.Logger
	store   *state.Store
	key     state.Key
	v       *verifier.Verifier
	fault   func(typ, op string) error // injected into the audit log
}

const basicReplies = "../../golden/scenarios/basic/replies"

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	sc, err := scenario.Install("basic", dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, ws: filepath.Join(dir, ".brain"), goal: sc.Goal, replies: fstest.MapFS{}}
	entries, err := os.ReadDir(basicReplies)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(basicReplies, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		f.replies[e.Name()] = &fstest.MapFile{Data: b}
	}
	if err := os.Mkdir(f.ws, 0o700); err != nil {
		t.Fatal(err)
	}
	f.spans = tracetest.NewSpanRecorder()
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	t.Cleanup(func() { f.tp.Shutdown(context.Background()) })
	f.log, err = audit.Open(filepath.Join(f.ws, "audit.jsonl"), audit.Options{Session: "s-test", Tracer: f.tp.Tracer("test"),
		Fault: func(typ, op string) error {
			if f.fault != nil {
				return f.fault(typ, op)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.log.Close() })
	f.key, _ = state.KeyFromText("test key for the orchestrator")
	f.store, err = state.Open(context.Background(), filepath.Join(f.ws, "state.db"), f.key, state.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	f.v, err = verifier.New(verifier.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.v.Close(context.Background()) })
	return f
}

// orch returns an orchestrator whose replay provider answers from the
// fixture's replies as they are now.
func (f *fixture) orch() *orchestrator.Orchestrator {
	f.t.Helper()
	cassette, err := scenario.BuildCassette(f.dir, f.goal, f.replies, "", "", ".brain")
	if err != nil {
		f.t.Fatal(err)
	}
	path := filepath.Join(f.t.TempDir(), "cassette.jsonl")
	if err := os.WriteFile(path, cassette, 0o600); err != nil {
		f.t.Fatal(err)
	}
	p, err := llm.NewReplay(path)
	if err != nil {
		f.t.Fatal(err)
	}
	return &orchestrator.Orchestrator{Tracer: f.tp.Tracer("test"), Audit: f.log, Store: f.store, Provider: p, Verifier: f.v, Workspace: f.ws}
}

func (f *fixture) tasksPath() string { return filepath.Join(f.dir, "tasks.yaml") }

func (f *fixture) plan() *orchestrator.PlanResult {
	f.t.Helper()
	res, err := f.orch().Plan(context.Background(), f.goal, f.tasksPath(), false)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// records returns the chain's records of type typ ("" for all but the
// header), each as its type and data.
func (f *fixture) records(typ string) []chain.Record {
	f.t.Helper()
	file, err := os.Open(filepath.Join(f.ws, "audit.jsonl"))
	if err != nil {
		f.t.Fatal(err)
	}
	defer file.Close()
	var out []chain.Record
	sc := chain.NewScanner(file)
	for sc.Scan() {
		r := sc.Record()
		r.Data = append(json.RawMessage(nil), r.Data...) // the scanner reuses its buffer
		if r.Type != chain.HeaderType && (typ == "" || r.Type == typ) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fixture) types() []string {
	var out []string
	for _, r := range f.records("") {
		out = append(out, r.Type)
	}
	return out
}

// states returns "id=state/attempts" for each task of plan planID.
func (f *fixture) states(planID int64) string {
	f.t.Helper()
	tasks, err := f.store.Tasks(context.Background(), planID)
	if err != nil {
		f.t.Fatal(err)
	}
	var s []string
	for _, t := range tasks {
		s = append(s, t.ID+"="+string(t.State)+"/"+itoa(t.Attempts))
	}
	return strings.Join(s, " ")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// verify checks the chain and every record against the schema, and that the
// state rebuilt from the chain matches the store.
func (f *fixture) verify() {
	f.t.Helper()
	ctx := context.Background()
	rep, err := chain.VerifyFile(ctx, f.log.Path(), chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		f.t.Fatalf("chain: %+v, %v", rep, err)
	}
	if _, err := auditschema.ValidateFile(f.log.Path()); err != nil {
		f.t.Error(err)
	}
	cs, err := orchestrator.RebuildFromChain(ctx, rep.Files)
	if err != nil {
		f.t.Fatal(err)
	}
	diffs, err := orchestrator.Compare(ctx, f.store, cs)
	if err != nil || len(diffs) > 0 {
		f.t.Errorf("the store differs from the chain: %v %v", diffs, err)
	}
}

func TestPlanAndExecute(t *testing.T) {
	f := newFixture(t)
	pr := f.plan()
	data, err := os.ReadFile(f.tasksPath())
	if err != nil {
		t.Fatal(err)
	}
	if pr.PlanID != 1 || len(pr.Plan.Tasks) != 3 || pr.SHA256 != sha(data) {
		t.Fatalf("plan %+v: want plan 1, 3 tasks, the SHA-256 of tasks.yaml", pr)
	}
	stored, err := f.store.LatestPlan(context.Background())
	if err != nil || stored.SHA256 != pr.SHA256 || stored.Path != f.tasksPath() || stored.GoalSHA256 != audit.SHA256(f.goal) {
		t.Fatalf("stored plan %+v, %v", stored, err)
	}
	res, err := f.orch().Execute(context.Background(), f.tasksPath(), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range res.Tasks {
		got = append(got, tr.ID+"="+tr.State+"/"+itoa(tr.Passed())+"/"+itoa(len(tr.Checks)))
		b, err := os.ReadFile(tr.Artifact)
		if want := f.replies[tr.ID+".txt"].Data; err != nil || string(b) != string(want) {
			t.Errorf("%s: artifact %q, %v; want the model's reply", tr.ID, b, err)
		}
	}
	if diff := cmp.Diff([]string{"readme=passed/3/3", "config=passed/3/3", "runbook=passed/3/3"}, got); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	if s := f.states(1); s != "readme=passed/1 config=passed/1 runbook=passed/1" {
		t.Errorf("store: %s", s)
	}
	wantTypes := []string{"llm.call", "plan.created"}
	for range 3 {
		wantTypes = append(wantTypes, "task.state", "llm.call", "task.artifact", "checks.run", "task.state")
	}
	if diff := cmp.Diff(wantTypes, f.types()); diff != "" {
		t.Errorf("audit records (-want +got):\n%s", diff)
	}
	f.verify()
	checkSpanTree(t, f.spans.Ended())

	// Every record names the span it belongs to: llm.call its chat span,
	// checks.run its verifier span, task.state its task span.
	byID := map[string]string{}
	for _, s := range f.spans.Ended() {
		byID[s.SpanContext().SpanID().String()] = s.Name()
	}
	want := map[string]string{"llm.call": llm.SpanName, "checks.run": orchestrator.ChecksSpan, "task.state": orchestrator.TaskSpan,
		"task.artifact": orchestrator.TaskSpan, "plan.created": orchestrator.PlanSpan}
	for _, r := range f.records("") {
		if byID[r.SpanID] != want[r.Type] {
			t.Errorf("%s record names span %s (%s), want a %s span", r.Type, r.SpanID, byID[r.SpanID], want[r.Type])
		}
	}
	// The context sent to the model is listed, and the workspace is not in it.
	var call audit.LLMCall
	json.Unmarshal(f.records("llm.call")[3].Data, &call)
	if len(call.Context) != 2 || call.Context[0].Path != "notes/oncall.md" || call.TaskID != "runbook" {
		t.Errorf("runbook's llm.call lists context %+v", call.Context)
	}
}

func sha(b []byte) string {
	return audit.SHA256(string(b))
}

// checkSpanTree checks the parents of the orchestrator's spans and their
// counts.
func checkSpanTree(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	names := map[string]string{}
	for _, s := range spans {
		names[s.SpanContext().SpanID().String()] = s.Name()
	}
	count := map[string]int{}
	for _, s := range spans {
		count[s.Name()]++
		parent := names[s.Parent().SpanID().String()]
		var ok bool
		switch s.Name() {
		case orchestrator.PlanSpan, orchestrator.TaskSpan:
			ok = parent == ""
		case llm.SpanName:
			ok = parent == orchestrator.PlanSpan || parent == orchestrator.TaskSpan
		case orchestrator.ContextSpan, orchestrator.ChecksSpan:
			ok = parent == orchestrator.TaskSpan
		case audit.WriteSpan:
			ok = parent != ""
		}
		if !ok {
			t.Errorf("span %s has parent %q", s.Name(), parent)
		}
	}
	want := map[string]int{orchestrator.PlanSpan: 1, orchestrator.TaskSpan: 3, llm.SpanName: 4, orchestrator.ContextSpan: 3, orchestrator.ChecksSpan: 3, audit.WriteSpan: 17}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("span counts (-want +got):\n%s", diff)
	}
}

// TestPlanInvalidReply: a reply that is not a valid plan is an error, the
// call is recorded, then plan.failed (invalid_plan) in the plan span, and
// neither tasks.yaml nor a plan appears.
func TestPlanInvalidReply(t *testing.T) {
	for name, reply := range map[string]string{
		"prose":      "I am sorry, I cannot plan that.",
		"no tasks":   "version: 1\ntasks: []\n",
		"bad module": "version: 1\ntasks:\n  - id: a\n    prompt: p\n    checks: [{module: /etc/evil.wasm}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.replies["plan.yaml"] = &fstest.MapFile{Data: []byte(reply)}
			_, err := f.orch().Plan(context.Background(), f.goal, f.tasksPath(), false)
			if !errors.Is(err, orchestrator.ErrInvalidPlan) {
				t.Fatalf("Plan = %v, want ErrInvalidPlan", err)
			}
			if _, err := os.Stat(f.tasksPath()); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("tasks.yaml exists after an invalid reply: %v", err)
			}
			if ents, _ := filepath.Glob(filepath.Join(f.dir, ".tasks.yaml.tmp-*")); len(ents) > 0 {
				t.Errorf("temporary files left: %v", ents)
			}
			if _, err := f.store.LatestPlan(context.Background()); !errors.Is(err, state.ErrNotFound) {
				t.Errorf("a plan was recorded: %v", err)
			}
			var call audit.LLMCall
			var failed audit.PlanFailed
			recs := f.records("")
			if len(recs) != 2 || json.Unmarshal(recs[0].Data, &call) != nil || call.Outcome != "ok" || call.ResponseSHA256 != audit.SHA256(reply) ||
				json.Unmarshal(recs[1].Data, &failed) != nil || failed.Reason != "invalid_plan" || failed.GoalSHA256 != audit.SHA256(f.goal) {
				t.Errorf("records %v: want the llm.call with the reply's SHA-256, then plan.failed invalid_plan", f.types())
			}
			var planSpan string
			for _, s := range f.spans.Ended() {
				if s.Name() == orchestrator.PlanSpan {
					planSpan = s.SpanContext().SpanID().String()
				}
			}
			if recs[1].SpanID != planSpan {
				t.Errorf("plan.failed names span %s, want the plan span %s", recs[1].SpanID, planSpan)
			}
			for _, s := range f.spans.Ended() {
				if s.Name() == orchestrator.PlanSpan && (s.Status().Code != 1 || attr(s, "error.type") != "invalid_plan") {
					t.Errorf("plan span status %v error.type %q, want error invalid_plan", s.Status(), attr(s, "error.type"))
				}
			}
		})
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// TestPlanKeepsExistingFile: an existing tasks.yaml is replaced only when
// asked, and an empty goal is refused.
func TestPlanKeepsExistingFile(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(f.tasksPath(), []byte("mine"), 0o600)
	var oe *orchestrator.OutputExistsError
	if _, err := f.orch().Plan(context.Background(), f.goal, f.tasksPath(), false); !errors.As(err, &oe) {
		t.Fatalf("Plan over an existing file = %v, want *OutputExistsError", err)
	}
	if b, _ := os.ReadFile(f.tasksPath()); string(b) != "mine" || len(f.records("")) != 0 {
		t.Fatalf("the file was changed or the model asked: %q, records %v", b, f.types())
	}
	if _, err := f.orch().Plan(context.Background(), " \n", f.tasksPath(), true); !errors.Is(err, orchestrator.ErrNoGoal) {
		t.Errorf("empty goal: %v, want ErrNoGoal", err)
	}
	if _, err := f.orch().Plan(context.Background(), f.goal, f.tasksPath(), true); err != nil {
		t.Fatalf("Plan with replace: %v", err)
	}
}

// TestEditedPlan: an edited tasks.yaml is refused (and the refusal
// recorded), then accepted explicitly as a new plan whose tasks start over.
func TestEditedPlan(t *testing.T) {
	f := newFixture(t)
	pr := f.plan()
	if _, err := f.orch().Execute(context.Background(), f.tasksPath(), false); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(f.tasksPath())
	edited := strings.Replace(string(data), "Keep every line at most 80 bytes.", "Keep every line at most 72 bytes.", 1)
	os.WriteFile(f.tasksPath(), []byte(edited), 0o600)

	_, err := f.orch().Execute(context.Background(), f.tasksPath(), false)
	var ee *orchestrator.EditedPlanError
	if !errors.As(err, &ee) || ee.Recorded == nil || ee.Recorded.ID != pr.PlanID || ee.Found != sha([]byte(edited)) {
		t.Fatalf("Execute of an edited plan = %v, want an *EditedPlanError naming plan 1 and the file's SHA-256", err)
	}
	var refused audit.PlanEditRefused
	recs := f.records("plan.edit_refused")
	if len(recs) != 1 || json.Unmarshal(recs[0].Data, &refused) != nil || refused.PlanSHA256 != pr.SHA256 || refused.FoundSHA256 != ee.Found {
		t.Fatalf("refusal records %v", recs)
	}
	if n := len(f.records("task.state")); n != 6 {
		t.Errorf("%d task.state records after the refusal, want the first run's 6", n)
	}

	// The edited task's prompt changed: the replay has no answer for it
	// until the reply is recorded under the new request, so the run stops
	// at it.
	res, err := f.orch().Execute(context.Background(), f.tasksPath(), true)
	var te *orchestrator.TaskError
	if !errors.As(err, &te) || te.TaskID != "readme" || te.Reason != llm.TypeNotFound {
		t.Fatalf("accepted run = %v, want the readme task to stop on a cassette miss", err)
	}
	if !res.Accepted || res.Plan.ID != 2 || res.Replaced == nil || res.Replaced.ID != 1 || res.Plan.GoalSHA256 != audit.SHA256(f.goal) {
		t.Fatalf("result %+v: want plan 2 accepted, replacing plan 1, with plan 1's goal", res)
	}
	if s := f.states(2); s != "readme=error/1 config=pending/0 runbook=pending/0" {
		t.Errorf("plan 2: %s", s)
	}
	if s := f.states(1); s != "readme=passed/1 config=passed/1 runbook=passed/1" {
		t.Errorf("plan 1 changed: %s", s)
	}
	var acc audit.PlanEditAccepted
	recs = f.records("plan.edit_accepted")
	if len(recs) != 1 || json.Unmarshal(recs[0].Data, &acc) != nil || acc.PlanID != 2 || acc.PreviousPlanID != 1 || acc.PlanSHA256 != sha([]byte(edited)) {
		t.Fatalf("acceptance records %+v", acc)
	}
	// Now the edited file is the recorded plan: no acceptance needed.
	if _, err := f.orch().Execute(context.Background(), f.tasksPath(), false); errors.As(err, &ee) {
		t.Fatalf("the accepted plan was refused: %v", err)
	}
	f.verify()
}

// TestHandWrittenPlan: a tasks.yaml never planned needs acceptance too.
func TestHandWrittenPlan(t *testing.T) {
	f := newFixture(t)
	os.WriteFile(f.tasksPath(), []byte("version: 1\ntasks:\n  - id: solo\n    prompt: say hi\n"), 0o600)
	_, err := f.orch().Execute(context.Background(), f.tasksPath(), false)
	var ee *orchestrator.EditedPlanError
	if !errors.As(err, &ee) || ee.Recorded != nil {
		t.Fatalf("Execute = %v, want an *EditedPlanError with no recorded plan", err)
	}
	f.replies["solo.txt"] = &fstest.MapFile{Data: []byte("hi")}
	// The cassette builder needs the task in the plan reply to know it.
	f.replies["plan.yaml"] = &fstest.MapFile{Data: []byte("version: 1\ntasks:\n  - id: solo\n    prompt: say hi\n")}
	res, err := f.orch().Execute(context.Background(), f.tasksPath(), true)
	if err != nil || res.Replaced != nil || res.Plan.GoalSHA256 != audit.SHA256("") || res.Tasks[0].State != "passed" {
		t.Fatalf("Execute --accept = %+v, %v; want plan 1 accepted with no goal, its task passed (no checks)", res, err)
	}
	f.verify()
}

// TestResume: a run that stops at a task (here a cassette miss) leaves the
// later tasks pending; the rerun skips what passed and runs the rest.
func TestResume(t *testing.T) {
	f := newFixture(t)
	f.plan()
	config := f.replies["config.txt"]
	delete(f.replies, "config.txt")
	res, err := f.orch().Execute(context.Background(), f.tasksPath(), false)
	var te *orchestrator.TaskError
	if !errors.As(err, &te) || te.TaskID != "config" || llm.ErrorType(err) != llm.TypeNotFound {
		t.Fatalf("Execute = %v, want a TaskError for config (not_found)", err)
	}
	if len(res.Tasks) != 2 || !slices.Equal(res.NotRun, []string{"runbook"}) {
		t.Errorf("result tasks %+v not run %v", res.Tasks, res.NotRun)
	}
	if s := f.states(1); s != "readme=passed/1 config=error/1 runbook=pending/0" {
		t.Fatalf("after the first run: %s", s)
	}
	f.replies["config.txt"] = config
	res, err = f.orch().Execute(context.Background(), f.tasksPath(), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tasks[0].State != orchestrator.Skipped || res.Tasks[1].Attempt != 2 {
		t.Errorf("rerun %+v: want readme skipped, config's second attempt", res.Tasks)
	}
	if s := f.states(1); s != "readme=passed/1 config=passed/2 runbook=passed/1" {
		t.Errorf("after the rerun: %s", s)
	}
	// readme's model was asked once in all.
	n := 0
	for _, r := range f.records("llm.call") {
		var c audit.LLMCall
		json.Unmarshal(r.Data, &c)
		if c.TaskID == "readme" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("readme was asked %d times, want once", n)
	}
	f.verify()
}

// TestFailedCheck: a task whose artifact fails a check is failed, the next
// task still runs, and the run reports it without an error.
func TestFailedCheck(t *testing.T) {
	f := newFixture(t)
	f.plan()
	f.replies["config.txt"] = &fstest.MapFile{Data: []byte(`{"service": "ledger", "port": 8443, "password": "hunter2"}`)}
	res, err := f.orch().Execute(context.Background(), f.tasksPath(), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tasks[1].State != "failed" || res.Tasks[1].Passed() != 2 || res.Tasks[2].State != "passed" {
		t.Fatalf("tasks %+v: want config failed 2/3, runbook passed", res.Tasks)
	}
	var cr audit.ChecksRun
	json.Unmarshal(f.records("checks.run")[1].Data, &cr)
	if cr.TaskID != "config" || cr.Passed != 2 || cr.Failed != 1 || cr.Checks[2].Verdict != "fail" {
		t.Errorf("config's checks.run %+v", cr)
	}
	for _, r := range f.records("") {
		if strings.Contains(string(r.Data), "hunter2") {
			t.Errorf("the artifact's content is in the chain: %s", r.Data)
		}
	}
	f.verify()
}

// TestAuditFailureRollsBack: when the record of a step cannot be written,
// that step does not happen, nothing after it happens, and the store keeps
// the state the chain describes.
func TestAuditFailureRollsBack(t *testing.T) {
	for _, tc := range []struct {
		typ, op string
		states  string // of plan 1 after the failed run
		// artifact: whether readme's artifact exists after the failure
		artifact bool
	}{
		{"task.state", "write", "readme=pending/0 config=pending/0 runbook=pending/0", false},
		{"llm.call", "sync", "readme=running/1 config=pending/0 runbook=pending/0", false},
		{"task.artifact", "write", "readme=running/1 config=pending/0 runbook=pending/0", false},
		{"checks.run", "sync", "readme=running/1 config=pending/0 runbook=pending/0", true},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			f := newFixture(t)
			f.plan()
			f.fault = func(typ, op string) error {
				if typ == tc.typ && op == tc.op {
					return syscall.EIO
				}
				return nil
			}
			_, err := f.orch().Execute(context.Background(), f.tasksPath(), false)
			if !audit.IsWriteError(err) || !errors.Is(err, syscall.EIO) {
				t.Fatalf("Execute = %v, want the audit write error", err)
			}
			if s := f.states(1); s != tc.states {
				t.Errorf("store: %s, want %s", s, tc.states)
			}
			_, statErr := os.Stat(filepath.Join(f.ws, "artifacts", "plan-1", "readme", "artifact.txt"))
			if (statErr == nil) != tc.artifact {
				t.Errorf("artifact exists: %v, want %v", statErr == nil, tc.artifact)
			}
			f.verify()
			// The fault gone, a rerun finishes the plan.
			f.fault = nil
			if _, err := f.orch().Execute(context.Background(), f.tasksPath(), false); err != nil {
				t.Fatal(err)
			}
			if s := f.states(1); !strings.Contains(s, "readme=passed") || !strings.Contains(s, "runbook=passed/1") {
				t.Errorf("after the rerun: %s", s)
			}
			f.verify()
		})
	}
}

// TestCompare: the state rebuilt from the chain matches the store after a
// run, and each way the two can part is reported.
func TestCompare(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.plan()
	if _, err := f.orch().Execute(ctx, f.tasksPath(), false); err != nil {
		t.Fatal(err)
	}
	f.verify()
	diffs := func() []string {
		rep, _ := chain.VerifyFile(ctx, f.log.Path(), chain.VerifyOptions{})
		cs, err := orchestrator.RebuildFromChain(ctx, rep.Files)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := orchestrator.Compare(ctx, f.store, cs)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.String())
		}
		return out
	}
	// The chain records a change the store lacks (a commit that failed
	// after its record was written).
	f.log.Record(ctx, audit.TaskState{PlanID: 1, TaskID: "config", From: "passed", To: "running", Attempt: 2})
	// The store holds a change the chain never recorded.
	err := f.store.Transition(ctx, func(tx *state.Tx) error {
		id, err := tx.AddPlan(state.Plan{SHA256: audit.SHA256("forged"), GoalSHA256: audit.SHA256("")})
		if err == nil {
			err = tx.AddTask(id, "extra", "")
		}
		return err
	}, func(context.Context) (uint64, string, error) { return 999, "forged", nil })
	if err != nil {
		t.Fatal(err)
	}
	// A record for a task no plan has.
	f.log.Record(ctx, audit.TaskState{PlanID: 7, TaskID: "ghost", From: "pending", To: "running", Attempt: 1})
	want := []string{
		"plan 1 task config: state: the state store has passed, the audit chain running",
		"plan 1 task config: attempts: the state store has 1, the audit chain 2",
		"plan 2: plan: the state store has recorded, the audit chain nothing",
		"plan 7 task ghost: task: the state store has nothing, the audit chain a task.state record (seq 19) for a task no plan record created",
	}
	if diff := cmp.Diff(want, diffs()); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
}

// TestWorkspaceNotInContext: a workspace that is the plan's directory is
// refused, so the state key and the chain are never given to a model.
func TestWorkspaceNotInContext(t *testing.T) {
	f := newFixture(t)
	f.plan()
	o := f.orch()
	o.Workspace = f.dir
	_, err := o.Execute(context.Background(), f.tasksPath(), false)
	var te *orchestrator.TaskError
	if !errors.As(err, &te) || te.Reason != "context" || !strings.Contains(err.Error(), "is the plan's directory") {
		t.Fatalf("Execute = %v, want a context error about the workspace", err)
	}
}

// TestExecuteLocked: two executions of one workspace never overlap.
func TestExecuteLocked(t *testing.T) {
	f := newFixture(t)
	f.plan()
	other, err := os.OpenFile(filepath.Join(f.ws, workspace.ExecuteLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := f.orch().Execute(context.Background(), f.tasksPath(), false); !errors.Is(err, orchestrator.ErrBusy) {
		t.Fatalf("Execute while locked = %v, want ErrBusy", err)
	}
	if n := len(f.records("task.state")); n != 0 {
		t.Errorf("%d task.state records while locked", n)
	}
}
