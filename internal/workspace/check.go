//go:build unix

package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Error reports a workspace brain-run refuses to use: a symbolic
// link, a special file or an unsafe mode in it, or a directory that is not
// the user's.
type Error struct {
	Dir  string
	Err  error
	Hint string
}

func (e *Error) Error() string {
	return fmt.Sprintf("workspace %s is not safe to use: %v", e.Dir, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Check checks the workspace directory dir before a command reads
// or writes anything in it. The directory itself may be a symbolic link (the
// user's choice of where the workspace lives); nothing in it is followed:
// a link, a named pipe, socket or device at any of its names is
// refused. A command that writes (write) also needs the directory to be
// owned by the user running it and writable by no one else, and the entries
// to be accessible to no one else (0600 files, 0700 directories): another
// user who can write the directory could plant links or swap files between
// brain-run's check and its use. Nothing is repaired: a link or a mode that
// brain-run did not make is for the user to look at.
func Check(dir string, write bool) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &Error{Dir: dir, Err: &fsutil.NotRegularError{Path: dir, Type: fi.Mode().Type()}, Hint: "name a directory with --dir (or BRAIN_DIR)"}
	}
	if write {
		if err := checkOwner(dir, fi); err != nil {
			return err
		}
	}
	for _, ent := range entries {
		p := filepath.Join(dir, ent.name)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return &Error{Dir: dir, Err: err}
		}
		if err := checkEntry(p, fi, ent.dir, write); err != nil {
			return err
		}
	}
	return nil
}

// checkOwner refuses a workspace directory that is not the user's or that
// group or others may write.
func checkOwner(dir string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return &Error{Dir: dir, Err: fmt.Errorf("the directory belongs to uid %d, not to you (uid %d)", st.Uid, os.Geteuid()),
			Hint: "run brain-run as the workspace's owner, or use a workspace of your own (--dir)"}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		me := &fsutil.ModeError{Path: dir, Mode: fi.Mode(), Writable: true}
		return &Error{Dir: dir, Err: me, Hint: me.Hint() + " (others could plant links or swap files in it)"}
	}
	return nil
}

// checkEntry checks one of entries, fi its Lstat.
func checkEntry(p string, fi fs.FileInfo, dir, write bool) error {
	ws := filepath.Dir(p)
	m := fi.Mode()
	want := fs.FileMode(0)
	if dir {
		want = fs.ModeDir
	}
	switch {
	case m&fs.ModeSymlink != 0:
		return &Error{Dir: ws, Err: &fsutil.SymlinkError{Path: p},
			Hint: "brain-run never follows a link in its workspace: remove it (rm " + p + ") and look at what else changed there"}
	case dir && !m.IsDir(), !dir && !m.IsRegular():
		return &Error{Dir: ws, Err: &fsutil.NotRegularError{Path: p, Type: m.Type()},
			Hint: "brain-run keeps " + fsutil.TypeName(want) + " there: remove what is there (rm " + p + ")"}
	case write && m.Perm()&0o077 != 0:
		me := &fsutil.ModeError{Path: p, Mode: m}
		return &Error{Dir: ws, Err: me, Hint: me.Hint() + " (brain-run makes its files 0600 and directories 0700)"}
	}
	return nil
}
