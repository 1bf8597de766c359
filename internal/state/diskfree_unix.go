//go:build unix

package state

import "golang.org/x/sys/unix"

// freeBytes returns the bytes available to unprivileged users on the file
// system that holds path.
func freeBytes(path string) (uint64, bool) {
	var st unix.Statfs_t
	if unix.Statfs(path, &st) != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
