package fastpath

import (
	"os"
)

// A Mapping is a file mapped into memory, read-only: on the machines
// measured, mapping and touching the pages of a file in the page cache
// costs a quarter of copying it with read (BENCHMARKS.md). The mapping
// covers the size given to Map; if the file shrinks below that while it is
// mapped, an access to a page past its new end faults, which the caller
// must catch (debug.SetPanicOnFault). Mapping is for Linux, macOS and the
// BSDs; elsewhere Map says it is not supported and the caller reads.
type Mapping struct {
	data []byte
	// released is how much of data's start has been released: whole
	// pages, no longer mapped.
	released int
}

// A File is an open file that can be mapped: an *os.File, or any other
// with its descriptor.
type File interface{ Fd() uintptr }

// Map maps the first size bytes of f, or returns an error.
func Map(f File, size int64) (*Mapping, error) {
	data, err := mmap(f, size)
	if err != nil {
		return nil, err
	}
	return &Mapping{data: data}, nil
}

// Bytes returns the mapped bytes; those before what Release let go may no
// longer be read.
func (m *Mapping) Bytes() []byte { return m.data }

// Release lets go of the whole pages of the mapping before off, which will
// not be read again: they stay in the page cache but no longer count in
// the process's memory, so that reading a file of any size holds only the
// part in flight. Offsets only grow.
func (m *Mapping) Release(off int64) {
	page := os.Getpagesize()
	if end := int(min(off, int64(len(m.data)))) / page * page; end > m.released {
		release(m.data[m.released:end])
		m.released = end
	}
}

// Close unmaps the file.
func (m *Mapping) Close() error { return munmap(m.data) }
