// Package fsutil holds the file-system primitives that the audit chain, the
// spans file and the state store share: durable directory entries and file
// locks that survive signals.
package fsutil

import (
	"os"

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
