package telemetry

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkCommand measures what telemetry adds to one command: Setup, the
// five spans of a command with two model calls and two audit writes
// (llmCommand), Shutdown (which syncs the spans file). "dead" exports to a
// closed port, "unaccepted" to a listener that never accepts (its queue
// full), "blackhole" to one that accepts and never answers; each costs at
// most the export timeout and shutdownSlack. "+metrics" records and exports the
// command's metrics too (the transport as brain-run-full has it); without,
// the same transport without its metrics.
//
//	go test -run XXX -bench Command -benchtime 20x ./internal/telemetry
func BenchmarkCommand(b *testing.B) {
	for _, tc := range []struct {
		name     string
		endpoint func(testing.TB) string
	}{
		{"disk", nil},
		{"live", func(tb testing.TB) string { return startReceiver(tb).addr }},
		{"dead", deadAddr},
		{"unaccepted", unaccepted},
		{"blackhole", blackHole},
	} {
		for _, metrics := range []bool{false, true} {
			if metrics && tc.endpoint == nil {
				continue // metrics are exported only with an endpoint
			}
			name := tc.name
			if metrics {
				name += "+metrics"
			}
			b.Run(name, func(b *testing.B) {
				benchCommand(b, tc.endpoint, metrics)
			})
		}
	}
}

// spansOnly is the gRPC transport without its metrics: Setup finds no
// MetricsNetwork in it.
type spansOnly struct{ Network }

// benchCommand runs the commands of BenchmarkCommand: with metrics, a
// command also records its metrics (a model call, an audit write) and
// exports them at Shutdown.
func benchCommand(b *testing.B, endpoint func(testing.TB) string, metrics bool) {
	cfg := testConfig(b)
	cfg.Network = spansOnly{grpcNet}
	if metrics {
		cfg.Network = grpcNet
	}
	if endpoint != nil {
		cfg.OTLPEndpoint = endpoint(b)
	}
	var w warnCounter
	cfg.Warn = w.warn
	ctx := context.Background()
	for b.Loop() {
		p, err := Setup(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		llmCommand(p, 0, "")
		if err := p.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(w.n.Load())/float64(b.N), "warnings/op")
}

// BenchmarkBurst ends 20,000 spans at once and counts what reaches the disk.
// "sdk-default" is the SDK's batch processor as configured by default (queue
// 2,048, dropping when full) in front of the same disk exporter; "lossless"
// is Setup's disk path (the same processor, blocking when full).
//
//	go test -run XXX -bench Burst -benchtime 5x ./internal/telemetry
func BenchmarkBurst(b *testing.B) {
	const n = 20000
	ctx := context.Background()
	run := func(b *testing.B, newProvider func(path string) (*Provider, error)) {
		var dropped int
		i := 0
		for b.Loop() {
			path := filepath.Join(b.TempDir(), "spans"+strconv.Itoa(i)+".jsonl")
			i++
			p, err := newProvider(path)
			if err != nil {
				b.Fatal(err)
			}
			burst(ctx, p, n)
			if err := p.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			got, _ := spanCount(b, path)
			dropped += n - got
			b.StartTimer()
		}
		b.ReportMetric(float64(dropped)/float64(b.N), "dropped/burst")
	}
	b.Run("sdk-default", func(b *testing.B) {
		run(b, func(path string) (*Provider, error) {
			dc, err := openDisk(path)
			if err != nil {
				return nil, err
			}
			bsp := sdktrace.NewBatchSpanProcessor(dc)
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(bsp))
			return &Provider{cfg: Config{SpansPath: path}, tp: tp, tracer: tp.Tracer(ScopeName), disk: bsp, diskOut: dc}, nil
		})
	})
	b.Run("lossless", func(b *testing.B) {
		run(b, func(path string) (*Provider, error) {
			cfg := testConfig(b)
			cfg.SpansPath = path
			return Setup(ctx, cfg)
		})
	})
}

// BenchmarkSpan is the steady cost of one span on the disk path: start, end,
// batch, encode, write (amortised).
//
//	go test -run XXX -bench Span -benchtime 100000x ./internal/telemetry
func BenchmarkSpan(b *testing.B) {
	ctx := context.Background()
	p, err := Setup(ctx, testConfig(b))
	if err != nil {
		b.Fatal(err)
	}
	tr := p.Tracer()
	for b.Loop() {
		_, s := tr.Start(ctx, "audit_logger.write_event")
		s.End()
	}
	if err := p.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
