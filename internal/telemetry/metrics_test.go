package telemetry

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	collectormetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// llmCommand makes the spans of a command that called a model twice (one
// answer, one failure) and wrote three audit records, as internal/llm,
// internal/audit and internal/runcore make them, and ends with exitCode and
// errType.
func llmCommand(p *Provider, exitCode int, errType string) {
	tr := p.Tracer()
	ctx, root := tr.Start(context.Background(), commandRootSpan, trace.WithAttributes(attribute.String("brain.command", "execute")))
	chat := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "openai"),
		attribute.String("gen_ai.request.model", "gpt-test"),
		attribute.String("server.address", "127.0.0.1"),
		attribute.Int("server.port", 8080),
	}
	cctx, ok := tr.Start(ctx, chatSpan, trace.WithAttributes(chat...))
	_, w := tr.Start(cctx, auditWriteSpan, trace.WithAttributes(attribute.String("audit.event_type", "llm.call")))
	w.End()
	ok.SetAttributes(attribute.String("gen_ai.response.model", "gpt-test-0613"),
		attribute.Int("gen_ai.usage.input_tokens", 300), attribute.Int("gen_ai.usage.output_tokens", 20))
	ok.End()
	_, bad := tr.Start(ctx, chatSpan, trace.WithAttributes(chat...))
	bad.SetAttributes(attribute.String("error.type", "timeout"))
	bad.SetStatus(codes.Error, "deadline")
	bad.End()
	_, w = tr.Start(ctx, auditWriteSpan, trace.WithAttributes(attribute.String("audit.event_type", "command.end")))
	w.SetAttributes(attribute.String("error.type", "audit_write_failed"))
	w.End()
	if errType != "" {
		root.SetAttributes(attribute.String("error.type", errType))
	}
	root.SetAttributes(attribute.Int("brain.exit_code", exitCode))
	root.End()
}

// point is one data point received, flattened for comparison.
type point struct {
	Metric, Unit string
	Attrs        string  // k=v,k=v sorted
	Value        float64 // a sum's value, or a histogram's sum
	Count        uint64  // a histogram's count
	Bounds       int     // a histogram's number of bucket boundaries
	Delta        bool
}

func flatten(reqs []*collectormetricspb.ExportMetricsServiceRequest) []point {
	var out []point
	for _, req := range reqs {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					switch d := m.Data.(type) {
					case *metricspb.Metric_Sum:
						for _, dp := range d.Sum.DataPoints {
							out = append(out, point{Metric: m.Name, Unit: m.Unit, Attrs: attrString(dp.Attributes), Value: float64(dp.GetAsInt()) + dp.GetAsDouble(),
								Delta: d.Sum.AggregationTemporality == metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA})
						}
					case *metricspb.Metric_Histogram:
						for _, dp := range d.Histogram.DataPoints {
							out = append(out, point{Metric: m.Name, Unit: m.Unit, Attrs: attrString(dp.Attributes), Value: dp.GetSum(), Count: dp.Count, Bounds: len(dp.ExplicitBounds),
								Delta: d.Histogram.AggregationTemporality == metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA})
						}
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Metric != out[j].Metric {
			return out[i].Metric < out[j].Metric
		}
		return out[i].Attrs < out[j].Attrs
	})
	return out
}

