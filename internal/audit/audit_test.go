package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/auditschema"
)

// allEvents is one of every event type the product writes.
var allEvents = []Event{
	CommandStart{Command: "exec", Version: "dev", PID: 42, Cwd: SHA256("/x"), Parent: strings.Repeat("a", 32)},
	ExecStart{Argv0: "echo", ArgsSHA256: HashArgs([]string{"hi"}), ArgCount: 1},
	ExecEnd{Argv0: "echo", Started: true, ExitCode: 0, DurationMS: 3, PID: 7},
	ExecEnd{Argv0: "nope", Started: false, ExitCode: 127, Error: "not_found"},
	ExecEnd{Argv0: "sleep", Started: true, ExitCode: 143, Signal: "terminated"},
	CommandCrashed{Command: "exec", PanicSHA256: SHA256("boom"), Where: "runcmd.exec"},
	TelemetryFlushed{Endpoint: "localhost:4317", Sent: 3, Skipped: 1},
	PlanCreated{PlanID: 1, PlanSHA256: SHA256("tasks.yaml"), GoalSHA256: SHA256("goal"), Tasks: []string{"readme", "config"}},
	PlanFailed{GoalSHA256: SHA256("goal"), Reason: "rate_limit"},
	PlanEditAccepted{PlanID: 2, PlanSHA256: SHA256("edited"), PreviousPlanID: 1, PreviousPlanSHA256: SHA256("tasks.yaml"), Tasks: []string{"readme"}},
	PlanEditAccepted{PlanID: 1, PlanSHA256: SHA256("hand-written"), Tasks: []string{"a"}},
	PlanEditRefused{PlanID: 1, PlanSHA256: SHA256("tasks.yaml"), FoundSHA256: SHA256("edited")},
	PlanEditRefused{FoundSHA256: SHA256("hand-written")},
	PlanEditRefused{PlanID: 1, PlanSHA256: SHA256("tasks.yaml"), FoundSHA256: SHA256("tasks.yaml"), Module: "checks/a.wasm",
		ModuleSHA256: SHA256("pinned"), FoundModuleSHA256: SHA256("replaced"), Reason: "module_changed"},
	PlanEditRefused{PlanID: 1, PlanSHA256: SHA256("tasks.yaml"), FoundSHA256: SHA256("tasks.yaml"), Module: "checks/a.wasm",
		ModuleSHA256: SHA256("pinned"), Reason: "module_symlink"},
	TaskState{PlanID: 1, TaskID: "readme", From: "pending", To: "running", Attempt: 1},
	TaskState{PlanID: 1, TaskID: "readme", From: "running", To: "passed", Attempt: 1, ArtifactSHA256: SHA256("artifact")},
	TaskState{PlanID: 1, TaskID: "config", From: "running", To: "error", Attempt: 2, Reason: "rate_limit"},
	LLMCall{Purpose: "plan", Provider: "gcp.gemini", Model: "gemini-2.5-pro", ResponseModel: "gemini-2.5-pro-001", InputTokens: 10, OutputTokens: 20, LatencyMS: 900,
		RequestSHA256: SHA256("r"), PromptSHA256: SHA256("p"), SystemSHA256: SHA256(""), ResponseSHA256: SHA256("reply"), Outcome: "ok"},
	LLMCall{Purpose: "task", PlanID: 1, TaskID: "readme", Provider: "openai", Model: "m", LatencyMS: 3,
		RequestSHA256: SHA256("r"), PromptSHA256: SHA256("p"), SystemSHA256: SHA256("s"),
		Context: []ContextFile{{Path: "notes/a.md", SHA256: SHA256("a"), Bytes: 1, Truncated: true}}, Outcome: "error", ErrorType: "rate_limit", HTTPStatus: 429},
	TaskArtifact{PlanID: 1, TaskID: "readme", Path: "artifacts/plan-1/readme/artifact.txt", SHA256: SHA256("artifact"), Bytes: 8},
	ChecksRun{PlanID: 1, TaskID: "readme", Passed: 1, Failed: 1, Checks: []CheckVerdict{
		{Check: "stock:exists", ArgsSHA256: HashArgs([]string{"exists", "artifact.txt"}), ModuleSHA256: SHA256("m"), Verdict: "pass", ExitCode: new(uint32(0)), StdoutSHA256: SHA256(""), StderrSHA256: SHA256(""), DurationMS: 9},
		{Check: "checks/slow.wasm", ArgsSHA256: []string{}, ModuleSHA256: SHA256("m2"), Verdict: "error", Class: "timeout", StdoutSHA256: SHA256(""), StderrSHA256: SHA256(""), DurationMS: 2000},
	}},
	// brain-run check: no plan, and a task only with --task.
	ChecksRun{Passed: 0, Failed: 1, Checks: []CheckVerdict{
		{Check: "stock:nomatch", ArgsSHA256: HashArgs([]string{"nomatch", "out.txt", "TODO"}), ModuleSHA256: SHA256("m"), Verdict: "fail", ExitCode: new(uint32(1)), StdoutSHA256: SHA256("FAIL"), StderrSHA256: SHA256(""), DurationMS: 4},
	}},
	ChecksRun{TaskID: "greet", Passed: 1, Checks: []CheckVerdict{
		{Check: "stock:exists", ArgsSHA256: HashArgs([]string{"exists", "out.txt"}), ModuleSHA256: SHA256("m"), Verdict: "pass", ExitCode: new(uint32(0)), StdoutSHA256: SHA256(""), StderrSHA256: SHA256(""), DurationMS: 2},
	}},
	DrillStarted{DrillID: "rate-limited", Run: 1, FileSHA256: SHA256("drill"), Severity: "high", DetectWithinMS: 2000, RecoverWithinMS: 10000, Requires: []string{}},
	DrillStarted{DrillID: "disk-full", Run: 3, FileSHA256: SHA256("drill"), Severity: "critical", DetectWithinMS: 2000, RecoverWithinMS: 10000, Requires: []string{"root", "tmpfs", "command:df"}},
	DrillInjected{DrillID: "rate-limited", Run: 1, InjectMS: 12},
	DrillDetected{DrillID: "rate-limited", Run: 1, TTDMS: 412, DetectWithinMS: 2000, Rounds: 3},
	DrillRecovered{DrillID: "rate-limited", Run: 1, TTRMS: 1310, RecoverWithinMS: 10000, Rounds: 1},
	DrillEnded{DrillID: "rate-limited", Run: 1, Verdict: "passed", Reasons: []string{}, TTDMS: new(int64(412)), TTRMS: new(int64(1310)), DurationMS: 2200,
		SteadyBefore: new(true), SteadyAfter: new(true), Rollback: "passed"},
	DrillEnded{DrillID: "disk-full", Run: 3, Verdict: "not-run", Reasons: []string{"requires_unmet"}, Rollback: "not_needed"},
	DrillEnded{DrillID: "x", Run: 1, Verdict: "deviated", Reasons: []string{"not_detected"}, DurationMS: 6000, SteadyBefore: new(true), Rollback: "failed"},
	DrillReport{Runs: 3, Passed: 1, Deviated: 1, NotRun: 1, JournalSHA256: SHA256("journal"), JUnitSHA256: SHA256("junit")},
	DrillReport{},
	CommandEnd{Command: "exec", ExitCode: 0, DurationMS: 5},
}

