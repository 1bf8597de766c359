package tracelint

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/spandict"
)

// DefaultMaxFindings is how many findings of one rule are listed; the rest
// are counted.
const DefaultMaxFindings = 100

// Names the linter reads spans by.
const (
	writeSpan    = names.SpanAuditLoggerWriteEvent // audit.WriteSpan
	unsafeIOAttr = names.AttrBrainUnsafeIO
	// auditFailed is the error.type of an operation aborted because its
	// audit record could not be written ("event first, then state":
	// docs/brain-run.md).
	auditFailed = names.ClassAuditWriteFailed
	sessionAttr = names.AttrBrainSessionID
)

// Span flags: bits 8 and 9 of an OTLP span's flags say whether its parent
// is remote (in another process).
const (
	otlpHasIsRemote = 0x100
	otlpIsRemote    = 0x200
)

// Options configure Lint.
type Options struct {
	// Dict is the span dictionary (spandict.Default() for the embedded one).
	Dict *spandict.Dict
	// Config holds severity overrides and suppressions; nil for none.
	Config *Config
	// Audit, when set, is the audit chain (a file, or a directory of
	// chains) whose records must match the spans.
	Audit string
	// Scenario, when set, holds the golden expectations the spans (and the
	// audit records) must match.
	Scenario *Scenario
	// MaxFindings caps the findings listed per rule (0: DefaultMaxFindings).
	MaxFindings int
	// Workers parse lines in parallel (0: GOMAXPROCS).
	Workers int
	// MaxLine is the longest line read (0: DefaultMaxLine).
	MaxLine int
	// SpillAfter is how many spans are held in memory before they are
	// spilled to files in TmpDir (0: DefaultSpillAfter). Spilling bounds
	// the memory whatever the input's size (spill.go); tree, report and
	// --scenario never spill.
	SpillAfter int
	// TmpDir is where the spill directory is made ("": os.TempDir()).
	TmpDir string
}

// Result is what Lint found.
type Result struct {
	Inputs   []InputStats          `json:"inputs"`
	Spans    int                   `json:"spans"`
	Traces   int                   `json:"traces"`
	Coverage Coverage              `json:"coverage"`
	Findings []Finding             `json:"-"`
	Counts   map[string]*RuleCount `json:"counts"`
	Totals   RuleCount             `json:"totals"`
	// Actual is the expectation this input would give, for --update (set
	// when a scenario was given).
	Actual *Expectation `json:"-"`
}

// OK reports whether no finding is an error.
func (r *Result) OK() bool { return r.Totals.Errors == 0 }

// InputStats counts an input's lines.
type InputStats struct {
	Name string `json:"name"`
	// Lines holding spans (or an empty traces object), lines that are not
	// OTLP traces, and lines of other signals (metrics, logs) passed over.
	Lines     int `json:"lines"`
	Malformed int `json:"malformed"`
	Skipped   int `json:"skipped"`
	Spans     int `json:"spans"`
}

// spanKey identifies a span: its trace id and span id.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// Node flags.
const (
	fHasParent   uint8 = 1 << iota
	fRemote            // the parent is in another process
	fError             // status error
	fForeign           // not of the dictionary's scope
	fUnsafeIO          // brain.unsafe_io is true
	fAuditFailed       // status error with error.type audit_write_failed
)

// node is what the linter keeps of each span after its line is parsed:
// enough to check parents, roots, audit records and the scenario's shape.
// Attributes and text are never kept, so memory grows by tens of bytes
// per span, not by the input's size.
type node struct {
	key    spanKey
	parent pcommon.SpanID
	line   int64
	name   int32 // index in linter.names
	file   int32
	flags  uint8
}

// nameInfo is an interned span name with its dictionary entry.
type nameInfo struct {
	name string
	spec *spandict.Span
}

// writeRef is what an audit_logger.write_event span says it wrote.
type writeRef struct {
	node      int
	seq       int64
	hash      string
	eventType string
}

// spanRec is a span as a worker hands it to the collector.
type spanRec struct {
	key    spanKey
	parent pcommon.SpanID
	line   int64
	name   string
	flags  uint8
	write  *writeRef
	detail *spanDetail // tree and report only
	// selected: the span is of the session or trace the report selects
	// (selectSession, selectTrace).
	selected bool
}

