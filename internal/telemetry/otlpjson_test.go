package telemetry

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// pdataLine is the Collector's encoding of rs: the protobuf bytes parsed by
// pdata and written by its JSON marshaler, what the file exporter does. It
// is the oracle appendTracesData is held to.
func pdataLine(rs []*tracepb.ResourceSpans) ([]byte, error) {
	pb, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	if err != nil {
		return nil, err
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(pb)
	if err != nil {
		return nil, err
	}
	return (&ptrace.JSONMarshaler{}).MarshalTraces(td)
}

func sameAsPdata(t *testing.T, what string, rs []*tracepb.ResourceSpans) {
	t.Helper()
	want, err := pdataLine(rs)
	if err != nil {
		t.Fatalf("%s: pdata: %v", what, err)
	}
	got := appendTracesData(nil, rs)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("%s: differs from pdata (-pdata +ours):\n%s", what, diff)
	}
}

// capture is an otlptrace.Client that keeps what the OTLP exporter's
// transform hands it.
type capture struct{ got []*tracepb.ResourceSpans }

func (c *capture) Start(context.Context) error { return nil }
func (c *capture) Stop(context.Context) error  { return nil }
func (c *capture) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	c.got = append(c.got, rs...)
	return nil
}

// TestEncodeSDKSpans encodes spans made by the SDK and converted by the OTLP
// exporter's transform, with every kind of attribute the SDK has, events,
// links, trace state, kinds, statuses and two scopes; and holds the encoder
// of the SDK's spans to the same.
func TestEncodeSDKSpans(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := tp.Tracer(ScopeName, trace.WithInstrumentationVersion("v1"), trace.WithInstrumentationAttributes(attribute.String("scope.k", "v")))
	ts, _ := trace.ParseTraceState("k=v,a=b")
	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true,
	}))
	ctx, root := tr.Start(ctx, "root \"quoted\"\n", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tp.Tracer("other").Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("why", "retry")}}),
		trace.WithAttributes(
			attribute.Bool("b", true), attribute.BoolSlice("bs", []bool{true, false}),
			attribute.Int64("i", math.MinInt64), attribute.Int64Slice("is", []int64{0, math.MaxInt64}),
			attribute.Float64("f", 1e-7), attribute.Float64Slice("fs", []float64{0.1, 1e21, math.Copysign(0, -1), math.Inf(1), math.NaN()}),
			attribute.String("s", "<html> & \u2028 \x7f tab\t"), attribute.StringSlice("ss", []string{"", "é"}),
			attribute.ByteSlice("y", []byte{0, 0xff}), attribute.Slice("sl", attribute.IntValue(1), attribute.StringValue("x")),
			attribute.Map("m", attribute.Bool("k", false)),
		))
	child.AddEvent("ev", trace.WithAttributes(attribute.Int("n", 2)))
	child.SetStatus(codes.Error, "boom")
	child.RecordError(errFake("x"))
	child.End()
	root.SetStatus(codes.Ok, "")
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	rs := transformed(t, spans)
	if len(rs) == 0 {
		t.Fatal("the transform handed over nothing")
	}
	sameAsPdata(t, "SDK spans", rs)
	sameAsTransform(t, "SDK spans", spans)
}

type errFake string

func (e errFake) Error() string { return string(e) }

// TestEncodeEdgeCases covers the fields and zero values the SDK does not
// produce but the protobuf types allow: nil messages, an empty oneof,
// all-zero ids, entity refs, string indexes.
func TestEncodeEdgeCases(t *testing.T) {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	cases := map[string][]*tracepb.ResourceSpans{
		"none":           nil,
		"empty":          {{}},
		"nil messages":   {{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{}}}}}},
		"zero ids":       {{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{TraceId: make([]byte, 16), SpanId: make([]byte, 8), ParentSpanId: make([]byte, 8)}}}}}},
		"empty oneof":    {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "k"}, {Key: "v", Value: &commonpb.AnyValue{}}, {Value: str("no key")}}}}},
		"empty array":    {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "a", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}}}}}},
		"empty kvlist":   {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "m", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}}}}}}},
		"empty bytes":    {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "y", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{}}}}}}},
		"nil array":      {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "a", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{}}}}}}},
		"nil kvlist":     {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "m", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{}}}}}}},
		"strindex":       {{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{KeyStrindex: 3, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: -2}}}}}}},
		"entity refs":    {{Resource: &resourcepb.Resource{EntityRefs: []*commonpb.EntityRef{{SchemaUrl: "u", Type: "t", IdKeys: []string{"a", "b"}, DescriptionKeys: []string{"c"}}, {}}, DroppedAttributesCount: 7}}},
		"schema urls":    {{SchemaUrl: "https://s/1", ScopeSpans: []*tracepb.ScopeSpans{{SchemaUrl: "https://s/2", Scope: &commonpb.InstrumentationScope{DroppedAttributesCount: 1}}}}},
		"dropped counts": {{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{DroppedAttributesCount: 1, DroppedEventsCount: 2, DroppedLinksCount: 3, Flags: 0x301, Kind: 5, Status: &tracepb.Status{Code: 2}}}}}}},
		"nil in events":  {{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Events: []*tracepb.Span_Event{{}, {DroppedAttributesCount: 1}}, Links: []*tracepb.Span_Link{{}, {Flags: 1, TraceState: "x=y"}}}}}}}},
	}
	for name, rs := range cases {
		sameAsPdata(t, name, rs)
	}
}

