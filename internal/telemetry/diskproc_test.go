package telemetry

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// batchRecorder is a span exporter that keeps the size of each batch it is
// given, and says on exported when one arrives.
type batchRecorder struct {
	mu       sync.Mutex
	sizes    []int
	shut     bool
	exported chan struct{}
}

func (r *batchRecorder) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(spans))
	r.mu.Unlock()
	if r.exported != nil {
		r.exported <- struct{}{}
	}
	return nil
}

func (r *batchRecorder) Shutdown(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shut = true
	return nil
}

func (r *batchRecorder) batches() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...)
}

// endSpans ends n spans of a tracer provider over p.
func endSpans(tp *sdktrace.TracerProvider, n int) {
	tr := tp.Tracer(ScopeName)
	for range n {
		_, s := tr.Start(context.Background(), "audit_logger.write_event")
		s.End()
	}
}

// TestDiskProcessorBatches: a batch is written once it is full, the rest at
// Shutdown, which shuts the exporter down; a span ended after Shutdown is
// dropped, as the SDK's processors drop it.
func TestDiskProcessorBatches(t *testing.T) {
	rec := &batchRecorder{}
	p := newDiskProcessor(rec, 3, time.Hour)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	endSpans(tp, 7)
	if diff := cmp.Diff([]int{3, 3}, rec.batches()); diff != "" {
		t.Errorf("before Shutdown, batches (-want +got):\n%s", diff)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	endSpans(tp, 2)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{3, 3, 1}, rec.batches()); diff != "" {
		t.Errorf("after Shutdown, batches (-want +got):\n%s", diff)
	}
	if !rec.shut {
		t.Error("the exporter was not shut down")
	}
}

// TestDiskProcessorTimeout: a batch that does not fill is written when the
// timeout after its first span has passed, without a Shutdown.
func TestDiskProcessorTimeout(t *testing.T) {
	rec := &batchRecorder{exported: make(chan struct{}, 4)}
	p := newDiskProcessor(rec, 100, time.Millisecond)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	endSpans(tp, 2)
	select {
	case <-rec.exported:
	case <-time.After(time.Minute):
		t.Fatal("no batch written a minute after its timeout of 1 ms")
	}
	if diff := cmp.Diff([]int{2}, rec.batches()); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	p.Shutdown(context.Background())
}

// TestSetupStartsNoGoroutine: the disk path runs no goroutine (a batch
// processor's queue), which a short command would pay for.
func TestSetupStartsNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	p, err := Setup(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	burst(context.Background(), p, 10)
	if n := runtime.NumGoroutine() - before; n > 0 {
		var b strings.Builder
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("%d more goroutines after Setup:\n%s", n, b.String())
	}
}
