package verifier

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sandboxProcAttr starts a sandbox in a process group of its own (a
// terminal's Ctrl-C reaches the parent, which kills it) and has the kernel
// kill it if the parent dies first.
func sandboxProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// limitSandbox sets the resource limits of the sandbox process pid, before
// it is given a module: at most dataBytes of private writable memory
// (RLIMIT_DATA: the Go heap, goroutine stacks, the guest's memory and
// tables, the compiler's work and its code while written), no core file,
// and at most sandboxFiles open files.
func limitSandbox(pid int, dataBytes uint64) error {
	for _, l := range []struct {
		name     string
		resource int
		value    uint64
	}{
		{"RLIMIT_DATA", unix.RLIMIT_DATA, dataBytes},
		{"RLIMIT_CORE", unix.RLIMIT_CORE, 0},
		{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, sandboxFiles},
	} {
		lim := unix.Rlimit{Cur: l.value, Max: l.value}
		if err := unix.Prlimit(pid, l.resource, &lim, nil); err != nil {
			return fmt.Errorf("%s: %w", l.name, os.NewSyscallError("prlimit", err))
		}
	}
	return nil
}

// maxRSS is the peak resident memory of the ended process st, in bytes.
func maxRSS(st *os.ProcessState) int64 {
	if st == nil {
		return 0
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // Linux reports KiB
	}
	return 0
}

// selfPeakRSS is this process's own peak resident memory in bytes (VmHWM),
// or 0 when the kernel does not say.
func selfPeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
