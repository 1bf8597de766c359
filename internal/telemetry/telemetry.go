// Package telemetry sets up the OpenTelemetry tracing every brain-run command
// runs inside: one TracerProvider per process, 100 % sampling, spans always
// written losslessly to a JSON-lines file on disk in the OpenTelemetry
// Collector's file-exporter encoding, and also exported over OTLP gRPC when an
// endpoint is configured, under a deadline that a dead endpoint cannot stretch.
//
// The on-disk format, the timeouts, the warning and the flush state are
// described in docs/telemetry.md.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/brain-dev/brain/internal/names"
	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span brain writes.
const ScopeName = "github.com/brain-dev/brain"

// SessionKey is the resource and span attribute that carries the session id.
const SessionKey = attribute.Key(names.AttrBrainSessionID)

// DefaultExportTimeout bounds one OTLP export on the network path. With
// shutdownSlack it is the whole cost a dead or silent endpoint can add to a
// command's telemetry: the network path is shut down in parallel with the
// disk path, after its first failure it sends nothing more, and the metrics
// go out in what the spans left of the same budget. A collector on the same
// machine or LAN answers in a few milliseconds; one that does not within
// the budget loses nothing, as the spans are on disk for 'brain-run flush'
// (docs/telemetry.md).
const DefaultExportTimeout = 50 * time.Millisecond

// shutdownSlack is what Shutdown allows the network path beyond its export
// timeout, to close the connection.
const shutdownSlack = 10 * time.Millisecond

// DeadEndpointBudget is the most a dead or silent endpoint may cost a
// command in all: the start-up of the binary that exports (brain-run hands
// a command with an endpoint to brain-run-full, which takes 10-20 ms to
// start on an idle machine and several times that on a loaded one), and
// the network path's wait (ExportTimeoutAfter).
const DeadEndpointBudget = 100 * time.Millisecond

// Bounds of ExportTimeoutAfter: the shortest timeout it gives, and the
// margin it keeps for the rest of a command's end (its last records and
// the spans file's fdatasync). A live collector on a loaded machine needs
// the shortest: its first export is a connection, an HTTP/2 handshake and
// a request, each waiting for the collector to be scheduled (with 20 ms,
// the otel-endpoint-down drill's steady state saw a warning under the
// test suite's load).
const (
	minExportTimeout = 40 * time.Millisecond
	endMargin        = 20 * time.Millisecond
)

// ExportTimeoutAfter returns the export timeout for a process whose start
// took startup (from its fork to its telemetry Setup): what
// DeadEndpointBudget leaves after startup, shutdownSlack and endMargin, at
// most DefaultExportTimeout and at least 40 ms, in whole milliseconds. A
// start-up slowed by a loaded machine leaves the collector less time, so
// that a dead endpoint still costs no more than the budget; the spans are
// on disk for a later flush either way.
func ExportTimeoutAfter(startup time.Duration) time.Duration {
	return min(max(DeadEndpointBudget-startup-shutdownSlack-endMargin, minExportTimeout), DefaultExportTimeout).Truncate(time.Millisecond)
}

// Batching on the disk path (diskProcessor): never dropping, so the size
// only bounds memory.
const (
	diskBatchSize    = 512
	diskBatchTimeout = time.Second
)

// Config configures Setup.
type Config struct {
	ServiceName    string
	ServiceVersion string
	SessionID      string

	// SpansPath is the spans JSONL file. Its directory is created 0700 and
	// the file 0600 if absent; spans are appended. A symbolic link there is
	// refused, never followed.
	SpansPath string

	// NoDisk writes no spans file (SpansPath must be ""): the spans go
	// only to OTLPEndpoint, or nowhere without one. It is for read-only
	// commands, which write nothing (docs/brain-run.md).
	NoDisk bool

	// OTLPEndpoint is "" for disk only, or an OTLP gRPC endpoint as
	// "host:port", "http://host:port" (plaintext) or "https://host:port"
	// (TLS). A bare host:port is plaintext on a loopback host and TLS
	// elsewhere. It needs Network.
	OTLPEndpoint string

	// Network is the OTLP transport for OTLPEndpoint (otlpgrpc.Transport);
	// nil in a binary that exports to disk only, where Setup refuses an
	// endpoint with ErrNoNetwork.
	Network Network

	// ExportTimeout bounds each network export; 0 means DefaultExportTimeout.
	ExportTimeout time.Duration

	// Processors are extra span processors (a fault injector, a test
	// recorder), called before the export paths in the order given.
	// Shutdown shuts them down too.
	Processors []sdktrace.SpanProcessor

	// Warn, if not nil, is called at most once, from Shutdown, with one line
	// (no prefix, no newline) when the network path failed: it names the
	// endpoint, the reason and the spans file.
	Warn func(msg string)
}

