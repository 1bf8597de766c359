package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Verification reads every byte it checks through a source, one file of
// the chain at a time, oldest first: the local file system (VerifyFile,
// VerifyFiles, VerifyChain), with the chain's shared lock and the checks of
// package fsutil, or any fs.FS (VerifyFS): an unpacked or zipped copy of
// the evidence, an embedded one, a copy fetched from elsewhere.
// VerifyReader reads a single file from a stream (stdin). What the
// pipeline sees of a file is an io.Reader, and for a large local file its
// mapping.
type source interface {
	// snapshot stats the file at name for verification: its size and
	// identity. newest marks the chain's newest file, which the local file
	// system opens at once: a rotation may rename it once the lock is
	// released. Only a file that does not exist is an error wrapping
	// fs.ErrNotExist.
	snapshot(name string, newest bool) (input, error)
	// open opens in's file when its turn comes, if snapshot did not, and
	// checks that it is still the file snapshotted.
	open(in *input) error
	// firstLine reads the first line of in's file, the newest, without
	// its newline.
	firstLine(in *input) ([]byte, error)
	// rotated lists the rotated files of the chain whose active file is
	// name, oldest first.
	rotated(name string) ([]string, error)
	// lockShared takes the chain's shared lock, where it has one (writers
	// take it exclusively for each append), and returns its release.
	lockShared(active string) (unlock func())
}

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
	// f is the local file r reads, when it is one: a large file is mapped
	// instead of read.
	f localFile
	// closer closes what verification opened for r.
	closer io.Closer
	// fi is the file's identity and size as snapshotted (under the chain's
	// lock). A file snapshotted but not open is opened by src when its
	// turn comes, and must still be the same file.
	fi  fs.FileInfo
	src source
}

// A localFile is a file of the local file system open for verification:
// an *os.File or an *fsutil.ReadOnlyFile.
type localFile interface {
	io.ReaderAt
	Fd() uintptr
}

// open opens in's file when it was snapshotted but not opened.
func (in *input) open() error {
	if in.r != nil || in.src == nil {
		return nil
	}
	if err := in.src.open(in); err != nil {
		return &ReadError{Path: in.name, Err: err}
	}
	return nil
}

// close closes in's file, if verification opened it.
func (in *input) close() {
	if in.closer != nil {
		in.closer.Close()
	}
	in.closer, in.f, in.r = nil, nil, nil
}

func closeInputs(ins []input) {
	for i := range ins {
		ins[i].close()
	}
}

// snapshotChain snapshots the chain ending in the file name of src: name
// and the rotated files its headers name, back to index 0, oldest first.
// Only a file that does not exist is missing; any other error (too many
// open files, a loop of links, ...) is a ReadError, never a finding. When
// name is a chain's active file and does not exist but rotated files of it
// do (a rotation cut short, or the file deleted), the chain ends in the
// newest of them and the active file is reported missing.
func snapshotChain(src source, name string) ([]input, error) {
	last, err := src.snapshot(name, true)
	if errors.Is(err, fs.ErrNotExist) && activeName(name) == name {
		if rotated, _ := src.rotated(name); len(rotated) > 0 {
			ins, err := snapshotChain(src, rotated[len(rotated)-1])
			if err == nil {
				ins[len(ins)-1].missingAfter = name
			}
			return ins, err
		}
	}
	if err != nil {
		return nil, &ReadError{Path: name, Err: err}
	}
	ins := []input{last}
	line, err := src.firstLine(&last)
	if err != nil {
		return ins, nil
	}
	h, _, err := parseHeader(line)
	if err != nil {
		return ins, nil
	}
	// Walk back through the rotated files named in each header, newest
	// first (the list is put in order at the end: a chain may have
	// thousands of files).
	var missing []string // missing before ins[len(ins)-1], newest first
	for idx := h.Index - 1; idx >= 0; idx-- {
		prev := RotatedName(activeName(name), idx)
		in, err := src.snapshot(prev, false)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, prev)
		case err != nil:
			closeInputs(ins)
			return nil, &ReadError{Path: prev, Err: err}
		default:
			slices.Reverse(missing)
			ins[len(ins)-1].missingBefore = missing
			missing = nil
			ins = append(ins, in)
		}
	}
	slices.Reverse(missing)
	ins[len(ins)-1].missingBefore = missing
	slices.Reverse(ins)
	return ins, nil
}

// verifyChainOf verifies the chain ending in the file name of src, holding
// the chain's shared lock while it is snapshotted when lock is set (a
// caller that holds the exclusive lock passes false).
func verifyChainOf(ctx context.Context, src source, name string, opts VerifyOptions, lock bool) (*Report, error) {
	unlock := func() {}
	if lock {
		unlock = src.lockShared(activeName(name))
	}
	ins, err := snapshotChain(src, name)
	unlock()
	if err != nil {
		return nil, err
	}
	return verify(ctx, ins, opts)
}

