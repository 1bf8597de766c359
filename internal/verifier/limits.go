package verifier

import (
	"fmt"
	"time"
)

// Limits bound one check. A zero field means "use the default".
type Limits struct {
	// Timeout is the wall time a check may take: validating, compiling (or
	// loading from the cache), instantiating and running its module.
	Timeout time.Duration
	// MemoryPages is the most linear memory a check may have, in 64 KiB
	// pages. Its sandbox process may use SandboxOverhead more, in all.
	MemoryPages uint32
	// MaxModuleBytes is the largest module accepted.
	MaxModuleBytes int64
	// MaxOutputBytes caps stdout and stderr, each.
	MaxOutputBytes int64
}

// DefaultLimits returns the limits of a check that sets none: 10 s, 1024
// pages (64 MiB) of memory, 32 MiB of module and 64 KiB of each output.
func DefaultLimits() Limits {
	return Limits{
		Timeout:        10 * time.Second,
		MemoryPages:    1024,
		MaxModuleBytes: 32 << 20,
		MaxOutputBytes: 64 << 10,
	}
}

// Or returns l with each zero field taken from def.
func (l Limits) Or(def Limits) Limits {
	if l.Timeout == 0 {
		l.Timeout = def.Timeout
	}
	if l.MemoryPages == 0 {
		l.MemoryPages = def.MemoryPages
	}
	if l.MaxModuleBytes == 0 {
		l.MaxModuleBytes = def.MaxModuleBytes
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = def.MaxOutputBytes
	}
	return l
}

// SandboxOverhead is the memory a check's sandbox process may use besides
// its linear memory: the Go runtime, wazero, the compiler's work and the
// compiled code, the check's tables, stacks and other structures. With the
// default 64 MiB of linear memory, a sandbox may use 448 MiB in all; what
// it does not use for linear memory, the rest may.
const SandboxOverhead = 384 << 20

// sandboxFiles bounds the files a sandbox process may hold open: the
// artifact files a check opens, the cache's and its own.
const sandboxFiles = 1024

// sandboxMemory is the memory limit (RLIMIT_DATA) of the sandbox of a check
// whose linear memory may have pages pages.
func sandboxMemory(pages uint32) uint64 {
	return SandboxOverhead + uint64(pages)*65536
}

// MaxMemoryPages is the most memory a WebAssembly 1.0 module can address.
const MaxMemoryPages = 65536

// Validate reports a limit that is negative or out of range.
func (l Limits) Validate() error {
	switch {
	case l.Timeout < 0:
		return fmt.Errorf("timeout %v is negative", l.Timeout)
	case l.MemoryPages > MaxMemoryPages:
		return fmt.Errorf("memory_pages %d is over the maximum of %d", l.MemoryPages, MaxMemoryPages)
	case l.MaxModuleBytes < 0:
		return fmt.Errorf("max_module_bytes %d is negative", l.MaxModuleBytes)
	case l.MaxOutputBytes < 0:
		return fmt.Errorf("max_output_bytes %d is negative", l.MaxOutputBytes)
	}
	return nil
}