// TestSchemaRejects: records the schema must refuse, so that a change to
// an event that breaks its contract cannot pass unnoticed.
func TestSchemaRejects(t *testing.T) {
	envelope := func(typ, data string) []byte {
		return []byte(`{"seq":1,"ts":"2026-01-02T03:04:05.000000000Z","type":"` + typ + `","session":"s","trace_id":"","span_id":"","data":` + data +
			`,"prev":"` + strings.Repeat("0", 64) + `","hash":"` + strings.Repeat("a", 64) + `"}`)
	}
	h := SHA256("x")
	for name, rec := range map[string][]byte{
		"unknown type":                    envelope("plan.deleted", `{}`),
		"llm.call ok, no response":        envelope("llm.call", `{"purpose":"plan","provider":"replay","model":"m","input_tokens":0,"output_tokens":0,"latency_ms":0,"request_sha256":"`+h+`","prompt_sha256":"`+h+`","system_sha256":"`+h+`","outcome":"ok"}`),
		"llm.call error, no type":         envelope("llm.call", `{"purpose":"plan","provider":"replay","model":"m","input_tokens":0,"output_tokens":0,"latency_ms":0,"request_sha256":"`+h+`","prompt_sha256":"`+h+`","system_sha256":"`+h+`","outcome":"error"}`),
		"llm.call raw prompt":             envelope("llm.call", `{"purpose":"plan","provider":"replay","model":"m","input_tokens":0,"output_tokens":0,"latency_ms":0,"request_sha256":"`+h+`","prompt_sha256":"`+h+`","system_sha256":"`+h+`","response_sha256":"`+h+`","outcome":"ok","prompt":"hi"}`),
		"task.state bad state":            envelope("task.state", `{"plan_id":1,"task_id":"a","from":"pending","to":"done","attempt":1}`),
		"task.state bad task id":          envelope("task.state", `{"plan_id":1,"task_id":"../x","from":"pending","to":"running","attempt":1}`),
		"plan.created no sha":             envelope("plan.created", `{"plan_id":1,"goal_sha256":"`+h+`","tasks":[]}`),
		"plan.failed raw reason":          envelope("plan.failed", `{"goal_sha256":"`+h+`","reason":"llm: gemini: key AIza... revoked"}`),
		"checks.run plan, no task":        envelope("checks.run", `{"plan_id":1,"passed":0,"failed":0,"checks":[]}`),
		"drill.ended bad verdict":         envelope("drill.ended", `{"drill_id":"a","run":1,"verdict":"ok","reasons":[],"duration_ms":1,"rollback":"passed"}`),
		"drill.ended passed, no ttd":      envelope("drill.ended", `{"drill_id":"a","run":1,"verdict":"passed","reasons":[],"ttr_ms":1,"duration_ms":1,"rollback":"passed"}`),
		"drill.ended deviated, no reason": envelope("drill.ended", `{"drill_id":"a","run":1,"verdict":"deviated","reasons":[],"duration_ms":1,"rollback":"passed"}`),
		"drill.ended free-text reason":    envelope("drill.ended", `{"drill_id":"a","run":1,"verdict":"deviated","reasons":["the probe printed AIza..."],"duration_ms":1,"rollback":"passed"}`),
		"drill.started bad id":            envelope("drill.started", `{"drill_id":"../x","run":1,"file_sha256":"`+h+`","severity":"high","detect_within_ms":1,"recover_within_ms":1,"requires":[]}`),
		"drill.started run 0":             envelope("drill.started", `{"drill_id":"a","run":0,"file_sha256":"`+h+`","severity":"high","detect_within_ms":1,"recover_within_ms":1,"requires":[]}`),
		"drill.detected output":           envelope("drill.detected", `{"drill_id":"a","run":1,"ttd_ms":1,"detect_within_ms":1,"rounds":1,"output":"x"}`),
		"checks.run plan id 0":            envelope("checks.run", `{"plan_id":0,"task_id":"a","passed":0,"failed":0,"checks":[]}`),
	} {
		if err := auditschema.ValidateRecord(rec); err == nil {
			t.Errorf("%s: the schema accepted %s", name, rec)
		}
	}
}

