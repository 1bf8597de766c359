//go:build unix

package fsutil

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// NoFollow, in OpenFile's flag, refuses a symbolic link as the last element
// of the path: O_NOFOLLOW.
const NoFollow = unix.O_NOFOLLOW

func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	fd, _, err := openRegular(path, flag, perm)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openRegular opens path non-blocking and returns its descriptor and
// fstat, refusing a link (with NoFollow) and anything but a regular file.
func openRegular(path string, flag int, perm os.FileMode) (int, *unix.Stat_t, error) {
	fd, err := openNonblock(path, flag, perm)
	if err != nil {
		switch {
		case flag&NoFollow != 0 && errors.Is(err, unix.ELOOP):
			if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return -1, nil, &SymlinkError{Path: path}
			}
		case errors.Is(err, unix.ENXIO):
			// A socket (or a pipe opened for writing with no reader).
			if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
				return -1, nil, &NotRegularError{Path: path, Type: fi.Mode().Type()}
			}
		}
		return -1, nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := checkRegular(path, modeOf(uint32(st.Mode))); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, &st, nil
}

// roFile is a ReadOnlyFile's descriptor and identity.
type roFile struct {
	fd       int
	dev, ino uint64
}

func openReadOnly(path string) (*ReadOnlyFile, error) {
	fd, st, err := openRegular(path, os.O_RDONLY|NoFollow, 0)
	if err != nil {
		return nil, err
	}
	return &ReadOnlyFile{roFile: roFile{fd: fd, dev: uint64(st.Dev), ino: uint64(st.Ino)}, name: path, size: st.Size}, nil
}

// ReadAt reads len(p) bytes at off with pread(2), as io.ReaderAt does.
func (f *ReadOnlyFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Pread(f.fd, p[n:], off+int64(n))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return n, &os.PathError{Op: "read", Path: f.name, Err: err}
		case m == 0:
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// Fd returns the file's descriptor (to map it).
func (f *ReadOnlyFile) Fd() uintptr { return uintptr(f.fd) }

// Close closes the file.
func (f *ReadOnlyFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}

// SameFile reports whether fi, from os.Stat or os.Lstat, describes the
// file f is open on (its device and inode).
func (f *ReadOnlyFile) SameFile(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == f.dev && uint64(st.Ino) == f.ino
}

func openNonblock(path string, flag int, perm os.FileMode) (int, error) {
	for {
		fd, err := unix.Open(path, flag|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// modeOf converts a stat(2) mode to an fs.FileMode's type bits. (Its width
// differs between systems: 32 bits on Linux, 16 on macOS and the BSDs.)
func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	}
	return fs.ModeDevice
}
