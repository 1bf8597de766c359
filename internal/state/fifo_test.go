package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/internal/fsutil"
)

// TestKeyFileFIFO: a named pipe as the key file, with no writer, is refused
// at once with a *KeyFileError; opening it for reading would block forever,
// where no signal can stop the command.
func TestKeyFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "key")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := LoadKey(os.Getenv, fifo)
		done <- err
	}()
	select {
	case err := <-done:
		var kfe *KeyFileError
		var nre *fsutil.NotRegularError
		if !errors.As(err, &kfe) || !errors.As(err, &nre) {
			t.Errorf("LoadKey(FIFO): %v, want a *KeyFileError for a file that is not regular", err)
		}
	case <-time.After(20 * time.Second): // a wait for the failure, not a synchronisation
		if fd, err := unix.Open(fifo, unix.O_RDWR|unix.O_NONBLOCK, 0); err == nil {
			defer unix.Close(fd) // releases the blocked open
		}
		t.Fatal("LoadKey blocked on a named pipe")
	}
}

// TestOpenNeverFollowsLinks: a symbolic link at the database, or at its
// -wal or -shm file, makes Open fail; the link's target keeps its bytes.
func TestOpenNeverFollowsLinks(t *testing.T) {
	key, _ := KeyFromText("k")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		dir := t.TempDir()
		db := filepath.Join(dir, "state.db")
		st, err := Open(t.Context(), db, key, Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		target := filepath.Join(t.TempDir(), "target")
		os.WriteFile(target, []byte("evidence\n"), 0o600)
		if suffix == "" {
			os.Rename(db, filepath.Join(dir, "real.db"))
			target = filepath.Join(dir, "real.db")
		}
		before, _ := os.ReadFile(target)
		os.Remove(db + suffix)
		if err := os.Symlink(target, db+suffix); err != nil {
			t.Fatal(err)
		}
		if st, err := Open(t.Context(), db, key, Options{}); err == nil {
			st.Close()
			t.Errorf("Open with a link at state.db%s: no error", suffix)
		}
		if after, _ := os.ReadFile(target); string(after) != string(before) {
			t.Errorf("state.db%s: the link's target changed", suffix)
		}
	}
}
