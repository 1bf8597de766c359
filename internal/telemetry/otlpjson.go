package telemetry

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// appendSpans appends spans as one TracesData object in the OTLP JSON
// encoding of the OpenTelemetry Collector's file exporter, byte for byte
// what pdata's ptrace.JSONMarshaler writes for the protobuf the OTLP
// exporter's transform makes of the same spans: the spans grouped by
// resource and then by instrumentation scope, each group where its first
// span is; the fields in the protobuf order, empty and zero fields left out
// (resource, scope, value and status always written), hex trace and span
// ids, lowerCamelCase keys, 64-bit integers as strings, enums as numbers,
// bytes in base64, NaN and the infinities as strings, no HTML escaping.
//
// It reads the SDK's spans directly: the transform, the protobuf types and
// the reflection tables protobuf builds at start-up, and pdata, cost a short
// command more than its own spans do (BENCHMARKS.md), and brain-run links
// none of them. Tests hold it to the transform followed by the protobuf
// encoder it replaced, and that one to pdata's marshaler.
//
// One difference, on purpose: a string that is not valid UTF-8 (a program
// name, say) has each invalid byte written as U+FFFD, as encoding/json does,
// so the line is valid JSON that pdata reads. pdata cannot encode such a
// string at all (protobuf refuses it), which used to lose the whole batch.
func appendSpans(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	w := jw{b: b}
	w.open()
	list(&w, "resourceSpans", groupSpans(spans), w.resourceSpans)
	w.close()
	return w.b
}

// resourceGroup and scopeGroup are the spans of one resource, and of one
// scope in it, in the order the transform puts them.
type resourceGroup struct {
	res    *resource.Resource
	key    attribute.Distinct
	scopes []scopeGroup
}

type scopeGroup struct {
	scope instrumentation.Scope
	spans []sdktrace.ReadOnlySpan
}

// groupSpans groups spans as the OTLP exporter's transform does: by
// resource (its attribute set) and then by scope, in the order each group's
// first span comes. A process has one resource and a few scopes, so the
// groups are looked up in order, not hashed.
func groupSpans(spans []sdktrace.ReadOnlySpan) []resourceGroup {
	var groups []resourceGroup
next:
	for _, s := range spans {
		if s == nil {
			continue
		}
		key, scope := s.Resource().Equivalent(), s.InstrumentationScope()
		for i := range groups {
			g := &groups[i]
			if g.key != key {
				continue
			}
			for j := range g.scopes {
				if g.scopes[j].scope == scope {
					g.scopes[j].spans = append(g.scopes[j].spans, s)
					continue next
				}
			}
			g.scopes = append(g.scopes, scopeGroup{scope: scope, spans: []sdktrace.ReadOnlySpan{s}})
			continue next
		}
		groups = append(groups, resourceGroup{res: s.Resource(), key: key, scopes: []scopeGroup{{scope: scope, spans: []sdktrace.ReadOnlySpan{s}}}})
	}
	return groups
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

func (w *jw) resourceSpans(g resourceGroup) {
	w.open()
	w.key("resource")
	w.open()
	if g.res != nil {
		w.iter("attributes", g.res.Iter())
	}
	w.close()
	list(w, "scopeSpans", g.scopes, w.scopeSpans)
	w.str("schemaUrl", g.res.SchemaURL())
	w.close()
}

func (w *jw) scopeSpans(g scopeGroup) {
	w.open()
	w.key("scope")
	w.open()
	w.str("name", g.scope.Name)
	w.str("version", g.scope.Version)
	w.iter("attributes", g.scope.Attributes.Iter())
	w.close()
	list(w, "spans", g.spans, w.span)
	w.str("schemaUrl", g.scope.SchemaURL)
	w.close()
}

// OTLP's span flags: the W3C trace flags in the low byte, and whether the
// parent (or a link's span) is remote, and that this is known.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

func spanFlags(tf trace.TraceFlags, remote bool) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if remote {
		f |= flagIsRemote
	}
	return f
}

func (w *jw) span(s sdktrace.ReadOnlySpan) {
	sc, parent := s.SpanContext(), s.Parent()
	tid, sid, psid := sc.TraceID(), sc.SpanID(), parent.SpanID()
	w.open()
	w.id("traceId", tid[:])
	w.id("spanId", sid[:])
	w.str("traceState", sc.TraceState().String())
	w.id("parentSpanId", psid[:])
	w.u32("flags", spanFlags(sc.TraceFlags(), parent.IsRemote()))
	w.str("name", s.Name())
	w.i32("kind", spanKind(s.SpanKind()))
	w.u64("startTimeUnixNano", unixNano(s.StartTime().UnixNano()))
	w.u64("endTimeUnixNano", unixNano(s.EndTime().UnixNano()))
	w.attrs("attributes", s.Attributes())
	w.u32("droppedAttributesCount", clampUint32(s.DroppedAttributes()))
	list(w, "events", s.Events(), w.event)
	w.u32("droppedEventsCount", clampUint32(s.DroppedEvents()))
	list(w, "links", s.Links(), w.link)
	w.u32("droppedLinksCount", clampUint32(s.DroppedLinks()))
	st := s.Status()
	w.key("status")
	w.open()
	w.str("message", st.Description)
	w.i32("code", statusCode(st.Code))
	w.close()
	w.close()
}

