package chain

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/brain-dev/brain/internal/fsutil"
)

// input is one file of a chain as verification sees it.
type input struct {
	name string
	r    io.Reader
	// size is the number of bytes r holds, or 0 when unknown.
	size int64
	// missingBefore names files of the chain known to be missing before it.
	missingBefore []string
	// missingAfter names the chain's active file when it is missing after
	// this file, the last one found.
	missingAfter string
	// f is the file r reads, when it is one: a large file is mapped instead
	// of read.
	f *os.File
	// fi is the file's identity and size as snapshotted under the chain's
	// lock. A file snapshotted but not open (f nil) is opened when its turn
	// comes, and must still be the same file.
	fi os.FileInfo
}

// snapshotFile stats the chain file at path for verification: its size and
// identity. With open, the file is also opened now: the active file, which a
// rotation may rename once the lock is released. The others (rotated files
// do not change) are opened one at a time when verified, so a chain of
// thousands of files needs no more descriptors than one of two.
func snapshotFile(path string, open bool) (input, error) {
	in := input{name: path}
	var err error
	if open {
		// A regular file only: a named pipe planted here must not block.
		if in.f, err = fsutil.Open(path); err != nil {
			return in, err
		}
		in.fi, err = in.f.Stat()
	} else {
		in.fi, err = os.Stat(path)
	}
	if err == nil && in.fi.IsDir() {
		err = errors.New("is a directory")
	}
	if err != nil {
		in.close()
		return in, err
	}
	in.size = in.fi.Size()
	if in.f != nil {
		in.r = io.NewSectionReader(in.f, 0, in.size)
	}
	return in, nil
}

// open opens in's file when it was snapshotted but not opened.
func (in *input) open() error {
	if in.f != nil || in.fi == nil {
		return nil
	}
	// A rotated file is the chain's own: a link there is not followed.
	f, err := fsutil.OpenFile(in.name, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return &ReadError{Path: in.name, Err: err}
	}
	fi, err := f.Stat()
	if err == nil && !os.SameFile(fi, in.fi) {
		err = errors.New("the file was replaced while the chain was being verified")
	}
	if err != nil {
		f.Close()
		return &ReadError{Path: in.name, Err: err}
	}
	in.f, in.r = f, io.NewSectionReader(f, 0, in.size)
	return nil
}

// close closes in's file, if verification opened it.
func (in *input) close() {
	if in.f != nil && in.fi != nil {
		in.f.Close()
		in.f = nil
	}
}

func closeInputs(ins []input) {
	for i := range ins {
		ins[i].close()
	}
}

// snapshotChain snapshots the chain ending in the file at path: path and
// the rotated files its headers name, back to index 0, oldest first. Only a
// file that does not exist (ENOENT) is missing; any other error (too many
// open files, a loop of links, ...) is a ReadError, never a finding. When
// path is a chain's active file and does not exist but rotated files of it
// do (a rotation cut short, or the file deleted), the chain ends in the
// newest of them and the active file is reported missing.
func snapshotChain(path string) ([]input, error) {
	last, err := snapshotFile(path, true)
	if errors.Is(err, os.ErrNotExist) && activeName(path) == path {
		if rotated, _ := rotatedFiles(path); len(rotated) > 0 {
			ins, err := snapshotChain(rotated[len(rotated)-1])
			if err == nil {
				ins[len(ins)-1].missingAfter = path
			}
			return ins, err
		}
	}
	if err != nil {
		return nil, &ReadError{Path: path, Err: err}
	}
	ins := []input{last}
	line, err := readFirstLine(last.f)
	if err != nil {
		return ins, nil
	}
	h, _, err := parseHeader(line)
	if err != nil {
		return ins, nil
	}
	// Walk back through the rotated files named in each header.
	for idx := h.Index - 1; idx >= 0; idx-- {
		prev := RotatedName(activeName(path), idx)
		in, err := snapshotFile(prev, false)
		switch {
		case errors.Is(err, os.ErrNotExist):
			ins[0].missingBefore = append([]string{prev}, ins[0].missingBefore...)
		case err != nil:
			closeInputs(ins)
			return nil, &ReadError{Path: prev, Err: err}
		default:
			ins = append([]input{in}, ins...)
		}
	}
	return ins, nil
}

// verifyPaths verifies paths as one chain; missing[i] names the files known
// to be missing before paths[i].
func verifyPaths(ctx context.Context, paths []string, missing map[int][]string, opts VerifyOptions) (*Report, error) {
	var ins []input
	unlock := func() {}
	if len(paths) > 0 {
		unlock = lockShared(activeName(paths[len(paths)-1]))
	}
	for i, p := range paths {
		in, err := snapshotFile(p, i == len(paths)-1)
		if err != nil {
			unlock()
			closeInputs(ins)
			return nil, &ReadError{Path: p, Err: err}
		}
		in.missingBefore = missing[i]
		ins = append(ins, in)
	}
	unlock()
	return verify(ctx, ins, opts)
}

// lockShared takes a shared lock on the chain's lock file, when it exists,
// so that file sizes are snapshotted between appends, never during one.
func lockShared(active string) func() {
	f, err := fsutil.OpenFile(active+".lock", os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return func() {}
	}
	fsutil.Lock(f, fsutil.Shared)
	return func() {
		fsutil.Unlock(f)
		f.Close()
	}
}