// TestEncodeGenerated compares with pdata on generated batches: nested
// values of every kind, strings of control bytes, quotes, backslashes and
// multi-byte runes, doubles at the format's edges, extreme integers.
func TestEncodeGenerated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		g := gen{r: r}
		sameAsPdata(t, "generated batch "+string(rune('0'+i%10)), g.batch())
	}
}

type gen struct{ r *rand.Rand }

var genRunes = []rune("aZ09 \"\\/\n\r\t\b\f\x00\x01\x1f\x7f<>&é€\u2028\u2029\U0001F600\ufffd")

func (g gen) str() string {
	var b strings.Builder
	for range g.r.IntN(12) {
		b.WriteRune(genRunes[g.r.IntN(len(genRunes))])
	}
	return b.String()
}

var genFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, -1e21, 123456789.125,
	math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), 1.0 / 3}

func (g gen) float() float64 {
	if g.r.IntN(2) == 0 {
		return genFloats[g.r.IntN(len(genFloats))]
	}
	return math.Float64frombits(g.r.Uint64())
}

func (g gen) value(depth int) *commonpb.AnyValue {
	n := 7
	if depth > 2 {
		n = 5
	}
	switch g.r.IntN(n) {
	case 0:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: g.str()}}
	case 1:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: g.r.IntN(2) == 0}}
	case 2:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(g.r.Uint64())}}
	case 3:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: g.float()}}
	case 4:
		b := make([]byte, g.r.IntN(9))
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: b}}
	case 5:
		vals := make([]*commonpb.AnyValue, g.r.IntN(4))
		for i := range vals {
			vals[i] = g.value(depth + 1)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
	default:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: g.attrs(depth + 1)}}}
	}
}

func (g gen) attrs(depth int) []*commonpb.KeyValue {
	kvs := make([]*commonpb.KeyValue, g.r.IntN(5))
	for i := range kvs {
		kvs[i] = &commonpb.KeyValue{Key: g.str(), Value: g.value(depth)}
	}
	return kvs
}

func (g gen) id(n int) []byte {
	if g.r.IntN(5) == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g gen) u32() uint32 {
	if g.r.IntN(2) == 0 {
		return 0
	}
	return g.r.Uint32()
}

func (g gen) span() *tracepb.Span {
	s := &tracepb.Span{
		TraceId: g.id(16), SpanId: g.id(8), ParentSpanId: g.id(8), TraceState: g.str(), Flags: g.u32(),
		Name: g.str(), Kind: tracepb.Span_SpanKind(g.r.IntN(6)),
		StartTimeUnixNano: g.r.Uint64(), EndTimeUnixNano: g.r.Uint64(),
		Attributes: g.attrs(0), DroppedAttributesCount: g.u32(), DroppedEventsCount: g.u32(), DroppedLinksCount: g.u32(),
	}
	for range g.r.IntN(3) {
		s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: g.r.Uint64(), Name: g.str(), Attributes: g.attrs(0), DroppedAttributesCount: g.u32()})
	}
	for range g.r.IntN(3) {
		s.Links = append(s.Links, &tracepb.Span_Link{TraceId: g.id(16), SpanId: g.id(8), TraceState: g.str(), Attributes: g.attrs(0), DroppedAttributesCount: g.u32(), Flags: g.u32()})
	}
	if g.r.IntN(4) != 0 {
		s.Status = &tracepb.Status{Message: g.str(), Code: tracepb.Status_StatusCode(g.r.IntN(3))}
	}
	return s
}

