package llm

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/brain-dev/brain/internal/spandict"
)

// TestChatSpansMatchDictionary: llm_provider.chat spans, for an answer and
// for a failure, follow golden/spans.yaml.
func TestChatSpansMatchDictionary(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	ctx, parent := tr.Start(context.Background(), "orchestrator.task_execution")
	p := newTestReplay(t)
	if _, err := Chat(ctx, tr, p, testRequest); err != nil {
		t.Fatal(err)
	}
	miss := testRequest
	miss.Prompt = "not in the cassette"
	if _, err := Chat(ctx, tr, p, miss); err == nil {
		t.Fatal("a cassette miss succeeded")
	}
	parent.End()
	d := spandict.Default()
	n := 0
	for _, s := range rec.Ended() {
		if s.Name() != SpanName {
			continue
		}
		n++
		attrs := map[string]any{"brain.session_id": "set by the telemetry processor"}
		for _, kv := range s.Attributes() {
			v := kv.Value.AsInterface()
			switch x := v.(type) {
			case []string:
				xs := make([]any, len(x))
				for i := range x {
					xs[i] = x[i]
				}
				v = xs
			}
			attrs[string(kv.Key)] = v
		}
		view := spandict.SpanView{Name: s.Name(), Kind: strings.ToLower(s.SpanKind().String()), Parent: "orchestrator.task_execution",
			Error: s.Status().Code == 1, Attributes: spandict.MapAttrs(attrs)}
		for _, v := range d.Check(view) {
			t.Errorf("%s", v)
		}
	}
	if n != 2 {
		t.Fatalf("%d chat spans, want 2", n)
	}
}
