package tracelint

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// What the report keeps of a span, beyond what tree draws, is bounded
// whatever the input holds, so that the memory it takes and the size of
// the file it writes are too (docs/trace-lint.md, "report"):
const (
	maxValueBytes = 2048 // a string (or bytes) value, a status message or a name longer is cut, its length noted
	maxSpanAttrs  = 128  // attributes of a span (or of its resource) kept; the rest counted
	maxSpanEvents = 64   // events of a span kept
	maxEventAttrs = 32   // attributes of an event (or of a link) kept
	maxSpanLinks  = 16   // links of a span kept
	maxNested     = 64   // elements of an array or map value kept
	maxDepth      = 4    // nesting of array and map values kept
	// maxSpanData is how many bytes of attributes, events and links are
	// kept of one span: past it, the rest is counted, not kept.
	maxSpanData = 16 << 10
	// maxKeptData is how many bytes of span data the report keeps in
	// all, while it reads: past it, spans are kept as tree keeps them
	// (name, times, status, key attributes) and their details are noted
	// as not kept.
	maxKeptData = 256 << 20
	// maxRecordData is how much of an audit record's data is kept, and
	// maxKeptRecords how much of all the records' data.
	maxRecordData  = 2048
	maxKeptRecords = 64 << 20
)

// attrVal is an attribute value as the report keeps it.
type attrVal struct {
	t    pcommon.ValueType
	s    string // Str; Bytes as base64
	i    int64
	f    float64
	b    bool
	kids []attr // Slice elements (k empty) or Map entries
	cut  int    // the length in bytes of a string or bytes value that was cut; 0 when whole
	more int    // elements of a Slice or Map not kept
}

// attr is an attribute (or a map entry, or a slice element with k empty).
type attr struct {
	k string
	v attrVal
}

// spanEvent is an event of a span.
type spanEvent struct {
	name  string
	t     uint64 // Unix ns
	attrs []attr
	more  int // attributes not kept (over a limit, or dropped by the SDK)
}

// spanLink is a link of a span to another span.
type spanLink struct {
	trace, span string
	attrs       []attr
	more        int
}

// origin is where spans come from: their resource and instrumentation
// scope. Spans of one line share one; the linter keeps one per distinct
// key.
type origin struct {
	key          string
	attrs        []attr
	more         int
	scope        string
	scopeVersion string
}

// spanData is what the report shows of a span when it is expanded.
type spanData struct {
	origin     *origin
	kind       ptrace.SpanKind
	code       ptrace.StatusCode
	attrs      []attr
	moreAttrs  int // not kept, or dropped by the SDK (its count)
	events     []spanEvent
	moreEvents int
	links      []spanLink
	moreLinks  int
	// cut is set when the span's data reached maxSpanData and the rest
	// was counted, not kept.
	cut  bool
	size int64 // about the bytes it takes
}

// budget counts the bytes a span's data takes, against maxSpanData.
type budget struct{ left int }

func (b *budget) take(n int) bool {
	if b.left < n {
		b.left = 0
		return false
	}
	b.left -= n
	return true
}

// newSpanData keeps what the report shows of s, within the limits above.
func newSpanData(s ptrace.Span, o *origin) *spanData {
	d := &spanData{origin: o, kind: s.Kind(), code: s.Status().Code()}
	bud := &budget{left: maxSpanData}
	d.attrs, d.moreAttrs = keepAttrs(s.Attributes(), maxSpanAttrs, bud)
	d.moreAttrs += int(s.DroppedAttributesCount())
	evs := s.Events()
	for i := 0; i < evs.Len(); i++ {
		ev := evs.At(i)
		if len(d.events) == maxSpanEvents || !bud.take(16+min(len(ev.Name()), maxValueBytes)) {
			d.moreEvents += evs.Len() - i
			break
		}
		e := spanEvent{name: cutString(ev.Name()), t: uint64(ev.Timestamp())}
		e.attrs, e.more = keepAttrs(ev.Attributes(), maxEventAttrs, bud)
		e.more += int(ev.DroppedAttributesCount())
		d.events = append(d.events, e)
	}
	d.moreEvents += int(s.DroppedEventsCount())
	links := s.Links()
	for i := 0; i < links.Len(); i++ {
		ln := links.At(i)
		if len(d.links) == maxSpanLinks || !bud.take(64) {
			d.moreLinks += links.Len() - i
			break
		}
		k := spanLink{trace: ln.TraceID().String(), span: ln.SpanID().String()}
		k.attrs, k.more = keepAttrs(ln.Attributes(), maxEventAttrs, bud)
		d.links = append(d.links, k)
	}
	d.moreLinks += int(s.DroppedLinksCount())
	d.cut = bud.left == 0
	d.size = int64(maxSpanData-bud.left) + 128
	return d
}