// spanKind is OTLP's number for k, whose numbering it shares; 0
// (unspecified) for a kind OTLP does not have.
func spanKind(k trace.SpanKind) int32 {
	if k < trace.SpanKindInternal || k > trace.SpanKindConsumer {
		return 0
	}
	return int32(k)
}

// statusCode is OTLP's number for c: 1 ok, 2 error, 0 unset.
func statusCode(c codes.Code) int32 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

// unixNano is a time in nanoseconds, a time before 1970 as 0.
func unixNano(ns int64) uint64 { return uint64(max(0, ns)) }

func clampUint32(v int) uint32 {
	return uint32(min(max(v, 0), math.MaxUint32))
}

func (w *jw) event(e sdktrace.Event) {
	w.open()
	w.u64("timeUnixNano", unixNano(e.Time.UnixNano()))
	w.str("name", e.Name)
	w.attrs("attributes", e.Attributes)
	w.u32("droppedAttributesCount", clampUint32(e.DroppedAttributeCount))
	w.close()
}

// link writes a link as the transform makes it: without its trace state.
func (w *jw) link(l sdktrace.Link) {
	tid, sid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	w.open()
	w.id("traceId", tid[:])
	w.id("spanId", sid[:])
	w.attrs("attributes", l.Attributes)
	w.u32("droppedAttributesCount", clampUint32(l.DroppedAttributeCount))
	w.u32("flags", spanFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()))
	w.close()
}

func (w *jw) attrs(k string, kvs []attribute.KeyValue) { list(w, k, kvs, w.keyValue) }

// iter writes the attributes of a set (a resource's, a scope's).
func (w *jw) iter(k string, it attribute.Iterator) {
	if it.Len() == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i := 0; it.Next(); i++ {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.keyValue(it.Attribute())
	}
	w.b = append(w.b, ']')
}

func (w *jw) keyValue(kv attribute.KeyValue) {
	w.open()
	w.str("key", string(kv.Key))
	w.key("value")
	w.value(kv.Value)
	w.close()
}

// value writes an attribute value as the transform makes it: a slice as an
// array of values, a map as a key-value list, an empty value as {}, and a
// type it does not know as the string "INVALID".
func (w *jw) value(v attribute.Value) {
	w.open()
	switch v.Type() {
	case attribute.BOOL:
		w.boolValue(v.AsBool())
	case attribute.INT64:
		w.intValue(v.AsInt64())
	case attribute.FLOAT64:
		w.doubleValue(v.AsFloat64())
	case attribute.STRING:
		w.stringValue(v.AsString())
	case attribute.BYTESLICE:
		w.key("bytesValue")
		w.b = append(w.b, '"')
		w.b = base64.StdEncoding.AppendEncode(w.b, v.AsByteSlice())
		w.b = append(w.b, '"')
	case attribute.BOOLSLICE:
		array(w, v.AsBoolSlice(), w.boolValue)
	case attribute.INT64SLICE:
		array(w, v.AsInt64Slice(), w.intValue)
	case attribute.FLOAT64SLICE:
		array(w, v.AsFloat64Slice(), w.doubleValue)
	case attribute.STRINGSLICE:
		array(w, v.AsStringSlice(), w.stringValue)
	case attribute.SLICE:
		w.key("arrayValue")
		w.open()
		list(w, "values", v.AsSlice(), w.value)
		w.close()
	case attribute.MAP:
		w.key("kvlistValue")
		w.open()
		w.attrs("values", v.AsMap())
		w.close()
	case attribute.EMPTY:
	default:
		w.stringValue("INVALID")
	}
	w.close()
}

// array writes the arrayValue field of xs, each an AnyValue whose one field
// each writes.
func array[T any](w *jw, xs []T, each func(T)) {
	w.key("arrayValue")
	w.open()
	list(w, "values", xs, func(x T) {
		w.open()
		each(x)
		w.close()
	})
	w.close()
}

func (w *jw) boolValue(v bool) {
	w.key("boolValue")
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) intValue(v int64) {
	w.key("intValue")
	w.b = append(w.b, '"')
	w.b = strconv.AppendInt(w.b, v, 10)
	w.b = append(w.b, '"')
}

func (w *jw) doubleValue(v float64) {
	w.key("doubleValue")
	w.b = appendFloat(w.b, v)
}

func (w *jw) stringValue(v string) {
	w.key("stringValue")
	w.b = appendString(w.b, v)
}

func (w *jw) text(s string) { w.b = appendString(w.b, s) }

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
