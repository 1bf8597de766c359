package chain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/internal/fsutil"
)

// TestVerifyNeverOpensSpecialRotatedFile: a named pipe planted under a
// rotated file's name is refused before it is opened, not opened and then
// refused (opening a pipe wakes its writer; opening a device can act on
// it). The kernel's inotify records every open of the pipe.
func TestVerifyNeverOpensSpecialRotatedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{MaxFileSize: 1})
	appendN(t, w, 3, "t")
	w.Close()
	mid := RotatedName(path, 1)
	if err := os.Remove(mid); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(mid, 0o600); err != nil {
		t.Fatal(err)
	}
	ino, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(ino)
	if _, err := unix.InotifyAddWatch(ino, mid, unix.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyFile(context.Background(), path, VerifyOptions{})
	var nre *fsutil.NotRegularError
	if !errors.As(err, &nre) {
		t.Errorf("VerifyFile: %v, want a *fsutil.NotRegularError", err)
	}
	buf := make([]byte, 4096)
	if n, err := unix.Read(ino, buf); n > 0 {
		t.Errorf("the named pipe was opened (%d bytes of inotify events)", n)
	} else if err != unix.EAGAIN {
		t.Fatalf("reading inotify events: %v", err)
	}
}