// batchOut is a worker's result for one batch.
type batchOut struct {
	stats    InputStats
	spans    []spanRec
	findings []Finding // span is the index in spans, or -1
	pending  []Finding // opt-in content findings, decided at the end
}

type linter struct {
	opts Options
	dict *spandict.Dict
	ins  []*Input
	tree bool // keep what tree draws; check nothing
	// keep, for the report, keeps what tree draws and each span's
	// attributes, events and status (bounded: report.go), and checks every
	// rule.
	keep bool
	// reportAll, for the report of every trace of input files, lets keep
	// spill past opts.SpillAfter spans: the lint then offers each trace to
	// pick, which keeps those the page holds (reportGrouped reads them
	// again a group at a time), and dropData says the spans' data are no
	// longer made. Each span's detail then says its batch.
	reportAll bool
	pick      *pagePick
	dropData  atomic.Bool
	// onlyBatches, when not nil, are the batches a reading parses (a
	// group's, read again: the others hold none of its spans).
	onlyBatches *batchSet
	parsed      atomic.Int64       // batches parsed
	kept        int64              // bytes of span data kept so far (keep)
	notKept     int                // spans whose data was not kept: over maxKeptData
	origins     map[string]*origin // one of each distinct origin (keep)
	found       *findings

	nodes   []node
	index   map[spanKey]int32
	names   []nameInfo
	nameIdx map[string]int32
	details []*spanDetail
	writes  []writeRef
	pending []Finding
	stats   []InputStats
	audit   *auditData

	// onlyTrace, when set, keeps only the spans of the traces whose id
	// starts with it (tree --trace); keepOnly, when not nil, only those
	// of its traces (the report's second reading).
	onlyTrace string
	keepOnly  map[pcommon.TraceID]bool
	// selectTrace (a lowercase id prefix) or selectSession, when set,
	// collect in selected the traces of the spans that match them (the
	// report's first reading, which reads the audit records' data for
	// the page).
	selectTrace, selectSession string
	selected                   map[pcommon.TraceID]bool

	// ords, in a partition, are the nodes' places in the input (nil: their
	// index, as in memory).
	ords []int64
	// spill, once the spans are over opts.SpillAfter, holds them on disk;
	// spilled counts the spans written there.
	spill    *spiller
	spilled  int64
	spillErr error
	stop     context.CancelFunc
	// held is the most spans held in memory at once.
	held int
}

func newLinter(opts Options, ins []*Input) *linter {
	if opts.Dict == nil {
		opts.Dict = spandict.Default()
	}
	if opts.MaxFindings == 0 {
		opts.MaxFindings = DefaultMaxFindings
	}
	if opts.SpillAfter <= 0 {
		opts.SpillAfter = DefaultSpillAfter
	}
	l := &linter{
		opts: opts, dict: opts.Dict, ins: ins,
		found:   newFindings(opts.MaxFindings, opts.Config),
		nameIdx: map[string]int32{},
		stats:   make([]InputStats, len(ins)),
	}
	for i, in := range ins {
		l.stats[i].Name = in.Name
	}
	return l
}

// sizeOf is the total size of the inputs that are regular files.
func sizeOf(ins []*Input) int64 {
	var n int64
	for _, in := range ins {
		if f, ok := in.c.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				n += fi.Size()
			}
		}
	}
	return n
}

// Lint reads the spans of ins (and the audit chain and scenario of opts)
// and checks every rule. It returns an *InputError when an input cannot be
// read; everything that could be read is reported as findings.
func Lint(ctx context.Context, ins []*Input, opts Options) (*Result, error) {
	l := newLinter(opts, ins)
	defer l.closeSpill()
	if err := l.run(ctx); err != nil {
		return nil, err
	}
	return l.finish(ctx)
}

// run reads the audit chain, if any, and the inputs.
func (l *linter) run(ctx context.Context) error {
	if l.opts.Audit != "" {
		a, err := readAudit(ctx, l.opts.Audit, l.found, l.keep || l.selected != nil)
		if err != nil {
			return err
		}
		l.audit = a
	}
	return l.read(ctx)
}

