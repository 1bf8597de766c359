package telemetry

import (
	"context"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// diskProcessor is the disk path's span processor: it hands ended spans to
// the disk exporter in batches of at most size, once size spans have ended
// or timeout after the first of a batch ended, and at ForceFlush and
// Shutdown. It never drops a span: a batch is written by the goroutine that
// ends its last span (or by the timer), and a span ending meanwhile waits.
//
// The SDK's BatchSpanProcessor with WithBlocking does the same from a
// goroutine of its own, which a short command pays for in full: starting
// it, and the hand-offs to it and back at Shutdown, cost brain-run exec
// about 0.25 ms (BENCHMARKS.md). This one starts no goroutine; its timer
// starts one only when it fires, in a command that runs longer than
// timeout.
type diskProcessor struct {
	exp     sdktrace.SpanExporter
	size    int
	timeout time.Duration

	mu    sync.Mutex
	batch []sdktrace.ReadOnlySpan
	timer *time.Timer // armed while batch is not empty
	done  bool        // shut down: later spans are dropped, as the SDK's processors do
}

func newDiskProcessor(exp sdktrace.SpanExporter, size int, timeout time.Duration) *diskProcessor {
	return &diskProcessor{exp: exp, size: size, timeout: timeout}
}

func (p *diskProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (p *diskProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.batch = append(p.batch, s)
	switch {
	case len(p.batch) >= p.size:
		p.exportLocked(context.Background())
	case p.timer == nil:
		p.timer = time.AfterFunc(p.timeout, func() { p.ForceFlush(context.Background()) })
	}
}

// exportLocked writes the batch. The disk exporter keeps its errors for
// Shutdown (diskClient.firstErr), so the error returned here is the
// exporter's own, for ForceFlush's caller.
func (p *diskProcessor) exportLocked(ctx context.Context) error {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if len(p.batch) == 0 {
		return nil
	}
	batch := p.batch
	p.batch = nil
	return p.exp.ExportSpans(ctx, batch)
}

// ForceFlush writes the spans ended so far.
func (p *diskProcessor) ForceFlush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exportLocked(ctx)
}

// Shutdown writes the spans ended so far and shuts the exporter down (which
// syncs and closes the spans file). Later calls do nothing.
func (p *diskProcessor) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	p.done = true
	err := p.exportLocked(ctx)
	if serr := p.exp.Shutdown(ctx); err == nil {
		err = serr
	}
	return err
}
