package tracelint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Spilling: past Options.SpillAfter spans, the linter stops holding spans
// in memory and writes what the end-of-input rules need of each span (a
// compact record: ids, parent, name, flags, place, its audit write and the
// findings it waits for) to fanOut partition files, by a hash of its trace
// id. At the end of the input each partition is read back alone and linted
// as the in-memory linter lints the whole input: a trace is always whole in
// one partition, so parents, roots and the command of a span resolve as in
// memory. A partition over the budget is split again, with another hash,
// until it fits or holds a single trace (which is then read whole: the
// bound is the biggest trace, not the input). The findings are the same,
// listed in the same order (findKey).

// DefaultSpillAfter is how many spans the linter holds in memory before it
// spills them to disk: about 30 MB of span index.
const DefaultSpillAfter = 100_000

// fanOut is how many partitions a spill (or a partition over the budget) is
// cut into.
const fanOut = 64

// SpillError reports that the spill files could not be written or read
// back (a full disk, an unwritable --tmp-dir).
type SpillError struct {
	Dir string
	Err error
}

func (e *SpillError) Error() string {
	return fmt.Sprintf("spilling spans to %s: %v", e.Dir, e.Err)
}
func (e *SpillError) Unwrap() error { return e.Err }

// spillRec is what a partition file holds of a span.
type spillRec struct {
	ord    int64 // the span's place in the input
	key    spanKey
	parent pcommon.SpanID
	line   int64
	file   int32
	flags  uint8
	name   string
	// deferred: the span was read after spilling began, so whether it is
	// a duplicate is decided when its partition is read, and its findings
	// (and its duplicate-span finding, at dupKey) wait until then.
	deferred bool
	dupKey   int64
	write    *writeRef
	findings []Finding // of the span, with their keys (pending ones marked by span = 1)
	// detail is what tree draws of the span, and the batch it was read in
	// (tree and the report of every trace; its genai and data, which the
	// report reads again, are not spilled).
	detail *spanDetail
}

// spiller writes partition files in a private directory.
type spiller struct {
	dir   string
	seeds []maphash.Seed // the hash of each level of partitions
	parts []*part        // the first level
	n     int            // files made, for their names
	buf   []byte
}

// part is one partition file, made when its first span is written and
// unlinked as soon as it is made, so that it goes with the process
// whatever ends it.
type part struct {
	f     *os.File // nil: no span
	w     *bufio.Writer
	spans int
	path  []int // its place: the partition of each level
	// trace is the first span's trace; mixed is set once a span of another
	// trace is written: only a mixed partition can be split.
	trace pcommon.TraceID
	mixed bool
}

// newSpiller makes the spill directory (mode 0700) in dir (os.TempDir()
// when empty) and the first level's partitions.
func newSpiller(dir string) (*spiller, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	d, err := os.MkdirTemp(dir, "brain-trace-lint-")
	if err != nil {
		return nil, &SpillError{Dir: dir, Err: unwrapPath(err)}
	}
	s := &spiller{dir: d}
	if s.parts, err = s.split(nil); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// split makes the fanOut partitions of the level below path.
func (s *spiller) split(path []int) ([]*part, error) {
	for len(s.seeds) <= len(path) {
		s.seeds = append(s.seeds, maphash.MakeSeed())
	}
	parts := make([]*part, fanOut)
	for i := range parts {
		parts[i] = &part{path: append(append([]int(nil), path...), i)}
	}
	return parts, nil
}

// create makes a new file in the spill directory: O_EXCL and NoFollow, so
// that nothing planted there is followed or reused; then unlinks it.
func (s *spiller) create() (*os.File, error) {
	s.n++
	name := filepath.Join(s.dir, fmt.Sprintf("part-%d", s.n))
	f, err := fsutil.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|fsutil.NoFollow, 0o600)
	if err != nil {
		return nil, &SpillError{Dir: s.dir, Err: unwrapPath(err)}
	}
	// Windows cannot remove a file that is open: there the files go with
	// the directory, when the lint ends.
	if err := os.Remove(name); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return nil, &SpillError{Dir: s.dir, Err: unwrapPath(err)}
	}
	return f, nil
}

// close closes every partition still open and removes the directory.
func (s *spiller) close() {
	for _, p := range s.parts {
		p.close()
	}
	os.RemoveAll(s.dir)
}

// partOf is the partition of trace id at a level.
func (s *spiller) partOf(id pcommon.TraceID, level int) int {
	return int(maphash.Bytes(s.seeds[level], id[:]) % fanOut)
}

func (p *part) close() {
	if p.f != nil {
		p.f.Close()
	}
}