// Network is an OTLP network transport: the exporter of the network path,
// and the client that re-sends the spans kept on disk. Package otlpgrpc has
// the gRPC one; it is passed in, not imported, and its interface has no
// protobuf types, so that a disk-only binary links neither gRPC, the
// Collector's pdata, the OTLP exporter's transform nor protobuf.
type Network interface {
	// Exporter returns an OTLP span exporter for hostport (plaintext when
	// insecure) whose every export is bounded by timeout and never
	// retried. It does no I/O until the first export.
	Exporter(ctx context.Context, hostport string, insecure bool, timeout time.Duration) (sdktrace.SpanExporter, error)
	// Sender returns the OTLP client Flush sends a spans file's lines
	// with, on the same terms as Exporter.
	Sender(hostport string, insecure bool, timeout time.Duration) Sender
	// Describe says in a few words what a transport error means, or
	// timedOut; "", false when it knows no more than err's text.
	Describe(err error) (why string, timedOut bool)
}

// Sender sends lines of a spans file, each as Decode parsed it (a value of
// the transport's own). It does no I/O until Start. It is an alias of an
// unnamed interface, which a transport can spell out without importing
// this package.
type Sender = interface {
	Start(ctx context.Context) error
	// Decode parses one line of a spans file (OTLP JSON, one TracesData),
	// and counts its spans.
	Decode(line []byte) (batch any, spans int, err error)
	// Send sends the batches as one request.
	Send(ctx context.Context, batches []any) error
	Stop(ctx context.Context) error
}

// ErrNoNetwork is Setup's and Flush's error for an endpoint without a
// Network to reach it.
var ErrNoNetwork = errors.New("telemetry: no OTLP network transport in this binary")

// Provider is the process's tracer provider. Create it with Setup and call
// Shutdown once the command's spans have ended.
type Provider struct {
	cfg     Config
	tp      *sdktrace.TracerProvider
	tracer  trace.Tracer
	disk    sdktrace.SpanProcessor
	diskOut *diskClient
	net     sdktrace.SpanProcessor // nil without an endpoint
	netOut  *netExporter
	timeout time.Duration
	metrics *providerMetrics // nil without a MetricsNetwork and an endpoint

	once sync.Once
	err  error
}

// Setup opens the spans file and builds the tracer provider. It does no
// network I/O: the gRPC connection is made on the first export. Setup fails
// if the spans file cannot be opened or the endpoint cannot be parsed.
func Setup(ctx context.Context, cfg Config) (*Provider, error) {
	if (cfg.SpansPath == "") != cfg.NoDisk {
		return nil, errors.New("telemetry: a spans path is needed, and only without NoDisk")
	}
	// The SDK and exporters log through OpenTelemetry's global logger (the
	// gRPC exporter, for one, re-parses OTEL_EXPORTER_OTLP_ENDPOINT and logs
	// when it has no scheme). A CLI's stderr is the user's: failures reach
	// them through Warn, once.
	otel.SetLogger(logr.Discard())
	timeout := cfg.ExportTimeout
	if timeout <= 0 {
		timeout = DefaultExportTimeout
	}
	var (
		hostport string
		insecure bool
	)
	network := cfg.OTLPEndpoint != ""
	if network {
		var err error
		if hostport, insecure, err = target(cfg.Network, cfg.OTLPEndpoint); err != nil {
			return nil, err
		}
	}

	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(resourceAttrs(cfg)...))
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}

	p := &Provider{cfg: cfg, timeout: timeout}
	if !cfg.NoDisk {
		dc, err := openDisk(cfg.SpansPath)
		if err != nil {
			return nil, err
		}
		dc.track = network
		p.diskOut = dc
		p.disk = newDiskProcessor(dc, diskBatchSize, diskBatchTimeout)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
	}
	if cfg.SessionID != "" {
		opts = append(opts, sdktrace.WithSpanProcessor(sessionProcessor{SessionKey.String(cfg.SessionID)}))
	}
	for _, sp := range cfg.Processors {
		opts = append(opts, sdktrace.WithSpanProcessor(sp))
	}
	if network {
		if sp := p.setupMetrics(); sp != nil {
			opts = append(opts, sdktrace.WithSpanProcessor(sp))
		}
	}
	if p.disk != nil {
		opts = append(opts, sdktrace.WithSpanProcessor(p.disk))
	}

	if network {
		netExp, err := cfg.Network.Exporter(ctx, hostport, insecure, timeout)
		if err != nil {
			if p.disk != nil {
				p.disk.Shutdown(ctx)
			}
			return nil, fmt.Errorf("telemetry: otlp endpoint %s: %w", cfg.OTLPEndpoint, err)
		}
		p.netOut = &netExporter{exp: netExp}
		p.net = sdktrace.NewBatchSpanProcessor(p.netOut, sdktrace.WithExportTimeout(timeout))
		opts = append(opts, sdktrace.WithSpanProcessor(p.net))
	}
	p.tp = sdktrace.NewTracerProvider(opts...)
	p.tracer = p.tp.Tracer(ScopeName, trace.WithInstrumentationVersion(cfg.ServiceVersion))
	return p, nil
}

