package testutil

import (
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Fifo makes a named pipe at path, with no writer: a program that opens it
// for reading, blocking, waits forever. As a safety net, not
// synchronisation, it opens the pipe for writing and closes it at once
// after 10 s, which unblocks such a reader; blocked reports whether it had
// to, so that the test fails instead of hanging.
func Fifo(t testing.TB, path string) (blocked func() bool) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	var fired atomic.Bool
	net := time.AfterFunc(10*time.Second, func() {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			fired.Store(true)
			f.Close()
		}
	})
	t.Cleanup(func() { net.Stop() })
	return fired.Load
}
