package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
)

// MetricsNetwork is a Network that also exports metrics (otlpgrpc.Transport).
// Setup asks it for a metrics pipeline when an endpoint is set; a Network
// without it exports spans only. It is an interface of its own so that a
// binary that exports only to disk does not link the metrics SDK.
type MetricsNetwork interface {
	// Metrics returns a meter provider whose instruments are exported over
	// OTLP to hostport (plaintext when insecure) only when export is
	// called: it collects every instrument and sends what they recorded
	// since the last export (delta temporality: several processes add up)
	// in one request, bounded by timeout (and ctx) and never retried.
	// shutdown closes the connection. Metrics does no I/O.
	Metrics(hostport string, insecure bool, timeout time.Duration, res *resource.Resource) (mp metric.MeterProvider, export, shutdown func(context.Context) error)
}

// The names of the spans metrics are derived from. They are the names
// internal/llm, internal/audit and internal/runcore give their spans (a test
// holds them equal); telemetry does not import those packages, so that
// their dependencies stay out of the disk-only binary.
const (
	chatSpan        = "llm_provider.chat"
	auditWriteSpan  = "audit_logger.write_event"
	commandRootSpan = "brain_cli.command"
)

// Histogram bucket boundaries. The GenAI ones are the
// ExplicitBucketBoundaries the semantic conventions advise for
// gen_ai.client.token.usage and gen_ai.client.operation.duration (semantic
// conventions 1.41, model/gen-ai/metrics.yaml); the semconv Go package does
// not carry them.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	// An audit write is a write(2) and an fdatasync: from a fraction of a
	// millisecond on tmpfs to seconds on a disk that stalls.
	auditBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
)

// Metric names brain defines beside the GenAI ones (docs/telemetry.md,
// Metrics).
const (
	MetricCommands    = "brain.commands"
	MetricAuditWrite  = "brain.audit.write.duration"
	MetricSpansSent   = "brain.spans.exported"
	MetricSpansFailed = "brain.spans.failed"
	MetricSpansKept   = "brain.spans.kept"

	// ExitClassKey is brain.commands' attribute for how a command ended.
	ExitClassKey = attribute.Key("brain.exit_class")
)

const (
	exitClassOK       = "ok"
	exitClassNonZero  = "exit_nonzero"
	errorTypeKey      = attribute.Key("error.type")
	exitCodeKey       = attribute.Key("brain.exit_code")
	commandKey        = attribute.Key("brain.command")
	auditEventTypeKey = attribute.Key("audit.event_type")
	inputTokensKey    = attribute.Key("gen_ai.usage.input_tokens")
	outputTokensKey   = attribute.Key("gen_ai.usage.output_tokens")
	genAITokenTypeKey = attribute.Key("gen_ai.token.type")
)

// chatMetricKeys are the span attributes of an llm_provider.chat span that
// its GenAI metrics carry (the semantic conventions' attributes of
// gen_ai.client.operation.duration; token usage takes them but error.type).
var chatMetricKeys = []attribute.Key{
	"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
	"gen_ai.response.model", "server.address", "server.port", errorTypeKey,
}

// instruments are the metrics of one command. They are recorded from ended
// spans (metricsProcessor), which carry every attribute the metrics need,
// and at Shutdown (the span counts); recording is a few hundred
// nanoseconds, and nothing is exported before the command ends.
type instruments struct {
	tokens     genaiconv.ClientTokenUsage
	duration   genaiconv.ClientOperationDuration
	commands   metric.Int64Counter
	auditWrite metric.Float64Histogram
	spansSent  metric.Int64Counter
	spansFail  metric.Int64Counter
	spansKept  metric.Int64Counter
}