func attrString(kvs []*commonpb.KeyValue) string {
	var s []string
	for _, kv := range kvs {
		v := kv.Value.GetStringValue()
		if _, ok := kv.Value.Value.(*commonpb.AnyValue_IntValue); ok {
			v = attribute.Int64Value(kv.Value.GetIntValue()).String()
		}
		s = append(s, kv.Key+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// TestMetricsLive exports a command's metrics to a real OTLP receiver: the
// GenAI client metrics with their semantic-convention names, units,
// attributes and bucket boundaries, the command by exit class, the audit
// write latency and the span counts, all in delta temporality, in one
// request sent after the spans, and no warning.
func TestMetricsLive(t *testing.T) {
	rcv := startReceiver(t)
	cfg := testConfig(t)
	cfg.OTLPEndpoint = rcv.addr
	cfg.ExportTimeout = 5 * time.Second // a loaded machine must not make this a failure
	w := commandDoing(t, cfg, func(p *Provider) { llmCommand(p, 4, "audit_write_failed") })
	if n := w.n.Load(); n != 0 {
		t.Fatalf("warned %d times: %s", n, w.message())
	}
	reqs := rcv.metrics.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d metric requests, want 1", len(reqs))
	}
	const chat = "gen_ai.operation.name=chat,gen_ai.provider.name=openai,gen_ai.request.model=gpt-test,"
	const server = "server.address=127.0.0.1,server.port=8080"
	got := flatten(reqs)
	for i := range got { // durations vary; that they are there is the point
		if got[i].Unit == "s" {
			got[i].Value = 0
		}
	}
	want := []point{
		{Metric: MetricAuditWrite, Unit: "s", Attrs: "audit.event_type=command.end,error.type=audit_write_failed", Count: 1, Bounds: len(auditBuckets), Delta: true},
		{Metric: MetricAuditWrite, Unit: "s", Attrs: "audit.event_type=llm.call", Count: 1, Bounds: len(auditBuckets), Delta: true},
		{Metric: MetricCommands, Unit: "{command}", Attrs: "brain.command=execute,brain.exit_class=audit_write_failed", Value: 1, Delta: true},
		{Metric: MetricSpansFailed, Unit: "{span}", Value: 0, Delta: true},
		{Metric: MetricSpansSent, Unit: "{span}", Value: 5, Delta: true},
		{Metric: MetricSpansKept, Unit: "{span}", Value: 5, Delta: true},
		{Metric: "gen_ai.client.operation.duration", Unit: "s", Attrs: "error.type=timeout," + chat + server, Count: 1, Bounds: 14, Delta: true},
		{Metric: "gen_ai.client.operation.duration", Unit: "s", Attrs: chat + "gen_ai.response.model=gpt-test-0613," + server, Count: 1, Bounds: 14, Delta: true},
		{Metric: "gen_ai.client.token.usage", Unit: "{token}", Attrs: chat + "gen_ai.response.model=gpt-test-0613,gen_ai.token.type=input," + server, Value: 300, Count: 1, Bounds: 14, Delta: true},
		{Metric: "gen_ai.client.token.usage", Unit: "{token}", Attrs: chat + "gen_ai.response.model=gpt-test-0613,gen_ai.token.type=output," + server, Value: 20, Count: 1, Bounds: 14, Delta: true},
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].Metric != want[j].Metric {
			return want[i].Metric < want[j].Metric
		}
		return want[i].Attrs < want[j].Attrs
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	// The resource names the service but not the session: every command
	// is a session, and its metrics must add up with the others'.
	res := attrString(reqs[0].ResourceMetrics[0].Resource.Attributes)
	if !strings.Contains(res, "service.name=brain-run,service.version=v0.0.0-test") {
		t.Errorf("resource %s lacks service.name and service.version", res)
	}
	if strings.Contains(res, "brain.session_id") {
		t.Errorf("resource %s has the session id: no two commands' metrics would add up", res)
	}
}

// TestExitClass: a command's class is the error.type of its failure, else
// exit_nonzero for a failing program without one, else ok.
func TestExitClass(t *testing.T) {
	for _, tc := range []struct {
		code    int64
		errType string
		want    string
	}{{0, "", "ok"}, {1, "", "exit_nonzero"}, {137, "", "exit_nonzero"}, {2, "usage", "usage"}, {4, "audit_write_failed", "audit_write_failed"}, {70, "panic", "panic"}} {
		if got := exitClass(tc.code, tc.errType); got != tc.want {
			t.Errorf("exitClass(%d, %q) = %q, want %q", tc.code, tc.errType, got, tc.want)
		}
	}
}

// TestMetricsUnreachable points a command with metrics at a closed port and
// at a black hole: one warning in all, naming the trace export (not one per
// signal), and the metrics are not even tried once the spans failed — the
// black hole sees one connection, the span exporter's, so the metrics add
// no second timeout to the command's.
func TestMetricsUnreachable(t *testing.T) {
	for _, name := range []string{"dead", "blackhole"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var endpoint string
			accepted := func() int { return 0 }
			if name == "dead" {
				endpoint = deadAddr(t)
			} else {
				endpoint, accepted = countedBlackHole(t)
			}
			cfg := testConfig(t)
			cfg.OTLPEndpoint = endpoint
			w := commandDoing(t, cfg, func(p *Provider) { llmCommand(p, 0, "") })
			if n := w.n.Load(); n != 1 {
				t.Fatalf("warned %d times, want 1", n)
			}
			if msg := w.message(); !strings.HasPrefix(msg, "trace export to "+endpoint+" failed") || strings.Contains(msg, "metric") {
				t.Errorf("warning %q: want the trace export's, alone", msg)
			}
			if name == "blackhole" {
				if n := accepted(); n != 1 {
					t.Errorf("the black hole saw %d connections, want 1 (the spans')", n)
				}
			}
		})
	}
}

// TestMetricsRefused: an endpoint that takes the spans but refuses the
// metrics gets one warning that says so, and that the spans were
// delivered.
func TestMetricsRefused(t *testing.T) {
	rcv := startReceiver(t)
	rcv.metrics.fail = status.Error(grpccodes.Unavailable, "metrics pipeline down")
	cfg := testConfig(t)
	cfg.OTLPEndpoint = rcv.addr
	cfg.ExportTimeout = 5 * time.Second
	w := command(t, cfg, 10)
	if n := w.n.Load(); n != 1 {
		t.Fatalf("warned %d times, want 1", n)
	}
	want := "metric export to " + rcv.addr + " failed (unavailable: metrics pipeline down); this command's metrics are lost, its spans were delivered"
	if msg := w.message(); msg != want {
		t.Errorf("warning:\n got %q\nwant %q", msg, want)
	}
	if spans, _ := rcv.counts(); spans != 10 {
		t.Errorf("receiver got %d spans, want 10", spans)
	}
}

// TestMetricsTraceOnlyEndpoint: an endpoint without an OTLP metrics
// service (Jaeger's own receiver is one) takes the spans and answers the
// metrics Unimplemented: no warning, the command's metrics have nowhere to
// go.
func TestMetricsTraceOnlyEndpoint(t *testing.T) {
	rcv := startTraceReceiver(t, false)
	cfg := testConfig(t)
	cfg.OTLPEndpoint = rcv.addr
	cfg.ExportTimeout = 5 * time.Second
	w := commandDoing(t, cfg, func(p *Provider) { llmCommand(p, 0, "") })
	if n := w.n.Load(); n != 0 {
		t.Errorf("warned %d times: %s", n, w.message())
	}
	if spans, _ := rcv.counts(); spans != 5 {
		t.Errorf("receiver got %d spans, want 5", spans)
	}
}
