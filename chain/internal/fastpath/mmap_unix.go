//go:build unix

package fastpath

import (
	"errors"

	"golang.org/x/sys/unix"
)

func mmap(f File, size int64) ([]byte, error) {
	if int64(int(size)) != size || size <= 0 {
		return nil, errors.New("fastpath: no mapping of this size")
	}
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}

func munmap(b []byte) error { return unix.Munmap(b) }

func release(b []byte) { unix.Madvise(b, unix.MADV_DONTNEED) }