func newInstruments(m metric.Meter) *instruments {
	in := &instruments{}
	// The SDK's instruments cannot fail with these fixed, valid names; a
	// failed one is a no-op instrument, never a failed command.
	in.tokens, _ = genaiconv.NewClientTokenUsage(m, metric.WithExplicitBucketBoundaries(tokenBuckets...))
	in.duration, _ = genaiconv.NewClientOperationDuration(m, metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.commands = counter(m, MetricCommands, "{command}", "Commands run, by command and exit class (ok, exit_nonzero, or the error.type of a failure).")
	in.auditWrite, _ = m.Float64Histogram(MetricAuditWrite, metric.WithUnit("s"),
		metric.WithDescription("Time to write an audit record durably (write and fdatasync), by event type; error.type on a failed write."),
		metric.WithExplicitBucketBoundaries(auditBuckets...))
	if in.auditWrite == nil {
		in.auditWrite = noop.Float64Histogram{}
	}
	in.spansSent = counter(m, MetricSpansSent, "{span}", "Spans delivered to the OTLP endpoint by the command that made them.")
	in.spansFail = counter(m, MetricSpansFailed, "{span}", "Spans the OTLP export did not deliver (kept on disk for brain-run flush).")
	in.spansKept = counter(m, MetricSpansKept, "{span}", "Spans written to the spans file on disk.")
	return in
}

func counter(m metric.Meter, name, unit, desc string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		return noop.Int64Counter{}
	}
	return c
}

// metricsProcessor records the metrics of ended spans. It is a span
// processor so that the code that makes the spans needs no change: the
// spans already carry, by the span dictionary, every attribute the metrics
// need.
type metricsProcessor struct{ in *instruments }

func (metricsProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (metricsProcessor) Shutdown(context.Context) error                  { return nil }
func (metricsProcessor) ForceFlush(context.Context) error                { return nil }

func (m metricsProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	ctx := context.Background()
	switch s.Name() {
	case chatSpan:
		m.chat(ctx, s)
	case auditWriteSpan:
		attrs := pick(s.Attributes(), auditEventTypeKey, errorTypeKey)
		m.in.auditWrite.Record(ctx, seconds(s), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	case commandRootSpan:
		m.in.commands.Add(ctx, 1, metric.WithAttributeSet(commandSet(s.Attributes())))
	}
}

// chat records gen_ai.client.operation.duration for every call, and
// gen_ai.client.token.usage (input and output) for a call that reported its
// usage. The duration is the llm_provider.chat span's: the provider call
// and the writing of its audit record.
func (m metricsProcessor) chat(ctx context.Context, s sdktrace.ReadOnlySpan) {
	all := s.Attributes()
	attrs := pick(all, chatMetricKeys...)
	m.in.duration.RecordSet(ctx, seconds(s), attribute.NewSet(attrs...))
	var in, out attribute.Value
	for _, kv := range all {
		switch kv.Key {
		case inputTokensKey:
			in = kv.Value
		case outputTokensKey:
			out = kv.Value
		}
	}
	if in.Type() != attribute.INT64 && out.Type() != attribute.INT64 {
		return
	}
	base := make([]attribute.KeyValue, 0, len(attrs)+1)
	for _, kv := range attrs {
		if kv.Key != errorTypeKey {
			base = append(base, kv)
		}
	}
	for _, t := range []struct {
		typ genaiconv.TokenTypeAttr
		v   attribute.Value
	}{{genaiconv.TokenTypeInput, in}, {genaiconv.TokenTypeOutput, out}} {
		if t.v.Type() == attribute.INT64 {
			kvs := append(base[:len(base):len(base)], genAITokenTypeKey.String(string(t.typ)))
			m.in.tokens.RecordSet(ctx, t.v.AsInt64(), attribute.NewSet(kvs...))
		}
	}
}

// commandSet is the attribute set of brain.commands for a root span: the
// command and its exit class.
func commandSet(attrs []attribute.KeyValue) attribute.Set {
	var cmd, errType string
	var code int64
	for _, kv := range attrs {
		switch kv.Key {
		case commandKey:
			cmd = kv.Value.AsString()
		case errorTypeKey:
			errType = kv.Value.AsString()
		case exitCodeKey:
			code = kv.Value.AsInt64()
		}
	}
	return attribute.NewSet(commandKey.String(cmd), ExitClassKey.String(exitClass(code, errType)))
}

// exitClass is a command's class for brain.commands: the error.type of a
// failure, else "exit_nonzero" for a non-zero exit without one (exec's
// program failed), else "ok". It is a bounded set: error.type values are
// classes, never user content.
func exitClass(code int64, errType string) string {
	switch {
	case errType != "":
		return errType
	case code != 0:
		return exitClassNonZero
	}
	return exitClassOK
}

// pick returns the attributes of attrs with one of keys, in keys' order.
func pick(attrs []attribute.KeyValue, keys ...attribute.Key) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(keys))
	for _, k := range keys {
		for _, kv := range attrs {
			if kv.Key == k {
				out = append(out, kv)
				break
			}
		}
	}
	return out
}