// newOrigin keeps a resource's attributes and a scope's name and version.
func newOrigin(res pcommon.Map, scope pcommon.InstrumentationScope) *origin {
	bud := &budget{left: maxSpanData}
	o := &origin{scope: cutString(scope.Name()), scopeVersion: cutString(scope.Version())}
	o.attrs, o.more = keepAttrs(res, maxSpanAttrs, bud)
	var key strings.Builder
	key.WriteString(o.scope)
	key.WriteByte(0)
	key.WriteString(o.scopeVersion)
	for _, a := range o.attrs {
		key.WriteByte(0)
		key.WriteString(a.k)
		key.WriteByte(0)
		a.v.keyTo(&key)
	}
	o.key = key.String()
	return o
}

// keepAttrs keeps at most max attributes of m, within bud, and counts the
// rest.
func keepAttrs(m pcommon.Map, max int, bud *budget) (kept []attr, more int) {
	m.Range(func(k string, v pcommon.Value) bool {
		if len(kept) == max || bud.left == 0 {
			more++
			return true
		}
		a := attr{k: cutString(k)}
		var ok bool
		if a.v, ok = keepValue(v, 0, bud); !ok || !bud.take(16+len(a.k)) {
			more++
			return true
		}
		kept = append(kept, a)
		return true
	})
	return kept, more
}

// keepValue keeps v, cutting long strings and big or deep arrays and maps.
func keepValue(v pcommon.Value, depth int, bud *budget) (attrVal, bool) {
	a := attrVal{t: v.Type()}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.s, a.cut = cutLen(v.Str())
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		if len(raw) > maxValueBytes*3/4 {
			a.cut = len(raw)
			raw = raw[:maxValueBytes*3/4]
		}
		a.s = base64.StdEncoding.EncodeToString(raw)
	case pcommon.ValueTypeInt:
		a.i = v.Int()
	case pcommon.ValueTypeDouble:
		a.f = v.Double()
	case pcommon.ValueTypeBool:
		a.b = v.Bool()
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			if depth >= maxDepth || len(a.kids) == maxNested {
				a.more = sl.Len() - i
				break
			}
			e, ok := keepValue(sl.At(i), depth+1, bud)
			if !ok {
				a.more = sl.Len() - i
				break
			}
			a.kids = append(a.kids, attr{v: e})
		}
	case pcommon.ValueTypeMap:
		m := v.Map()
		m.Range(func(k string, e pcommon.Value) bool {
			if depth >= maxDepth || len(a.kids) == maxNested || bud.left == 0 {
				a.more++
				return true
			}
			kv, ok := keepValue(e, depth+1, bud)
			if !ok || !bud.take(len(k)) {
				a.more++
				return true
			}
			a.kids = append(a.kids, attr{k: cutString(k), v: kv})
			return true
		})
	}
	return a, bud.take(16 + len(a.s))
}

// keyTo writes the value for an origin's key.
func (a attrVal) keyTo(b *strings.Builder) {
	b.WriteByte(byte(a.t))
	switch a.t {
	case pcommon.ValueTypeStr, pcommon.ValueTypeBytes:
		b.WriteString(a.s)
	default:
		b.WriteString(a.text())
	}
	for _, k := range a.kids {
		b.WriteByte(1)
		b.WriteString(k.k)
		k.v.keyTo(b)
	}
}

// text is a scalar value as text, as the GenAI summary and the key
// attributes read it.
func (a attrVal) text() string {
	v := pcommon.NewValueEmpty()
	switch a.t {
	case pcommon.ValueTypeStr:
		return a.s
	case pcommon.ValueTypeInt:
		v.SetInt(a.i)
	case pcommon.ValueTypeDouble:
		v.SetDouble(a.f)
	case pcommon.ValueTypeBool:
		v.SetBool(a.b)
	default:
		return ""
	}
	return v.AsString()
}

// cutLen cuts s to maxValueBytes (on a rune boundary) and returns the
// original length when it did.
func cutLen(s string) (string, int) {
	if len(s) <= maxValueBytes {
		return s, 0
	}
	n := maxValueBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], len(s)
}

// cutString is s cut to maxValueBytes, with an ellipsis when cut.
func cutString(s string) string {
	if c, n := cutLen(s); n > 0 {
		return c + "…"
	}
	return s
}