// put writes r to its partition among parts (of level).
func (s *spiller) put(parts []*part, level int, r *spillRec) error {
	p := parts[s.partOf(r.key.trace, level)]
	if p.f == nil {
		f, err := s.create()
		if err != nil {
			return err
		}
		p.f, p.w, p.trace = f, bufio.NewWriterSize(f, 32<<10), r.key.trace
	}
	p.mixed = p.mixed || r.key.trace != p.trace
	s.buf = r.append(s.buf[:0])
	if _, err := p.w.Write(s.buf); err != nil {
		return &SpillError{Dir: s.dir, Err: unwrapPath(err)}
	}
	p.spans++
	return nil
}

// rewind flushes p and goes back to its start, for reading.
func (s *spiller) rewind(p *part) (*bufio.Reader, error) {
	if p.f == nil {
		return bufio.NewReader(bytes.NewReader(nil)), nil
	}
	if err := p.w.Flush(); err != nil {
		return nil, &SpillError{Dir: s.dir, Err: unwrapPath(err)}
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return nil, &SpillError{Dir: s.dir, Err: unwrapPath(err)}
	}
	p.w = nil
	return bufio.NewReaderSize(p.f, 32<<10), nil
}

// unwrapPath drops the path of a *PathError: the spill directory is named
// once, by SpillError.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Record encoding: varints, and strings as a length and their bytes.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

const (
	recDeferred = 1 << iota
	recWrite
	recDetail
)

func (r *spillRec) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(r.ord))
	b = append(b, r.key.trace[:]...)
	b = append(b, r.key.span[:]...)
	b = append(b, r.parent[:]...)
	b = binary.AppendUvarint(b, uint64(r.line))
	b = binary.AppendUvarint(b, uint64(r.file))
	var rf byte
	if r.deferred {
		rf |= recDeferred
	}
	if r.write != nil {
		rf |= recWrite
	}
	if r.detail != nil {
		rf |= recDetail
	}
	b = append(b, r.flags, rf)
	b = appendString(b, r.name)
	if r.deferred {
		b = binary.AppendUvarint(b, uint64(r.dupKey))
	}
	if r.write != nil {
		b = binary.AppendVarint(b, r.write.seq)
		b = appendString(b, r.write.hash)
		b = appendString(b, r.write.eventType)
	}
	if d := r.detail; d != nil {
		b = binary.AppendUvarint(b, d.start)
		b = binary.AppendUvarint(b, d.end)
		b = appendString(b, d.session)
		b = appendString(b, d.status)
		b = appendString(b, d.command)
		b = appendString(b, d.exit)
		b = binary.AppendUvarint(b, uint64(d.batch))
		b = binary.AppendUvarint(b, uint64(len(d.keys)))
		for _, k := range d.keys {
			b = appendString(b, k)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(r.findings)))
	for _, f := range r.findings {
		b = append(b, byte(f.span), byte(f.Severity))
		b = binary.AppendUvarint(b, uint64(f.key[0]))
		b = binary.AppendUvarint(b, uint64(f.key[1]))
		b = appendString(b, f.Rule)
		b = appendString(b, f.Attr)
		b = appendString(b, f.Message)
	}
	return b
}

// recReader decodes the records of a partition file.
type recReader struct {
	r   *bufio.Reader
	err error
	buf []byte
	// strs interns the strings read (names, rules, messages repeat),
	// up to maxInterned of them.
	strs map[string]string
}

const maxInterned = 4096

func (d *recReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	d.err = err
	return v
}

func (d *recReader) bytes(p []byte) {
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, p)
	}
}

func (d *recReader) byte() byte {
	if d.err != nil {
		return 0
	}
	c, err := d.r.ReadByte()
	d.err = err
	return c
}

func (d *recReader) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if uint64(cap(d.buf)) < n {
		d.buf = make([]byte, n)
	}
	p := d.buf[:n]
	d.bytes(p)
	if s, ok := d.strs[string(p)]; ok {
		return s
	}
	s := string(p)
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	if len(d.strs) < maxInterned {
		d.strs[s] = s
	}
	return s
}

