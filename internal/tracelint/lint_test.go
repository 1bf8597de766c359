package tracelint

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var llmAttrs = []attribute.KeyValue{
	attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "replay"),
	attribute.String("gen_ai.request.model", "m"),
}

// TestPlanExecuteClean: a plan+execute-shaped session recorded with the
// real SDK, exporter, audit logger and OpenAI client passes every rule, and
// the coverage figures count its critical-path spans and audit records.
func TestPlanExecuteClean(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t), 2)
	r.close()
	res := lintFiles(t, Options{Audit: r.chain()}, r.spans())
	if got := summary(res); len(got) > 0 {
		t.Fatalf("findings in a clean session: %v", got)
	}
	want := map[string]int{"brain_cli.command": 2, "orchestrator.plan_generation": 1, "orchestrator.task_execution": 2,
		"llm_provider.chat": 3, "sketch.generate_context": 2, "verifier.run_checks": 2}
	if diff := cmp.Diff(want, res.Coverage.CriticalPath); diff != "" {
		t.Errorf("critical path (-want +got):\n%s", diff)
	}
	a := res.Coverage.Audit
	if a == nil || a.Records != a.Linked || a.Mutating != a.Audited || a.Mutating != 10 {
		t.Errorf("audit coverage %+v: want every record linked and all 10 mutating spans audited", a)
	}
	if res.Traces != 2 || !res.OK() {
		t.Errorf("traces %d, ok %v; want 2 traces, ok", res.Traces, res.OK())
	}
}

