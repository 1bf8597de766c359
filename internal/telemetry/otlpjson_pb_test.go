package telemetry

import (
	"encoding/base64"
	"strconv"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// appendTracesData is the spans file's encoder as it was when the disk path
// took the OTLP exporter's protobuf ResourceSpans: it writes rs by their
// fields, with the writer appendSpans uses. The tests hold it to pdata's
// marshaler on every field the protobuf types allow, and appendSpans to it
// on the spans the SDK makes, through the exporter's own transform.
func appendTracesData(b []byte, rs []*tracepb.ResourceSpans) []byte {
	w := jw{b: b}
	w.open()
	list(&w, "resourceSpans", rs, w.pbResourceSpans)
	w.close()
	return w.b
}

func (w *jw) pbAttrs(k string, kvs []*commonpb.KeyValue) { list(w, k, kvs, w.pbKeyValue) }

func (w *jw) pbResourceSpans(r *tracepb.ResourceSpans) {
	w.open()
	w.key("resource")
	w.pbResource(r.GetResource())
	list(w, "scopeSpans", r.GetScopeSpans(), w.pbScopeSpans)
	w.str("schemaUrl", r.GetSchemaUrl())
	w.close()
}

func (w *jw) pbResource(r *resourcepb.Resource) {
	w.open()
	w.pbAttrs("attributes", r.GetAttributes())
	w.u32("droppedAttributesCount", r.GetDroppedAttributesCount())
	list(w, "entityRefs", r.GetEntityRefs(), w.pbEntityRef)
	w.close()
}

func (w *jw) pbEntityRef(e *commonpb.EntityRef) {
	w.open()
	w.str("schemaUrl", e.GetSchemaUrl())
	w.str("type", e.GetType())
	list(w, "idKeys", e.GetIdKeys(), w.text)
	list(w, "descriptionKeys", e.GetDescriptionKeys(), w.text)
	w.close()
}

func (w *jw) pbScopeSpans(s *tracepb.ScopeSpans) {
	w.open()
	w.key("scope")
	w.pbScope(s.GetScope())
	list(w, "spans", s.GetSpans(), w.pbSpan)
	w.str("schemaUrl", s.GetSchemaUrl())
	w.close()
}

func (w *jw) pbScope(s *commonpb.InstrumentationScope) {
	w.open()
	w.str("name", s.GetName())
	w.str("version", s.GetVersion())
	w.pbAttrs("attributes", s.GetAttributes())
	w.u32("droppedAttributesCount", s.GetDroppedAttributesCount())
	w.close()
}

func (w *jw) pbSpan(s *tracepb.Span) {
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
	w.pbAttrs("attributes", s.GetAttributes())
	w.u32("droppedAttributesCount", s.GetDroppedAttributesCount())
	list(w, "events", s.GetEvents(), w.pbEvent)
	w.u32("droppedEventsCount", s.GetDroppedEventsCount())
	list(w, "links", s.GetLinks(), w.pbLink)
	w.u32("droppedLinksCount", s.GetDroppedLinksCount())
	w.key("status")
	w.open()
	w.str("message", s.GetStatus().GetMessage())
	w.i32("code", int32(s.GetStatus().GetCode()))
	w.close()
	w.close()
}

func (w *jw) pbEvent(e *tracepb.Span_Event) {
	w.open()
	w.u64("timeUnixNano", e.GetTimeUnixNano())
	w.str("name", e.GetName())
	w.pbAttrs("attributes", e.GetAttributes())
	w.u32("droppedAttributesCount", e.GetDroppedAttributesCount())
	w.close()
}

func (w *jw) pbLink(l *tracepb.Span_Link) {
	w.open()
	w.id("traceId", l.GetTraceId())
	w.id("spanId", l.GetSpanId())
	w.str("traceState", l.GetTraceState())
	w.pbAttrs("attributes", l.GetAttributes())
	w.u32("droppedAttributesCount", l.GetDroppedAttributesCount())
	w.u32("flags", l.GetFlags())
	w.close()
}

func (w *jw) pbKeyValue(kv *commonpb.KeyValue) {
	w.open()
	w.str("key", kv.GetKey())
	w.key("value")
	w.pbAnyValue(kv.GetValue())
	w.i32("keyStrindex", kv.GetKeyStrindex())
	w.close()
}

func (w *jw) pbAnyValue(v *commonpb.AnyValue) {
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
		list(w, "values", v.ArrayValue.GetValues(), w.pbAnyValue)
		w.close()
	case *commonpb.AnyValue_KvlistValue:
		w.key("kvlistValue")
		w.open()
		w.pbAttrs("values", v.KvlistValue.GetValues())
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
