package telemetry

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/trace"
)

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
)

func TestExtractEnv(t *testing.T) {
	env := []string{
		"HOME=/root",
		"TRACEPARENT=00-00000000000000000000000000000001-0000000000000001-01", // overridden below
		"TRACEPARENT=00-" + parentTrace + "-" + parentSpan + "-01",
		"TRACESTATE=vendor=x",
	}
	sc := trace.SpanContextFromContext(ExtractEnv(context.Background(), env))
	if !sc.IsRemote() || sc.TraceID().String() != parentTrace || sc.SpanID().String() != parentSpan || !sc.IsSampled() {
		t.Errorf("extracted %v", sc)
	}
	if sc.TraceState().String() != "vendor=x" {
		t.Errorf("tracestate = %q", sc.TraceState())
	}
	for _, bad := range [][]string{nil, {"TRACEPARENT=garbage"}, {"TRACEPARENT"}} {
		if sc := trace.SpanContextFromContext(ExtractEnv(context.Background(), bad)); sc.IsValid() {
			t.Errorf("%q: extracted %v", bad, sc)
		}
	}
}

func TestInjectEnv(t *testing.T) {
	ctx := ExtractEnv(context.Background(), []string{"TRACEPARENT=00-" + parentTrace + "-" + parentSpan + "-01"})
	env := []string{"A=1", "TRACEPARENT=00-00000000000000000000000000000001-0000000000000001-01", "TRACESTATE=old=1", "B=2"}
	orig := slices.Clone(env)
	got := InjectEnv(ctx, env)
	want := []string{"A=1", "B=2", "TRACEPARENT=00-" + parentTrace + "-" + parentSpan + "-01"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !slices.Equal(env, orig) {
		t.Errorf("InjectEnv changed its argument: %q", env)
	}
	if got := InjectEnv(context.Background(), env); !slices.Equal(got, env) {
		t.Errorf("no span: got %q, want environ unchanged", got)
	}
}

// TestNestedCommands runs a parent and a child provider the way a brain-run
// and the brain-run it starts would: the child joins the parent's trace,
// its root span's parent being the span that started it.
func TestNestedCommands(t *testing.T) {
	cfg := testConfig(t)
	parent, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := parent.Tracer().Start(context.Background(), "brain_cli.command")
	childEnv := InjectEnv(ctx, []string{"PATH=/bin"})

	child, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, croot := child.Tracer().Start(ExtractEnv(context.Background(), childEnv), "brain_cli.command")
	croot.End()
	if err := child.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	root.End()
	if err := parent.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var spans []ptrace.Span
	for _, td := range readSpans(t, cfg.SpansPath) {
		forEachSpan(td, func(_ ptrace.ResourceSpans, s ptrace.Span) { spans = append(spans, s) })
	}
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	c, p := spans[0], spans[1] // the child finished first
	if c.TraceID() != p.TraceID() || c.ParentSpanID() != p.SpanID() {
		t.Errorf("child %s parent %s; parent %s/%s", c.TraceID(), c.ParentSpanID(), p.TraceID(), p.SpanID())
	}
}
