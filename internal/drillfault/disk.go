package drillfault

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// sizePattern is a tmpfs size as mount takes it: bytes, or k, m, g.
var sizePattern = regexp.MustCompile(`^([0-9]+)([kmg]?)$`)

// maxDiskBytes bounds the size of a disk fault: it lives in memory.
const maxDiskBytes = 1 << 30

// parseSize returns the bytes of a tmpfs size ("256k", "1m").
func parseSize(s string) (int64, error) {
	m := sizePattern.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, fmt.Errorf("size %q: want a number of bytes with k, m or g (256k, 1m)", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30}[m[2]]
	if n <= 0 || n > maxDiskBytes>>shift {
		return 0, fmt.Errorf("size %q: want more than 0 and at most 1g", s)
	}
	return n << shift, nil
}

// inside returns path, made absolute with links resolved, when it is
// inside dir (also resolved); an error otherwise. path's last element need
// not exist.
func inside(dir, path string) (string, error) {
	d, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	p := filepath.Join(parent, filepath.Base(abs))
	if !strings.HasPrefix(p, d+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is not inside the drill's directory %s", path, dir)
	}
	return p, nil
}

// StartDisk mounts a tmpfs of size at path, which must be inside the
// drill's scratch directory (it is made, 0700, if missing; a link there is
// refused), and records it as the fault name. It needs the privilege to
// mount (root): a drill that uses it says requires: [root, tmpfs].
func (t *Tools) StartDisk(name, path, size string) (*State, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if _, err := t.Reg.Get(name); err == nil {
		return nil, &AlreadyError{Name: name}
	}
	n, err := parseSize(size)
	if err != nil {
		return nil, err
	}
	p, err := inside(t.Reg.Dir, path)
	if err != nil {
		return nil, fmt.Errorf("%v: brain-drill mounts only there", err)
	}
	switch fi, err := os.Lstat(p); {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%s is not a directory (a link is not followed)", path)
	}
	if err := mountTmpfs(p, n); err != nil {
		return nil, fmt.Errorf("mounting a tmpfs on %s: %v (it needs root and the privilege to mount)", path, err)
	}
	st := &State{Name: name, Kind: KindDisk, Mount: p, Started: now()}
	if err := t.Reg.Put(st); err != nil {
		unmount(p)
		return nil, err
	}
	return st, nil
}

// FillFile is the file Fill writes.
const FillFile = "filler"

// Fill fills the disk fault mounted at path: it writes path/filler until
// the file system says it is full (ENOSPC), and returns how many bytes
// that took. Only a tmpfs started by StartDisk is filled: never a disk of
// the machine.
func (t *Tools) Fill(path string) (int64, string, error) {
	p, err := inside(t.Reg.Dir, path)
	if err != nil {
		return 0, "", fmt.Errorf("%v: brain-drill fills only a tmpfs the drill mounted", err)
	}
	sts, err := t.Reg.List()
	if err != nil {
		return 0, "", err
	}
	found := false
	for _, st := range sts {
		found = found || (st.Kind == KindDisk && st.Mount == p)
	}
	if !found {
		return 0, "", fmt.Errorf("%s is not a disk fault of this drill (brain-drill fault start disk): brain-drill fills nothing else", path)
	}
	name := filepath.Join(p, FillFile)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, err := f.Write(buf)
		total += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			return total, name, nil
		}
		if err != nil && !errors.Is(err, io.ErrShortWrite) {
			return total, name, err
		}
		if total > maxDiskBytes+int64(len(buf)) {
			return total, name, errors.New("the file system did not fill up")
		}
	}
}