// read streams the inputs through the workers into the collector.
func (l *linter) read(ctx context.Context) error {
	// Sizing the span index for the inputs' size (a brain span takes about
	// 250 to 600 bytes), or for the spans held before spilling, spares
	// rehashing it as it grows.
	est := min(sizeOf(l.ins)/400, 1<<22)
	if l.maySpill() {
		est = min(est, int64(l.opts.SpillAfter)+1)
	}
	if l.keepOnly != nil || l.onlyTrace != "" {
		est = min(est, 1024) // the selected traces only
	}
	l.nodes, l.index = make([]node, 0, est), make(map[spanKey]int32, est)
	ctx, l.stop = context.WithCancel(ctx)
	defer l.stop()
	err := stream(ctx, l.ins, l.opts.Workers, l.opts.MaxLine, l.work, l.collect)
	if l.spillErr != nil {
		return l.spillErr
	}
	if err != nil {
		return err
	}
	for i, s := range l.stats {
		if s.Lines == 0 && s.Malformed > 0 {
			return &InputError{Name: l.ins[i].Name, Err: fmt.Errorf("not OTLP JSON lines (%d %s, none of them a traces object)", s.Malformed, plural(s.Malformed, "line")),
				Hint: "brain-trace-lint reads OTLP JSON lines: brain-run's spans.jsonl, or the Collector file exporter's output with format: json"}
		}
	}
	return nil
}

// work parses one batch of lines and checks each span on its own.
func (l *linter) work(b *batch) *batchOut {
	out := &batchOut{}
	if l.onlyBatches != nil && !l.onlyBatches.has(b.seq) {
		return out
	}
	l.parsed.Add(1)
	if b.long != nil {
		out.stats.Malformed++
		out.findings = append(out.findings, l.finding(b, RuleMalformedLine, b.long.line, nil, "",
			fmt.Sprintf("the line is %d bytes long, over the limit of %d (--max-line)", b.long.size, l.maxLine())))
		return out
	}
	u := &ptrace.JSONUnmarshaler{}
	var keeps func(pcommon.TraceID) bool // read for a few traces
	if l.keepOnly != nil || l.onlyTrace != "" {
		keeps = l.keeps
	}
	b.eachLine(func(n int64, line []byte) {
		if len(bytes.TrimSpace(line)) == 0 {
			return
		}
		if keeps != nil && !mayHoldTrace(line, keeps) {
			return // read for a few traces: none of them is here
		}
		td, err := u.UnmarshalTraces(line)
		if err != nil {
			out.stats.Malformed++
			out.findings = append(out.findings, l.finding(b, RuleMalformedLine, n, nil, "", "not OTLP JSON: "+parseError(err)))
			// A damaged line can still leak a credential onto disk.
			if sec, ok := findSecret(string(line)); ok {
				out.findings = append(out.findings, l.finding(b, RuleSecret, n, nil, "", "the line holds what looks like "+sec.String()))
			}
			return
		}
		if td.SpanCount() == 0 {
			switch {
			case otherSignal(line):
				out.stats.Skipped++
			case !bytes.Contains(line, []byte(`"resourceSpans"`)):
				out.stats.Malformed++
				out.findings = append(out.findings, l.finding(b, RuleMalformedLine, n, nil, "", "a JSON object, but not an OTLP traces object (no resourceSpans)"))
			default:
				out.stats.Lines++
			}
			return
		}
		out.stats.Lines++
		l.line(b, n, td, out)
	})
	return out
}

// batchSet is a set of batches (their seq): sorted, disjoint ranges.
type batchSet struct{ ranges [][2]int64 }

// newBatchSet is the union of the ranges rs (first and last seq).
func newBatchSet(rs [][2]int64) *batchSet {
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	s := &batchSet{}
	for _, r := range rs {
		if n := len(s.ranges); n > 0 && r[0] <= s.ranges[n-1][1]+1 {
			s.ranges[n-1][1] = max(s.ranges[n-1][1], r[1])
			continue
		}
		s.ranges = append(s.ranges, r)
	}
	return s
}

func (s *batchSet) has(seq int64) bool {
	i := sort.Search(len(s.ranges), func(i int) bool { return s.ranges[i][1] >= seq })
	return i < len(s.ranges) && s.ranges[i][0] <= seq
}

