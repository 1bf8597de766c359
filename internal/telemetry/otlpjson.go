package telemetry

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// appendTracesData appends rs as one TracesData object in the OTLP JSON
// encoding of the OpenTelemetry Collector's file exporter, byte for byte
// what pdata's ptrace.JSONMarshaler writes for the same spans: the fields in
// the protobuf order, empty and zero fields left out (resource, scope,
// value and status always written), hex trace and span ids, lowerCamelCase
// keys, 64-bit integers as strings, enums as numbers, bytes in base64,
// NaN and the infinities as strings, no HTML escaping.
//
// It reads the protobuf structs the OTLP exporter's transform builds, by
// their fields, with no protobuf reflection: the reflection tables protobuf
// builds on first use, and pdata, cost a short command more than its own
// spans do (BENCHMARKS.md). Tests hold it to pdata's marshaler on the spans
// the product writes and on generated batches of every kind of value.
//
// One difference, on purpose: a string that is not valid UTF-8 (a program
// name, say) has each invalid byte written as U+FFFD, as encoding/json does,
// so the line is valid JSON that pdata reads. pdata cannot encode such a
// string at all (protobuf refuses it), which used to lose the whole batch.
func appendTracesData(b []byte, rs []*tracepb.ResourceSpans) []byte {
	w := jw{b: b}
	w.open()
	list(&w, "resourceSpans", rs, w.resourceSpans)
	w.close()
	return w.b
}

// jw writes JSON objects into b; first tracks, per open object, whether a
// field has been written yet.
type jw struct {
	b     []byte
	first []bool
}

func (w *jw) open() {
	w.b = append(w.b, '{')
	w.first = append(w.first, true)
}

func (w *jw) close() {
	w.b = append(w.b, '}')
	w.first = w.first[:len(w.first)-1]
}

// key writes a field name (a constant: nothing to escape) and its colon.
func (w *jw) key(k string) {
	if top := len(w.first) - 1; w.first[top] {
		w.first[top] = false
	} else {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// list writes a field holding the array of xs, each written by each; pdata
// leaves out an empty array.
func list[T any](w *jw, k string, xs []T, each func(T)) {
	if len(xs) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, x := range xs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		each(x)
	}
	w.b = append(w.b, ']')
}

func (w *jw) str(k, v string) {
	if v != "" {
		w.key(k)
		w.text(v)
	}
}

func (w *jw) u32(k string, v uint32) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendUint(w.b, uint64(v), 10)
	}
}

func (w *jw) i32(k string, v int32) {
	if v != 0 {
		w.key(k)
		w.b = strconv.AppendInt(w.b, int64(v), 10)
	}
}

func (w *jw) u64(k string, v uint64) {
	if v != 0 {
		w.key(k)
		w.b = append(w.b, '"')
		w.b = strconv.AppendUint(w.b, v, 10)
		w.b = append(w.b, '"')
	}
}

// id writes a trace or span id in hex; pdata leaves out an id of zeros.
func (w *jw) id(k string, v []byte) {
	for _, c := range v {
		if c != 0 {
			w.key(k)
			w.b = append(w.b, '"')
			w.b = hex.AppendEncode(w.b, v)
			w.b = append(w.b, '"')
			return
		}
	}
}

func (w *jw) attrs(k string, kvs []*commonpb.KeyValue) { list(w, k, kvs, w.keyValue) }

func (w *jw) resourceSpans(r *tracepb.ResourceSpans) {
	w.open()
	w.key("resource")
	w.resource(r.GetResource())
	list(w, "scopeSpans", r.GetScopeSpans(), w.scopeSpans)
	w.str("schemaUrl", r.GetSchemaUrl())
	w.close()
}

func (w *jw) resource(r *resourcepb.Resource) {
	w.open()
	w.attrs("attributes", r.GetAttributes())
	w.u32("droppedAttributesCount", r.GetDroppedAttributesCount())
	list(w, "entityRefs", r.GetEntityRefs(), w.entityRef)
	w.close()
}

func (w *jw) entityRef(e *commonpb.EntityRef) {
	w.open()
	w.str("schemaUrl", e.GetSchemaUrl())
	w.str("type", e.GetType())
	list(w, "idKeys", e.GetIdKeys(), w.text)
	list(w, "descriptionKeys", e.GetDescriptionKeys(), w.text)
	w.close()
}

func (w *jw) text(s string) { w.b = appendString(w.b, s) }

func (w *jw) scopeSpans(s *tracepb.ScopeSpans) {
	w.open()
	w.key("scope")
	w.scope(s.GetScope())
	list(w, "spans", s.GetSpans(), w.span)
	w.str("schemaUrl", s.GetSchemaUrl())
	w.close()
}

