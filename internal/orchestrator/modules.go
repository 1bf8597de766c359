package orchestrator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/verifier"
)

// A check module that is a file is pinned: brain-run plan writes the
// SHA-256 of its bytes into tasks.yaml (the check's sha256), so the plan's
// own SHA-256 covers it, and execute runs only the bytes whose SHA-256 is
// the pin. Module files are opened without following any symbolic link, at
// any component of their path below the plan's directory, and must be
// regular files no larger than the check's max_module_bytes: a FIFO, a
// device or a link to anywhere is refused, and opening never blocks.

// ModuleError reports a check module file that cannot be pinned or run: it
// is missing, a symbolic link, not a regular file, over its size limit, not
// pinned, or not the bytes its pin names.
type ModuleError struct {
	Task   string // the task whose check names it
	Module string // the module as tasks.yaml names it
	// Reason is one of the Module* reasons below; Found is the SHA-256 of
	// the file when Reason is ModuleChanged.
	Reason string
	Pinned string // the pin in tasks.yaml, if any
	Found  string
	Err    error // what the file system said, if anything
}

// The reasons of a ModuleError (the reason of its plan.edit_refused record).
const (
	ModuleMissing    = "module_missing"     // no such file
	ModuleSymlink    = "module_symlink"     // the file, or a directory on its path, is a symbolic link
	ModuleNotRegular = "module_not_regular" // a FIFO, a device, a socket, a directory
	ModuleTooLarge   = "module_too_large"   // over the check's max_module_bytes
	ModuleUnpinned   = "module_unpinned"    // tasks.yaml gives no sha256 for it
	ModuleChanged    = "module_changed"     // its bytes are not those its pin names
	ModuleUnreadable = "module_unreadable"  // any other error opening or reading it
)

func (e *ModuleError) Error() string {
	what := fmt.Sprintf("task %q: check module %s", e.Task, e.Module)
	switch e.Reason {
	case ModuleMissing:
		return what + " does not exist"
	case ModuleSymlink:
		return what + " is, or lies under, a symbolic link: a module must be a regular file reached without links"
	case ModuleNotRegular:
		return what + " is not a regular file"
	case ModuleTooLarge:
		return what + " is over its max_module_bytes"
	case ModuleUnpinned:
		return what + " has no sha256 in tasks.yaml: it is not pinned"
	case ModuleChanged:
		return fmt.Sprintf("%s has sha256 %s, not %s, the SHA-256 pinned in tasks.yaml", what, e.Found, e.Pinned)
	}
	return fmt.Sprintf("%s cannot be read: %v", what, e.Err)
}

func (e *ModuleError) Unwrap() error { return e.Err }

// maxModuleBytes is the size limit of check c's module.
func maxModuleBytes(c plan.Check) int64 {
	return verifier.Limits{MaxModuleBytes: c.Limits.MaxModuleBytes}.Or(verifier.DefaultLimits()).MaxModuleBytes
}

// isModuleFile reports whether check c names a module file, not a stock
// check.
func isModuleFile(c plan.Check) bool { return !strings.HasPrefix(c.Module, checks.Prefix) }

// readModule reads the module of check c of task t in plan p, through
// openModule, and checks it against its pin when it has one (or must have
// one, with pinned set). It reads at most the module's limit and one byte
// more.
func readModule(p *plan.Plan, t *plan.Task, c plan.Check, pinned bool) ([]byte, error) {
	b, _, err := scanModule(p, t, c, pinned, true)
	return b, err
}

