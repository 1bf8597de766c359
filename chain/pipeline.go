package chain

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"unicode/utf8"

	"github.com/brain-dev/brain/chain/internal/fastpath"
)

// lineStatus is what a worker found about one line.
type lineStatus uint8

const (
	lineOK lineStatus = iota
	lineMismatch
	lineMalformed
	lineLayout    // a record not in the canonical form whose hash matches
	lineLayoutBad // not in the canonical form and hash mismatch (re-serialised)
	lineTorn
	lineOversize
)

type lineInfo struct {
	off      int64
	line     int64
	seq      uint64
	prev     Digest
	hash     Digest
	computed Digest
	status   lineStatus
	header   bool
	// msg is 1 + the index in its job's msgs of what is wrong with the
	// line, or 0. (lineInfo holds no pointer, so the garbage collector
	// never scans the results, a few MiB per job.)
	msg int32
}

type job struct {
	data      []byte
	off, line int64
	// next is where in data the lines not yet processed begin.
	next    int
	alg     Alg
	special *lineInfo // an oversize line found by the reader, or a torn one
	// unterminated: data is the final line of the file, which has no
	// newline, with one added.
	unterminated bool
	out          []lineInfo
	msgs         []string // the lines' messages (lineInfo.msg)
	done         chan struct{}
}

// setMsg gives li, a line of j, the message m, cut to maxMsg bytes.
func (j *job) setMsg(li *lineInfo, m string) {
	j.msgs = append(j.msgs, shorten(m))
	li.msg = int32(len(j.msgs))
}

// maxMsg bounds a finding's detail: a message that quotes the input (a
// header's unknown field, say) never repeats a hostile megabyte.
const maxMsg = 512

// shorten cuts m to at most maxMsg bytes, at a character boundary.
func shorten(m string) string {
	if len(m) <= maxMsg {
		return m
	}
	cut := maxMsg
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + "…"
}

// msgOf returns the message of li, a line of j.
func (j *job) msgOf(li *lineInfo) string {
	if li.msg == 0 {
		return ""
	}
	return j.msgs[li.msg-1]
}

const chunkSize = 4 << 20

// run pipelines the rest of a file through the workers.
func (s *sequencer) run(parent context.Context, name string, br *chunkReader, alg Alg, workers int, last bool) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	jobs := make(chan *job)
	order := make(chan *job, 2*workers) // workers <= maxWorkers: bounded memory
	var wg sync.WaitGroup
	var fault faultCatcher
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer fault.catch(cancel)
			debug.SetPanicOnFault(true)
			h, fs := s.lineTools(alg)
			for j := range jobs {
				j.process(h, fs)
				close(j.done)
			}
		}()
	}
	var readErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(order)
		defer close(jobs)
		defer fault.catch(cancel)
		debug.SetPanicOnFault(true)
		for {
			j, err := br.next()
			if j != nil {
				j.alg, j.done = alg, make(chan struct{})
				if j.special != nil {
					close(j.done)
				}
				select {
				case order <- j:
				case <-ctx.Done():
					return
				}
				if j.special == nil {
					select {
					case jobs <- j:
					case <-ctx.Done():
						return
					}
				}
			}
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				return
			}
		}
	}()
	// Line numbers are counted here, in order, not by the reader: line 1
	// is the header, and each job holds len(out) lines (a special job one).
	base := int64(2)
loop:
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			break loop
		}
		if err := catchFault(func() { s.consume(name, j, &base, last); s.feed(j) }); err != nil {
			fault.mu.Lock()
			fault.err = cmp.Or(fault.err, err)
			fault.mu.Unlock()
			break loop
		}
		br.release(j)
	}
	cancel()
	<-readerDone
	wg.Wait()
	switch {
	case fault.err != nil:
		return &ReadError{Path: name, Err: fault.err}
	case readErr != nil:
		return &ReadError{Path: name, Err: readErr}
	}
	return parent.Err()
}

