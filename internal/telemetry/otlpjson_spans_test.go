package telemetry

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// transformed is what the OTLP exporter's transform makes of spans, the
// protobuf the disk path encoded before it read the SDK's spans directly,
// its resources in the order of their first span (the transform's own
// order is a map's).
func transformed(t testing.TB, spans []sdktrace.ReadOnlySpan) []*tracepb.ResourceSpans {
	t.Helper()
	ctx := context.Background()
	c := &capture{}
	exp, err := otlptrace.New(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	first := func(rs *tracepb.ResourceSpans) int {
		id := trace.SpanID(rs.ScopeSpans[0].Spans[0].SpanId)
		return slices.IndexFunc(spans, func(s sdktrace.ReadOnlySpan) bool { return s.SpanContext().SpanID() == id })
	}
	slices.SortFunc(c.got, func(a, b *tracepb.ResourceSpans) int { return first(a) - first(b) })
	return c.got
}

// sameAsTransform holds appendSpans to the transform followed by the
// protobuf encoder it replaced, and, where pdata can encode the batch (its
// strings are UTF-8), to pdata.
func sameAsTransform(t *testing.T, what string, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	rs := transformed(t, spans)
	got := appendSpans(nil, spans)
	if len(rs) == 0 {
		// The exporter hands over nothing; the disk path writes no line.
		if len(spans) != 0 {
			t.Fatalf("%s: the transform dropped %d spans", what, len(spans))
		}
		return
	}
	if diff := cmp.Diff(string(appendTracesData(nil, rs)), string(got)); diff != "" {
		t.Fatalf("%s: differs from the transform's protobuf (-protobuf +ours):\n%s", what, diff)
	}
	if want, err := pdataLine(rs); err == nil {
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Fatalf("%s: differs from pdata (-pdata +ours):\n%s", what, diff)
		}
	}
}

// spanGen makes SDK spans (tracetest stubs, which the SDK turns into its
// ReadOnlySpans) with every field the SDK has set to hostile values:
// strings that are not UTF-8 and control bytes, every attribute type
// nested, empty values, ids of zeros, remote parents and links, kinds and
// status codes OTLP does not have, times before 1970, dropped counts out
// of uint32's range, several resources and scopes, an empty and a nil
// resource, the zero scope.
type spanGen struct {
	r     *rand.Rand
	extra string // a string the fuzzer gives, used among the generated ones
	next  uint64 // span ids, unique so that resources can be ordered
}

var spanRunes = []string{"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\x00", "\x1f", "\x7f", "<", "&", "é", "€", "\u2028", "\U0001F600", "\ufffd", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80"}

func (g *spanGen) str() string {
	if g.extra != "" && g.r.IntN(4) == 0 {
		return g.extra
	}
	var b []byte
	for range g.r.IntN(10) {
		b = append(b, spanRunes[g.r.IntN(len(spanRunes))]...)
	}
	return string(b)
}

func (g *spanGen) float() float64 {
	if g.r.IntN(2) == 0 {
		return genFloats[g.r.IntN(len(genFloats))]
	}
	return math.Float64frombits(g.r.Uint64())
}

func (g *spanGen) value(depth int) attribute.Value {
	n := 13
	if depth > 2 {
		n = 11
	}
	switch g.r.IntN(n) {
	case 0:
		return attribute.StringValue(g.str())
	case 1:
		return attribute.BoolValue(g.r.IntN(2) == 0)
	case 2:
		return attribute.Int64Value(int64(g.r.Uint64()))
	case 3:
		return attribute.Float64Value(g.float())
	case 4:
		return attribute.ByteSliceValue([]byte(g.str()))
	case 5:
		return attribute.BoolSliceValue(make([]bool, g.r.IntN(3)))
	case 6:
		return attribute.Int64SliceValue([]int64{int64(g.r.Uint64()), math.MinInt64}[:g.r.IntN(3)])
	case 7:
		return attribute.Float64SliceValue([]float64{g.float(), g.float()}[:g.r.IntN(3)])
	case 8:
		return attribute.StringSliceValue([]string{g.str(), g.str()}[:g.r.IntN(3)])
	case 9:
		return attribute.Value{} // EMPTY
	case 10:
		return attribute.BoolValue(true)
	case 11:
		vals := make([]attribute.Value, g.r.IntN(4))
		for i := range vals {
			vals[i] = g.value(depth + 1)
		}
		return attribute.SliceValue(vals...)
	default:
		return attribute.MapValue(g.attrs(depth + 1)...)
	}
}

func (g *spanGen) attrs(depth int) []attribute.KeyValue {
	kvs := make([]attribute.KeyValue, g.r.IntN(5))
	for i := range kvs {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(g.str()), Value: g.value(depth)}
	}
	return kvs
}

func (g *spanGen) time() time.Time {
	switch g.r.IntN(4) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(-int64(g.r.Uint32()), 0) // before 1970
	}
	return time.Unix(0, int64(g.r.Uint64()>>1))
}

