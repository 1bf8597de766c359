package chain

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync makes f's data durable: fdatasync(2), which skips the metadata
// a read does not need (the modification time), retried when a signal
// interrupts it.
func datasync(f *os.File) error {
	for {
		if err := unix.Fdatasync(int(f.Fd())); err != unix.EINTR {
			return err
		}
	}
}

// hasWriteback says whether startWriteback does anything here.
const hasWriteback = true

// startWriteback starts writing the n bytes of the file fd at off to the
// disk and returns without waiting for them: sync_file_range with
// SYNC_FILE_RANGE_WRITE, so that the sync that makes them durable later has
// little left to do. Only the WRITE flag is passed: the WAIT flags would
// consume a write-back error (the file's error sequence) that the later
// fdatasync must report. Its own error is ignored for the same reason: that
// sync reports what failed.
func startWriteback(fd uintptr, off, n int64) {
	unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// writable reports whether this system can append to a chain: Linux can.
func writable() error { return nil }
