package tracelint

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/telemetry"
)

// recording writes real spans and a real audit chain: the OpenTelemetry
// SDK behind brain's telemetry (the disk exporter brain-run uses) and
// brain's audit logger, in a temporary directory.
type recording struct {
	t      testing.TB
	dir    string
	tel    *telemetry.Provider
	tr     trace.Tracer
	log    *audit.Logger
	closed bool
}

func newRecording(t testing.TB) *recording {
	t.Helper()
	dir := t.TempDir()
	tel, err := telemetry.Setup(context.Background(), telemetry.Config{ServiceName: "brain-run", ServiceVersion: "test", SessionID: "sess-test",
		SpansPath: filepath.Join(dir, "spans.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(filepath.Join(dir, "audit.jsonl"), audit.Options{Session: "sess-test", Tracer: tel.Tracer()})
	if err != nil {
		t.Fatal(err)
	}
	r := &recording{t: t, dir: dir, tel: tel, tr: tel.Tracer(), log: log}
	t.Cleanup(func() { r.close() })
	return r
}

func (r *recording) spans() string { return filepath.Join(r.dir, "spans.jsonl") }
func (r *recording) chain() string { return filepath.Join(r.dir, "audit.jsonl") }

// close flushes the spans to disk and closes the chain.
func (r *recording) close() {
	if r.closed {
		return
	}
	r.closed = true
	if err := r.tel.Shutdown(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.log.Close()
}

// span starts a span name under ctx with attrs.
func (r *recording) span(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return r.tr.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// record writes an audit record of type typ as part of ctx's span.
func (r *recording) record(ctx context.Context, typ string) {
	r.t.Helper()
	if _, err := r.log.Record(ctx, event{Type: typ}); err != nil {
		r.t.Fatal(err)
	}
}

// event is an audit event of any type, for records the tests need before
// brain-run writes them (LLM calls, plan and task transitions).
type event struct {
	Type string `json:"-"`
	Note string `json:"note,omitempty"`
}

func (e event) EventType() string { return e.Type }

// command records a brain_cli.command root span with its command.start and
// command.end records around fn.
func (r *recording) command(ctx context.Context, command string, fn func(ctx context.Context)) {
	ctx, root := r.span(ctx, "brain_cli.command", trace.SpanKindInternal, attribute.String("brain.command", command))
	r.record(ctx, "command.start")
	fn(ctx)
	r.record(ctx, "command.end")
	root.SetAttributes(attribute.Int("brain.exit_code", 0))
	root.End()
}

// openAIServer is an OpenAI-compatible chat endpoint that answers with the
// statuses given, in turn (200 for a success), for the real OpenAI client.
type openAIServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
}

func newOpenAIServer(t testing.TB, statuses ...int) *openAIServer {
	s := &openAIServer{statuses: statuses}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		status := 200
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status != 200 {
			fmt.Fprintf(w, `{"error":{"message":"status %d","type":"invalid_request_error","code":"x"}}`, status)
			return
		}
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"flash-001",
			"choices":[{"index":0,"message":{"role":"assistant","content":"done"},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160}}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// auditedProvider records an llm.call audit record in the llm_provider.chat
// span of each call, as brain-run's orchestrator is to do.
type auditedProvider struct {
	llm.Provider
	r *recording
}

func (p auditedProvider) Chat(ctx context.Context, req llm.Request) (llm.Response, error) {
	resp, err := p.Provider.Chat(ctx, req)
	p.r.record(ctx, "llm.call")
	return resp, err
}

// planExecute records a plan+execute-shaped session with the real OpenAI
// client against srv: a plan command (plan_generation with one chat) and
// an execute command with a task per status in tasks (context, chat,
// checks; a task whose chat fails ends in error). Every mutating span has
// its audit record.
func (r *recording) planExecute(srv *openAIServer, tasks int) {
	r.t.Helper()
	p, err := llm.NewOpenAI(llm.Config{APIKey: "test-key", BaseURL: srv.srv.URL + "/v1"})
	if err != nil {
		r.t.Fatal(err)
	}
	prov := auditedProvider{p, r}
	ctx := context.Background()
	r.command(ctx, "plan", func(ctx context.Context) {
		ctx, plan := r.span(ctx, "orchestrator.plan_generation", trace.SpanKindInternal, attribute.String("brain.plan.goal_sha256", audit.SHA256("goal")))
		llm.Chat(ctx, r.tr, prov, llm.Request{Model: "pro", Prompt: "plan"})
		plan.SetAttributes(attribute.String("brain.plan.sha256", audit.SHA256("plan")), attribute.Int("brain.plan.task_count", tasks))
		r.record(ctx, "plan.written")
		plan.End()
	})
	r.command(ctx, "execute", func(ctx context.Context) {
		for i := 1; i <= tasks; i++ {
			ctx, task := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", fmt.Sprintf("t%d", i)))
			r.record(ctx, "task.started")
			_, sk := r.span(ctx, "sketch.generate_context", trace.SpanKindInternal, attribute.Int("brain.context.file_count", 2), attribute.Int("brain.context.bytes", 300))
			sk.End()
			_, err := llm.Chat(ctx, r.tr, prov, llm.Request{Model: "flash", Prompt: fmt.Sprint("task ", i)})
			state := "passed"
			if err != nil {
				state = "error"
				task.SetStatus(codes.Error, "the model call failed")
				task.SetAttributes(attribute.String("error.type", llm.ErrorType(err)))
			} else {
				vctx, v := r.span(ctx, "verifier.run_checks", trace.SpanKindInternal, attribute.Int("brain.verifier.check_count", 2))
				r.record(vctx, "checks.ran")
				v.SetAttributes(attribute.Int("brain.verifier.passed", 2), attribute.Int("brain.verifier.failed", 0))
				v.End()
			}
			task.SetAttributes(attribute.String("brain.task.state", state))
			r.record(ctx, "task.finished")
			task.End()
		}
	})
}

// lintFiles lints the files with opts and fails the test on an input error.
func lintFiles(t *testing.T, opts Options, files ...string) *Result {
	t.Helper()
	ins, err := OpenInputs(files, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	res, err := Lint(context.Background(), ins, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// summary lists res's findings as "rule span attribute", sorted.
func summary(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		s := f.Rule + " " + or(f.Span, "-")
		if f.Attr != "" {
			s += " " + f.Attr
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// editSpans rewrites the spans file at path through the Collector's own
// encoding: edit is called with every span and returns false to drop it.
func editSpans(t *testing.T, path string, edit func(s ptrace.Span) bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			for j := 0; j < td.ResourceSpans().At(i).ScopeSpans().Len(); j++ {
				td.ResourceSpans().At(i).ScopeSpans().At(j).Spans().RemoveIf(func(s ptrace.Span) bool { return !edit(s) })
			}
		}
		js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, js...), '\n')
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
