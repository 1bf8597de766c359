package chain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/brain-dev/brain/chain/internal/fastpath"
)

// Large local files are mapped rather than read (fastpath.Map, where the
// system can): no copy, and the pages of what was verified are let go as
// verification moves on. The mapping covers the size snapshotted at the
// start, like the reader; if the file shrinks below that while it is
// verified (a repair, an edit), the access to a page past its new end
// faults, and the fault becomes a ReadError instead of a crash.

// mapMin is the smallest file that is mapped.
const mapMin = 1 << 20

// mapFile maps in's file, or returns nil when it is not a large local file
// or cannot be mapped (it is then read). min overrides mapMin when not 0.
func mapFile(in *input, min int64) *fastpath.Mapping {
	if min == 0 {
		min = mapMin
	}
	if in.f == nil || min < 0 || in.size < min {
		return nil
	}
	m, err := fastpath.Map(in.f, in.size)
	if err != nil {
		return nil
	}
	return m
}

// errFault reports an access to a mapped page that is no longer backed by
// the file.
var errFault = errors.New("the file shrank while it was being verified")

// faultCatcher turns a memory fault on a mapped file, in any goroutine that
// touches the mapping, into an error.
type faultCatcher struct {
	mu  sync.Mutex
	err error
}

// catch must be deferred by a goroutine that has called
// debug.SetPanicOnFault(true); it re-panics anything but a memory fault.
func (f *faultCatcher) catch(cancel func()) {
	if r := recover(); r != nil {
		f.record(r)
		cancel()
	}
}

// record keeps the first memory fault r reports, and re-panics r when it is
// not one.
func (f *faultCatcher) record(r any) {
	e, ok := r.(interface{ Addr() uintptr })
	if !ok {
		panic(r)
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = fmt.Errorf("%w (fault at address %#x)", errFault, e.Addr())
	}
	f.mu.Unlock()
}

// catchFault runs fn, which touches a mapping, on this goroutine and
// returns a memory fault it met as an error.
func catchFault(fn func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			var f faultCatcher
			f.record(r)
			err = f.err
		}
	}()
	fn()
	return nil
}

// firstLineMapped is firstLine for a mapped file.
func (c *chunkReader) firstLineMapped() (line []byte, err error) {
	if ferr := catchFault(func() { line, err = c.firstLineOfMapping() }); ferr != nil {
		return nil, ferr
	}
	return line, err
}

func (c *chunkReader) firstLineOfMapping() ([]byte, error) {
	m := c.m
	if i := bytes.IndexByte(m[:min(len(m), MaxRecordSize)], '\n'); i >= 0 {
		c.off = int64(i + 1)
		return append([]byte(nil), m[:i]...), nil
	}
	if len(m) >= MaxRecordSize {
		c.off, c.skip = MaxRecordSize, true
		return nil, errHeaderOversize
	}
	c.off, c.eof = int64(len(m)), true
	return append([]byte(nil), m...), errNoNewline
}

// nextMapped is next for a mapped file: chunks are slices of the mapping,
// cut after a newline, with no copy.
func (c *chunkReader) nextMapped() (*job, error) {
	for {
		rest := c.m[c.off:]
		if len(rest) == 0 {
			return nil, io.EOF
		}
		if c.skip {
			k := bytes.IndexByte(rest, '\n')
			if k < 0 {
				c.off = int64(len(c.m))
				return nil, io.EOF
			}
			c.off += int64(k + 1)
			c.skip = false
			continue
		}
		window := rest[:min(len(rest), chunkSize)]
		if i := bytes.LastIndexByte(window, '\n'); i >= 0 {
			j := &job{data: rest[: i+1 : i+1], off: c.off, out: c.getOut(i + 1)}
			c.off += int64(i + 1)
			return j, nil
		}
		if len(window) > MaxRecordSize {
			c.skip = true
			return oversizeJob(c.off), nil
		}
		// The rest of the file is one line with no newline.
		j := c.finalLine(rest, c.off)
		c.off = int64(len(c.m))
		return j, io.EOF
	}
}