func resourceAttrs(cfg Config) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	if cfg.SessionID != "" {
		attrs = append(attrs, SessionKey.String(cfg.SessionID))
	}
	return attrs
}

// Tracer returns the tracer of instrumentation scope ScopeName.
func (p *Provider) Tracer() trace.Tracer { return p.tracer }

// TracerProvider returns the underlying SDK provider, for libraries that take
// a trace.TracerProvider.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Shutdown writes every span ended before it was called to the spans file and
// syncs it, and in parallel sends what the network path still holds, within
// the export timeout (or ctx's deadline, if sooner). If the network path
// failed at any point, Shutdown calls Config.Warn once. It returns only
// disk-path errors: a network failure leaves the command's result unchanged.
// Only the first call does anything; later calls return its result.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.once.Do(func() { p.err = p.shutdown(ctx) })
	return p.err
}

func (p *Provider) shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	var netErr error
	var netDone time.Duration // what the network path took of budget
	budget := p.timeout + shutdownSlack
	if p.net != nil {
		nctx, cancel := context.WithTimeout(ctx, budget)
		if dl, ok := nctx.Deadline(); ok {
			budget = time.Until(dl).Round(time.Millisecond)
		}
		start := time.Now()
		wg.Go(func() {
			defer cancel()
			netErr = p.net.Shutdown(nctx)
			netDone = time.Since(start)
		})
	}
	var err error
	if p.disk != nil {
		err = errors.Join(p.disk.Shutdown(ctx), p.diskOut.firstErr())
	}
	wg.Wait()
	// The export paths are shut down; this stops the tracers and shuts down
	// Config.Processors.
	p.tp.Shutdown(ctx)
	if p.net != nil {
		why, failed, counts := p.settleNetwork(netErr, budget)
		var metricsWhy string
		if p.metrics != nil {
			// The metrics go out after the spans, in what the spans left of
			// the network budget; after a failed span export they are not
			// sent at all, so a dead endpoint costs one timeout and one
			// warning in all.
			metricsWhy = p.metrics.finish(ctx, failed, counts, budget-netDone)
		}
		p.warn(why, metricsWhy)
	}
	if err != nil {
		return fmt.Errorf("telemetry: writing %s: %w", p.cfg.SpansPath, err)
	}
	return nil
}

