package tracelint

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brain-dev/brain/internal/names"
	"github.com/fatih/color"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanDetail is what tree draws of a span beyond the node (and the report
// shows in its row).
type spanDetail struct {
	start, end uint64 // Unix ns
	session    string
	status     string // the status message, cut to maxValueBytes
	keys       []string
	genai      *genAICall // a GenAI call's figures, for the report's summary
	command    string     // brain.command, and brain.exit_code, for the report's header
	exit       string
	data       *spanData // report only: nil when not kept
	batch      int64     // the batch it was read in (report of every trace)
}

// keyAttrs are the attributes tree shows, in order, and how.
var keyAttrs = []struct {
	key   string
	label string // "" shows the value alone
}{
	{names.AttrBrainCommand, ""},
	{names.AttrAuditEventType, ""},
	{names.AttrAuditSeq, "#"},
	{names.AttrBrainTaskID, "task="},
	{names.AttrBrainTaskState, "verdict="},
	{names.AttrBrainPlanTaskCount, "tasks="},
	{names.AttrGenAIRequestModel, "model="},
	{names.AttrBrainContextFileCount, "files="},
	{names.AttrBrainVerifierCheckCount, "checks="},
	{names.AttrBrainVerifierFailed, "failed="},
	{names.AttrBrainDrillID, "drill="},
	{names.AttrBrainDrillRun, "run="},
	{names.AttrBrainDrillPhase, ""},
	{names.AttrBrainDrillOutcome, ""},
	{names.AttrBrainDrillRounds, "rounds="},
	{names.AttrBrainDrillVerdict, "verdict="},
	{names.AttrBrainDrillTTDMs, "ttd_ms="},
	{names.AttrBrainDrillTTRMs, "ttr_ms="},
	{names.AttrProcessExecutableName, "prog="},
	{names.AttrProcessExitCode, "prog-exit="},
	{names.AttrBrainExitCode, "exit="},
	{names.AttrHttpResponseStatusCode, "http="},
	{names.AttrErrorType, "error.type="},
}

func newDetail(s ptrace.Span, session string) *spanDetail {
	d := &spanDetail{start: uint64(s.StartTimestamp()), end: uint64(s.EndTimestamp()), status: cutString(s.Status().Message()), session: cutString(session)}
	attrs := s.Attributes()
	d.genai = newGenAICall(attrs, s.Status().Code() == ptrace.StatusCodeError)
	if v, ok := attrs.Get(names.AttrBrainCommand); ok {
		d.command = shorten(v.AsString(), 40)
		if x, ok := attrs.Get(names.AttrBrainExitCode); ok {
			d.exit = shorten(x.AsString(), 20)
		}
	}
	if v, ok := attrs.Get(sessionAttr); ok {
		d.session = cutString(v.AsString())
	}
	for _, k := range keyAttrs {
		v, ok := attrs.Get(k.key)
		if !ok {
			continue
		}
		d.keys = append(d.keys, k.label+shorten(v.AsString(), 40))
		if k.key == names.AttrGenAIRequestModel {
			if in, ok := attrs.Get(names.AttrGenAIUsageInputTokens); ok {
				out, _ := attrs.Get(names.AttrGenAIUsageOutputTokens)
				d.keys = append(d.keys, "tokens="+in.AsString()+"/"+out.AsString())
			}
		}
	}
	if _, ok := attrs.Get(names.AttrBrainUnsafeIO); ok {
		d.keys = append(d.keys, "UNSAFE-IO")
	}
	return d
}

// TreeOptions select what Tree draws.
type TreeOptions struct {
	Trace   string // a trace id, or a unique prefix of one
	Session string // every trace of this session
	Color   bool
	Width   int // the bars' width in cells (0: 40)
	Workers int
	MaxLine int
	// SpillAfter and TmpDir are Options' (0: DefaultSpillAfter).
	SpillAfter int
	TmpDir     string
	// Warn receives one line per input line that is not OTLP traces.
	Warn func(string)
}

// ErrNoTrace is returned when the selected trace or session is not in the
// input.
var ErrNoTrace = errors.New("not in the input")

// TreeResult says what Tree drew.
type TreeResult struct {
	Traces int // traces in the input
	Drawn  int // traces drawn; 0 when it listed them
}

// Tree reads ins and draws the trace (or the session's traces) opts names
// as an indented waterfall on w; with neither, it draws the input's only
// trace, or lists the traces when there are several.
//
// Past opts.SpillAfter spans (without --trace) the spans are spilled to
// disk by trace, as the linter spills them, and drawn a partition at a
// time: memory then holds the biggest trace, a line per trace for the
// list, and the drawings asked for.
func Tree(ctx context.Context, ins []*Input, opts TreeOptions, w io.Writer) (TreeResult, error) {
	l, err := readTree(ctx, ins, opts)
	if err != nil {
		return TreeResult{}, err
	}
	defer l.closeSpill()
	for _, f := range l.found.sorted() {
		if opts.Warn != nil && f.Rule == RuleMalformedLine {
			opts.Warn(fmt.Sprintf("%s:%d: %s; passed over", f.File, f.Line, f.Message))
		}
	}
	if l.spill != nil {
		return treeSpilled(ctx, l, opts, w)
	}
	traces := l.traces()
	res := TreeResult{Traces: len(traces)}
	pick, err := pickTraces(traces, opts.Trace, opts.Session)
	switch {
	case err != nil:
		return res, err
	case pick != nil:
	case len(traces) == 1:
		pick = traces
	default:
		var tl traceList
		for _, t := range traces {
			tl.add(l, t, nil)
		}
		tl.list(w)
		return res, nil
	}
	dr := newDrawer(l, w, opts)
	for i, t := range pick {
		if i > 0 {
			fmt.Fprintln(w)
		}
		dr.trace(t)
	}
	res.Drawn = len(pick)
	return res, nil
}

// traceList is the list of traces: a line of figures per trace, the roots'
// labels interned (traces of the same command share one), and the drawings
// of the traces that are to be drawn (spilled input: drawn as their
// partition is read). A trace takes about 60 bytes.
type traceList struct {
	sums     []traceSum
	roots    []string
	rootIdx  map[string]int32
	drawings [][]byte
	n        int // traces added
	// spill, when set (a spilled tree's list), takes the sums past
	// runSize of them, sorted, into runs, merged when the list is
	// written: the list holds runSize traces, not a line per trace.
	spill   *spiller
	runSize int
	runs    []listRun // by level, the highest first
	buf     []byte
}

type traceSum struct {
	id          pcommon.TraceID
	start, end  uint64
	first       int64 // the input place of its first span: the order of traces that start together
	spans, errs int
	root        int32 // in roots; -1: none
	drawing     int32 // in drawings; -1: not drawn
}

// add adds trace t of l, with its drawing (nil: none).
func (tl *traceList) add(l *linter, t *traceView, drawing []byte) {
	s := traceSum{id: t.key, start: t.start, end: t.end, spans: len(t.spans), errs: t.errors, first: l.ord(t.spans[0]), root: -1, drawing: -1}
	if len(t.tops) > 0 {
		label := l.label(t.tops[0])
		i, ok := tl.rootIdx[label]
		if !ok {
			if tl.rootIdx == nil {
				tl.rootIdx = map[string]int32{}
			}
			i = int32(len(tl.roots))
			tl.roots = append(tl.roots, label)
			tl.rootIdx[label] = i
		}
		s.root = i
	}
	if drawing != nil {
		s.drawing = int32(len(tl.drawings))
		tl.drawings = append(tl.drawings, drawing)
	}
	tl.sums = append(tl.sums, s)
	tl.n++
}

// sort sorts the sums held by start, then place in the input.
func (tl *traceList) sort() {
	slices.SortStableFunc(tl.sums, func(a, b traceSum) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.first, b.first))
	})
}

// listFanIn is how many runs of one level a spilled tree's list merges
// into one run of the next: at most listFanIn-1 runs of each level are
// open, so the files open grow with the log of the traces, and each trace
// is copied once a level.
const listFanIn = 64

// listRun is a run of sorted sums in the spill directory, and its level.
type listRun struct {
	p     *part
	level int
}

// flush writes the sums held, sorted, to a run of their own when they are
// runSize and none is drawn (a list of two traces or more).
func (tl *traceList) flush(force bool) error {
	if tl.spill == nil || len(tl.sums) == 0 || (!force && len(tl.sums) < tl.runSize) || len(tl.drawings) > 0 {
		return nil
	}
	tl.sort()
	p, err := tl.newRun(0)
	if err != nil {
		return err
	}
	for i := range tl.sums {
		s := &tl.sums[i]
		root := ""
		if s.root >= 0 {
			root = tl.roots[s.root]
		}
		if err := tl.writeRun(p.p, s, root); err != nil {
			return err
		}
	}
	tl.sums, tl.roots, tl.rootIdx = tl.sums[:0], nil, nil
	// Runs go from the highest level down: listFanIn runs of one level at
	// the end merge into one of the next.
	for n := len(tl.runs); n >= listFanIn; n = len(tl.runs) {
		tail := tl.runs[n-listFanIn:]
		if tail[0].level != tail[listFanIn-1].level {
			break
		}
		next, err := tl.newRun(tail[0].level + 1)
		if err != nil {
			return err
		}
		if err := tl.merge(tail, func(s *runSum) error { return tl.writeRun(next.p, &s.traceSum, s.root) }); err != nil {
			next.p.close()
			return err
		}
		for _, r := range tail {
			r.p.close()
		}
		tl.runs = append(tl.runs[:n-listFanIn], *next)
	}
	return nil
}

// newRun makes a run of level in the spill directory; it is the last of
// tl.runs until a merge replaces it.
func (tl *traceList) newRun(level int) (*listRun, error) {
	f, err := tl.spill.create()
	if err != nil {
		return nil, err
	}
	r := listRun{p: &part{f: f, w: bufio.NewWriterSize(f, 32<<10)}, level: level}
	if level == 0 {
		tl.runs = append(tl.runs, r)
	}
	return &r, nil
}

// writeRun writes the sum s, with its root's label, to the run p.
func (tl *traceList) writeRun(p *part, s *traceSum, root string) error {
	b := append(tl.buf[:0], s.id[:]...)
	b = binary.AppendUvarint(b, s.start)
	b = binary.AppendUvarint(b, s.end)
	b = binary.AppendUvarint(b, uint64(s.first))
	b = binary.AppendUvarint(b, uint64(s.spans))
	b = binary.AppendUvarint(b, uint64(s.errs))
	b = appendString(b, root)
	tl.buf = b
	if _, err := p.w.Write(b); err != nil {
		return &SpillError{Dir: tl.spill.dir, Err: unwrapPath(err)}
	}
	return nil
}

// closeRuns closes the runs' files (unlinked as made).
func (tl *traceList) closeRuns() {
	for _, r := range tl.runs {
		r.p.close()
	}
}

// runSum is a sum read back from a run, with its root's label.
type runSum struct {
	traceSum
	root string
}

func (d *recReader) runSum(s *runSum) bool {
	if _, err := d.r.Peek(1); err != nil {
		return false
	}
	d.bytes(s.id[:])
	s.start, s.end = d.uvarint(), d.uvarint()
	s.first = int64(d.uvarint())
	s.spans, s.errs = int(d.uvarint()), int(d.uvarint())
	s.root = d.string()
	return d.err == nil
}

// merge calls emit with the sums of runs in the list's order.
func (tl *traceList) merge(runs []listRun, emit func(*runSum) error) error {
	heads := make([]runSum, len(runs))
	readers := make([]*recReader, len(runs))
	live := make([]bool, len(runs))
	for i, r := range runs {
		rd, err := tl.spill.rewind(r.p)
		if err != nil {
			return err
		}
		readers[i] = &recReader{r: rd}
		live[i] = readers[i].runSum(&heads[i])
	}
	for {
		k := -1
		for i := range heads {
			if live[i] && (k < 0 || cmp.Or(cmp.Compare(heads[i].start, heads[k].start), cmp.Compare(heads[i].first, heads[k].first)) < 0) {
				k = i
			}
		}
		if k < 0 {
			break
		}
		if err := emit(&heads[k]); err != nil {
			return err
		}
		live[k] = readers[k].runSum(&heads[k])
	}
	for _, d := range readers {
		if d.err != nil && d.err != io.EOF {
			return &SpillError{Dir: tl.spill.dir, Err: d.err}
		}
	}
	return nil
}

// listRuns writes the list from the runs: the sums held go to a run of
// their own, then the runs are merged.
func (tl *traceList) listRuns(w io.Writer) error {
	if err := tl.flush(true); err != nil {
		return err
	}
	listHead(w)
	return tl.merge(tl.runs, func(s *runSum) error {
		listLine(w, &s.traceSum, s.root)
		return nil
	})
}

// list writes the list, in the order of the sums.
func (tl *traceList) list(w io.Writer) {
	listHead(w)
	for i := range tl.sums {
		t := &tl.sums[i]
		root := ""
		if t.root >= 0 {
			root = tl.roots[t.root]
		}
		listLine(w, t, root)
	}
}

func listHead(w io.Writer) {
	fmt.Fprintf(w, "%-32s  %-24s  %9s  %6s  %6s  %s\n", "TRACE", "START", "DURATION", "SPANS", "ERRORS", "ROOT")
}

func listLine(w io.Writer, t *traceSum, root string) {
	fmt.Fprintf(w, "%-32s  %-24s  %9s  %6d  %6d  %s\n", hex.EncodeToString(t.id[:]), stamp(t.start), duration(t.end-t.start), t.spans, t.errs, root)
}

// treeSpilled is Tree for spans spilled to disk: each partition's traces
// are summed up, and drawn when they are the ones asked for (the session's,
// or the first trace while it is the only one seen).
func treeSpilled(ctx context.Context, l *linter, opts TreeOptions, w io.Writer) (TreeResult, error) {
	tl := traceList{spill: l.spill, runSize: l.opts.SpillAfter}
	defer tl.closeRuns()
	draw := func(sub *linter, _ []int32) error {
		var buf bytes.Buffer
		dr := newDrawer(sub, &buf, opts)
		for _, t := range sub.traces() {
			want := false
			switch {
			case opts.Session != "":
				want = t.sessions[opts.Session]
			case tl.n == 0:
				want = true // kept if it is the only one
			case len(tl.drawings) > 0:
				tl.drawings, tl.sums[0].drawing = nil, -1
			}
			if opts.Session != "" && !want {
				tl.n++ // counted; only the session's traces are drawn
				continue
			}
			var drawing []byte
			if want {
				buf.Reset()
				dr.trace(t)
				drawing = bytes.Clone(buf.Bytes())
			}
			tl.add(sub, t, drawing)
			if err := tl.flush(false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range l.spill.parts {
		if err := l.eachPart(ctx, p, nil, draw); err != nil {
			return TreeResult{}, err
		}
	}
	tl.sort()
	res := TreeResult{Traces: tl.n}
	var pick [][]byte
	for _, s := range tl.sums {
		if s.drawing >= 0 {
			pick = append(pick, tl.drawings[s.drawing])
		}
	}
	switch {
	case opts.Session != "" && len(pick) == 0:
		return res, fmt.Errorf("session %q: %w", opts.Session, ErrNoTrace)
	case opts.Session == "" && tl.n != 1 && len(tl.runs) > 0:
		return res, tl.listRuns(w)
	case opts.Session == "" && tl.n != 1:
		tl.list(w)
		return res, nil
	}
	for i, d := range pick {
		if i > 0 {
			fmt.Fprintln(w)
		}
		w.Write(d)
	}
	res.Drawn = len(pick)
	return res, nil
}

// readTree reads what tree draws of the spans of ins. With --trace, only
// the spans of the traces whose id starts with it are kept: memory grows
// with that trace, not with the input.
func readTree(ctx context.Context, ins []*Input, opts TreeOptions) (*linter, error) {
	l := newLinter(Options{Workers: opts.Workers, MaxLine: opts.MaxLine, MaxFindings: -1, SpillAfter: opts.SpillAfter, TmpDir: opts.TmpDir}, ins)
	l.tree = true
	l.onlyTrace = strings.ToLower(opts.Trace)
	if err := l.read(ctx); err != nil {
		l.closeSpill()
		return nil, err
	}
	return l, nil
}

// pickTraces returns the trace whose id starts with trace, or the traces
// of session; nil when both are empty. ErrNoTrace when none is in the
// input.
func pickTraces(traces []*traceView, trace, session string) ([]*traceView, error) {
	var pick []*traceView
	switch {
	case trace != "":
		want := strings.ToLower(trace)
		for _, t := range traces {
			if strings.HasPrefix(t.id, want) {
				pick = append(pick, t)
			}
		}
	case session != "":
		for _, t := range traces {
			if t.sessions[session] {
				pick = append(pick, t)
			}
		}
	}
	if err := selectionError(trace, session, len(pick)); err != nil {
		return nil, err
	}
	return pick, nil
}

// selectionError says what is wrong with a selection (--trace or
// --session, "" when none) that n traces of the input match: none, or
// several for a trace id (a prefix of more than one).
func selectionError(trace, session string, n int) error {
	switch {
	case trace != "" && n > 1:
		return fmt.Errorf("trace %q: %d traces start with it; give more of the id", trace, n)
	case trace != "" && n == 0:
		return fmt.Errorf("trace %q: %w", trace, ErrNoTrace)
	case session != "" && n == 0:
		return fmt.Errorf("session %q: %w", session, ErrNoTrace)
	}
	return nil
}

// traceView is one trace's spans, ready to draw.
type traceView struct {
	key        pcommon.TraceID
	id         string
	spans      []int // node indexes, in input order
	tops       []int // spans whose parent is not in the input, by start
	children   map[int][]int
	start, end uint64
	errors     int
	sessions   map[string]bool
}

// traces groups the spans by trace, ordered by start time.
func (l *linter) traces() []*traceView {
	byID := map[pcommon.TraceID]*traceView{}
	var out []*traceView
	for i := range l.nodes {
		n := &l.nodes[i]
		t := byID[n.key.trace]
		if t == nil {
			t = &traceView{key: n.key.trace, id: hex.EncodeToString(n.key.trace[:]), children: map[int][]int{}, sessions: map[string]bool{}, start: ^uint64(0)}
			byID[n.key.trace] = t
			out = append(out, t)
		}
		d := l.details[i]
		t.spans = append(t.spans, i)
		t.start = min(t.start, d.start)
		t.end = max(t.end, d.end)
		if n.flags&fError != 0 {
			t.errors++
		}
		if d.session != "" {
			t.sessions[d.session] = true
		}
		if p, ok := l.parentOf(n); ok {
			t.children[p] = append(t.children[p], i)
		} else {
			t.tops = append(t.tops, i)
		}
	}
	byStart := func(xs []int) {
		sort.SliceStable(xs, func(a, b int) bool { return l.details[xs[a]].start < l.details[xs[b]].start })
	}
	for _, t := range out {
		byStart(t.tops)
		for _, c := range t.children {
			byStart(c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// label is a span's name, with its command for a brain_cli.command.
func (l *linter) label(i int) string {
	name := l.nameOf(&l.nodes[i])
	if d := l.details[i]; len(d.keys) > 0 && l.nodes[i].flags&fHasParent == 0 {
		return name + " " + d.keys[0]
	}
	return name
}

type drawer struct {
	l     *linter
	w     io.Writer
	color bool
	width int
}

func newDrawer(l *linter, w io.Writer, opts TreeOptions) *drawer {
	dr := &drawer{l: l, w: w, color: opts.Color, width: opts.Width}
	if dr.width <= 0 {
		dr.width = 40
	}
	return dr
}

type row struct {
	i      int
	prefix string
	note   string
}

func (d *drawer) trace(t *traceView) {
	var rows []row
	var walk func(i int, lead, branch string, depth int)
	walk = func(i int, lead, branch string, depth int) {
		rows = append(rows, row{i: i, prefix: lead + branch})
		kids := t.children[i]
		if depth > maxShapeDepth {
			return
		}
		next := lead
		switch branch {
		case "├─ ":
			next += "│  "
		case "└─ ":
			next += "   "
		}
		for k, c := range kids {
			b := "├─ "
			if k == len(kids)-1 {
				b = "└─ "
			}
			walk(c, next, b, depth+1)
		}
	}
	for _, top := range t.tops {
		n := &d.l.nodes[top]
		start := len(rows)
		walk(top, "", "", 0)
		if n.flags&fHasParent != 0 {
			where := "not in the input"
			if n.flags&fRemote != 0 {
				where = "in another process, not in the input"
			}
			rows[start].note = fmt.Sprintf("(parent %s %s)", spanHex(n.parent), where)
		}
	}
	sessions := make([]string, 0, len(t.sessions))
	for s := range t.sessions {
		sessions = append(sessions, s)
	}
	sort.Strings(sessions)
	head := fmt.Sprintf("trace %s", t.id)
	if len(sessions) > 0 {
		head += "  session " + strings.Join(sessions, ", ")
	}
	head += fmt.Sprintf("  %s  %s  %s  %s", stamp(t.start), duration(t.end-t.start), countOf(len(t.spans), "span"), countOf(t.errors, "error"))
	fmt.Fprintln(d.w, head)
	nameW := 0
	for _, r := range rows {
		nameW = max(nameW, utf8.RuneCountInString(r.prefix)+len(d.name(r.i)))
	}
	nameW = min(nameW, 72)
	total := t.end - t.start
	for _, r := range rows {
		n := &d.l.nodes[r.i]
		det := d.l.details[r.i]
		failed := n.flags&fError != 0
		name := d.name(r.i)
		cell := r.prefix + name
		pad := nameW - utf8.RuneCountInString(cell)
		if pad < 0 {
			pad = 0
		}
		bar := d.bar(det.start-t.start, det.end-t.start, total)
		var b strings.Builder
		b.WriteString(r.prefix)
		b.WriteString(d.paint(failed, name))
		b.WriteString(strings.Repeat(" ", pad))
		b.WriteString("  │")
		b.WriteString(d.paint(failed, bar))
		fmt.Fprintf(&b, "│ %8s", duration(det.end-det.start))
		keys := det.keys
		if failed {
			msg := "ERROR"
			if det.status != "" {
				msg += " " + strconv.Quote(shorten(det.status, 120))
			}
			keys = append(append([]string(nil), keys...), d.paint(true, msg))
		}
		if len(keys) > 0 {
			b.WriteString("  ")
			b.WriteString(strings.Join(keys, " "))
		}
		if r.note != "" {
			b.WriteString("  ")
			b.WriteString(r.note)
		}
		fmt.Fprintln(d.w, b.String())
	}
}

// name is a span's name as drawn: with a cross when its status is error.
func (d *drawer) name(i int) string {
	name := d.l.nameOf(&d.l.nodes[i])
	if d.l.nodes[i].flags&fError != 0 {
		return "✗ " + name
	}
	return name
}

func (d *drawer) paint(red bool, s string) string {
	if !red || !d.color {
		return s
	}
	c := color.New(color.FgRed, color.Bold)
	c.EnableColor()
	return c.Sprint(s)
}

// leftBlocks are the left-aligned eighths of a cell, ▏ (1/8) to █ (8/8).
var leftBlocks = []rune("▏▎▍▌▋▊▉█")

// bar draws [from, to) of total as width cells, to an eighth of a cell.
func (d *drawer) bar(from, to, total uint64) string {
	if total == 0 {
		total = 1
	}
	units := uint64(d.width * 8)
	a := from * units / total
	b := (to*units + total - 1) / total
	if b <= a {
		b = a + 1
	}
	b = min(b, units)
	a = min(a, b-1)
	var s strings.Builder
	for c := uint64(0); c < uint64(d.width); c++ {
		lo, hi := max(a, c*8), min(b, c*8+8)
		switch k := int64(hi) - int64(lo); {
		case k <= 0:
			s.WriteByte(' ')
		case k == 8:
			s.WriteRune('█')
		case lo > c*8 && hi == c*8+8: // covers the right part of the cell
			if k >= 4 {
				s.WriteRune('▐')
			} else {
				s.WriteRune('▕')
			}
		default:
			s.WriteRune(leftBlocks[k-1])
		}
	}
	return s.String()
}

// duration formats ns with three significant digits: 431µs, 16.4ms, 1.20s.
func duration(ns uint64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", ns)
	case d < time.Millisecond:
		return sig3(float64(ns)/1e3) + "µs"
	case d < time.Second:
		return sig3(float64(ns)/1e6) + "ms"
	}
	return sig3(float64(ns)/1e9) + "s"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func stamp(ns uint64) string {
	if ns == ^uint64(0) || ns == 0 {
		return "-"
	}
	return time.Unix(0, int64(ns)).UTC().Format("2006-01-02T15:04:05.000Z")
}
