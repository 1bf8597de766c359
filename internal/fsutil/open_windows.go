package fsutil

import (
	"errors"
	"os"
	"syscall"
)

// NoFollow, in OpenFile's flag, refuses a symbolic link as the last element
// of the path: FILE_FLAG_OPEN_REPARSE_POINT, which os.OpenFile hands to
// CreateFile, so that a link is opened itself and then refused.
const NoFollow = syscall.FILE_FLAG_OPEN_REPARSE_POINT

// errReplaced reports a file that is not the one at its path once opened.
var errReplaced = errors.New("the file at this path changed while it was being opened")

func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(path, fi.Mode())
	}
	if err == nil && flag&NoFollow != 0 {
		// The file held must be the one at path, not one reached
		// through a link.
		if now, lerr := os.Lstat(path); lerr != nil || !os.SameFile(now, fi) {
			err = &os.PathError{Op: "open", Path: path, Err: errReplaced}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// roFile is a ReadOnlyFile's open file and its Stat.
type roFile struct {
	*os.File
	fi os.FileInfo
}

func openReadOnly(path string) (*ReadOnlyFile, error) {
	f, err := openFile(path, os.O_RDONLY|NoFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &ReadOnlyFile{roFile: roFile{f, fi}, name: path, size: fi.Size()}, nil
}

// SameFile reports whether fi, from os.Stat or os.Lstat, describes the
// file f is open on.
func (f *ReadOnlyFile) SameFile(fi os.FileInfo) bool { return os.SameFile(f.fi, fi) }
