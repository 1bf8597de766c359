package drillfault

import (
	"time"

	"golang.org/x/sys/unix"
)

// waitPidfd waits up to timeout for process (pid, start) to exit, through
// a pidfd; false when it did not, or when the kernel has no pidfds.
func waitPidfd(pid int, start uint64, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return true
	}
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	// The pidfd names the process that has the pid now: make sure it is
	// the one we mean.
	if t, err := procStartTime(pid); err != nil || t != start {
		return true
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		if ms <= 0 {
			return false
		}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