func (w *jw) scope(s *commonpb.InstrumentationScope) {
	w.open()
	w.str("name", s.GetName())
	w.str("version", s.GetVersion())
	w.attrs("attributes", s.GetAttributes())
	w.u32("droppedAttributesCount", s.GetDroppedAttributesCount())
	w.close()
}

func (w *jw) span(s *tracepb.Span) {
	w.open()
	w.id("traceId", s.GetTraceId())
	w.id("spanId", s.GetSpanId())
	w.str("traceState", s.GetTraceState())
	w.id("parentSpanId", s.GetParentSpanId())
	w.u32("flags", s.GetFlags())
	w.str("name", s.GetName())
	w.i32("kind", int32(s.GetKind()))
	w.u64("startTimeUnixNano", s.GetStartTimeUnixNano())
	w.u64("endTimeUnixNano", s.GetEndTimeUnixNano())
	w.attrs("attributes", s.GetAttributes())
	w.u32("droppedAttributesCount", s.GetDroppedAttributesCount())
	list(w, "events", s.GetEvents(), w.event)
	w.u32("droppedEventsCount", s.GetDroppedEventsCount())
	list(w, "links", s.GetLinks(), w.link)
	w.u32("droppedLinksCount", s.GetDroppedLinksCount())
	w.key("status")
	w.open()
	w.str("message", s.GetStatus().GetMessage())
	w.i32("code", int32(s.GetStatus().GetCode()))
	w.close()
	w.close()
}

func (w *jw) event(e *tracepb.Span_Event) {
	w.open()
	w.u64("timeUnixNano", e.GetTimeUnixNano())
	w.str("name", e.GetName())
	w.attrs("attributes", e.GetAttributes())
	w.u32("droppedAttributesCount", e.GetDroppedAttributesCount())
	w.close()
}

func (w *jw) link(l *tracepb.Span_Link) {
	w.open()
	w.id("traceId", l.GetTraceId())
	w.id("spanId", l.GetSpanId())
	w.str("traceState", l.GetTraceState())
	w.attrs("attributes", l.GetAttributes())
	w.u32("droppedAttributesCount", l.GetDroppedAttributesCount())
	w.u32("flags", l.GetFlags())
	w.close()
}

func (w *jw) keyValue(kv *commonpb.KeyValue) {
	w.open()
	w.str("key", kv.GetKey())
	w.key("value")
	w.anyValue(kv.GetValue())
	w.i32("keyStrindex", kv.GetKeyStrindex())
	w.close()
}

func (w *jw) anyValue(v *commonpb.AnyValue) {
	w.open()
	switch v := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		w.key("stringValue")
		w.b = appendString(w.b, v.StringValue)
	case *commonpb.AnyValue_BoolValue:
		w.key("boolValue")
		w.b = strconv.AppendBool(w.b, v.BoolValue)
	case *commonpb.AnyValue_IntValue:
		w.key("intValue")
		w.b = append(w.b, '"')
		w.b = strconv.AppendInt(w.b, v.IntValue, 10)
		w.b = append(w.b, '"')
	case *commonpb.AnyValue_DoubleValue:
		w.key("doubleValue")
		w.b = appendFloat(w.b, v.DoubleValue)
	case *commonpb.AnyValue_ArrayValue:
		w.key("arrayValue")
		w.open()
		list(w, "values", v.ArrayValue.GetValues(), w.anyValue)
		w.close()
	case *commonpb.AnyValue_KvlistValue:
		w.key("kvlistValue")
		w.open()
		w.attrs("values", v.KvlistValue.GetValues())
		w.close()
	case *commonpb.AnyValue_BytesValue:
		w.key("bytesValue")
		w.b = append(w.b, '"')
		w.b = base64.StdEncoding.AppendEncode(w.b, v.BytesValue)
		w.b = append(w.b, '"')
	case *commonpb.AnyValue_StringValueStrindex:
		w.key("stringValueStrindex")
		w.b = strconv.AppendInt(w.b, int64(v.StringValueStrindex), 10)
	}
	w.close()
}

// appendFloat writes a double as pdata does: the shortest decimal that
// reads back exactly, in exponent form below 1e-6 and from 1e21, and NaN
// and the infinities as the strings protobuf's JSON mapping gives them.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

// appendString writes s as a JSON string the way pdata's encoder does: '"'
// and '\' escaped, \n \r \t by name, the other control bytes as \u00XX
// (lower-case hex), everything else as it is (no HTML escaping); and, where
// pdata cannot encode at all, each byte that is not part of valid UTF-8 as
// \ufffd.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