// scanModule reads the module of check c of task t in plan p as readModule
// does and returns its SHA-256, and its bytes when keep is set (else it
// only hashes them as they stream by).
func scanModule(p *plan.Plan, t *plan.Task, c plan.Check, pinned, keep bool) ([]byte, string, error) {
	fail := func(reason string, err error) ([]byte, string, error) {
		return nil, "", &ModuleError{Task: t.ID, Module: c.Module, Reason: reason, Pinned: c.SHA256, Err: err}
	}
	if pinned && c.SHA256 == "" {
		return fail(ModuleUnpinned, nil)
	}
	f, size, reason, err := openModule(p.Dir, c.Module)
	if err != nil {
		return fail(reason, err)
	}
	defer f.Close()
	max := maxModuleBytes(c)
	if size > max {
		return fail(ModuleTooLarge, nil)
	}
	h := sha256.New()
	var b bytes.Buffer
	w := io.Writer(h)
	if keep {
		b.Grow(int(size) + 1)
		w = io.MultiWriter(h, &b)
	}
	// The file may grow after its fstat: read one byte past the limit.
	n, err := io.Copy(w, io.LimitReader(f, max+1))
	switch {
	case err != nil:
		return fail(ModuleUnreadable, err)
	case n > max:
		return fail(ModuleTooLarge, nil)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if c.SHA256 != "" && sum != c.SHA256 {
		return nil, "", &ModuleError{Task: t.ID, Module: c.Module, Reason: ModuleChanged, Pinned: c.SHA256, Found: sum}
	}
	return b.Bytes(), sum, nil
}

// checkModules checks every module file of plan p against its pin, before
// anything runs: the first one missing, unpinned or changed is a
// *ModuleError. Each file is read once however many checks name it.
func checkModules(p *plan.Plan) error {
	type file struct {
		module, pin string
		max         int64
	}
	seen := map[file]bool{}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		for _, c := range t.Checks {
			key := file{c.Module, c.SHA256, maxModuleBytes(c)}
			if !isModuleFile(c) || seen[key] {
				continue
			}
			seen[key] = true
			if _, _, err := scanModule(p, t, c, true, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// openModule opens the module file module (slash-separated; relative to
// dir unless absolute) for reading, following no symbolic link at any
// component below dir (or below / for an absolute path): each directory is
// opened with O_NOFOLLOW|O_DIRECTORY from the one before, the file with
// O_NOFOLLOW|O_NONBLOCK, so a FIFO cannot block the open, and it must be a
// regular file; size is its size then. A path with a ".." component is
// refused. On error it returns one of the Module* reasons.
func openModule(dir, module string) (_ *os.File, size int64, reason string, err error) {
	base := dir
	if strings.HasPrefix(module, "/") {
		base = "/"
	}
	var parts []string
	for _, part := range strings.Split(module, "/") {
		switch part {
		case "", ".":
		case "..":
			return nil, 0, ModuleUnreadable, errors.New("the path names a parent directory")
		default:
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		return nil, 0, ModuleNotRegular, errors.New("the path names a directory")
	}
	fd, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, ModuleUnreadable, &fs.PathError{Op: "open", Path: base, Err: err}
	}
	at := base
	for i, part := range parts {
		flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i < len(parts)-1 {
			flags |= unix.O_DIRECTORY
		} else {
			flags |= unix.O_NONBLOCK
		}
		at = filepath.Join(at, part)
		next, err := openat(fd, part, flags)
		why := ""
		if err != nil {
			why = moduleReason(fd, part, err)
		}
		unix.Close(fd)
		if err != nil {
			return nil, 0, why, &fs.PathError{Op: "open", Path: at, Err: err}
		}
		fd = next
	}
	f := os.NewFile(uintptr(fd), at)
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, 0, ModuleUnreadable, err
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, 0, ModuleNotRegular, fmt.Errorf("%s is a %v", at, fi.Mode().Type())
	}
	return f, fi.Size(), "", nil
}

// openat is openat(2), retried when a signal interrupts it.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// moduleReason classifies err, the error of opening name in the directory
// dirfd: a symbolic link is told by its own type, whatever error the open
// gave for it.
func moduleReason(dirfd int, name string, err error) string {
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return ModuleSymlink
	}
	switch {
	case errors.Is(err, unix.ENOENT):
		return ModuleMissing
	case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENXIO):
		return ModuleNotRegular // a file where a directory belongs, a socket
	}
	return ModuleUnreadable
}

// hashModule returns the SHA-256 of the module file of check c of task t
// in p, read as readModule reads it: the pin brain-run plan writes.
func hashModule(p *plan.Plan, t *plan.Task, c plan.Check) (string, error) {
	c.SHA256 = ""
	_, sum, err := scanModule(p, t, c, false, false)
	return sum, err
}