// next decodes the next record into r; it returns false at the end of the
// file (d.err is then nil) or on an error.
func (d *recReader) next(r *spillRec) bool {
	if _, err := d.r.Peek(1); err == io.EOF {
		return false
	}
	*r = spillRec{ord: int64(d.uvarint()), findings: r.findings[:0]}
	d.bytes(r.key.trace[:])
	d.bytes(r.key.span[:])
	d.bytes(r.parent[:])
	r.line = int64(d.uvarint())
	r.file = int32(d.uvarint())
	r.flags = d.byte()
	rf := d.byte()
	r.name = d.string()
	if rf&recDeferred != 0 {
		r.deferred = true
		r.dupKey = int64(d.uvarint())
	}
	if rf&recWrite != 0 && d.err == nil {
		w := &writeRef{}
		w.seq, d.err = binary.ReadVarint(d.r)
		w.hash = d.string()
		w.eventType = d.string()
		r.write = w
	}
	if rf&recDetail != 0 {
		sd := &spanDetail{start: d.uvarint(), end: d.uvarint(), session: d.string(), status: d.string(), command: d.string(), exit: d.string(), batch: int64(d.uvarint())}
		// A key is at least its length's byte: a count past what is left
		// of the file fails at its first missing key, not in make.
		for k := d.uvarint(); k > 0 && d.err == nil; k-- {
			sd.keys = append(sd.keys, d.string())
		}
		r.detail = sd
	}
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		f := Finding{span: int(d.byte())}
		f.Severity = Severity(d.byte())
		f.key = findKey{int64(d.uvarint()), int64(d.uvarint())}
		f.Rule = d.string()
		f.Attr = d.string()
		f.Message = d.string()
		r.findings = append(r.findings, f)
	}
	if d.err == io.EOF {
		d.err = io.ErrUnexpectedEOF
	}
	return d.err == nil
}

// maySpill reports whether l may spill: the report draws from every span,
// and a scenario's shape is built from the whole input (golden scenarios
// are small), so they hold the spans in memory; tree --trace holds only
// the spans of that trace.
func (l *linter) maySpill() bool {
	return (!l.keep || l.reportAll) && l.opts.Scenario == nil && l.onlyTrace == ""
}

// startSpill makes the spill files and moves the spans held so far into
// them (their findings are already counted: only the pending opt-in
// content ones go with them).
func (l *linter) startSpill() error {
	s, err := newSpiller(l.opts.TmpDir)
	if err != nil {
		return err
	}
	l.spill = s
	// The report of every trace reads its spans' data again, by group:
	// what it made of them so far is dropped.
	l.dropData.Store(true)
	l.origins, l.kept, l.notKept = nil, 0, 0
	pending, writes := l.pending, l.writes
	for i := range l.nodes {
		n := &l.nodes[i]
		r := spillRec{ord: int64(i), key: n.key, parent: n.parent, line: n.line, file: n.file, flags: n.flags, name: l.nameOf(n)}
		if l.tree || l.reportAll {
			r.detail = l.details[i]
		}
		for len(pending) > 0 && pending[0].span == i {
			f := pending[0]
			f.span = 1
			r.findings = append(r.findings, f)
			pending = pending[1:]
		}
		if len(writes) > 0 && writes[0].node == i {
			r.write = &writes[0]
			writes = writes[1:]
		}
		if err := s.put(s.parts, 0, &r); err != nil {
			return err
		}
	}
	l.spilled = int64(len(l.nodes))
	l.nodes, l.index, l.pending, l.writes, l.details = nil, nil, nil, nil, nil
	return nil
}

// spillBatch writes a batch's spans to the partitions. Whether a span is a
// duplicate is decided when its partition is read: its findings wait in
// its record till then (the findings of no span are counted now).
func (l *linter) spillBatch(b *batch, out *batchOut, base int64) error {
	per := make([][]Finding, len(out.spans))
	for _, f := range out.findings {
		if f.span < 0 {
			l.found.add(f)
			continue
		}
		i := f.span
		f.span = 0
		if !l.found.listed(f.Rule, f.key) {
			// Listed already are as many findings of the rule as are
			// listed, all found before it: it can only be counted.
			f = Finding{Rule: f.Rule, Severity: f.Severity, key: f.key}
		}
		per[i] = append(per[i], f)
	}
	for _, f := range out.pending {
		i := f.span
		f.span = 1
		per[i] = append(per[i], f)
	}
	st := &l.stats[b.file]
	for i := range out.spans {
		r := &out.spans[i]
		st.Spans++
		rec := spillRec{ord: l.spilled, key: r.key, parent: r.parent, line: r.line, file: int32(b.file), flags: r.flags, name: r.name,
			deferred: true, dupKey: base + int64(i), write: r.write, findings: per[i], detail: r.detail}
		l.spilled++
		if err := l.spill.put(l.spill.parts, 0, &rec); err != nil {
			return err
		}
	}
	return nil
}

// closeSpill removes the spill files, if any.
func (l *linter) closeSpill() {
	if l.spill != nil {
		l.spill.close()
	}
}

// spillSums are the figures summed over the partitions.
type spillSums struct {
	traces, spans int
	cov           Coverage
}