// validateChainFile checks every record of a chain file against the schema.
func validateChainFile(t *testing.T, path string) int {
	t.Helper()
	n, err := auditschema.ValidateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEventsMatchSchema(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Session: "s-1", Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, root := tr.Start(context.Background(), "brain_cli.command")
	for _, ev := range allEvents {
		if _, err := l.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	root.End()
	// The repair record comes from the chain package; include it too.
	l.Close()
	os.WriteFile(path, append(mustRead(t, path), `{"seq":99,"ts`...), 0o600)
	if _, err := chain.Repair(context.Background(), path, chain.RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := validateChainFile(t, path); n != len(allEvents)+2 {
		t.Fatalf("validated %d records, want %d", n, len(allEvents)+2)
	}

	// Every record carries the ids of the span it belongs to, and every
	// write has its own audit_logger.write_event span under it.
	var writes int
	for _, sp := range rec.Ended() {
		if sp.Name() == WriteSpan {
			writes++
			if sp.Parent().SpanID() != root.SpanContext().SpanID() {
				t.Errorf("write span's parent is %s, want the command span", sp.Parent().SpanID())
			}
		}
	}
	if writes != len(allEvents) {
		t.Errorf("%d write spans, want %d", writes, len(allEvents))
	}
	for _, line := range bytes.Split(bytes.TrimSpace(mustRead(t, path)), []byte("\n"))[1 : len(allEvents)+1] {
		var r struct{ TraceID, SpanID, Session string }
		json.Unmarshal(line, &struct {
			T *string `json:"trace_id"`
			S *string `json:"span_id"`
			X *string `json:"session"`
		}{&r.TraceID, &r.SpanID, &r.Session})
		if r.TraceID != root.SpanContext().TraceID().String() || r.SpanID != root.SpanContext().SpanID().String() || r.Session != "s-1" {
			t.Errorf("record %s: want trace %s span %s session s-1", line, root.SpanContext().TraceID(), root.SpanContext().SpanID())
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCommitEventFirst checks that a state change is applied only after its
// record is durable, and not at all when the record cannot be written.
func TestCommitEventFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	fail := false
	l, err := Open(path, Options{Session: "s", Chain: chain.Options{Fault: func(op string) error {
		if fail && op == "sync" {
			return syscall.EIO
		}
		return nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	applied := 0
	if err := l.Commit(context.Background(), ExecStart{Argv0: "a", ArgsSHA256: []string{}}, func() error {
		// The record is already durable when the change is applied.
		rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
		if err != nil || !rep.OK() || rep.Records != 2 {
			t.Errorf("at apply time the chain holds %+v, %v; want the record", rep, err)
		}
		applied++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fail = true
	err = l.Commit(context.Background(), ExecStart{Argv0: "b", ArgsSHA256: []string{}}, func() error { applied++; return nil })
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Commit = %v, want a *WriteError wrapping EIO", err)
	}
	if applied != 1 {
		t.Fatalf("applied %d changes, want 1: a failed record must stop its change", applied)
	}
	rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 2 {
		t.Fatalf("after the failed write the chain is %+v, %v; want PASS with 2 records", rep, err)
	}
}

// TestRecordCanceled: a canceled context does not stop a record (nor one
// held before it): a command stopped by a signal still records what it did.
func TestRecordCanceled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Session: "s"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Hold(ctx, CommandStart{Command: "exec", Version: "dev", PID: 1, Cwd: SHA256("/")}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Record(ctx, LLMCall{Purpose: "plan", Provider: "replay", Model: "m", RequestSHA256: SHA256("r"), PromptSHA256: SHA256("p"),
		SystemSHA256: SHA256(""), Outcome: "error", ErrorType: "canceled"}); err != nil {
		t.Fatalf("Record under a canceled context: %v", err)
	}
	rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 3 {
		t.Fatalf("chain %+v, %v; want PASS with the header and both records", rep, err)
	}
}

func TestUnsafeIO(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(filepath.Join(dir, "audit.jsonl"), Options{Session: "s9", UnsafeIODir: filepath.Join(dir, "unsafe-io")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Unsafe(context.Background(), "exec.args", map[string]any{"argv": []string{"secret-arg"}}); err != nil {
		t.Fatal(err)
	}
	b := mustRead(t, filepath.Join(dir, "unsafe-io", "s9.jsonl"))
	if !bytes.Contains(b, []byte("secret-arg")) {
		t.Fatalf("unsafe log %s lacks the raw value", b)
	}
	if bytes.Contains(mustRead(t, filepath.Join(dir, "audit.jsonl")), []byte("secret-arg")) {
		t.Fatal("raw value leaked into the chain")
	}
	fi, _ := os.Stat(filepath.Join(dir, "unsafe-io", "s9.jsonl"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("unsafe log mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestFaultByType: Options.Fault sees the type of the record being written,
// and a failure it injects is rolled back by the chain like a real one.
func TestFaultByType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var seen []string
	l, err := Open(path, Options{Session: "s", Fault: func(typ, op string) error {
		seen = append(seen, typ+"/"+op)
		if typ == "exec.end" && op == "sync" {
			return syscall.EIO
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Record(context.Background(), ExecStart{Argv0: "a", ArgsSHA256: []string{}}); err != nil {
		t.Fatal(err)
	}
	_, err = l.Record(context.Background(), ExecEnd{Argv0: "a"})
	var we *WriteError
	if !errors.As(err, &we) || we.Type != "exec.end" || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Record(exec.end) = %v, want a *WriteError for exec.end wrapping EIO", err)
	}
	want := []string{"chain.header/write", "chain.header/sync", "exec.start/write", "exec.start/sync", "exec.end/write", "exec.end/sync"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("fault hook saw %v, want %v", seen, want)
	}
	rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 2 {
		t.Fatalf("after the failed sync the chain is %+v, %v; want PASS with 2 records", rep, err)
	}
}

// TestHold: a held record is written with the next record in one batch —
// one write, one fdatasync — each with its own write span carrying its seq
// and hash; a failed batch leaves neither, and names the record that failed;
// Close writes what is still held.
func TestHold(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var ops []string
	failType := ""
	l, err := Open(path, Options{Session: "s", Tracer: tp.Tracer("test"), Fault: func(typ, op string) error {
		ops = append(ops, typ+"/"+op)
		if typ == failType && op == "sync" {
			return syscall.EIO
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	records := func() int {
		rep, err := chain.VerifyFile(ctx, path, chain.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("chain: %+v, %v", rep, err)
		}
		return int(rep.Records)
	}

	ops = nil
	if err := l.Hold(ctx, CommandStart{Command: "exec", Version: "dev", PID: 1, Cwd: SHA256("/")}); err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 1 || len(ops) != 0 {
		t.Fatalf("after Hold: %d records, fault hook saw %v; want the header alone, no I/O", n, ops)
	}
	head, err := l.Record(ctx, ExecStart{Argv0: "a", ArgsSHA256: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 3 || head.Seq != 2 {
		t.Fatalf("after Record: %d records, head %v; want header + 2", n, head)
	}
	if want := "command.start/write exec.start/write command.start/sync exec.start/sync"; strings.Join(ops, " ") != want {
		t.Errorf("fault hook saw %v, want one write and one sync for both: %s", ops, want)
	}
	var seqs []int64
	for _, sp := range rec.Ended() {
		for _, kv := range sp.Attributes() {
			if kv.Key == "audit.seq" {
				seqs = append(seqs, kv.Value.AsInt64())
			}
		}
	}
	if len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 {
		t.Errorf("write spans' audit.seq %v, want [1 2]", seqs)
	}

	// A failed batch: neither record is written; the error names the one
	// whose fault fired.
	failType = "command.end"
	l.Hold(ctx, ExecEnd{Argv0: "a", Started: true})
	_, err = l.Record(ctx, CommandEnd{Command: "exec"})
	var we *WriteError
	if !errors.As(err, &we) || we.Type != "command.end" || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Record = %v, want a *WriteError for command.end wrapping EIO", err)
	}
	if n := records(); n != 3 {
		t.Fatalf("after the failed batch: %d records, want 3", n)
	}
	failType = ""
	l.Hold(ctx, ExecEnd{Argv0: "b", Started: true})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 4 {
		t.Fatalf("after Close: %d records, want the held one written", n)
	}
}
