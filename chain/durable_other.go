//go:build unix && !linux

package chain

import "os"

// datasync makes f's data durable: (*os.File).Sync, which on macOS is
// fcntl(F_FULLFSYNC), so that the drive's own cache is flushed too (fsync
// there only reaches the drive), falling back to fsync on a file system
// without it, such as SMB; on the BSDs it is fsync(2). They have no
// fdatasync that is worth its difference.
func datasync(f *os.File) error { return f.Sync() }

// writable reports whether this system can append to a chain: macOS and
// the BSDs can, with flock and the sync above.
func writable() error { return nil }

// hasWriteback says whether startWriteback does anything here.
const hasWriteback = false

// startWriteback does nothing here: these systems have no sync_file_range;
// the sync at the end writes everything.
func startWriteback(uintptr, int64, int64) {}
