package orchestrator_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/scenario"
	"github.com/brain-dev/brain/internal/state"
	"github.com/brain-dev/brain/internal/telemetry"
	"github.com/brain-dev/brain/internal/verifier"
)

// memSink is the benchmark's in-memory audit sink: it keeps the events and
// numbers them, with no encoding, hashing, file or sync. It exists only
// here, to measure what the real audit log costs; the product has no such
// mode.
type memSink struct {
	seq    uint64
	events []audit.Event
	// sync, when set, gets one 512-byte write and one fdatasync per
	// record: the cost the audit log is allowed.
	sync *os.File
}

func (m *memSink) Record(_ context.Context, ev audit.Event) (chain.Head, error) {
	m.seq++
	m.events = append(m.events, ev)
	if m.sync != nil {
		if _, err := m.sync.Write(make([]byte, 512)); err != nil {
			return chain.Head{}, err
		}
		if err := unix.Fdatasync(int(m.sync.Fd())); err != nil {
			return chain.Head{}, err
		}
	}
	return chain.Head{Seq: m.seq, Hash: chain.Digest{1}}, nil
}

func (m *memSink) Unsafe(context.Context, string, map[string]any) error { return nil }

// BenchmarkScenario runs the golden scenario (plan, then execute of its
// three tasks with their nine checks) per iteration, with the real state
// store, verifier and replay provider in both modes:
//
//   - instrumented: the product's telemetry (spans to the lossless disk
//     exporter, fdatasynced at Shutdown) and audit log (a hash-chained
//     record, fdatasynced, per event);
//   - bare: a no-op tracer and an in-memory audit sink;
//   - fsync: bare, but the sink writes 512 bytes and fdatasyncs a file per
//     record: the baseline for "overhead beyond one fdatasync per audit
//     record" (a blocking fdatasync also costs the Go scheduler CPU).
//
// cpu-ms/op is the process's user+system CPU time (getrusage) per
// iteration, background goroutines (the span exporter) and the checks'
// sandbox processes included; ns/op is
// wall time. The difference between the modes is what tracing and auditing
// cost. See BENCHMARKS.md and scripts/bench-overhead.sh.
func BenchmarkScenario(b *testing.B) {
	b.Run("instrumented", func(b *testing.B) { benchScenario(b, "instrumented") })
	b.Run("bare", func(b *testing.B) { benchScenario(b, "bare") })
	b.Run("fsync", func(b *testing.B) { benchScenario(b, "fsync") })
}

func benchScenario(b *testing.B, mode string) {
	ctx := context.Background()
	dir := b.TempDir()
	sc, err := scenario.Install("basic", dir)
	if err != nil {
		b.Fatal(err)
	}
	ws := filepath.Join(dir, ".brain")
	if err := os.Mkdir(ws, 0o700); err != nil {
		b.Fatal(err)
	}
	key, _ := state.KeyFromText("benchmark key")
	st, err := state.Open(ctx, filepath.Join(ws, "state.db"), key, state.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	v, err := verifier.New(verifier.Options{CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close(ctx)
	p, err := llm.NewReplay(sc.Cassette)
	if err != nil {
		b.Fatal(err)
	}

	var (
		tracer   trace.Tracer = noop.NewTracerProvider().Tracer("bench")
		rec      orchestrator.Recorder
		tel      *telemetry.Provider
		log      *audit.Logger
		sink     = &memSink{}
		shutdown = func() {}
	)
	rec = sink
	if mode == "fsync" {
		f, err := os.OpenFile(filepath.Join(ws, "sink"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sink.sync = f
	}
	if mode == "instrumented" {
		tel, err = telemetry.Setup(ctx, telemetry.Config{ServiceName: "bench", SessionID: "bench", SpansPath: filepath.Join(ws, "spans.jsonl")})
		if err != nil {
			b.Fatal(err)
		}
		tracer = tel.Tracer()
		log, err = audit.Open(filepath.Join(ws, "audit.jsonl"), audit.Options{Session: "bench", Tracer: tracer})
		if err != nil {
			b.Fatal(err)
		}
		defer log.Close()
		rec = log
		shutdown = func() { tel.Shutdown(ctx) }
	}
	o := &orchestrator.Orchestrator{Tracer: tracer, Audit: rec, Store: st, Provider: p, Verifier: v, Workspace: ws}
	tasks := filepath.Join(dir, scenario.TasksFile)
	run := func() {
		if _, err := o.Plan(ctx, sc.Goal, tasks, true); err != nil {
			b.Fatal(err)
		}
		res, err := o.Execute(ctx, tasks, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range res.Tasks {
			if t.State != "passed" {
				b.Fatalf("task %s: %s", t.ID, t.State)
			}
		}
	}
	run() // compile the checks and warm every cache outside the measurement
	records := func() uint64 {
		if log != nil {
			return log.Head().Seq
		}
		return sink.seq
	}
	before := records()

	// The checks' sandboxes outlive a run; their CPU time is counted when
	// they end, so end the warm-up's before, and the measured runs' after.
	v.Close(ctx)
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		run()
	}
	shutdown() // the spans still queued are part of the cost
	v.Close(ctx)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(records()-before)/float64(b.N), "records/op")
}

// cpuTime is the user and system CPU time the process and its ended
// children have used: each check runs in a sandbox process of its own.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}