// mayHoldTrace reports whether line may hold a span of a trace keep
// wants, false only when its bytes say so without parsing it. OTLP/JSON
// spells a trace id as a string of 32 hex digits, in either case, so a line
// with no escape (which could spell one otherwise) and no such string
// naming a wanted trace holds none of their spans. An empty id (the zero
// one) cannot be told so.
func mayHoldTrace(line []byte, keep func(pcommon.TraceID) bool) bool {
	if keep(pcommon.TraceID{}) || bytes.IndexByte(line, '\\') >= 0 {
		return true
	}
	var id pcommon.TraceID
	for i := 0; ; {
		j := bytes.IndexByte(line[i:], '"')
		if j < 0 {
			return false
		}
		i += j + 1
		if i+len(id)*2 < len(line) && line[i+len(id)*2] == '"' {
			if _, err := hex.Decode(id[:], line[i:i+len(id)*2]); err == nil && keep(id) {
				return true
			}
		}
	}
}

// parseError is the parser's error without the input it quotes (which may
// hold a secret): json-iterator appends ", error found in #N byte of
// ...|INPUT|..., bigger context ...|INPUT|...".
func parseError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ", error found in #"); i >= 0 {
		msg = msg[:i]
	}
	return shorten(msg, 160)
}

// otherSignal reports whether line is OTLP metrics, logs or profiles, which
// a Collector file exporter may write to the same file as traces.
func otherSignal(line []byte) bool {
	for _, k := range []string{`"resourceMetrics"`, `"resourceLogs"`, `"resourceProfiles"`} {
		if bytes.Contains(line, []byte(k)) {
			return true
		}
	}
	return false
}

func (l *linter) maxLine() int {
	if l.opts.MaxLine > 0 {
		return l.opts.MaxLine
	}
	return DefaultMaxLine
}

// line checks every span of one parsed line.
func (l *linter) line(b *batch, n int64, td ptrace.Traces, out *batchOut) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := rs.Resource().Attributes()
		session := ""
		if v, ok := res.Get(sessionAttr); ok {
			session = v.AsString()
		}
		if s, k, ok := mapSecret(res); ok {
			out.findings = append(out.findings, l.finding(b, RuleSecret, n, nil, k, "resource attribute holds what looks like "+s.String()))
		}
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			inScope := l.dict.InScope(ss.Scope().Name())
			var od *origin
			if l.keep && !l.dropData.Load() {
				od = newOrigin(res, ss.Scope())
			}
			if s, k, ok := mapSecret(ss.Scope().Attributes()); ok {
				out.findings = append(out.findings, l.finding(b, RuleSecret, n, nil, k, "scope attribute holds what looks like "+s.String()))
			}
			for k := 0; k < ss.Spans().Len(); k++ {
				l.span(b, n, ss.Spans().At(k), od, inScope, session, out)
			}
		}
	}
}

