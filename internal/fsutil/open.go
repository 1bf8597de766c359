package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OpenFile is os.OpenFile for a file that must be a regular file. It never
// blocks on a named pipe or a device, and anything but a regular file is
// refused with a *NotRegularError before a byte is read or written. With
// NoFollow in flag, a symbolic link at path is refused with a *SymlinkError:
// the link's target is never opened or created. perm is the mode of a file
// O_CREATE creates.
//
// How, per system:
//   - Unix (Linux, macOS, the BSDs): the path is stat'ed first, then opened
//     O_NONBLOCK|O_NOCTTY (an open of a FIFO without a writer would block;
//     this one returns at once) and, with NoFollow, O_NOFOLLOW, which the
//     kernel applies atomically; the open file is fstat'ed and refused
//     unless it is a regular file, and only then made blocking again.
//   - Windows: the file system holds no FIFOs (pipes live in their own
//     namespace), but a path can name a device (CON, NUL, COM1) or a pipe
//     (\\.\pipe\x), which the check of the open handle refuses before
//     anything is read. NoFollow is FILE_FLAG_OPEN_REPARSE_POINT: CreateFile
//     opens a link itself rather than its target, and the handle is refused
//     as a *SymlinkError; as a second line, the file opened must be the file
//     os.Lstat finds at path afterwards (os.SameFile), or it is refused.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	stat := os.Stat
	if flag&NoFollow != 0 {
		stat = os.Lstat
	}
	if fi, err := stat(path); err == nil {
		if err := checkRegular(path, fi.Mode()); err != nil {
			return nil, err
		}
	}
	return openFile(path, flag, perm)
}

// Open opens the regular file at path for reading, following a symbolic
// link: OpenFile(path, os.O_RDONLY, 0).
func Open(path string) (*os.File, error) { return OpenFile(path, os.O_RDONLY, 0) }

// ReadFile reads the regular file at path (a symbolic link is followed when
// follow is set), never blocking on a named pipe or a device.
func ReadFile(path string, follow bool) ([]byte, error) {
	flag := os.O_RDONLY
	if !follow {
		flag |= NoFollow
	}
	f, err := OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func checkRegular(path string, m fs.FileMode) error {
	switch {
	case m&fs.ModeSymlink != 0:
		return &SymlinkError{Path: path}
	case !m.IsRegular():
		return &NotRegularError{Path: path, Type: m.Type()}
	}
	return nil
}

// SymlinkError reports a symbolic link where a file or directory of one's
// own was expected: it is not followed.
type SymlinkError struct{ Path string }

func (e *SymlinkError) Error() string { return fmt.Sprintf("%q %s", e.Path, e.Reason()) }

// Reason is the message without the path.
func (e *SymlinkError) Reason() string { return "is a symbolic link, which is not followed" }

// NotRegularError reports a named pipe, socket, device or directory where a
// regular file was expected: it is not opened (a pipe would block the
// reader forever).
type NotRegularError struct {
	Path string
	Type fs.FileMode // the type bits: fs.ModeNamedPipe, fs.ModeDir, ...
}

func (e *NotRegularError) Error() string { return fmt.Sprintf("%q %s", e.Path, e.Reason()) }

// Reason is the message without the path.
func (e *NotRegularError) Reason() string { return "is " + TypeName(e.Type) + ", not a regular file" }

// WithoutPath returns err without the path it names, for a caller whose own
// message names it: the cause of an *fs.PathError, and for a *SymlinkError
// or *NotRegularError an error with its Reason as message that unwraps to
// it. Other errors are returned as they are.
func WithoutPath(err error) error {
	var (
		se *SymlinkError
		ne *NotRegularError
		pe *fs.PathError
	)
	switch {
	case errors.As(err, &se):
		return &reasonError{se.Reason(), err}
	case errors.As(err, &ne):
		return &reasonError{ne.Reason(), err}
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}

type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.err }

// TypeName names a file type in words: "a named pipe (FIFO)", "a directory".
func TypeName(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

// MkdirAllIn creates the directory root/rel and every missing directory
// between, mode 0700, without following a symbolic link below root: an
// element of rel that is a link, or anything but a directory, is refused
// (*SymlinkError, *NotRegularError), and so is an existing directory that
// group or others may access (*ModeError). root itself is taken as it is.
func MkdirAllIn(root, rel string) error {
	dir := root
	for _, elem := range splitPath(rel) {
		dir = filepath.Join(dir, elem)
		err := os.Mkdir(dir, 0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(dir)
		if err != nil {
			return err
		}
		if err := CheckDir(dir, fi); err != nil {
			return err
		}
	}
	return nil
}

// CheckDir checks that fi, the Lstat of path, is a directory that neither
// group nor others may access.
func CheckDir(path string, fi fs.FileInfo) error {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return &SymlinkError{Path: path}
	case !m.IsDir():
		return &NotRegularError{Path: path, Type: m.Type()}
	case m.Perm()&0o077 != 0:
		return &ModeError{Path: path, Mode: m}
	}
	return nil
}

func splitPath(rel string) []string {
	rel = filepath.ToSlash(filepath.Clean(rel))
	if rel == "." {
		return nil
	}
	return strings.Split(rel, "/")
}

// ModeError reports a file or directory whose permissions let group or
// others in where only the owner may be: with Writable, write access, else
// any access.
type ModeError struct {
	Path     string
	Mode     fs.FileMode
	Writable bool
}

func (e *ModeError) Error() string {
	what := "accessible to"
	if e.Writable {
		what = "writable by"
	}
	return fmt.Sprintf("%q is %s group or others (mode %04o)", e.Path, what, uint32(e.Mode.Perm()))
}

// Hint says how to fix the mode.
func (e *ModeError) Hint() string {
	if e.Mode.IsDir() {
		return "chmod 700 " + e.Path
	}
	return "chmod 600 " + e.Path
}

// A ReadOnlyFile is a regular file opened for reading by OpenReadOnly. It
// is lighter than an *os.File where that matters, on Unix a bare
// descriptor read with pread(2): verifying a chain of thousands of small
// rotated files opens each once.
type ReadOnlyFile struct {
	roFile
	name string
	size int64
}

// Name returns the path the file was opened by.
func (f *ReadOnlyFile) Name() string { return f.name }

// Size returns the file's size when it was opened.
func (f *ReadOnlyFile) Size() int64 { return f.size }

// OpenReadOnly opens the regular file at path for reading, without
// following a symbolic link at path (*SymlinkError) and never blocking on a
// named pipe or a device: it is OpenFile(path, os.O_RDONLY|NoFollow, 0)
// with fewer system calls, for a caller that has just stat'ed path
// (os.Stat or os.Lstat) and refused anything but a regular file, and that
// compares the file opened with what it stat'ed (ReadOnlyFile.SameFile).
// The check before the open is then the caller's; the checks of the file
// opened are the same: anything but a regular file is refused with a
// *NotRegularError before a byte is read.
//
// On Unix that is open(2) with O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC and
// one fstat(2) for the type, size and identity; the descriptor stays
// non-blocking, which changes nothing for a regular file (open(2): the
// flag has no effect on regular files). On Windows it is OpenFile and Stat.
func OpenReadOnly(path string) (*ReadOnlyFile, error) { return openReadOnly(path) }
