//go:build !unix

package state

// freeBytes reports that the free space is unknown on this system.
func freeBytes(path string) (uint64, bool) { return 0, false }
