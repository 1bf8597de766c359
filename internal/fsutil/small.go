package fsutil

import (
	"fmt"
	"io"
	"os"
)

// ReadSmall reads the regular file at path, a link followed, of at most max
// bytes: a key or a secret like one. It never blocks on a named pipe or a
// device (OpenFile). With private, a file that group or others may access
// is refused with a *ModeError before a byte of it is read. Its other
// errors are *os.PathError, one naming the limit when the file is longer.
func ReadSmall(path string, max int, private bool) ([]byte, error) {
	f, err := OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if private && fi.Mode().Perm()&0o077 != 0 {
		return nil, &ModeError{Path: path, Mode: fi.Mode()}
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, &os.PathError{Op: "read", Path: path, Err: fmt.Errorf("longer than %d bytes", max)}
	}
	return b, nil
}