// runHere verifies the rest of a file that is in memory and one chunk at
// most (a small file, read whole or mapped) on this goroutine: its lines
// are processed as the sequencer takes them, in order.
func (s *sequencer) runHere(ctx context.Context, name string, br *chunkReader, alg Alg, last bool) error {
	base := int64(2)
	var err error
	ferr := catchFault(func() {
		for err == nil {
			var j *job
			j, err = br.next()
			if j != nil {
				j.alg = alg
				s.consume(name, j, &base, last)
				s.feed(j)
				br.release(j)
			}
		}
	})
	switch {
	case ferr != nil:
		return &ReadError{Path: name, Err: ferr}
	case err != io.EOF:
		return &ReadError{Path: name, Err: err}
	}
	return ctx.Err()
}

// consume applies the in-order checks to the lines of j, the next job of
// the file name, whose first line is line *base, and advances *base past
// them. Lines of j not yet processed (all of them when no worker took j,
// the rest when they were more than a job holds results for) are processed
// here, with the sequencer's own line tools.
func (s *sequencer) consume(name string, j *job, base *int64, last bool) {
	if j.unterminated && !wholeObject(j.data[:len(j.data)-1]) {
		// Part of a record: a write was cut. (Were it tampering, the
		// chain before it still verifies, as after a clean cut.)
		j.special = &lineInfo{off: j.off, status: lineTorn}
		if !last {
			j.special.status = lineMalformed
			j.setMsg(j.special, "the file ends mid-line (no newline) but is not the last file of the chain")
		}
	}
	if j.special == nil && j.next == 0 {
		j.process(s.tools(j.alg))
	}
	switch {
	case j.special != nil:
		s.rep.Bytes += int64(len(j.data))
		if j.unterminated {
			s.rep.Bytes--
		}
		j.special.line = *base
		*base++
		s.line(name, j.special, j.msgOf(j.special))
	case j.unterminated:
		// A whole record without its newline is checked as any record
		// (so an edited last record is tampered, not torn).
		s.rep.Bytes += int64(len(j.data)) - 1
		li := &j.out[0]
		li.line += *base
		*base++
		s.line(name, li, j.msgOf(li))
		s.missingNewline(name, li)
	default:
		s.rep.Bytes += int64(len(j.data))
		for {
			for i := range j.out {
				j.out[i].line += *base
				s.line(name, &j.out[i], j.msgOf(&j.out[i]))
			}
			*base += int64(len(j.out))
			if j.next == len(j.data) {
				break
			}
			// More lines than a job holds results for: the rest of the
			// chunk is processed here, in order.
			j.process(s.tools(j.alg))
		}
	}
}

// lineTools returns a digester and a fast-path scratch (nil when the fast
// path does not run) for one goroutine that processes lines; with the slow
// test hook, the reference digester and no fast path.
func (s *sequencer) lineTools(alg Alg) (*digester, *fastScratch) {
	if s.slow {
		return newReferenceDigester(alg), nil
	}
	if !fastpath.Available() {
		return newDigester(alg), nil
	}
	return newDigester(alg), newFastScratch(alg)
}

// maxJobLines bounds the lines a job holds results for (a lineInfo is 128
// bytes, and a line may be one byte). A chunk of records, 257 bytes each at
// the least, never reaches it; a chunk of short junk lines does, and the
// sequencer then processes the rest of that chunk itself, maxJobLines lines
// at a time: memory stays bounded whatever the lines, and time linear.
const maxJobLines = 16384