// span checks one span on its own and hands it to the collector.
func (l *linter) span(b *batch, n int64, s ptrace.Span, od *origin, inScope bool, session string, out *batchOut) {
	if !l.keeps(s.TraceID()) {
		return // not kept: nothing of it is drawn, and nothing checked
	}
	r := spanRec{key: spanKey{s.TraceID(), s.SpanID()}, parent: s.ParentSpanID(), line: n, name: s.Name()}
	if !r.parent.IsEmpty() {
		r.flags |= fHasParent
		if s.Flags()&(otlpHasIsRemote|otlpIsRemote) == otlpHasIsRemote|otlpIsRemote {
			r.flags |= fRemote
		}
	}
	if s.Status().Code() == ptrace.StatusCodeError {
		r.flags |= fError
	}
	if !inScope {
		r.flags |= fForeign
	}
	attrs := s.Attributes()
	switch {
	case l.selectSession != "":
		// The session as tree and the report read it (newDetail).
		sess := session
		if v, ok := attrs.Get(sessionAttr); ok {
			sess = v.AsString()
		}
		r.selected = cutString(sess) == l.selectSession
	case l.selectTrace != "":
		r.selected = hexPrefix(r.key.trace, l.selectTrace)
	}
	if v, ok := attrs.Get(unsafeIOAttr); ok && v.Type() == pcommon.ValueTypeBool && v.Bool() {
		r.flags |= fUnsafeIO
	}
	if v, ok := attrs.Get(names.AttrErrorType); ok && r.flags&fError != 0 && v.AsString() == auditFailed {
		r.flags |= fAuditFailed
	}
	idx := len(out.spans)
	if l.tree || l.keep {
		r.detail = newDetail(s, session)
	}
	if l.keep && od != nil {
		r.detail.data = newSpanData(s, od)
	}
	if l.tree {
		out.spans = append(out.spans, r)
		return
	}
	if inScope {
		view := spandict.SpanView{Name: r.name, Kind: strings.ToLower(s.Kind().String()), Error: r.flags&fError != 0, Attributes: pdataAttrs(attrs)}
		for _, v := range l.dict.CheckSpan(view) {
			f := l.finding(b, v.Rule, n, &r, v.Attr, v.Detail)
			f.span = idx
			if v.Rule == spandict.RuleOptInContent {
				out.pending = append(out.pending, f)
				continue
			}
			out.findings = append(out.findings, f)
		}
	}
	secretAt := func(where string, m pcommon.Map) {
		if sec, k, ok := mapSecret(m); ok {
			f := l.finding(b, RuleSecret, n, &r, k, where+"holds what looks like "+sec.String())
			f.span = idx
			out.findings = append(out.findings, f)
		}
	}
	secretAt("", attrs)
	for e := 0; e < s.Events().Len(); e++ {
		secretAt("event "+s.Events().At(e).Name()+": ", s.Events().At(e).Attributes())
	}
	for k := 0; k < s.Links().Len(); k++ {
		secretAt("link: ", s.Links().At(k).Attributes())
	}
	if sec, ok := findSecret(s.Status().Message()); ok {
		f := l.finding(b, RuleSecret, n, &r, "", "the status message holds what looks like "+sec.String())
		f.span = idx
		out.findings = append(out.findings, f)
	}
	if r.name == writeSpan && l.audit != nil {
		if w, ok := writeOf(attrs); ok {
			r.write = &w
		}
	}
	out.spans = append(out.spans, r)
}

// writeOf reads what an audit_logger.write_event span says it wrote.
func writeOf(attrs pcommon.Map) (writeRef, bool) {
	seq, ok1 := attrs.Get(names.AttrAuditSeq)
	hash, ok2 := attrs.Get(names.AttrAuditHash)
	typ, _ := attrs.Get(names.AttrAuditEventType)
	if !ok1 || !ok2 || seq.Type() != pcommon.ValueTypeInt || hash.Type() != pcommon.ValueTypeStr {
		return writeRef{}, false
	}
	return writeRef{seq: seq.Int(), hash: hash.Str(), eventType: typ.AsString()}, true
}

// finding builds a finding of rule at line n of b's input, about span r
// (nil for none) and attribute attr ("" for none), at the configured
// severity.
func (l *linter) finding(b *batch, rule string, n int64, r *spanRec, attr, msg string) Finding {
	f := Finding{Rule: rule, File: l.ins[b.file].Name, Line: n, Attr: attr, Message: msg, file: b.file, span: -1}
	if r != nil {
		f.Span, f.TraceID, f.SpanID = r.name, hex.EncodeToString(r.key.trace[:]), hex.EncodeToString(r.key.span[:])
	}
	def, _ := ruleByID(rule)
	f.Severity = l.opts.Config.Severity(rule, f.Span, f.Attr, def.Severity)
	return f
}

