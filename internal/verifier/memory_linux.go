package verifier

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// mmapMemory is a guest's linear memory outside the Go heap, in an address
// range reserved whole when the memory is created (inaccessible, so it
// costs no memory) and made readable and writable as the guest grows into
// it. Growing never copies and leaves no garbage for the Go collector, and
// the guest's memory counts once, exactly, against the sandbox's memory
// limit: the kernel counts the writable part toward RLIMIT_DATA, so a grow
// past the sandbox's limit fails as memory.grow's -1. (With wazero's
// default, a Go slice grown by copying, a guest that grew its memory page
// by page to 64 MiB left its sandbox at 292 MiB of resident memory.)
type mmapMemory struct {
	reserved []byte // the whole range
	size     int    // bytes made accessible
	failed   *atomic.Bool
	total    *atomic.Int64
}

// memoryAllocator returns the allocator of the guest's linear memories; it
// sets failed when the kernel refuses one, and keeps in total the bytes
// they have made writable.
func memoryAllocator(failed *atomic.Bool, total *atomic.Int64) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(_, maxBytes uint64) experimental.LinearMemory {
		m := &mmapMemory{failed: failed, total: total}
		// wazero has checked maxBytes against the check's memory limit.
		b, err := unix.Mmap(-1, 0, int(max(maxBytes, 65536)), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
		if err != nil {
			failed.Store(true)
			return m
		}
		m.reserved = b
		return m
	})
}

// Reallocate makes the first size bytes accessible and returns them, or
// nil when the range is too small or the kernel refuses the memory.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.reserved)) {
		if size > 0 {
			m.failed.Store(true)
		}
		return nil
	}
	if n := int(size); n > m.size {
		if err := unix.Mprotect(m.reserved[m.size:n], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			m.failed.Store(true)
			return nil
		}
		m.total.Add(int64(n - m.size))
		m.size = n
	}
	return m.reserved[:size:size]
}

// Free releases the range.
func (m *mmapMemory) Free() {
	if m.reserved != nil {
		unix.Munmap(m.reserved)
		m.total.Add(-int64(m.size))
		m.reserved, m.size = nil, 0
	}
}