func (g gen) batch() []*tracepb.ResourceSpans {
	rs := make([]*tracepb.ResourceSpans, g.r.IntN(3))
	for i := range rs {
		r := &tracepb.ResourceSpans{SchemaUrl: g.str()}
		if g.r.IntN(4) != 0 {
			r.Resource = &resourcepb.Resource{Attributes: g.attrs(0), DroppedAttributesCount: g.u32()}
		}
		for range g.r.IntN(3) {
			ss := &tracepb.ScopeSpans{SchemaUrl: g.str()}
			if g.r.IntN(4) != 0 {
				ss.Scope = &commonpb.InstrumentationScope{Name: g.str(), Version: g.str(), Attributes: g.attrs(0), DroppedAttributesCount: g.u32()}
			}
			for range g.r.IntN(4) {
				ss.Spans = append(ss.Spans, g.span())
			}
			r.ScopeSpans = append(r.ScopeSpans, ss)
		}
		rs[i] = r
	}
	return rs
}

// TestEncodeInvalidUTF8: a string that is not UTF-8, which protobuf (and so
// pdata) refuses to encode, still makes a line the Collector's parser reads,
// with each invalid byte as U+FFFD.
func TestEncodeInvalidUTF8(t *testing.T) {
	name := "/bin/true\xff\xfe é \xc3"
	rs := []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
		TraceId: []byte{1, 15: 1}, SpanId: []byte{1, 7: 1}, Name: name,
		Attributes: []*commonpb.KeyValue{{Key: "process.executable.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: name}}}},
	}}}}}}
	if _, err := pdataLine(rs); err == nil {
		t.Fatal("pdata encoded invalid UTF-8: the difference documented on appendTracesData is gone")
	}
	line := appendTracesData(nil, rs)
	if !utf8.Valid(line) || !json.Valid(line) {
		t.Fatalf("not valid UTF-8 JSON: %q", line)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
	if err != nil {
		t.Fatal(err)
	}
	want := "/bin/true\ufffd\ufffd é \ufffd"
	s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	if v, _ := s.Attributes().Get("process.executable.name"); s.Name() != want || v.Str() != want {
		t.Errorf("name %q, attribute %q, want %q", s.Name(), v.Str(), want)
	}
}

// FuzzAppendString holds the string encoder to pdata's for valid UTF-8, and
// to valid JSON of the same text with U+FFFD for invalid bytes otherwise.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\b\f\x00\x1f\x7f", "<>&", "é€\U0001F600", "\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if utf8.ValidString(s) {
			rs := []*tracepb.ResourceSpans{{SchemaUrl: s}}
			want, err := pdataLine(rs)
			if err != nil {
				t.Fatal(err)
			}
			if line := appendTracesData(nil, rs); string(line) != string(want) {
				t.Fatalf("%q: ours %s, pdata %s", s, line, want)
			}
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, got, err)
		}
		if want := perByteReplaced(s); back != want {
			t.Fatalf("%q read back as %q, want %q", s, back, want)
		}
	})
}

// perByteReplaced is s with each byte that is not part of valid UTF-8 (not
// each invalid run, as strings.ToValidUTF8 does) replaced by U+FFFD.
func perByteReplaced(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\ufffd")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func BenchmarkEncodeLine(b *testing.B) {
	g := gen{r: rand.New(rand.NewPCG(3, 4))}
	rs := []*tracepb.ResourceSpans{{Resource: &resourcepb.Resource{Attributes: g.attrs(0)}, ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: ScopeName}}}}}
	for range 8 {
		rs[0].ScopeSpans[0].Spans = append(rs[0].ScopeSpans[0].Spans, g.span())
	}
	b.Run("ours", func(b *testing.B) {
		for b.Loop() {
			appendTracesData(nil, rs)
		}
	})
	b.Run("pdata", func(b *testing.B) {
		for b.Loop() {
			if _, err := pdataLine(rs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDiskKeepsInvalidUTF8: a span whose name and attribute are not UTF-8
// (a program name exec was given, say) reaches the spans file with its
// batch, instead of failing the batch's encoding and losing every span in it.
func TestDiskKeepsInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.Network = nil
	p, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, root := p.Tracer().Start(ctx, "brain_cli.command")
	_, child := p.Tracer().Start(ctx, "exec \xff", trace.WithAttributes(attribute.String("process.executable.name", "/bin/\xfftrue")))
	child.End()
	root.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, td := range readSpans(t, cfg.SpansPath) {
		forEachSpan(td, func(_ ptrace.ResourceSpans, s ptrace.Span) {
			v, _ := s.Attributes().Get("process.executable.name")
			names[s.Name()] = v.Str()
		})
	}
	want := map[string]string{"brain_cli.command": "", "exec \ufffd": "/bin/\ufffdtrue"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("spans on disk (-want +got):\n%s", diff)
	}
}