func seconds(s sdktrace.ReadOnlySpan) float64 {
	return s.EndTime().Sub(s.StartTime()).Seconds()
}

// spanCounts are what a command's export paths did with its spans.
type spanCounts struct{ sent, failed, kept int }

// record adds c to the span counters, zeros too: a dashboard shows "0
// failed" rather than no data.
func (in *instruments) record(ctx context.Context, c spanCounts) {
	in.spansSent.Add(ctx, int64(c.sent))
	in.spansFail.Add(ctx, int64(c.failed))
	in.spansKept.Add(ctx, int64(c.kept))
}

// providerMetrics is a Provider's metrics pipeline and its instruments.
type providerMetrics struct {
	mp               metric.MeterProvider
	export, shutdown func(context.Context) error
	in               *instruments
	network          Network
}

// setupMetrics builds the metrics pipeline when the Network can export
// metrics, and returns the span processor that records them; nil
// otherwise. It does no I/O.
//
// The metrics' resource is the spans' without brain.session_id: a
// collector adds up the deltas of one stream (resource, scope, metric and
// attributes), and every command is a session of its own, so a session id
// there would make each command a stream of one point. A session's detail
// is in its trace.
func (p *Provider) setupMetrics() sdktrace.SpanProcessor {
	mn, ok := p.cfg.Network.(MetricsNetwork)
	if !ok {
		return nil
	}
	hostport, insecure, err := parseEndpoint(p.cfg.OTLPEndpoint)
	if err != nil { // dial parsed it already
		return nil
	}
	cfg := p.cfg
	cfg.SessionID = ""
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(resourceAttrs(cfg)...))
	if err != nil {
		return nil
	}
	pm := &providerMetrics{network: p.cfg.Network}
	pm.mp, pm.export, pm.shutdown = mn.Metrics(hostport, insecure, p.timeout, res)
	p.metrics = pm
	pm.in = newInstruments(p.Meter())
	return metricsProcessor{p.metrics.in}
}

// Meter returns the meter of instrumentation scope ScopeName, for a
// command's own metrics (brain-drill's detection and recovery times). Its
// instruments are exported at Shutdown with the others; without an
// endpoint, or in a binary without a MetricsNetwork, it is a no-op meter.
func (p *Provider) Meter() metric.Meter {
	if p.metrics == nil {
		return noop.Meter{}
	}
	return p.metrics.mp.Meter(ScopeName, metric.WithInstrumentationVersion(p.cfg.ServiceVersion))
}

// finish records the span counts and exports every metric of the command
// within budget, unless the span export found the endpoint failing
// (netFailed): then nothing is sent, as the metrics would cost another
// timeout only to fail the same way. It returns why the metric export
// failed, "" if it did not or was not tried.
func (m *providerMetrics) finish(ctx context.Context, netFailed bool, c spanCounts, budget time.Duration) string {
	defer m.shutdown(context.WithoutCancel(ctx))
	if netFailed {
		return ""
	}
	m.in.record(ctx, c)
	if budget <= 0 {
		return "no time left after the spans"
	}
	ectx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if err := m.export(ectx); err != nil {
		if ectx.Err() != nil {
			return reason(m.network, context.DeadlineExceeded, budget.Round(time.Millisecond))
		}
		return reason(m.network, err, budget.Round(time.Millisecond))
	}
	return ""
}