// verifyPaths verifies the local files paths as one chain; missing[i] names
// the files known to be missing before paths[i].
func verifyPaths(ctx context.Context, paths []string, missing map[int][]string, opts VerifyOptions) (*Report, error) {
	var src localFS
	var ins []input
	unlock := func() {}
	if len(paths) > 0 {
		unlock = src.lockShared(activeName(paths[len(paths)-1]))
	}
	for i, p := range paths {
		in, err := src.snapshot(p, i == len(paths)-1)
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

// localFS is the local file system, named by the system's paths. Its files
// are opened through fsutil: regular files only, never blocking on a named
// pipe or a device; the newest file as named (a link the caller names is
// followed), the rotated files, which are the chain's own, without
// following a link, and each must still be the file snapshotted under the
// chain's lock.
type localFS struct{}

func (localFS) snapshot(path string, newest bool) (input, error) {
	in := input{name: path, src: localFS{}}
	var err error
	if newest {
		var f *os.File
		if f, err = fsutil.Open(path); err != nil {
			return in, err
		}
		in.f, in.closer = f, f
		in.fi, err = f.Stat()
	} else {
		in.fi, err = os.Stat(path)
	}
	switch {
	case err != nil:
	case in.fi.IsDir():
		err = errors.New("is a directory")
	case !in.fi.Mode().IsRegular():
		// A rotated file that is a named pipe or a device is refused
		// before open touches it.
		err = &fsutil.NotRegularError{Path: path, Type: in.fi.Mode().Type()}
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

// open opens a rotated file when its turn comes: snapshot stat'ed it
// (anything but a regular file is refused there, before it is opened), the open refuses a link and anything but a
// regular file, and its one fstat must find the file snapshotted. A
// chain of thousands of rotated files is opened with two system calls a
// file (fsutil.OpenReadOnly).
func (localFS) open(in *input) error {
	f, err := fsutil.OpenReadOnly(in.name)
	if err != nil {
		return err
	}
	if !f.SameFile(in.fi) {
		f.Close()
		return errors.New("the file was replaced while the chain was being verified")
	}
	in.f, in.closer, in.r = f, f, io.NewSectionReader(f, 0, in.size)
	return nil
}

func (localFS) firstLine(in *input) ([]byte, error) {
	return readFirstLine(io.NewSectionReader(in.f, 0, in.size))
}

func (localFS) rotated(name string) ([]string, error) { return rotatedFiles(name) }

// lockShared takes a shared lock on the chain's lock file, when it exists
// and the system has such locks (not Windows, where nothing appends), so
// that file sizes are snapshotted between appends, never during one. It
// creates nothing: verification must work on a read-only copy.
func (localFS) lockShared(active string) func() {
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

// fsysSource is an fs.FS, named by its slash-separated paths. What it
// holds is a copy that nothing appends to: there is no lock. A file is
// refused unless fs.Stat says it is a regular file, before it is opened
// (an fs.FS over the local disk may follow links and block on a named
// pipe; VerifyFile never does), and it must still have the size
// snapshotted when its turn comes.
type fsysSource struct{ fsys fs.FS }

func (s fsysSource) snapshot(name string, _ bool) (input, error) {
	in := input{name: name, src: s}
	fi, err := fs.Stat(s.fsys, name)
	if err == nil && !fi.Mode().IsRegular() {
		err = &fsutil.NotRegularError{Path: name, Type: fi.Mode().Type()}
	}
	if err != nil {
		return in, err
	}
	in.fi, in.size = fi, fi.Size()
	return in, nil
}

func (s fsysSource) open(in *input) error {
	f, err := s.fsys.Open(in.name)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = &fsutil.NotRegularError{Path: in.name, Type: fi.Mode().Type()}
	case fi.Size() != in.size:
		err = fmt.Errorf("the file's size changed from %d to %d bytes while the chain was being verified", in.size, fi.Size())
	}
	if err != nil {
		f.Close()
		return err
	}
	in.closer, in.r = f, io.LimitReader(f, in.size)
	if of, ok := f.(*os.File); ok {
		in.f, in.r = of, io.NewSectionReader(of, 0, in.size)
	}
	return nil
}

func (s fsysSource) firstLine(in *input) ([]byte, error) {
	f, err := s.fsys.Open(in.name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readFirstLine(f)
}

func (s fsysSource) rotated(name string) ([]string, error) {
	dir := path.Dir(name)
	ents, err := fs.ReadDir(s.fsys, dir)
	if err != nil {
		return nil, err
	}
	return rotatedIn(ents, path.Base(name), func(n string) string { return path.Join(dir, n) }), nil
}

func (fsysSource) lockShared(string) func() { return func() {} }