// finishSpilled runs the end-of-input rules partition by partition.
func (l *linter) finishSpilled(ctx context.Context) (traces, spans int, cov Coverage, err error) {
	s := l.spill
	sums := &spillSums{cov: Coverage{CriticalPath: map[string]int{}}}
	recs := make([][]int32, fanOut)
	if a := l.audit; a != nil {
		sums.cov.Audit = &AuditCoverage{Records: len(a.records)}
		// A record that names a span goes with its trace's partition;
		// one that names none is checked once.
		none := []int32{}
		for i, r := range a.records {
			if r.hasSpan && !r.badIDs {
				p := s.partOf(r.key.trace, 0)
				recs[p] = append(recs[p], int32(i))
			} else {
				none = append(none, int32(i))
			}
		}
		l.checkRecords(none)
	}
	lint := func(sub *linter, recs []int32) error {
		if l.pick != nil {
			for _, t := range sub.traces() {
				l.pick.offer(sub, t)
			}
		}
		sums.traces += sub.checkGraph()
		sums.spans += len(sub.nodes)
		sub.checkOptIn()
		if recs == nil {
			recs = []int32{} // not nil: nil is every record
		}
		if sub.audit != nil {
			sub.checkRecords(recs)
			sub.checkAuditSpans()
		}
		sub.addCoverage(&sums.cov, recs)
		return nil
	}
	for i, p := range s.parts {
		if err := l.eachPart(ctx, p, recs[i], lint); err != nil {
			return 0, 0, Coverage{}, err
		}
		recs[i] = nil
	}
	return sums.traces, sums.spans, sums.cov, nil
}

// eachPart calls fn with a linter holding the spans of partition p (and
// the audit records of recs, those naming a span of its traces), whose
// findings go to l's. A partition over the budget is split by another hash
// first, unless it holds a single trace: fn is then called for each part.
func (l *linter) eachPart(ctx context.Context, p *part, recs []int32, fn func(sub *linter, recs []int32) error) error {
	defer p.close()
	if err := ctx.Err(); err != nil {
		return err
	}
	s := l.spill
	rd, err := s.rewind(p)
	if err != nil {
		return err
	}
	d := &recReader{r: rd}
	var rec spillRec
	if p.mixed && p.spans > l.opts.SpillAfter {
		level := len(p.path)
		parts, err := s.split(p.path)
		if err != nil {
			return err
		}
		defer func() {
			for _, c := range parts {
				c.close()
			}
		}()
		for d.next(&rec) {
			if err := s.put(parts, level, &rec); err != nil {
				return err
			}
		}
		if d.err != nil {
			return &SpillError{Dir: s.dir, Err: d.err}
		}
		p.close()
		for _, c := range parts {
			var sub []int32
			for _, i := range recs {
				if s.partOf(l.audit.records[i].key.trace, level) == c.path[level] {
					sub = append(sub, i)
				}
			}
			if err := l.eachPart(ctx, c, sub, fn); err != nil {
				return err
			}
		}
		return nil
	}
	sub := &linter{opts: l.opts, dict: l.dict, ins: l.ins, found: l.found, audit: l.audit, stats: l.stats,
		index: make(map[spanKey]int32, p.spans), nameIdx: map[string]int32{},
		nodes: make([]node, 0, p.spans), ords: make([]int64, 0, p.spans)}
	for d.next(&rec) {
		if rec.deferred {
			if first, dup := sub.index[rec.key]; dup {
				r := spanRec{key: rec.key, line: rec.line, name: rec.name}
				l.found.add(l.dupFinding(int(rec.file), &r, rec.dupKey, &sub.nodes[first]))
				l.stats[rec.file].Spans--
				continue
			}
		}
		idx := len(sub.nodes)
		sub.index[rec.key] = int32(idx)
		sub.nodes = append(sub.nodes, node{key: rec.key, parent: rec.parent, line: rec.line, name: sub.intern(rec.name), file: rec.file, flags: rec.flags})
		sub.ords = append(sub.ords, rec.ord)
		if rec.detail != nil {
			sub.details = append(sub.details, rec.detail)
		}
		if rec.write != nil {
			w := *rec.write
			w.node = idx
			sub.writes = append(sub.writes, w)
		}
		for _, f := range rec.findings {
			pending := f.span == 1
			f.File, f.Line, f.Span, f.file, f.span = l.ins[rec.file].Name, rec.line, rec.name, int(rec.file), idx
			if pending || l.found.listed(f.Rule, f.key) {
				f.TraceID, f.SpanID = hex.EncodeToString(rec.key.trace[:]), hex.EncodeToString(rec.key.span[:])
			}
			if pending {
				sub.pending = append(sub.pending, f)
			} else {
				l.found.add(f)
			}
		}
	}
	if d.err != nil {
		return &SpillError{Dir: s.dir, Err: d.err}
	}
	l.held = max(l.held, len(sub.nodes))
	return fn(sub, recs)
}
