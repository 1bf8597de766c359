package audit

import (
	"context"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkRecord is the cost of one audit record with its write span
// (tracing into an in-memory exporter); compare with chain's
// BenchmarkBareWriteSync, a bare write+fdatasync of the same size.
func BenchmarkRecord(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewInMemoryExporter()))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("bench")
	l, err := Open(filepath.Join(b.TempDir(), "audit.jsonl"), Options{Session: "bench", Tracer: tr})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx, root := tr.Start(context.Background(), "brain_cli.command")
	defer root.End()
	ev := ExecStart{Argv0: "make", ArgsSHA256: HashArgs([]string{"test", "-j2"}), ArgCount: 2}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Record(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
