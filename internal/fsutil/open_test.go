//go:build unix

package fsutil

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// watchdog is how long an open may take before the test calls it blocked:
// a wait for a failure, not a synchronisation.
const watchdog = 20 * time.Second

// openNoHang runs OpenFile and fails the test if it blocks. A call stuck on
// a named pipe is released by opening the pipe's other end.
func openNoHang(t *testing.T, path string, flag int) (*os.File, error) {
	t.Helper()
	return noHang(t, path, func() (*os.File, error) { return OpenFile(path, flag, 0o600) })
}

// noHang runs open and fails the test if it blocks, as openNoHang.
func noHang[F any](t *testing.T, path string, open func() (F, error)) (F, error) {
	t.Helper()
	type res struct {
		f   F
		err error
	}
	done := make(chan res, 1)
	go func() {
		f, err := open()
		done <- res{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-time.After(watchdog):
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			if fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK, 0); err == nil {
				defer unix.Close(fd)
			}
		}
		t.Fatalf("opening %s blocked", path)
		var zero F
		return zero, nil
	}
}

// specialFiles makes a named pipe, a listening socket and a directory in
// dir.
func specialFiles(t *testing.T, dir string) (fifo, sock, sub string) {
	fifo = filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	sub = filepath.Join(dir, "dir")
	os.Mkdir(sub, 0o700)
	return fifo, sock, sub
}

// TestOpenFileRefusesSpecialFiles: a named pipe (with no writer: opening it
// for reading would block forever), a socket, a device and a directory are
// refused with a *NotRegularError, for reading and for writing, directly and
// through a link the caller follows; nothing is written to them.
func TestOpenFileRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo, sock, sub := specialFiles(t, dir)
	toFifo := filepath.Join(dir, "to-fifo")
	os.Symlink(fifo, toFifo)
	for _, path := range []string{fifo, sock, "/dev/null", "/dev/zero", sub, toFifo} {
		for _, flag := range []int{os.O_RDONLY, os.O_WRONLY | os.O_APPEND | os.O_CREATE, os.O_RDWR | os.O_CREATE} {
			f, err := openNoHang(t, path, flag)
			var nre *NotRegularError
			if !errors.As(err, &nre) {
				if f != nil {
					f.Close()
				}
				t.Errorf("OpenFile(%s, %#x): %v, want a *NotRegularError", path, flag, err)
			}
		}
	}
}

// TestOpenFileNoFollow: with NoFollow, a symbolic link is refused with a
// *SymlinkError whether it points at a file (which stays as it was), at a
// file that does not exist (which is not created) or at a named pipe; a
// regular file opens. Without NoFollow a link to a regular file is
// followed (the caller named it).
func TestOpenFileNoFollow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	unix.Mkfifo(fifo, 0o600)
	for name, to := range map[string]string{"link": target, "dangling": filepath.Join(dir, "absent"), "to-fifo": fifo, "relative": "target"} {
		link := filepath.Join(dir, name)
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []int{os.O_RDONLY, os.O_RDWR | os.O_APPEND | os.O_CREATE, os.O_WRONLY | os.O_CREATE | os.O_TRUNC} {
			f, err := openNoHang(t, link, flag|NoFollow)
			var se *SymlinkError
			if !errors.As(err, &se) {
				if f != nil {
					f.Close()
				}
				t.Errorf("OpenFile(%s -> %s, %#x|NoFollow): %v, want a *SymlinkError", name, to, flag, err)
			}
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dangling link's target was created: %v", err)
	}
	f, err := OpenFile(filepath.Join(dir, "new"), os.O_RDWR|os.O_CREATE|NoFollow, 0o600)
	if err != nil {
		t.Fatalf("a new regular file: %v", err)
	}
	f.Close()
	b, err := ReadFile(filepath.Join(dir, "link"), true)
	if err != nil || string(b) != "precious\n" {
		t.Errorf("ReadFile through a link, followed: %q, %v", b, err)
	}
}

// TestOpenReadOnly: OpenReadOnly refuses what OpenFile with NoFollow
// refuses, without blocking: a named pipe with no writer, a socket, a
// device, a directory (*NotRegularError), and a link to a file, to a named
// pipe, to nothing or to itself (*SymlinkError, or the loop's error); the
// file it opens reads as the file, and SameFile tells it from another.
func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	fifo, sock, sub := specialFiles(t, dir)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("evidence\n"), 0o600)
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("evidence\n"), 0o600)
	links := map[string]string{"to-file": file, "to-fifo": fifo, "dangling": filepath.Join(dir, "absent"), "loop": "loop"}
	for name, to := range links {
		os.Symlink(to, filepath.Join(dir, name))
	}
	for _, path := range []string{fifo, sock, "/dev/null", "/dev/zero", sub, "to-file", "to-fifo", "dangling", "loop"} {
		if _, ok := links[path]; ok {
			path = filepath.Join(dir, path)
		}
		f, err := noHang(t, path, func() (*ReadOnlyFile, error) { return OpenReadOnly(path) })
		var (
			nre *NotRegularError
			se  *SymlinkError
		)
		switch {
		case err == nil:
			f.Close()
			t.Errorf("OpenReadOnly(%s) opened it", path)
		case errors.As(err, &nre), errors.As(err, &se):
		case filepath.Base(path) == "loop" && errors.Is(err, unix.ELOOP):
		default:
			t.Errorf("OpenReadOnly(%s): %v, want a *NotRegularError or *SymlinkError", path, err)
		}
	}
	f, err := OpenReadOnly(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, f.Size())
	if _, err := f.ReadAt(b, 0); err != nil || string(b) != "evidence\n" {
		t.Errorf("ReadAt: %q, %v", b, err)
	}
	if _, err := f.ReadAt(make([]byte, 1), f.Size()); !errors.Is(err, io.EOF) {
		t.Errorf("ReadAt past the end: %v, want io.EOF", err)
	}
	same, _ := os.Stat(file)
	diff, _ := os.Stat(other)
	if !f.SameFile(same) || f.SameFile(diff) {
		t.Errorf("SameFile: %v for the file, %v for another, want true and false", f.SameFile(same), f.SameFile(diff))
	}
}

// TestMkdirAllIn: no element below the root may be a link, a file or a
// directory others may access; the directories it makes are 0700.
func TestMkdirAllIn(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	os.Symlink(elsewhere, filepath.Join(root, "linked"))
	os.WriteFile(filepath.Join(root, "file"), nil, 0o600)
	os.Mkdir(filepath.Join(root, "open"), 0o700)
	os.Chmod(filepath.Join(root, "open"), 0o777)
	for rel, want := range map[string]any{
		"linked/a/b":  new(*SymlinkError),
		"a/../linked": new(*SymlinkError),
		"file/a":      new(*NotRegularError),
		"open/a":      new(*ModeError),
	} {
		err := MkdirAllIn(root, rel)
		if err == nil || !errors.As(err, want) {
			t.Errorf("MkdirAllIn(%s): %v, want %T", rel, err, want)
		}
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("a directory was made through the link: %v", ents)
	}
	if err := MkdirAllIn(root, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "a/b", "a/b/c"} {
		if fi, err := os.Lstat(filepath.Join(root, d)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a 0700 directory", d, fi.Mode(), err)
		}
	}
}
