package telemetry

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	collectormetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/brain-dev/brain/internal/telemetry/otlpgrpc"
	"github.com/brain-dev/brain/internal/testutil"
)

// receiver is a real OTLP gRPC trace receiver on 127.0.0.1 that counts what
// it is sent. fail, if set, is asked before each request is accepted.
type receiver struct {
	collectortracepb.UnimplementedTraceServiceServer
	addr string

	mu    sync.Mutex
	calls int
	ids   map[string]int // span id (hex) -> times received
	spans int
	fail  func(call int) error

	metrics metricsReceiver
}

// metricsReceiver is the receiver's OTLP metrics service: it keeps every
// request. fail, if set, answers each instead.
type metricsReceiver struct {
	collectormetricspb.UnimplementedMetricsServiceServer
	mu   sync.Mutex
	reqs []*collectormetricspb.ExportMetricsServiceRequest
	fail error
}

func (m *metricsReceiver) Export(_ context.Context, req *collectormetricspb.ExportMetricsServiceRequest) (*collectormetricspb.ExportMetricsServiceResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	m.reqs = append(m.reqs, req)
	return &collectormetricspb.ExportMetricsServiceResponse{}, nil
}

// requests returns the metric export requests received so far.
func (m *metricsReceiver) requests() []*collectormetricspb.ExportMetricsServiceRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reqs
}

func startReceiver(tb testing.TB) *receiver {
	tb.Helper()
	return startTraceReceiver(tb, true)
}

// startTraceReceiver is startReceiver, with an OTLP metrics service or,
// like a trace-only backend, without.
func startTraceReceiver(tb testing.TB, metrics bool) *receiver {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &receiver{addr: ln.Addr().String(), ids: map[string]int{}}
	srv := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(srv, r)
	if metrics {
		collectormetricspb.RegisterMetricsServiceServer(srv, &r.metrics)
	}
	go srv.Serve(ln)
	tb.Cleanup(srv.Stop)
	return r
}

func (r *receiver) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls); err != nil {
			return nil, err
		}
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.ids[string(s.SpanId)]++
				r.spans++
			}
		}
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

func (r *receiver) setFail(fail func(call int) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

func (r *receiver) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// counts returns the spans received and how many span ids arrived twice.
func (r *receiver) counts() (spans, dups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.ids {
		dups += n - 1
	}
	return r.spans, dups
}

// blackHole listens on 127.0.0.1, accepts every connection and never writes
// a byte: the peer waits for an HTTP/2 handshake that does not come.
func blackHole(tb testing.TB) string {
	tb.Helper()
	addr, _ := countedBlackHole(tb)
	return addr
}

// countedBlackHole is blackHole, with the number of connections it accepted
// so far.
func countedBlackHole(tb testing.TB) (addr string, accepted func() int) {
	tb.Helper()
	addr, accepted, stop, err := testutil.Silent()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return addr, accepted
}

// deadAddr returns a 127.0.0.1 address on which nothing listens.
func deadAddr(tb testing.TB) string {
	tb.Helper()
	addr, err := testutil.ClosedPort()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// unaccepted returns the address of a 127.0.0.1 listener that never
// accepts, its queue full: a connect is never answered.
func unaccepted(tb testing.TB) string {
	tb.Helper()
	addr, stop, err := testutil.Unaccepted()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return addr
}

// warnCounter counts Config.Warn calls and keeps the last message.
type warnCounter struct {
	n    atomic.Int32
	mu   sync.Mutex
	last string
}

func (w *warnCounter) warn(msg string) {
	w.n.Add(1)
	w.mu.Lock()
	w.last = msg
	w.mu.Unlock()
}

func (w *warnCounter) message() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func testConfig(tb testing.TB) Config {
	return Config{
		ServiceName:    "brain-run",
		ServiceVersion: "v0.0.0-test",
		SessionID:      "sess-test-1",
		SpansPath:      filepath.Join(tb.TempDir(), ".brain", "spans.jsonl"),
		Network:        grpcNet,
	}
}

// grpcNet is the network transport the tests export over.
var grpcNet = otlpgrpc.Transport{}

var (
	_ Network        = grpcNet
	_ MetricsNetwork = grpcNet
)

// readSpans parses every line of a spans file with the Collector's own
// JSON parser and returns one Traces per line.
func readSpans(tb testing.TB, path string) []ptrace.Traces {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []ptrace.Traces
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var u ptrace.JSONUnmarshaler
	for sc.Scan() {
		td, err := u.UnmarshalTraces(sc.Bytes())
		if err != nil {
			tb.Fatalf("line %d: %v", len(out)+1, err)
		}
		out = append(out, td)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// spanCount returns the spans in a spans file and how many ids repeat.
func spanCount(tb testing.TB, path string) (spans, dups int) {
	tb.Helper()
	seen := map[[8]byte]bool{}
	for _, td := range readSpans(tb, path) {
		forEachSpan(td, func(_ ptrace.ResourceSpans, s ptrace.Span) {
			spans++
			if seen[s.SpanID()] {
				dups++
			}
			seen[s.SpanID()] = true
		})
	}
	return spans, dups
}

func forEachSpan(td ptrace.Traces, fn func(ptrace.ResourceSpans, ptrace.Span)) {
	for i := range td.ResourceSpans().Len() {
		rs := td.ResourceSpans().At(i)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j).Spans()
			for k := range ss.Len() {
				fn(rs, ss.At(k))
			}
		}
	}
}

// command runs what one command would: Setup with cfg (its Warn counted),
// a burst of n spans, Shutdown.
func command(tb testing.TB, cfg Config, n int) *warnCounter {
	tb.Helper()
	return commandDoing(tb, cfg, func(p *Provider) { burst(context.Background(), p, n) })
}

// commandDoing is command with the spans that spans makes.
func commandDoing(tb testing.TB, cfg Config, spans func(*Provider)) *warnCounter {
	tb.Helper()
	w := new(warnCounter)
	cfg.Warn = w.warn
	p, err := Setup(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	spans(p)
	if err := p.Shutdown(context.Background()); err != nil {
		tb.Fatalf("Shutdown: %v", err)
	}
	return w
}

// writeSpans appends n spans to path as one command would.
func writeSpans(tb testing.TB, path string, n int) {
	tb.Helper()
	cfg := testConfig(tb)
	cfg.SpansPath = path
	command(tb, cfg, n)
}

// burst ends n sibling spans under one root as fast as it can.
func burst(ctx context.Context, p *Provider, n int) {
	tr := p.Tracer()
	ctx, root := tr.Start(ctx, "brain_cli.command")
	for range n - 1 {
		_, s := tr.Start(ctx, "audit_logger.write_event")
		s.End()
	}
	root.End()
}