// TestLLMErrors: failed chat calls (401, 429) carry error.type and the HTTP
// status, so they lint clean; the linter sees their error status.
func TestLLMErrors(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 401, 429), 2)
	r.close()
	res := lintFiles(t, Options{Audit: r.chain()}, r.spans())
	if got := summary(res); len(got) > 0 {
		t.Fatalf("findings: %v", got)
	}
	if n := res.Coverage.CriticalPath["llm_provider.chat"]; n != 3 {
		t.Errorf("%d chat spans, want 3", n)
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		record func(r *recording, ctx context.Context)
		edit   func(s ptrace.Span) bool // applied to the recorded file
		want   []string
	}{
		{name: "unknown span", record: func(r *recording, ctx context.Context) {
			_, s := r.span(ctx, "made.up", trace.SpanKindInternal)
			s.End()
		}, want: []string{"unknown-span made.up"}},
		{name: "wrong kind", record: func(r *recording, ctx context.Context) {
			ctx, task := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", "t1"))
			r.record(ctx, "task")
			cctx, s := r.span(ctx, "llm_provider.chat", trace.SpanKindServer, llmAttrs...)
			r.record(cctx, "llm.call")
			s.End()
			task.End()
		}, want: []string{"wrong-kind llm_provider.chat"}},
		{name: "parent not allowed", record: func(r *recording, ctx context.Context) {
			_, s := r.span(ctx, "sketch.generate_context", trace.SpanKindInternal, attribute.Int("brain.context.file_count", 1), attribute.Int("brain.context.bytes", 1))
			s.End()
		}, want: []string{"bad-parent sketch.generate_context"}},
		{name: "root not allowed", record: func(r *recording, _ context.Context) {
			ctx, s := r.span(context.Background(), "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", "t1"))
			r.record(ctx, "task")
			s.End()
		}, want: []string{"bad-parent orchestrator.task_execution"}},
		{name: "missing, wrong type, enum", record: func(r *recording, ctx context.Context) {
			ctx, s := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.state", "maybe"))
			r.record(ctx, "task")
			s.End()
			ctx, s = r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.Int("brain.task.id", 7))
			r.record(ctx, "task")
			s.End()
		}, want: []string{"attribute-enum orchestrator.task_execution brain.task.state", "attribute-type orchestrator.task_execution brain.task.id",
			"bad-parent orchestrator.task_execution", "missing-attribute orchestrator.task_execution brain.task.id"}},
		{name: "deprecated and opt-in", record: func(r *recording, ctx context.Context) {
			ctx, task := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", "t1"))
			r.record(ctx, "task")
			cctx, s := r.span(ctx, "llm_provider.chat", trace.SpanKindClient, append(llmAttrs,
				attribute.String("gen_ai.system", "openai"), attribute.String("gen_ai.input.messages", "[]"))...)
			r.record(cctx, "llm.call")
			s.End()
			task.End()
		}, want: []string{"deprecated-attribute llm_provider.chat gen_ai.system", "opt-in-content llm_provider.chat gen_ai.input.messages"}},
		{name: "error without error.type", record: func(r *recording, ctx context.Context) {
			_, w := r.span(ctx, "audit_logger.write_event", trace.SpanKindInternal, attribute.String("audit.event_type", "x"))
			w.SetStatus(codes.Error, "failed")
			w.End()
		}, want: []string{"error-without-type audit_logger.write_event error.type"}},
		{name: "orphan: a parent lost from a trace whose root is in the input", record: func(r *recording, ctx context.Context) {
			root := trace.SpanContextFromContext(ctx)
			lost := trace.NewSpanContext(trace.SpanContextConfig{TraceID: root.TraceID(), SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}, TraceFlags: trace.FlagsSampled})
			_, w := r.span(trace.ContextWithSpanContext(ctx, lost), "audit_logger.write_event", trace.SpanKindInternal, attribute.String("audit.event_type", "x"))
			w.End()
		}, want: []string{"orphan-span audit_logger.write_event"}},
		{name: "a root from another process, its parent not in the input", record: func(r *recording, _ context.Context) {
			ci := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{9}, TraceFlags: trace.FlagsSampled, Remote: true})
			r.command(trace.ContextWithRemoteSpanContext(context.Background(), ci), "exec", func(context.Context) {})
		}, want: nil},
		{name: "missing root", record: func(*recording, context.Context) {},
			edit: func(s ptrace.Span) bool { return !s.ParentSpanID().IsEmpty() },
			want: []string{"missing-root audit_logger.write_event"}},
		{name: "several roots", record: func(r *recording, ctx context.Context) {
			_, s := r.span(context.Background(), "brain_cli.command", trace.SpanKindInternal, attribute.String("brain.command", "flush"))
			s.SetAttributes(attribute.String("mark", "second"))
			s.End()
		}, edit: func() func(s ptrace.Span) bool {
			var first pcommon.TraceID
			return func(s ptrace.Span) bool {
				if _, ok := s.Attributes().Get("mark"); ok {
					s.SetTraceID(first)
				} else if first.IsEmpty() {
					first = s.TraceID()
				}
				return true
			}
		}(), want: []string{"audit-missing brain_cli.command", "multiple-roots brain_cli.command"}},
		{name: "secrets", record: func(r *recording, ctx context.Context) {
			_, s := r.span(ctx, "audit_logger.write_event", trace.SpanKindInternal, attribute.String("audit.event_type", "x"),
				attribute.String("http.request.header.authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl"))
			s.AddEvent("retry", trace.WithAttributes(attribute.String("key", "AIzaSyD-1234567890abcdefghijklmnopqrstu")))
			s.SetStatus(codes.Error, "401 for key sk-proj-Abc123Def456Ghi789Jkl012")
			s.SetAttributes(attribute.String("error.type", "auth"))
			s.End()
		}, want: []string{"secret audit_logger.write_event", "secret audit_logger.write_event http.request.header.authorization", "secret audit_logger.write_event key"}},
		{name: "another program's spans are not the dictionary's", record: func(r *recording, ctx context.Context) {
			_, s := r.tel.TracerProvider().Tracer("go.opentelemetry.io/contrib/otelhttp").Start(ctx, "GET /v1/chat")
			s.SetAttributes(attribute.String("url.full", "https://user:hunter2@example.com/v1"))
			s.End()
		}, want: []string{"secret GET /v1/chat url.full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecording(t)
			r.command(context.Background(), "exec", func(ctx context.Context) { tt.record(r, ctx) })
			r.close()
			if tt.edit != nil {
				editSpans(t, r.spans(), tt.edit)
			}
			res := lintFiles(t, Options{Audit: r.chain()}, r.spans())
			got := summary(res)
			// The audit records of a removed root name a span that is gone.
			got = without(got, "audit-unknown-span -")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func without(xs []string, drop string) []string {
	var out []string
	for _, x := range xs {
		if x != drop {
			out = append(out, x)
		}
	}
	return out
}

// TestOptInUnderUnsafeIO: opt-in content attributes are allowed in the spans
// of a command that ran with --dev-log-unsafe-io (brain.unsafe_io on its
// root), and only there.
func TestOptInUnderUnsafeIO(t *testing.T) {
	r := newRecording(t)
	for _, unsafe := range []bool{true, false} {
		ctx, root := r.span(context.Background(), "brain_cli.command", trace.SpanKindInternal, attribute.String("brain.command", "execute"), attribute.Bool("brain.unsafe_io", unsafe))
		r.record(ctx, "command.start")
		ctx, task := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", "t1"))
		r.record(ctx, "task")
		cctx, s := r.span(ctx, "llm_provider.chat", trace.SpanKindClient, append(llmAttrs, attribute.String("gen_ai.output.messages", "[]"))...)
		r.record(cctx, "llm.call")
		s.End()
		task.End()
		root.End()
	}
	r.close()
	res := lintFiles(t, Options{Audit: r.chain()}, r.spans())
	if diff := cmp.Diff([]string{"opt-in-content llm_provider.chat gen_ai.output.messages"}, summary(res)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestDuplicates: the same file read twice gives one duplicate-span warning
// per span and passes (a warning does not fail the lint).
func TestDuplicates(t *testing.T) {
	r := newRecording(t)
	r.command(context.Background(), "exec", func(context.Context) {})
	r.close()
	res := lintFiles(t, Options{}, r.spans(), r.spans())
	c := res.Counts[RuleDuplicateSpan]
	if c == nil || c.Warnings != 3 || !res.OK() || res.Spans != 3 {
		t.Fatalf("duplicates %+v, ok %v, spans %d; want 3 warnings, ok, 3 spans", c, res.OK(), res.Spans)
	}
}

// TestAuditRules: records that name no span of the input, and mutating
// spans without records.
func TestAuditRules(t *testing.T) {
	a := newRecording(t)
	a.command(context.Background(), "exec", func(context.Context) {})
	a.close()
	b := newRecording(t)
	ctx, root := b.span(context.Background(), "brain_cli.command", trace.SpanKindInternal, attribute.String("brain.command", "check"))
	_, v := b.span(ctx, "verifier.run_checks", trace.SpanKindInternal, attribute.Int("brain.verifier.check_count", 1))
	v.End()
	root.End()
	b.close()
	// b's spans with a's chain: a's records name spans that are not there,
	// and b's mutating spans have no record.
	res := lintFiles(t, Options{Audit: a.chain()}, b.spans())
	want := []string{"audit-missing brain_cli.command", "audit-missing verifier.run_checks", "audit-unknown-span -", "audit-unknown-span -"}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if c := res.Coverage.Audit; c.Records != 2 || c.Linked != 0 || c.Mutating != 2 || c.Audited != 0 {
		t.Errorf("audit coverage %+v", c)
	}
}