// settleNetwork lists the spans-file lines whose every span the network
// path delivered in the sent log, so that Flush passes them over. It
// returns why the network path failed ("" if it did not) and what became of
// the spans.
func (p *Provider) settleNetwork(netErr error, budget time.Duration) (why string, failed bool, c spanCounts) {
	var (
		sent           []sentEntry
		total, missing int
	)
	if p.diskOut != nil {
		for _, l := range p.diskOut.writtenLines() {
			n := p.netOut.undelivered(l.spans)
			total += len(l.spans)
			missing += n
			if n == 0 {
				sent = append(sent, l.sent)
			}
		}
		// A lost entry only means a duplicate on the next flush.
		appendSent(SentLogPath(p.cfg.SpansPath), sent)
		c = spanCounts{sent: total - missing, failed: missing, kept: total}
	} else {
		c.sent = p.netOut.deliveredCount()
	}
	switch cause := p.netOut.failure(); {
	case cause != nil:
		return reason(p.cfg.Network, cause, p.timeout), true, c
	case netErr != nil: // the budget ran out with an export in flight
		return reason(p.cfg.Network, netErr, budget), true, c
	case missing > 0: // the network queue was full
		return fmt.Sprintf("%d of %d spans dropped: export queue full", missing, total), false, c
	}
	return "", false, c
}

// warn calls Config.Warn once if the span export failed (why) or the
// metric export did (metricsWhy), or both.
func (p *Provider) warn(why, metricsWhy string) {
	if p.cfg.Warn == nil || why == "" && metricsWhy == "" {
		return
	}
	if why == "" {
		p.cfg.Warn(fmt.Sprintf("metric export to %s failed (%s); this command's metrics are lost, its spans were delivered", p.cfg.OTLPEndpoint, metricsWhy))
		return
	}
	if metricsWhy != "" {
		why += "; metrics: " + metricsWhy
	}
	if p.cfg.NoDisk {
		p.cfg.Warn(fmt.Sprintf("trace export to %s failed (%s); this command keeps no spans on disk", p.cfg.OTLPEndpoint, why))
		return
	}
	p.cfg.Warn(fmt.Sprintf("trace export to %s failed (%s); spans kept in %s; run 'brain-run flush' to resend",
		p.cfg.OTLPEndpoint, why, p.cfg.SpansPath))
}

// reason says in a few words why an export over n failed.
func reason(n Network, err error, timeout time.Duration) string {
	why, timedOut := n.Describe(err)
	if timedOut || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %v", timeout)
	}
	msg := err.Error()
	for _, known := range []string{"connection refused", "no such host", "connection reset by peer", "network is unreachable"} {
		if strings.Contains(msg, known) {
			return known
		}
	}
	if why != "" {
		return why
	}
	return msg
}

// sessionProcessor puts the session id on every span, so a trace backend can
// be queried by span tag as well as by resource attribute.
type sessionProcessor struct{ kv attribute.KeyValue }

func (s sessionProcessor) OnStart(_ context.Context, span sdktrace.ReadWriteSpan) {
	span.SetAttributes(s.kv)
}
func (sessionProcessor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (sessionProcessor) Shutdown(context.Context) error   { return nil }
func (sessionProcessor) ForceFlush(context.Context) error { return nil }

// netExporter guards the OTLP exporter: the first failed export is recorded
// and every later batch is dropped at once, so a dead endpoint costs one
// export timeout per process. Errors are never returned to the batch
// processor, which would print them through the global OpenTelemetry error
// handler; the Provider reports them once through Config.Warn.
type netExporter struct {
	exp sdktrace.SpanExporter

	mu        sync.Mutex
	err       error
	delivered map[trace.SpanID]struct{}
}

func (e *netExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.failure() != nil {
		return nil
	}
	err := e.exp.ExportSpans(ctx, spans)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case err != nil && e.err == nil:
		e.err = err
	case err == nil:
		if e.delivered == nil {
			e.delivered = make(map[trace.SpanID]struct{}, len(spans))
		}
		for _, s := range spans {
			e.delivered[s.SpanContext().SpanID()] = struct{}{}
		}
	}
	return nil
}

// undelivered counts the spans in ids that no export delivered.
func (e *netExporter) undelivered(ids []trace.SpanID) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, id := range ids {
		if _, ok := e.delivered[id]; !ok {
			n++
		}
	}
	return n
}

// Shutdown closes the connection. Its error is not the command's concern: a
// failed export is already recorded, and a budget overrun is reported by the
// batch processor's Shutdown.
func (e *netExporter) Shutdown(ctx context.Context) error {
	e.exp.Shutdown(ctx)
	return nil
}

// deliveredCount is the number of spans an export delivered.
func (e *netExporter) deliveredCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.delivered)
}

func (e *netExporter) failure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}