// collect adds a batch's spans and findings, in input order.
func (l *linter) collect(b *batch, out *batchOut) {
	st := &l.stats[b.file]
	st.Lines += out.stats.Lines
	st.Malformed += out.stats.Malformed
	st.Skipped += out.stats.Skipped
	// The batch's places in the order of findings: a duplicate-span
	// finding per span, then the findings of the spans' lines.
	base := l.found.reserve(len(out.spans) + len(out.findings) + len(out.pending))
	for j := range out.findings {
		out.findings[j].key = findKey{phaseRead, base + int64(len(out.spans)+j)}
	}
	for j := range out.pending {
		out.pending[j].key = findKey{phaseRead, base + int64(len(out.spans)+len(out.findings)+j)}
	}
	for i := range out.spans {
		if out.spans[i].selected {
			l.selected[out.spans[i].key.trace] = true
		}
	}
	if l.reportAll {
		for i := range out.spans {
			out.spans[i].detail.batch = b.seq
		}
	}
	if l.spill == nil && len(l.nodes)+len(out.spans) > l.opts.SpillAfter && l.maySpill() {
		l.spillErr = l.startSpill()
	}
	if l.spill != nil || l.spillErr != nil {
		if l.spillErr == nil {
			l.spillErr = l.spillBatch(b, out, base)
		}
		if l.spillErr != nil {
			l.stop()
		}
		return
	}
	global := make([]int, len(out.spans))
	for i := range out.spans {
		r := &out.spans[i]
		if !l.keeps(r.key.trace) {
			global[i] = -1
			continue
		}
		if first, dup := l.index[r.key]; dup {
			global[i] = -1
			fn := l.nodes[first]
			l.found.add(l.dupFinding(b.file, r, base+int64(i), &fn))
			continue
		}
		st.Spans++
		idx := int32(len(l.nodes))
		global[i] = int(idx)
		l.index[r.key] = idx
		l.nodes = append(l.nodes, node{key: r.key, parent: r.parent, line: r.line, name: l.intern(r.name), file: int32(b.file), flags: r.flags})
		if l.tree || l.keep {
			l.keepDetail(r.detail)
		}
		if r.write != nil {
			w := *r.write
			w.node = int(idx)
			l.writes = append(l.writes, w)
		}
	}
	l.held = max(l.held, len(l.nodes))
	for _, f := range out.findings {
		if f.span >= 0 {
			if f.span = global[f.span]; f.span < 0 {
				continue // a duplicate's findings are its first copy's
			}
		}
		l.found.add(f)
	}
	for _, f := range out.pending {
		if f.span = global[f.span]; f.span >= 0 {
			l.pending = append(l.pending, f)
		}
	}
}

// keeps reports whether the spans of trace are kept: those of the traces
// tree --trace names (onlyTrace) or the report's second reading selects
// (keepOnly); every one otherwise.
func (l *linter) keeps(trace pcommon.TraceID) bool {
	switch {
	case l.onlyTrace != "":
		return hexPrefix(trace, l.onlyTrace)
	case l.keepOnly != nil:
		return l.keepOnly[trace]
	}
	return true
}

// hexPrefix reports whether the lowercase hex of id starts with prefix
// (lowercase hex), without encoding id.
func hexPrefix(id pcommon.TraceID, prefix string) bool {
	const digits = "0123456789abcdef"
	if len(prefix) > 2*len(id) {
		return false
	}
	for i := range len(prefix) {
		c := id[i/2] >> 4
		if i%2 == 1 {
			c = id[i/2] & 0xf
		}
		if prefix[i] != digits[c] {
			return false
		}
	}
	return true
}

// dupFinding reports span r of input file, a copy of first; key is its
// place in the order of findings.
func (l *linter) dupFinding(file int, r *spanRec, key int64, first *node) Finding {
	f := l.finding(&batch{file: file}, RuleDuplicateSpan, r.line, r, "",
		fmt.Sprintf("the same span is at %s:%d; this copy is not linted", l.ins[first.file].Name, first.line))
	f.key = findKey{phaseRead, key}
	return f
}

// keepDetail keeps d, for tree and the report. Past maxKeptData bytes of
// span data in all, a span's data is not kept: the report says so on its
// row. Spans of equal origins share one.
func (l *linter) keepDetail(d *spanDetail) {
	if sd := d.data; sd != nil {
		o, seen := l.origins[sd.origin.key]
		size := sd.size
		if !seen {
			size += int64(len(sd.origin.key)) + 64
		}
		if l.kept+size > maxKeptData {
			d.data = nil
			l.notKept++
		} else {
			l.kept += size
			if !seen {
				if l.origins == nil {
					l.origins = map[string]*origin{}
				}
				l.origins[sd.origin.key] = sd.origin
				o = sd.origin
			}
			sd.origin = o
		}
	}
	l.details = append(l.details, d)
}

func (l *linter) intern(name string) int32 {
	if i, ok := l.nameIdx[name]; ok {
		return i
	}
	i := int32(len(l.names))
	l.names = append(l.names, nameInfo{name: name, spec: l.dict.Spans[name]})
	l.nameIdx[name] = i
	return i
}

func (l *linter) nameOf(n *node) string { return l.names[n.name].name }

// ord is node i's place in the input.
func (l *linter) ord(i int) int64 {
	if l.ords == nil {
		return int64(i)
	}
	return l.ords[i]
}