func (g *spanGen) count() int {
	return []int{0, 1, -1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt}[g.r.IntN(6)]
}

func (g *spanGen) context(id bool) trace.SpanContext {
	var cfg trace.SpanContextConfig
	if g.r.IntN(4) != 0 {
		cfg.TraceID = trace.TraceID{byte(g.r.Uint32()), 15: byte(g.r.Uint32())}
	}
	if id {
		g.next++
		cfg.SpanID = trace.SpanID{0: byte(g.next >> 8), 7: byte(g.next)}
	} else if g.r.IntN(3) != 0 {
		cfg.SpanID = trace.SpanID{7: byte(g.r.Uint32()) | 1}
	}
	cfg.TraceFlags = trace.TraceFlags(g.r.Uint32())
	cfg.Remote = g.r.IntN(2) == 0
	if g.r.IntN(2) == 0 {
		cfg.TraceState, _ = trace.ParseTraceState("k=v,a=" + []string{"b", "c d"}[g.r.IntN(2)])
	}
	return trace.NewSpanContext(cfg)
}

func (g *spanGen) scope() instrumentation.Scope {
	if g.r.IntN(4) == 0 {
		return instrumentation.Scope{}
	}
	return instrumentation.Scope{Name: g.str(), Version: g.str(), SchemaURL: g.str(), Attributes: attribute.NewSet(g.attrs(1)...)}
}

func (g *spanGen) batch() []sdktrace.ReadOnlySpan {
	var resources []*resource.Resource
	for range 1 + g.r.IntN(2) {
		resources = append(resources, resource.NewWithAttributes(g.str(), g.attrs(1)...))
	}
	switch g.r.IntN(5) {
	case 0:
		resources = append(resources, resource.Empty())
	case 1:
		resources = append(resources, nil)
	}
	scopes := []instrumentation.Scope{g.scope(), g.scope(), g.scope()}
	stubs := make(tracetest.SpanStubs, g.r.IntN(6))
	for i := range stubs {
		s := tracetest.SpanStub{
			Name: g.str(), SpanContext: g.context(true), Parent: g.context(false),
			SpanKind:  trace.SpanKind(g.r.IntN(8)),
			StartTime: g.time(), EndTime: g.time(),
			Attributes:        g.attrs(0),
			Status:            sdktrace.Status{Code: codes.Code(g.r.IntN(4)), Description: g.str()},
			DroppedAttributes: g.count(), DroppedEvents: g.count(), DroppedLinks: g.count(),
			Resource:             resources[g.r.IntN(len(resources))],
			InstrumentationScope: scopes[g.r.IntN(len(scopes))],
		}
		for range g.r.IntN(3) {
			s.Events = append(s.Events, sdktrace.Event{Name: g.str(), Time: g.time(), Attributes: g.attrs(0), DroppedAttributeCount: g.count()})
		}
		for range g.r.IntN(3) {
			s.Links = append(s.Links, sdktrace.Link{SpanContext: g.context(false), Attributes: g.attrs(0), DroppedAttributeCount: g.count()})
		}
		stubs[i] = s
	}
	return stubs.Snapshots()
}

// TestEncodeSpansGenerated holds the encoder of the SDK's spans to the
// transform and the protobuf encoder (and pdata) on generated batches.
func TestEncodeSpansGenerated(t *testing.T) {
	g := &spanGen{r: rand.New(rand.NewPCG(5, 6))}
	for range 2000 {
		sameAsTransform(t, "generated batch", g.batch())
	}
}

// FuzzEncodeSpans holds the encoder to the transform on batches generated
// from the fuzzer's seed, with its string among the generated ones.
func FuzzEncodeSpans(f *testing.F) {
	for _, s := range []string{"", "plain", "\xff\xfe", "\"\\\n\x00", "\U0001F600\xed\xa0\x80"} {
		f.Add(uint64(1), s)
	}
	f.Fuzz(func(t *testing.T, seed uint64, s string) {
		g := &spanGen{r: rand.New(rand.NewPCG(seed, 7)), extra: s}
		sameAsTransform(t, "fuzzed batch", g.batch())
	})
}

// BenchmarkEncodeSpans: a batch of generated spans encoded from the SDK's
// spans, against the transform into protobuf and the protobuf-field
// encoder the disk path used before.
//
//	go test -run XXX -bench EncodeSpans ./internal/telemetry
func BenchmarkEncodeSpans(b *testing.B) {
	g := &spanGen{r: rand.New(rand.NewPCG(3, 4))}
	var spans []sdktrace.ReadOnlySpan
	for len(spans) < 8 {
		spans = append(spans, g.batch()...)
	}
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			encodeLine(spans)
		}
	})
	b.Run("transform", func(b *testing.B) {
		for b.Loop() {
			appendTracesData(nil, transformed(b, spans))
		}
	})
}
