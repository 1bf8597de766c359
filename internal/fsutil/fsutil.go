// Package fsutil holds the file-system primitives that the audit chain, the
// spans file and the state store share: durable directory entries and file
// locks that survive signals.
package fsutil

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// SyncDir fsyncs the directory dir, making entries created, renamed or
// removed in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Flock applies flock(2) operation how to fd, retrying when a signal
// interrupts the wait.
func Flock(fd uintptr, how int) error {
	for {
		if err := unix.Flock(int(fd), how); err != unix.EINTR {
			return err
		}
	}
}

// WriteFileAtomic replaces the file at path with b, atomically and durably:
// WriteTemp, then CommitTemp. On error path is unchanged.
func WriteFileAtomic(path string, b []byte, perm os.FileMode) error {
	tmp, err := WriteTemp(path, b, perm)
	if err != nil {
		return err
	}
	return CommitTemp(tmp, path)
}

// WriteTemp writes b to a new hidden temporary file next to path (named
// .BASE.tmp-*, mode perm), syncs it and returns its name; CommitTemp puts it
// in place. Written aside first, a file can appear at path in one rename
// after something else (an audit record, a commit) has happened. On error
// nothing is left behind.
func WriteTemp(path string, b []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// CommitTemp renames tmp, from WriteTemp, to path and syncs the directory;
// if the rename fails tmp is removed.
func CommitTemp(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// ErrLocked reports that TryLock found the lock held by someone else.
var ErrLocked = errors.New("locked by another process")

// TryLock takes an exclusive, non-blocking flock of the file at path
// (created 0600 if absent) and returns its release. It returns an error
// wrapping ErrLocked when another open file description holds the lock. The
// kernel drops the lock when the process dies, however it dies. A symbolic
// link or anything but a regular file at path is refused (OpenFile).
func TryLock(path string) (release func(), err error) {
	f, err := OpenFile(path, os.O_RDWR|os.O_CREATE|NoFollow, 0o600)
	if err != nil {
		return nil, err
	}
	if err := Flock(f.Fd(), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &os.PathError{Op: "lock", Path: path, Err: ErrLocked}
		}
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