// spanFinding builds a finding about node i, at the configured severity.
func (l *linter) spanFinding(rule string, i int, attr, msg string) Finding {
	n := &l.nodes[i]
	f := Finding{Rule: rule, File: l.ins[n.file].Name, Line: n.line, Span: l.nameOf(n), Attr: attr, Message: msg,
		TraceID: hex.EncodeToString(n.key.trace[:]), SpanID: hex.EncodeToString(n.key.span[:]), file: int(n.file), span: i}
	def, _ := ruleByID(rule)
	f.Severity = l.opts.Config.Severity(rule, f.Span, attr, def.Severity)
	return f
}

// finish runs the rules that need every span: parents, roots, the audit
// chain, the scenario; and sums up.
func (l *linter) finish(ctx context.Context) (*Result, error) {
	var traces, spans int
	var cov Coverage
	if l.spill != nil {
		var err error
		if traces, spans, cov, err = l.finishSpilled(ctx); err != nil {
			return nil, err
		}
	} else {
		traces = l.checkGraph()
		l.checkOptIn()
		if l.audit != nil {
			l.checkAudit()
		}
		spans = len(l.nodes)
		cov = l.coverage()
	}
	l.found.setPhase(phaseEnd)
	if spans == 0 {
		l.found.raise(Finding{Rule: RuleNoSpans, Message: "the input holds no span", file: -1, span: -1})
	}
	res := &Result{Inputs: l.stats, Spans: spans, Traces: traces}
	res.Coverage = cov
	if sc := l.opts.Scenario; sc != nil {
		res.Actual = l.expectation(traces)
		l.checkScenario(sc, res.Actual)
		res.Coverage.Scenario = scenarioCoverage(sc, res.Actual, l.dict, l.audit != nil)
	}
	res.Findings = l.found.sorted()
	res.Counts = l.found.counts
	res.Totals = l.found.totals()
	return res, nil
}

// checkOptIn reports the opt-in content attributes of spans whose command
// did not run with --dev-log-unsafe-io: the span's local root (the first
// ancestor whose parent is in another process or not in the input) does
// not carry brain.unsafe_io.
func (l *linter) checkOptIn() {
	for _, f := range l.pending {
		if !l.unsafeIO(f.span) {
			f.key = findKey{phaseOptIn, f.key[1]}
			l.found.add(f)
		}
	}
}

func (l *linter) unsafeIO(i int) bool {
	for steps := 0; steps <= len(l.nodes); steps++ {
		n := &l.nodes[i]
		if n.flags&fUnsafeIO != 0 {
			return true
		}
		p, ok := l.parentOf(n)
		if !ok || n.flags&fRemote != 0 {
			return false
		}
		i = p
	}
	return false // a cycle of parents
}

// parentOf returns the index of n's parent, if it is in the input.
func (l *linter) parentOf(n *node) (int, bool) {
	if n.flags&fHasParent == 0 {
		return 0, false
	}
	p, ok := l.index[spanKey{n.key.trace, n.parent}]
	return int(p), ok
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// pdataAttrs is a pcommon.Map as spandict.Attributes.
type pdataAttrs pcommon.Map

func (m pdataAttrs) Get(key string) (any, bool) {
	v, ok := pcommon.Map(m).Get(key)
	if !ok {
		return nil, false
	}
	return v.AsRaw(), true
}

func (m pdataAttrs) Range(fn func(key string, v any) bool) {
	pcommon.Map(m).Range(func(k string, v pcommon.Value) bool { return fn(k, v.AsRaw()) })
}

// mapSecret returns the first attribute of m whose value (or a string
// inside it) looks like a credential.
func mapSecret(m pcommon.Map) (s secret, key string, found bool) {
	m.Range(func(k string, v pcommon.Value) bool {
		if sec, ok := valueSecret(v); ok {
			s, key, found = sec, k, true
			return false
		}
		return true
	})
	return s, key, found
}

func valueSecret(v pcommon.Value) (secret, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return findSecret(v.Str())
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			if s, ok := valueSecret(v.Slice().At(i)); ok {
				return s, true
			}
		}
	case pcommon.ValueTypeMap:
		s, _, ok := mapSecret(v.Map())
		return s, ok
	}
	return secret{}, false
}
