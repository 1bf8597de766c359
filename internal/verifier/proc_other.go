//go:build !linux

package verifier

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

func sandboxProcAttr() *syscall.SysProcAttr { return nil }

// limitSandbox refuses: the sandbox's limits are set with Linux's prlimit,
// and a module never runs without them.
func limitSandbox(pid int, dataBytes uint64) error {
	return errors.New("the check sandbox's memory limit needs Linux")
}

func maxRSS(st *os.ProcessState) int64 { return 0 }

// memoryAllocator is wazero's default on other systems.
func memoryAllocator(failed *atomic.Bool, total *atomic.Int64) experimental.MemoryAllocator {
	return nil
}

func selfPeakRSS() int64 { return 0 }
