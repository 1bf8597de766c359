package state

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/brain-dev/brain/internal/fsutil"
)

// snapshotAttempts bounds how often OpenSnapshot copies a database that
// keeps changing while it is read.
const snapshotAttempts = 5

// OpenSnapshot opens a private copy of the state database at path, for a
// command that must not change anything where the database is (it may be
// evidence, or on read-only media). It reads path and its write-ahead log
// (path + "-wal", when there is one), never following a symbolic link and
// refusing anything but regular files, into a new directory of the
// system's temporary directory (0700), and opens the copy there, which
// recovers the transactions the log holds. Nothing at path is created,
// written, locked or truncated: not even the -shm file a reader of the
// database itself would need.
//
// The copy is consistent: the files are read a second time and compared,
// and the copy is made again while they differ (a writer committed
// meanwhile), at most snapshotAttempts times. Close removes the copy.
// Errors are those of Open, naming path.
func OpenSnapshot(ctx context.Context, path string, key Key, opts Options) (*Store, error) {
	if key.text == "" {
		return nil, ErrNoKey
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := precheck(abs); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "brain-state-")
	if err != nil {
		return nil, fmt.Errorf("state: copying %q: %w", abs, err)
	}
	cp := filepath.Join(tmp, filepath.Base(abs))
	if err := copySnapshot(ctx, abs, cp); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	opts.Create = false
	st, err := Open(ctx, cp, key, opts)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, &renamedError{msg: strings.ReplaceAll(err.Error(), cp, abs), err: err}
	}
	st.path = abs
	st.onClose = func() { os.RemoveAll(tmp) }
	return st, nil
}

// copySnapshot copies the database at src and its -wal file to dst until
// a second read finds the same bytes.
func copySnapshot(ctx context.Context, src, dst string) error {
	for range snapshotAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		first, err := copyFiles(src, dst)
		if err != nil {
			return err
		}
		second, err := copyFiles(src, "")
		if err != nil {
			return err
		}
		if first == second {
			return nil
		}
	}
	return fmt.Errorf("state: %q kept changing while it was copied (%d attempts); try again", src, snapshotAttempts)
}

// copyFiles copies src and src-wal to dst and dst-wal (or only reads them
// when dst is "") and returns their SHA-256 sums.
func copyFiles(src, dst string) (sums [2][sha256.Size]byte, err error) {
	for i, suffix := range []string{"", "-wal"} {
		f, err := fsutil.OpenFile(src+suffix, os.O_RDONLY|fsutil.NoFollow, 0)
		if i > 0 && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return sums, fmt.Errorf("state: reading %q: %w", src+suffix, unwrapPathError(err))
		}
		h := sha256.New()
		w := io.Writer(h)
		var out *os.File
		if dst != "" {
			out, err = os.OpenFile(dst+suffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				f.Close()
				return sums, fmt.Errorf("state: copying %q: %w", src+suffix, err)
			}
			w = io.MultiWriter(h, out)
		}
		_, err = io.Copy(w, f)
		f.Close()
		if out != nil {
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return sums, fmt.Errorf("state: copying %q: %w", src+suffix, err)
		}
		h.Sum(sums[i][:0])
	}
	return sums, nil
}

// renamedError is an error of the copy's Open with the copy's path replaced
// by the original's.
type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }
