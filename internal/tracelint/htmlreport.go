package tracelint

import (
	"container/heap"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// DefaultMaxRows is how many spans the report draws as rows by default: a
// session of 10,000 spans (and a fifth more) is drawn whole; a bigger input
// is drawn with subtrees collapsed. The page keeps as many audit records,
// and as many traces, at most: with BRAIN's spans, about 5 MB in all.
const DefaultMaxRows = 12000

// ReportOptions configure Report.
type ReportOptions struct {
	// Lint are the linter's options: the dictionary, the config, the audit
	// chain (Audit), the workers and line limit.
	Lint Options
	// Trace (an id or a unique prefix of one) or Session select the
	// traces of the report; with neither, every trace of the input is in
	// it.
	Trace, Session string
	// MaxRows is how many spans are drawn as rows, over every trace of the
	// report (0: DefaultMaxRows); the others are collapsed into the rows
	// of their subtrees. It is also how many traces the report holds at
	// most, those with error spans first.
	MaxRows int
	// Generated is the time the report says it was made; Version the
	// program's version line.
	Generated time.Time
	Version   string
}

// ReportResult says what Report wrote.
type ReportResult struct {
	Traces  int // traces in the report
	Spans   int // their spans
	Rows    int // spans drawn as rows
	Hidden  int // spans of the report's traces in collapsed subtrees
	NotKept int // spans drawn without their details: over the memory limit
	Left    int // traces of the selection not in the page: past MaxRows traces
	Held    int // the most spans held in memory at once
	Lint    *Result
	// Chain is "" without an audit chain, else "PASS" or "FAIL".
	Chain string
}

// Report reads the spans of ins (and the audit chain of opts.Lint.Audit),
// lints them, and writes to w one self-contained HTML page: the chain's
// verdict, the lint findings and coverage, a GenAI summary and, for each
// trace, its waterfall with every span's attributes, events, status, audit
// records and findings. The page's format: docs/trace-lint.md ("report").
//
// With --trace or --session, and inputs that are files, the input is read
// twice: the lint (which spills past Lint.SpillAfter spans, its memory
// bounded) noting which traces are selected, then those traces' spans for
// the page; memory then grows with the selected traces, not the input.
// Every trace of files is held up to Lint.SpillAfter spans, then made a
// group of traces at a time (reportGrouped). From stdin every span is
// held.
func Report(ctx context.Context, ins []*Input, opts ReportOptions, w io.Writer) (*ReportResult, error) {
	l := newLinter(opts.Lint, ins)
	defer l.closeSpill()
	maxRows := opts.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	var first []*digestReader
	selecting := opts.Trace != "" || opts.Session != ""
	switch {
	case selecting && rewindable(ins):
		l.selectTrace, l.selectSession = strings.ToLower(opts.Trace), opts.Session
		l.selected = map[pcommon.TraceID]bool{}
		first = digestInputs(ins, maphash.MakeSeed(), nil)
		defer restoreInputs(ins, first)
	case !selecting && rewindable(ins):
		// Every trace, from files: held while the input is small; past
		// Lint.SpillAfter spans the lint spills and the page is made
		// a group of traces at a time (reportGrouped).
		l.reportEvery(maxRows)
		first = digestInputs(ins, maphash.MakeSeed(), nil)
		defer restoreInputs(ins, first)
	default:
		l.keep = true
	}
	if err := l.run(ctx); err != nil {
		return nil, err
	}
	res, err := l.finish(ctx)
	if err != nil {
		return nil, err
	}
	if l.reportAll && l.spill != nil {
		return reportGrouped(ctx, l, res, ins, opts, first, maxRows, w)
	}
	held := l.held
	if first != nil && !l.reportAll {
		// A selection that matches no trace, or an id prefix that
		// matches several, is an error before the second reading.
		if err := selectionError(opts.Trace, opts.Session, len(l.selected)); err != nil {
			return nil, err
		}
		if l, err = readSelected(ctx, l, ins, opts, first); err != nil {
			return nil, err
		}
		held = max(held, l.held)
	}
	traces := l.traces()
	pick, err := pickTraces(traces, opts.Trace, opts.Session)
	if err != nil {
		return nil, err
	}
	if pick == nil {
		pick = traces
	}
	b := newPageBuilder(l, res, opts)
	if keep, left := shownTraces(len(pick), maxRows, func(i int) (int, int) { return len(pick[i].spans), pick[i].errors }); keep != nil {
		shown := make([]*traceView, len(keep))
		for k, i := range keep {
			shown[k] = pick[i]
		}
		pick, b.left = shown, left
	}
	page := b.build(pick, maxRows)
	return writePageResult(w, page, res, held)
}

// writePageResult writes page to w and says what it holds.
func writePageResult(w io.Writer, page *page, res *Result, held int) (*ReportResult, error) {
	out := &ReportResult{Traces: len(page.Traces), Lint: res, Chain: page.Chain.Verdict, Held: held, Left: page.Left.Traces}
	for _, t := range page.Data.Traces {
		out.Spans += t.Spans
		out.Hidden += t.Hidden
		for _, r := range t.Rows {
			if r.G == 0 {
				out.Rows++
				out.NotKept += r.NK
			}
		}
	}
	return out, writePage(w, page)
}

// readSelected reads ins again from their start, keeping what the page
// shows of the spans of the traces the lint l selected. It reads as many
// bytes of each input as the first reading did (a file written to
// meanwhile, such as the spans file of a command still running, is read
// as it was then), and they must be the same bytes: an input rewritten
// between the two readings is an error, not a page that shows spans the
// lint did not read.
func readSelected(ctx context.Context, l *linter, ins []*Input, opts ReportOptions, first []*digestReader) (*linter, error) {
	return readAgain(ctx, l, ins, opts, first, l.selected, nil)
}

// readAgain reads ins again, as readSelected does, keeping the spans of
// the traces in keep; it parses only the batches in batches, if not nil.
func readAgain(ctx context.Context, l *linter, ins []*Input, opts ReportOptions, first []*digestReader, keep map[pcommon.TraceID]bool, batches *batchSet) (*linter, error) {
	for _, d := range first {
		if _, err := d.f.Seek(0, io.SeekStart); err != nil {
			return nil, &InputError{Name: d.name, Err: err}
		}
	}
	again := digestInputs(ins, first[0].h.Seed(), first)
	page := newLinter(opts.Lint, ins)
	// The lint is the first reading's: this one checks nothing (tree).
	page.keep, page.tree, page.keepOnly, page.audit, page.onlyBatches = true, true, keep, l.audit, batches
	if err := page.read(ctx); err != nil {
		return nil, err
	}
	for i, d := range again {
		if d.n != first[i].n || d.h.Sum64() != first[i].h.Sum64() {
			return nil, &InputError{Name: d.name, Err: errors.New("it changed while the report read it again (the lint, then the traces of the page)"),
				Hint: "report a copy of the file"}
		}
	}
	return page, nil
}

// digestReader reads an input file, hashing what it reads; limited to the
// length of an earlier reading when it reads the file again.
type digestReader struct {
	name string
	f    *os.File
	r    io.Reader
	h    maphash.Hash
	n    int64
}

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// digestInputs makes the inputs (files: rewindable) read through
// digestReaders with seed, each limited to the bytes of before's (nil:
// not limited).
func digestInputs(ins []*Input, seed maphash.Seed, before []*digestReader) []*digestReader {
	ds := make([]*digestReader, len(ins))
	for i, in := range ins {
		d := &digestReader{name: in.Name, r: in.r}
		if before != nil {
			d.f = before[i].f
			d.r = io.LimitReader(d.f, before[i].n)
		} else {
			d.f = in.r.(*os.File)
		}
		d.h.SetSeed(seed)
		ds[i], in.r = d, d
	}
	return ds
}

// restoreInputs gives the inputs their files back.
func restoreInputs(ins []*Input, ds []*digestReader) {
	for i, in := range ins {
		in.r = ds[i].f
	}
}

// rewindable reports whether every input is a regular file, which can be
// read again from its start.
func rewindable(ins []*Input) bool {
	for _, in := range ins {
		f, ok := in.r.(*os.File)
		if !ok {
			return false
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// rowPlan is a row of a trace's waterfall: a span, or an aggregate of
// sibling subtrees not drawn.
type rowPlan struct {
	node   int // the span (node index), -1 for an aggregate
	parent int // the parent's row, -1 at the top
	depth  int
	// hidden are the roots of the subtrees this row stands for: a
	// collapsed span's children, or an aggregate's siblings.
	hidden []int
	note   string
}

// traceTree is a trace as a tree of nodes, every span reached once.
type traceTree struct {
	tops  []int
	kids  map[int][]int
	notes map[int]string
	size  map[int]int // spans in the subtree
	errs  map[int]int // error spans in the subtree
	pre   map[int]int // place in pre-order
}

// spanTree builds t's tree. A span no top reaches (its parents form a cycle)
// becomes a top of its own, with a note.
func (l *linter) spanTree(t *traceView) *traceTree {
	tt := &traceTree{kids: map[int][]int{}, notes: map[int]string{}, size: map[int]int{}, errs: map[int]int{}, pre: map[int]int{}}
	var order []int
	walk := func(root int) {
		stack := []int{root}
		tt.pre[root] = len(order)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			order = append(order, u)
			kids := t.children[u]
			var mine []int
			for _, c := range kids {
				if _, seen := tt.pre[c]; !seen {
					tt.pre[c] = -1
					mine = append(mine, c)
				}
			}
			tt.kids[u] = mine
			for i := len(mine) - 1; i >= 0; i-- {
				stack = append(stack, mine[i])
			}
		}
	}
	for _, top := range t.tops {
		tt.tops = append(tt.tops, top)
		walk(top)
	}
	for _, i := range t.spans {
		if _, seen := tt.pre[i]; !seen {
			tt.tops = append(tt.tops, i)
			tt.notes[i] = "its parents form a cycle: drawn at the top"
			walk(i)
		}
	}
	for k, u := range order {
		tt.pre[u] = k
	}
	for k := len(order) - 1; k >= 0; k-- {
		u := order[k]
		tt.size[u]++
		if l.nodes[u].flags&fError != 0 {
			tt.errs[u]++
		}
		for _, c := range tt.kids[u] {
			tt.size[u] += tt.size[c]
			tt.errs[u] += tt.errs[c]
		}
	}
	for _, top := range t.tops {
		n := &l.nodes[top]
		if n.flags&fHasParent != 0 && tt.notes[top] == "" {
			where := "not in the input"
			if n.flags&fRemote != 0 {
				where = "in another process, not in the input"
			}
			tt.notes[top] = "parent " + spanHex(n.parent) + " " + where
		}
	}
	return tt
}

// expandQueue orders the spans whose children may be drawn: subtrees with
// errors first, then the shallowest, then in pre-order.
type expandQueue struct {
	tt    *traceTree
	items []expandItem
}

type expandItem struct{ node, depth int }

func (q *expandQueue) Len() int { return len(q.items) }
func (q *expandQueue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	ea, eb := q.tt.errs[a.node] > 0, q.tt.errs[b.node] > 0
	if ea != eb {
		return ea
	}
	if a.depth != b.depth {
		return a.depth < b.depth
	}
	return q.tt.pre[a.node] < q.tt.pre[b.node]
}
func (q *expandQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *expandQueue) Push(x any)    { q.items = append(q.items, x.(expandItem)) }
func (q *expandQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}

// layout returns the rows of a trace drawn in at most budget rows (at
// least one). With room for every span, every span is a row. Without, the
// spans are drawn from the top down, subtrees holding an error first and
// then level by level; a span whose children do not fit is collapsed (its
// row stands for its subtree), and when only some of a span's children
// fit, the rest are one aggregate row. The rows are in the tree's order.
func (l *linter) layout(tt *traceTree, budget int) []rowPlan {
	budget = max(budget, 1)
	shown := map[int][]int{} // a drawn span's drawn children; -1: the tops' key
	agg := map[int][]int{}   // the children (tops) an aggregate row stands for
	left := budget
	byPriority := func(xs []int, n int) (keep, rest []int) {
		ys := append([]int(nil), xs...)
		sort.SliceStable(ys, func(i, j int) bool {
			ei, ej := tt.errs[ys[i]] > 0, tt.errs[ys[j]] > 0
			if ei != ej {
				return ei
			}
			return tt.pre[ys[i]] < tt.pre[ys[j]]
		})
		in := map[int]bool{}
		for _, y := range ys[:n] {
			in[y] = true
		}
		for _, x := range xs {
			if in[x] {
				keep = append(keep, x)
			} else {
				rest = append(rest, x)
			}
		}
		return keep, rest
	}
	q := &expandQueue{tt: tt}
	place := func(parent int, kids []int, depth int) bool {
		switch {
		case len(kids) <= left:
			shown[parent] = kids
			left -= len(kids)
		case left >= 2 || parent == -1:
			n := max(left-1, 0)
			shown[parent], agg[parent] = byPriority(kids, n)
			left = 0
		default:
			return false
		}
		for _, k := range shown[parent] {
			if len(tt.kids[k]) > 0 {
				heap.Push(q, expandItem{k, depth + 1})
			}
		}
		return true
	}
	place(-1, tt.tops, -1)
	for q.Len() > 0 && left > 0 {
		it := heap.Pop(q).(expandItem)
		if !place(it.node, tt.kids[it.node], it.depth) {
			break
		}
	}
	var rows []rowPlan
	var emit func(parent, parentRow, depth int)
	// Drawn spans nest at most as deep as the budget: the recursion is
	// bounded by it, not by the input.
	emit = func(parent, parentRow, depth int) {
		for _, k := range shown[parent] {
			r := rowPlan{node: k, parent: parentRow, depth: depth, note: tt.notes[k]}
			if _, open := shown[k]; !open {
				r.hidden = tt.kids[k]
			}
			rows = append(rows, r)
			if _, open := shown[k]; open {
				emit(k, len(rows)-1, depth+1)
			}
		}
		if a := agg[parent]; len(a) > 0 {
			rows = append(rows, rowPlan{node: -1, parent: parentRow, depth: depth, hidden: a})
		}
	}
	emit(-1, -1, 0)
	return rows
}

// pagePick picks, among the traces offered to it one by one in any order,
// those a page of at most max traces holds, as shownTraces picks them from
// the list of every trace (with error spans first, then the earliest),
// holding max of them at most: the report of every trace of a spilled
// input does not hold a line per trace.
type pagePick struct {
	kept best[pickedTrace]
	all  leftOut // every trace offered
}

func newPagePick(max int) *pagePick {
	return &pagePick{kept: best[pickedTrace]{max: max, before: (*pickedTrace).before}}
}

// pickedTrace is a trace offered to a pagePick: its place in the page's
// order, its figures, and the first and last batch of its spans.
type pickedTrace struct {
	id          pcommon.TraceID
	start       uint64
	first       int64
	spans, errs int
	batches     [2]int64
}

// before reports whether the page holds a before b.
func (a *pickedTrace) before(b *pickedTrace) bool {
	if (a.errs > 0) != (b.errs > 0) {
		return a.errs > 0
	}
	return a.pageBefore(b)
}

// pageBefore reports whether a comes before b in the page's order.
func (a *pickedTrace) pageBefore(b *pickedTrace) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	return a.first < b.first
}

// offer offers trace t of the partition sub.
func (p *pagePick) offer(sub *linter, t *traceView) {
	c := pickedTrace{id: t.key, start: t.start, first: sub.ord(t.spans[0]), spans: len(t.spans), errs: t.errors,
		batches: [2]int64{math.MaxInt64, -1}}
	for _, i := range t.spans {
		c.batches[0] = min(c.batches[0], sub.details[i].batch)
		c.batches[1] = max(c.batches[1], sub.details[i].batch)
	}
	p.add(c)
}

// add offers trace c.
func (p *pagePick) add(c pickedTrace) {
	p.all.Traces, p.all.Spans, p.all.Errors = p.all.Traces+1, p.all.Spans+c.spans, p.all.Errors+c.errs
	p.kept.add(c)
}

// result returns the traces picked, in the page's order, and what is left
// out.
func (p *pagePick) result() ([]pickedTrace, leftOut) {
	kept := slices.Clone(p.kept.items)
	sort.Slice(kept, func(i, j int) bool { return kept[i].pageBefore(&kept[j]) })
	left := p.all
	for _, c := range kept {
		left.Traces, left.Spans, left.Errors = left.Traces-1, left.Spans-c.spans, left.Errors-c.errs
	}
	return kept, left
}

// shownTraces says which of n traces, in the page's order, a page of at
// most max rows holds (each takes a row at least), given each one's spans
// and error spans: nil when all fit; else those with error spans first,
// then the others, each kind in the page's order, kept in that order, and
// what is left out.
func shownTraces(n, max int, figures func(i int) (spans, errs int)) (keep []int, left leftOut) {
	if n <= max {
		return nil, left
	}
	in := make([]bool, n)
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < n && len(keep) < max; i++ {
			if _, errs := figures(i); (errs > 0) == (pass == 0) {
				keep, in[i] = append(keep, i), true
			}
		}
	}
	sort.Ints(keep)
	for i := range n {
		if !in[i] {
			spans, errs := figures(i)
			left.Traces, left.Spans, left.Errors = left.Traces+1, left.Spans+spans, left.Errors+errs
		}
	}
	return keep, left
}

// allocate shares budget rows among traces of the given sizes: each gets
// what it needs or an equal share of what is left, the smallest first, so
// that small traces are drawn whole and the big ones share the rest; every
// trace gets at least one row.
func allocate(sizes []int, budget int) []int {
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sizes[idx[a]] < sizes[idx[b]] })
	out := make([]int, len(sizes))
	left := budget
	for k, i := range idx {
		share := left / (len(idx) - k)
		out[i] = max(1, min(sizes[i], share))
		left = max(0, left-out[i])
	}
	return out
}

// interner numbers the strings of the page's data, each stored once.
type interner struct {
	idx  map[string]int
	list []string
}

func newInterner() *interner { return &interner{idx: map[string]int{}} }

func (in *interner) id(s string) int {
	if i, ok := in.idx[s]; ok {
		return i
	}
	i := len(in.list)
	in.idx[s] = i
	in.list = append(in.list, s)
	return i
}

// rowRef places a span in the page: its trace and row, and whether the
// row is a collapsed subtree holding it rather than its own.
type rowRef struct {
	trace, row int
	inside     bool
}

// pageBuilder turns the linter's spans, records and findings into a page.
type pageBuilder struct {
	l        *linter
	res      *Result
	opts     ReportOptions
	strs     *interner
	origins  map[string]int          // origin key → its place in the page
	rowOf    map[int]rowRef          // node → where it is drawn
	in       map[pcommon.TraceID]int // trace → its place in the page
	genai    *genAITally
	sums     []traceSummary
	left     leftOut
	sessions map[string]bool
	// rows, when the page is made a group of traces at a time, are where
	// the spans of audit records and findings (wanted) are drawn: every
	// span of a trace of the page is, in a row or a collapsed one.
	rows   map[spanKey]rowRef
	wanted map[spanKey]bool
	data   pageData
}

func newPageBuilder(l *linter, res *Result, opts ReportOptions) *pageBuilder {
	b := &pageBuilder{l: l, res: res, opts: opts, strs: newInterner(), origins: map[string]int{}, rowOf: map[int]rowRef{},
		in: map[pcommon.TraceID]int{}, genai: &genAITally{}, sessions: map[string]bool{}}
	// Lists are [] rather than null when empty: the script reads them all.
	b.data.Origins, b.data.Traces, b.data.Findings, b.data.Other = []jsOrigin{}, []jsTrace{}, []jsFinding{}, []jsRecord{}
	return b
}

func (b *pageBuilder) build(pick []*traceView, maxRows int) *page {
	sizes := make([]int, len(pick))
	for i, t := range pick {
		sizes[i] = len(t.spans)
	}
	alloc := allocate(sizes, maxRows)
	for i, t := range pick {
		b.addTrace(i, t, alloc[i])
	}
	return b.finish(maxRows)
}

// addTrace draws trace t of b.l as the page's trace ti, in budget rows.
func (b *pageBuilder) addTrace(ti int, t *traceView, budget int) {
	jt := b.trace(ti, t, budget)
	b.data.Traces = append(b.data.Traces, jt)
	b.in[t.key] = ti
	b.genai.add(b.l.details, t.spans)
	b.sums = append(b.sums, traceSummary{ID: t.id, Index: ti, Sessions: jt.sessionList, Command: jt.Cmd, Exit: jt.Exit,
		Start: stamp(t.start), Duration: duration(t.end - t.start), Spans: len(t.spans), Errors: t.errors})
	for s := range t.sessions {
		b.sessions[s] = true
	}
}

// finish adds the records and findings to the traces added, and makes the
// page.
func (b *pageBuilder) finish(maxRows int) *page {
	b.audit(b.in, maxRows)
	b.findings(b.in)
	b.data.V = pageVersion
	b.data.S = b.strs.list
	p := &page{Data: &b.data, Generated: b.opts.Generated.UTC().Format(time.RFC3339), Version: b.opts.Version}
	p.Chain = b.chain()
	p.Lint = b.lintView()
	p.GenAI = b.genai.summary()
	for _, in := range b.l.ins {
		p.Inputs = append(p.Inputs, in.Name)
	}
	p.Traces, p.Left = b.sums, b.left
	for _, s := range b.sums {
		p.Spans += s.Spans
		p.Errors += s.Errors
	}
	p.Sessions = sortedKeys(b.sessions)
	p.Selection = b.selection()
	return p
}

// reportEvery sets l up for the report of every trace of input files, in
// a page of at most maxRows traces: it keeps every span while it holds them
// all, and may spill (reportGrouped).
func (l *linter) reportEvery(maxRows int) {
	l.keep, l.reportAll = true, true
	l.pick = newPagePick(maxRows)
}

// rowFor says where the span key is drawn (drawn: in a row, or in a
// collapsed one), and whether it is in the input at all (known).
func (b *pageBuilder) rowFor(key spanKey) (ref rowRef, drawn, known bool) {
	if b.rows != nil {
		ref, drawn = b.rows[key]
		return ref, drawn, drawn
	}
	idx, ok := b.l.index[key]
	if !ok {
		return rowRef{}, false, false
	}
	ref, drawn = b.rowOf[int(idx)]
	return ref, drawn, true
}

// reportGrouped makes the page of every trace of an input the lint l
// spilled (files, read again). The traces, in the page's order, are read
// again a group at a time: as many whole traces as hold at most
// Lint.SpillAfter spans (or one bigger trace). Each is drawn as a single
// reading draws it, with the rows the page gives it (its share of
// --max-rows, from every trace's size, which the lint summed up); between
// groups the page keeps only what it shows, and where the spans of the
// audit records and findings are drawn. So memory holds a group, the
// page, and a line of figures per trace, not the input; the price is a
// reading of the input per group.
func reportGrouped(ctx context.Context, l *linter, res *Result, ins []*Input, opts ReportOptions, first []*digestReader, maxRows int, w io.Writer) (*ReportResult, error) {
	b := newPageBuilder(l, res, opts)
	var sums []pickedTrace
	sums, b.left = l.pick.result()
	sizes := make([]int, len(sums))
	for i := range sums {
		sizes[i] = sums[i].spans
	}
	alloc := allocate(sizes, maxRows)
	b.rows, b.wanted = map[spanKey]rowRef{}, wantedSpans(l, res)
	held := l.held
	// A group's spans are garbage once drawn: the heap is let grow by
	// half what is live, not by as much, so that a group, its garbage
	// and the page stay within about what the lint of a group took.
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	for start := 0; start < len(sums); {
		end, n := start, 0
		for end < len(sums) && (end == start || n+sums[end].spans <= l.opts.SpillAfter) {
			n += sums[end].spans
			end++
		}
		keep := make(map[pcommon.TraceID]bool, end-start)
		ranges := make([][2]int64, 0, end-start)
		for _, s := range sums[start:end] {
			keep[s.id] = true
			ranges = append(ranges, s.batches)
		}
		// The group before is garbage: collected before the next one
		// grows the heap, which then holds one group, not two.
		b.l = l
		runtime.GC()
		g, err := readAgain(ctx, l, ins, opts, first, keep, newBatchSet(ranges))
		if err != nil {
			return nil, err
		}
		held = max(held, g.held)
		ts := g.traces()
		if len(ts) != end-start {
			return nil, fmt.Errorf("report: read again, traces %d to %d are %d traces, not %d", start, end-1, len(ts), end-start)
		}
		b.l = g
		for k, t := range ts {
			if t.key != sums[start+k].id {
				return nil, fmt.Errorf("report: read again, trace %d is %s, not %s", start+k, t.id, hex.EncodeToString(sums[start+k].id[:]))
			}
			b.addTrace(start+k, t, alloc[start+k])
		}
		for idx := range g.nodes {
			key := g.nodes[idx].key
			if ref, ok := b.rowOf[idx]; ok && b.wanted[key] {
				b.rows[key] = ref
			}
		}
		clear(b.rowOf)
		start = end
	}
	b.l = l
	return writePageResult(w, b.finish(maxRows), res, held)
}

// wantedSpans are the spans the page must find the rows of: those named by
// an audit record or a finding.
func wantedSpans(l *linter, res *Result) map[spanKey]bool {
	want := map[spanKey]bool{}
	if a := l.audit; a != nil {
		for _, r := range a.records {
			if r.hasSpan && !r.badIDs {
				want[r.key] = true
			}
		}
	}
	for _, f := range res.Findings {
		if key, ok := findingSpan(f); ok {
			want[key] = true
		}
	}
	return want
}

// findingSpan is the span a finding is about, by its ids.
func findingSpan(f Finding) (spanKey, bool) {
	var key spanKey
	t, errT := hex.DecodeString(f.TraceID)
	s, errS := hex.DecodeString(f.SpanID)
	if f.span < 0 || errT != nil || errS != nil || len(t) != len(key.trace) || len(s) != len(key.span) {
		return key, false
	}
	copy(key.trace[:], t)
	copy(key.span[:], s)
	return key, true
}

// selection says which traces of the input the report holds.
func (b *pageBuilder) selection() string {
	switch {
	case b.opts.Trace != "":
		return "trace " + b.opts.Trace
	case b.opts.Session != "":
		return "session " + b.opts.Session
	}
	return "every trace of the input"
}

// trace builds the page data of trace t (number ti) in at most budget rows.
func (b *pageBuilder) trace(ti int, t *traceView, budget int) jsTrace {
	l := b.l
	tt := l.spanTree(t)
	plan := l.layout(tt, budget)
	jt := jsTrace{ID: t.id, Start: stamp(t.start), T0: strconv.FormatUint(t.start, 10), Dur: sub(t.end, t.start), Spans: len(t.spans), Errors: t.errors,
		Sessions: []int{}, Rows: []jsRow{}, Audit: []jsRecord{}}
	sessions := sortedKeys(t.sessions)
	jt.sessionList = sessions
	for _, s := range sessions {
		jt.Sessions = append(jt.Sessions, b.strs.id(s))
	}
	if len(tt.tops) > 0 {
		d := l.details[tt.tops[0]]
		jt.Cmd, jt.Exit = d.command, d.exit
	}
	for ri, r := range plan {
		row := jsRow{P: r.parent, D: r.depth, Nt: r.note}
		if r.node >= 0 {
			b.rowOf[r.node] = rowRef{trace: ti, row: ri}
			b.spanRow(&row, r.node, t.start)
		} else {
			row.G = 1
		}
		if len(r.hidden) > 0 {
			row.C = b.hidden(r.hidden, tt, ti, ri, t.start)
			jt.Hidden += row.C.N
		}
		jt.Rows = append(jt.Rows, row)
	}
	jt.GenAI = genAISummary(l.details, t.spans)
	return jt
}

// spanRow fills row with span i.
func (b *pageBuilder) spanRow(row *jsRow, i int, t0 uint64) {
	l := b.l
	n := &l.nodes[i]
	d := l.details[i]
	row.N = b.strs.id(l.nameOf(n))
	row.I = spanHex(n.key.span)
	row.S, row.E = sub(d.start, t0), sub(d.end, d.start)
	if n.flags&fError != 0 {
		row.X = 1
	}
	row.K = strings.Join(d.keys, " ")
	row.M = d.status
	row.L = []int64{int64(b.strs.id(l.ins[n.file].Name)), n.line}
	if spec := l.names[n.name].spec; spec != nil && n.flags&fForeign == 0 {
		if spec.CriticalPath {
			row.Cp = 1
		}
		if spec.MutatesState {
			switch {
			case n.flags&fAuditFailed != 0:
				row.Mu = mutAborted
			case l.audit == nil:
				row.Mu = mutNoChain
			case l.audit.spans[n.key]:
				row.Mu = mutAudited
			default:
				row.Mu = mutMissing
			}
		}
	}
	if n.flags&fForeign != 0 {
		row.Fo = 1
	}
	if d.data == nil {
		row.NK = 1
		return
	}
	row.Dt = b.spanData(d.data, t0)
}

// The mutating-span states of a row (jsRow.Mu).
const (
	mutAudited = 1 + iota // an audit record names it
	mutMissing            // none does: audit-missing
	mutNoChain            // no audit chain was given
	mutAborted            // its record could not be written: aborted
)

// hidden sums up the subtrees under roots, drawn as row ri of trace ti.
func (b *pageBuilder) hidden(roots []int, tt *traceTree, ti, ri int, t0 uint64) *jsHidden {
	l := b.l
	h := &jsHidden{S: math.MaxInt64}
	names := map[int32]int{}
	stack := append([]int(nil), roots...)
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		stack = append(stack, tt.kids[u]...)
		n := &l.nodes[u]
		d := l.details[u]
		b.rowOf[u] = rowRef{trace: ti, row: ri, inside: true}
		h.N++
		if n.flags&fError != 0 {
			h.X++
		}
		names[n.name]++
		h.S = min(h.S, sub(d.start, t0))
		h.E = max(h.E, sub(d.end, t0))
	}
	type nc struct {
		name  int32
		count int
	}
	var ncs []nc
	for k, v := range names {
		ncs = append(ncs, nc{k, v})
	}
	sort.Slice(ncs, func(i, j int) bool {
		if ncs[i].count != ncs[j].count {
			return ncs[i].count > ncs[j].count
		}
		return l.names[ncs[i].name].name < l.names[ncs[j].name].name
	})
	for k, c := range ncs {
		if k == 8 {
			h.More = len(ncs) - k
			break
		}
		h.Names = append(h.Names, []int{b.strs.id(l.names[c.name].name), c.count})
	}
	return h
}

// sub is a-b in ns, 0 when b is later.
func sub(a, b uint64) int64 {
	if a < b {
		return 0
	}
	return int64(min(a-b, math.MaxInt64))
}

// spanData is a span's details as page data.
func (b *pageBuilder) spanData(d *spanData, t0 uint64) *jsSpanData {
	o, ok := b.origins[d.origin.key]
	if !ok {
		jo := jsOrigin{A: b.attrs(d.origin.attrs), M: d.origin.more, Sc: b.strs.id(d.origin.scope), Sv: b.strs.id(d.origin.scopeVersion)}
		o = len(b.data.Origins)
		b.data.Origins = append(b.data.Origins, jo)
		b.origins[d.origin.key] = o
	}
	js := &jsSpanData{O: o, K: int(d.kind), C: int(d.code), A: b.attrs(d.attrs), MA: d.moreAttrs, ME: d.moreEvents, ML: d.moreLinks}
	if d.cut {
		js.Cut = maxSpanData
	}
	for _, e := range d.events {
		js.Ev = append(js.Ev, jsEvent{N: b.strs.id(e.name), T: sub(e.t, t0), A: b.attrs(e.attrs), M: e.more})
	}
	for _, k := range d.links {
		js.Ln = append(js.Ln, jsLink{T: k.trace, S: k.span, A: b.attrs(k.attrs), M: k.more})
	}
	return js
}

// attrs encodes attributes as a flat list: key, value, key, value. A key
// is a number in the string table; a value is encoded by value.
func (b *pageBuilder) attrs(as []attr) []any {
	out := make([]any, 0, 2*len(as))
	for _, a := range as {
		out = append(out, b.strs.id(a.k), b.value(a.v))
	}
	return out
}

// value encodes an attribute value for the page's script:
//
//	number N          a string: the string table's N
//	{"s":N,"cut":L}   a string cut to maxValueBytes from L bytes
//	true, false       a bool
//	[N]               an int (N a string when over 2^53)
//	{"f":X}           a double (X a string for NaN and infinities)
//	{"y":B,"cut":L}   bytes, base64
//	{"a":[V...],"more":K}       an array, K elements not kept
//	{"m":[N,V,...],"more":K}    a map
//	null              empty
func (b *pageBuilder) value(v attrVal) any {
	switch v.t {
	case pcommon.ValueTypeStr:
		if v.cut > 0 {
			return map[string]int{"s": b.strs.id(v.s), "cut": v.cut}
		}
		return b.strs.id(v.s)
	case pcommon.ValueTypeBool:
		return v.b
	case pcommon.ValueTypeInt:
		if v.i > 1<<53 || v.i < -(1<<53) {
			return []string{strconv.FormatInt(v.i, 10)}
		}
		return []int64{v.i}
	case pcommon.ValueTypeDouble:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return map[string]string{"f": strconv.FormatFloat(v.f, 'g', -1, 64)}
		}
		return map[string]float64{"f": v.f}
	case pcommon.ValueTypeBytes:
		m := map[string]any{"y": v.s}
		if v.cut > 0 {
			m["cut"] = v.cut
		}
		return m
	case pcommon.ValueTypeSlice:
		vs := make([]any, 0, len(v.kids))
		for _, k := range v.kids {
			vs = append(vs, b.value(k.v))
		}
		return map[string]any{"a": vs, "more": v.more}
	case pcommon.ValueTypeMap:
		return map[string]any{"m": b.attrs(v.kids), "more": v.more}
	}
	return nil
}

// audit puts the chain's records in the page: each record of a trace of
// the page with that trace (at most limit in all, by seq), the others in
// the page's list of records outside its traces.
func (b *pageBuilder) audit(in map[pcommon.TraceID]int, limit int) {
	a := b.l.audit
	if a == nil {
		return
	}
	recs := append([]auditRecord(nil), a.records...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].seq < recs[j].seq })
	n := 0
	for _, r := range recs {
		ti, ok := -1, false
		if r.hasSpan && !r.badIDs {
			ti, ok = in[r.key.trace]
		}
		if r.hasSpan && !r.badIDs && !ok {
			b.data.AuditElsewhere++ // a record of a trace not in the page
			continue
		}
		if n == limit {
			if ti >= 0 {
				b.data.Traces[ti].MoreAudit++
			} else {
				b.data.MoreOther++
			}
			continue
		}
		n++
		jr := jsRecord{Seq: r.seq, Type: b.strs.id(r.typ), Ts: r.ts.UTC().Format(time.RFC3339Nano), Hash: r.hash, Row: -1,
			Session: b.strs.id(r.session), L: []int64{int64(b.strs.id(r.file)), r.line}, Cut: r.cut}
		if r.data != nil {
			jr.Data = string(r.data)
		} else {
			jr.NK = 1
		}
		if r.hasSpan && !r.badIDs {
			jr.Span = spanHex(r.key.span)
			if ref, _, known := b.rowFor(r.key); known {
				jr.Row = ref.row
				if ref.inside {
					jr.In = 1
				}
			} else {
				jr.Unknown = 1
			}
		}
		if ti >= 0 {
			b.data.Traces[ti].Audit = append(b.data.Traces[ti].Audit, jr)
		} else {
			b.data.Other = append(b.data.Other, jr)
		}
	}
}

// findings puts the lint findings in the page: with the row of their span
// when it is drawn, with their trace, or in the page's own list; those
// about traces that are not in the page are counted.
func (b *pageBuilder) findings(in map[pcommon.TraceID]int) {
	for _, f := range b.res.Findings {
		jf := jsFinding{Rule: f.Rule, Sev: f.Severity.String(), Trace: -1, Row: -1, Span: f.Span, SpanID: f.SpanID, Attr: f.Attr, Msg: f.Message}
		if f.File != "" {
			jf.Loc = f.File
			if f.Line > 0 {
				jf.Loc += ":" + strconv.FormatInt(f.Line, 10)
			}
		}
		if f.TraceID != "" {
			var id pcommon.TraceID
			if raw, err := hex.DecodeString(f.TraceID); err == nil && len(raw) == len(id) {
				copy(id[:], raw)
			}
			ti, ok := in[id]
			if !ok {
				b.data.FindingsElsewhere++
				continue
			}
			jf.Trace = ti
			// The finding's span, by its ids: the lint's node indexes
			// are not the page's when the input was read twice.
			if key, ok := findingSpan(f); ok {
				if ref, drawn, _ := b.rowFor(key); drawn {
					jf.Row = ref.row
					if ref.inside {
						jf.In = 1
					}
				}
			}
		}
		b.data.Findings = append(b.data.Findings, jf)
	}
}

// chainView is the audit chain's verdict as the page's header shows it.
type chainView struct {
	Given   bool
	Verdict string // PASS or FAIL; "" when not given
	Chains  []chainLine
	More    int // findings not listed
	Path    string
}

type chainLine struct {
	Files    string
	Records  int64
	Alg      string
	Head     string // seq:hash
	OK       bool
	Findings []string
}

// maxChainFindings is how many chain findings the header lists.
const maxChainFindings = 20

func (b *pageBuilder) chain() chainView {
	a := b.l.audit
	if a == nil {
		return chainView{}
	}
	v := chainView{Given: true, Verdict: "PASS", Path: b.opts.Lint.Audit}
	listed := 0
	for _, rep := range a.reports {
		c := chainLine{Files: strings.Join(rep.Files, ", "), Records: rep.Records, Alg: string(rep.Alg), OK: rep.OK()}
		if rep.Head != nil {
			c.Head = strconv.FormatUint(rep.Head.Seq, 10) + ":" + rep.Head.Hash
		}
		if !rep.OK() {
			v.Verdict = "FAIL"
		}
		for _, f := range rep.Findings {
			if listed == maxChainFindings {
				v.More++
				continue
			}
			listed++
			c.Findings = append(c.Findings, f.String())
		}
		v.More += rep.Suppressed
		v.Chains = append(v.Chains, c)
	}
	return v
}

// lintView is the lint's verdict and coverage as the header shows them.
type lintView struct {
	Verdict                    string
	Errors, Warnings           int
	Suppressed, Unlisted       int
	Coverage                   []string
	Listed, Elsewhere, NotKept int
}

func (b *pageBuilder) lintView() lintView {
	t := b.res.Totals
	return lintView{Verdict: b.res.Verdict(), Errors: t.Errors, Warnings: t.Warnings, Suppressed: t.Suppressed, Unlisted: t.Unlisted,
		Coverage: CoverageLines(b.res), Listed: len(b.data.Findings), Elsewhere: b.data.FindingsElsewhere, NotKept: b.l.notKept}
}
