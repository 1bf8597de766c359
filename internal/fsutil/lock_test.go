//go:build unix

package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLockKinds: a shared lock admits other shared locks and keeps an
// exclusive one out; an exclusive lock keeps everyone out; Unlock and Close
// release. Each lock is taken on its own open file description, as two
// processes would.
func TestLockKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	open := func() *os.File {
		f, err := OpenFile(path, os.O_RDWR|os.O_CREATE|NoFollow, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	tryExclusive := func() error {
		release, err := TryLock(path)
		if err == nil {
			release()
		}
		return err
	}
	a, b := open(), open()
	if err := Lock(a, Shared); err != nil {
		t.Fatal(err)
	}
	if err := Lock(b, Shared); err != nil {
		t.Fatalf("a second shared lock: %v", err)
	}
	if err := tryExclusive(); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock under shared locks: %v, want ErrLocked", err)
	}
	Unlock(a)
	b.Close()
	if err := tryExclusive(); err != nil {
		t.Fatalf("TryLock after Unlock and Close: %v", err)
	}
	c := open()
	if err := Lock(c, Exclusive); err != nil {
		t.Fatal(err)
	}
	if err := tryExclusive(); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock under an exclusive lock: %v, want ErrLocked", err)
	}
	Unlock(c)
	if err := tryExclusive(); err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
}
