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
// a temporary file in the same directory is written and synced, renamed
// over path, and the directory is synced. On error path is unchanged.
func WriteFileAtomic(path string, b []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = SyncDir(dir)
	}
	return err
}

// ErrLocked reports that TryLock found the lock held by someone else.
var ErrLocked = errors.New("locked by another process")

// TryLock takes an exclusive, non-blocking flock of the file at path
// (created 0600 if absent) and returns its release. It returns an error
// wrapping ErrLocked when another open file description holds the lock. The
// kernel drops the lock when the process dies, however it dies.
func TryLock(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
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
