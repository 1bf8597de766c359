// Package fsutil holds the file-system primitives that the audit chain, the
// spans file and the state store share: opening a file that must be a
// regular file (never blocking on a pipe or a device, optionally never
// following a link), durable directory entries, and advisory file locks
// that survive signals.
//
// Each primitive has one portable signature; what it does underneath is
// per operating system family, in build-tagged files: *_unix.go for Linux,
// macOS and the BSDs (open(2) with O_NOFOLLOW and O_NONBLOCK, flock(2),
// fsync(2) of directories), *_windows.go for Windows (CreateFile with
// FILE_FLAG_OPEN_REPARSE_POINT, no locks, no directory sync). What each
// guarantees where is in the doc comment of the portable function.
package fsutil

import (
	"errors"
	"os"
	"path/filepath"
)

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

// SyncDir makes the entries created, renamed or removed in the directory
// dir durable: it fsyncs the directory on Unix. On Windows it does nothing:
// a directory cannot be flushed through the Windows API, and NTFS journals
// its directory entries itself.
func SyncDir(dir string) error { return syncDir(dir) }

// LockKind says whether a lock is shared (readers) or exclusive (a writer).
type LockKind int

// Lock kinds.
const (
	Shared LockKind = iota
	Exclusive
)

// Lock takes an advisory lock of kind k on the whole of the open file f,
// waiting for it (flock(2), retried when a signal interrupts the wait). The
// lock belongs to the open file: it is released by Unlock, by closing f, or
// by the kernel when the process dies, however it dies. On Windows there are
// no such locks: Lock returns an error wrapping errors.ErrUnsupported.
func Lock(f *os.File, k LockKind) error { return lock(f, k, false) }

// Unlock releases the lock Lock took on f.
func Unlock(f *os.File) error { return unlock(f) }

// TryLock takes an exclusive, non-blocking lock of the file at path
// (created 0600 if absent) and returns its release. It returns an error
// wrapping ErrLocked when another open file description holds the lock. The
// kernel drops the lock when the process dies, however it dies. A symbolic
// link or anything but a regular file at path is refused (OpenFile).
func TryLock(path string) (release func(), err error) {
	f, err := OpenFile(path, os.O_RDWR|os.O_CREATE|NoFollow, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lock(f, Exclusive, true); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	return func() { f.Close() }, nil
}