// process parses and hashes the lines of the job from data[j.next] on, at
// most maxJobLines of them, on the fast path (fs) where it can. It leaves
// j.next at the first line it did not process.
func (j *job) process(h *digester, fs *fastScratch) {
	data := j.data
	pos := j.next
	off, ln := j.off+int64(pos), j.line
	out := j.out[:0]
	j.msgs = j.msgs[:0]
	var r record
	if fs != nil {
		fs.reset(data, pos)
	}
	for pos < len(data) && len(out) < maxJobLines {
		if fs != nil {
			// A clean line's first dirty byte is its newline.
			if e := fs.nextDirty(pos); e < len(data) && data[e] == '\n' {
				// Two clean lines in a row are hashed together.
				if fs.pair != nil && len(out)+2 <= maxJobLines {
					if e2 := fs.nextDirty(e + 1); e2 < len(data) && data[e2] == '\n' {
						out = append(out, lineInfo{off: off, line: ln}, lineInfo{off: off + int64(e-pos+1), line: ln + 1})
						if fs.verifyPair(data, pos, e, e2, &out[len(out)-2], &out[len(out)-1]) {
							off += int64(e2 - pos + 1)
							ln += 2
							pos = e2 + 1
							continue
						}
						out = out[:len(out)-2]
					}
				}
				out = append(out, lineInfo{off: off, line: ln})
				if fs.verifyLine(h, data, pos, e, &out[len(out)-1]) {
					off += int64(e - pos + 1)
					ln++
					pos = e + 1
					continue
				}
				out = out[:len(out)-1]
			}
			fs.forget()
		}
		i := bytes.IndexByte(data[pos:], '\n')
		line := data[pos : pos+i]
		out = append(out, lineInfo{off: off, line: ln})
		li := &out[len(out)-1]
		off += int64(i + 1)
		ln++
		pos += i + 1
		if len(line)+1 > MaxRecordSize {
			li.status = lineMalformed
			j.setMsg(li, fmt.Sprintf("line of %d bytes is over the %d-byte limit", len(line)+1, MaxRecordSize))
		} else if pe := parseRecord(line, &r); pe != nil && !pe.layoutOnly {
			li.status = lineMalformed
			j.setMsg(li, pe.msg)
		} else {
			li.seq, li.prev, li.hash = r.seq, r.prev, r.hash
			li.computed = h.entry(r.entry, &r.prev)
			li.header = bytes.Equal(r.typ, []byte(`"`+HeaderType+`"`))
			switch {
			case pe != nil && li.computed == li.hash:
				li.status = lineLayout
				j.setMsg(li, "valid hash, but "+pe.msg)
			case pe != nil:
				li.status = lineLayoutBad
				j.setMsg(li, pe.msg)
			case li.computed != li.hash:
				li.status = lineMismatch
			}
		}
	}
	j.out, j.next = out, pos
}

var (
	errNoNewline      = errors.New("no newline")
	errHeaderOversize = errors.New("header line over the size limit")
)

// chunkReader cuts a stream into chunks of whole lines.
type chunkReader struct {
	r       io.Reader
	bufSize int // capacity of new buffers
	carry   []byte
	off     int64 // offset of carry[0]
	eof     bool
	free    chan []byte
	outs    chan []lineInfo
	skip    bool // discarding the rest of an oversize line
	// mp is the mapped file, when it is mapped, and m its bytes; the next
	// chunk starts at m[off] (the mapping starts at offset 0). The pages
	// before the chunks in flight are released as they are verified.
	mp *fastpath.Mapping
	m  []byte
}

// firstLine reads the header line. It returns errNoNewline when the stream
// ends before a newline, io.EOF for an empty stream.
func (c *chunkReader) firstLine() ([]byte, error) {
	if c.m != nil {
		return c.firstLineMapped()
	}
	buf := make([]byte, 0, min(64<<10, c.bufSize))
	for {
		if i := bytes.IndexByte(buf[:min(len(buf), MaxRecordSize)], '\n'); i >= 0 {
			line := append([]byte(nil), buf[:i]...)
			c.carry = append(make([]byte, 0, max(c.bufSize, len(buf))), buf[i+1:]...)
			c.off = int64(i + 1)
			return line, nil
		}
		if len(buf) >= MaxRecordSize {
			// No header: the records after the first line are still
			// checked, from its newline on.
			c.carry = make([]byte, 0, max(c.bufSize, len(buf)))
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				c.carry = append(c.carry, buf[i+1:]...)
				c.off = int64(i + 1)
			} else {
				c.off, c.skip = int64(len(buf)), true
			}
			return nil, errHeaderOversize
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			c.eof = true
			if len(buf) == 0 {
				return nil, io.EOF
			}
			if len(buf) < MaxRecordSize && bytes.IndexByte(buf, '\n') < 0 {
				c.carry, c.off = nil, int64(len(buf))
				return buf, errNoNewline
			}
			// The end came with the last bytes (a reader may return
			// both from one call): the loop takes the line, and next
			// the lines after it.
			continue
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *chunkReader) release(j *job) {
	if j.out != nil {
		select {
		case c.outs <- j.out[:0]:
		default:
		}
	}
	if j.data != nil && cap(j.data) >= chunkSize && c.m == nil {
		select {
		case c.free <- j.data[:0]:
		default:
		}
	}
	switch {
	case c.mp == nil:
	case j.special != nil:
		c.mp.Release(j.special.off)
	default:
		c.mp.Release(j.off + int64(len(j.data)))
	}
}

// getOut returns a result slice with room for the lines of a chunk of
// size bytes: one per 256 bytes (a record is longer), at most maxJobLines.
func (c *chunkReader) getOut(size int) []lineInfo {
	n := min(size/256+1, maxJobLines)
	select {
	case o := <-c.outs:
		if cap(o) >= n {
			return o
		}
	default:
	}
	return make([]lineInfo, 0, n)
}

func (c *chunkReader) getBuf() []byte {
	select {
	case b := <-c.free:
		return b
	default:
		return make([]byte, 0, c.bufSize)
	}
}

// next returns the next chunk of whole lines, or a special job for a torn or
// oversize line.
func (c *chunkReader) next() (*job, error) {
	if c.m != nil {
		return c.nextMapped()
	}
	for {
		if c.eof {
			// The stream has ended: carry holds its last bytes. The
			// rest of an oversize line goes, then the whole lines in
			// one job, then the final line, which has no newline.
			if c.skip {
				k := bytes.IndexByte(c.carry, '\n')
				if k < 0 {
					c.carry = nil
					return nil, io.EOF
				}
				c.off += int64(k + 1)
				c.carry = c.carry[k+1:]
				c.skip = false
			}
			if i := bytes.LastIndexByte(c.carry, '\n'); i >= 0 {
				data := c.carry[:i+1]
				j := &job{data: data, off: c.off, out: c.getOut(len(data))}
				c.off += int64(len(data))
				c.carry = c.carry[i+1:]
				return j, nil
			}
			if len(c.carry) == 0 {
				c.carry = nil
				return nil, io.EOF
			}
			j := c.finalLine(c.carry, c.off)
			c.carry = nil
			return j, io.EOF
		}
		if i := bytes.LastIndexByte(c.carry, '\n'); i >= 0 && (len(c.carry) >= chunkSize || c.full()) {
			if c.skip {
				k := bytes.IndexByte(c.carry, '\n')
				c.off += int64(k + 1)
				c.carry = append(c.carry[:0], c.carry[k+1:]...)
				c.skip = false
				continue
			}
			data := c.carry[:i+1]
			rest := c.getBuf()
			rest = append(rest, c.carry[i+1:]...)
			j := &job{data: data, off: c.off, out: c.getOut(len(data))}
			c.off += int64(len(data))
			c.carry = rest
			return j, nil
		}
		if !bytes.Contains(c.carry, []byte{'\n'}) && len(c.carry) > MaxRecordSize {
			var j *job
			if !c.skip {
				j = oversizeJob(c.off)
				c.skip = true
			}
			c.off += int64(len(c.carry))
			c.carry = c.carry[:0]
			if j != nil {
				return j, nil
			}
		}
		if c.carry == nil {
			c.carry = c.getBuf()
		}
		if len(c.carry) == cap(c.carry) {
			c.carry = append(c.carry, 0)[:len(c.carry)]
		}
		n, err := c.r.Read(c.carry[len(c.carry):cap(c.carry)])
		c.carry = c.carry[:len(c.carry)+n]
		if err == io.EOF {
			c.eof = true
			continue
		}
		if err != nil {
			return nil, err
		}
	}
}

// finalLine returns the job of b, the file's final line, at off, which has
// no newline: a copy of it with one added, marked unterminated, or the
// oversize job when it is over the size limit.
func (c *chunkReader) finalLine(b []byte, off int64) *job {
	if len(b) >= MaxRecordSize {
		return oversizeJob(off)
	}
	data := append(append(make([]byte, 0, len(b)+1), b...), '\n')
	return &job{data: data, off: off, out: c.getOut(len(data)), unterminated: true}
}

// oversizeJob is the special job of a line at off that is over the size
// limit and has no newline within it.
func oversizeJob(off int64) *job {
	j := &job{special: &lineInfo{off: off, status: lineOversize}}
	j.setMsg(j.special, fmt.Sprintf("line is over the %d-byte limit", MaxRecordSize))
	return j
}

// full reports whether carry has no room for another read.
func (c *chunkReader) full() bool { return len(c.carry) >= chunkSize }
