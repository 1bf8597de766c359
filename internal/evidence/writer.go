package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/brain-dev/brain/internal/fsutil"
)

// writer writes a bundle into a staging directory beside its destination,
// hashing every file as it is written; commit renames the staging
// directory into place, so a failed run leaves nothing at the destination.
type writer struct {
	dest  string
	stage string
	files []File
	paths map[string]bool
}

// OutputError reports a destination the bundle cannot be written to.
type OutputError struct {
	Dir    string
	Reason string
}

func (e *OutputError) Error() string { return fmt.Sprintf("%s: %s", e.Dir, e.Reason) }

// newWriter prepares a bundle at dest, which must not exist, or be an empty
// directory.
func newWriter(dest string) (*writer, error) {
	switch fi, err := os.Lstat(dest); {
	case err == nil && fi.IsDir():
		ents, err := os.ReadDir(dest)
		if err != nil {
			return nil, err
		}
		if len(ents) > 0 {
			return nil, &OutputError{Dir: dest, Reason: "exists and is not empty: a bundle is never written over another"}
		}
	case err == nil:
		return nil, &OutputError{Dir: dest, Reason: "exists and is not a directory"}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	stage, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-")
	if err != nil {
		return nil, err
	}
	return &writer{dest: dest, stage: stage, paths: map[string]bool{}}, nil
}

// create returns a file to write rel into, and the function that closes it
// and records its hash.
func (w *writer) create(rel, kind string) (io.Writer, func() error, error) {
	if w.paths[rel] {
		return nil, nil, fmt.Errorf("evidence: internal error: %s written twice", rel)
	}
	w.paths[rel] = true
	p := filepath.Join(w.stage, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	return cw, func() error {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		w.files = append(w.files, File{Path: rel, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: cw.n, Kind: kind})
		return nil
	}, nil
}

// add writes b as rel.
func (w *writer) add(rel, kind string, b []byte) error {
	out, done, err := w.create(rel, kind)
	if err != nil {
		return err
	}
	if _, err := out.Write(b); err != nil {
		done()
		return err
	}
	return done()
}

// copyFile copies the regular file at src (a link is not followed) as rel.
func (w *writer) copyFile(rel, kind, src string) error {
	in, err := fsutil.OpenFile(src, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, done, err := w.create(rel, kind)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		done()
		return fmt.Errorf("reading %s: %w", src, err)
	}
	return done()
}

// mark sets the PII flag of the file rel.
func (w *writer) markPII(rel string) {
	for i := range w.files {
		if w.files[i].Path == rel {
			w.files[i].PII = true
		}
	}
}

// sorted returns the files written, by path.
func (w *writer) sorted() []File {
	fs := append([]File(nil), w.files...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	return fs
}

// commit puts the bundle in place.
func (w *writer) commit() error {
	if err := os.Chmod(w.stage, 0o700); err != nil {
		return err
	}
	// An empty directory at dest is replaced (rename(2) allows it).
	if err := os.Rename(w.stage, w.dest); err != nil {
		return err
	}
	w.stage = ""
	return fsutil.SyncDir(filepath.Dir(w.dest))
}

// abort removes the staging directory.
func (w *writer) abort() {
	if w.stage != "" {
		os.RemoveAll(w.stage)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// hashFile returns the SHA-256 and size of the regular file at p, a link
// not followed.
func hashFile(p string) (string, int64, error) {
	f, err := fsutil.OpenFile(p, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// slash joins bundle path elements.
func slash(elem ...string) string { return path.Join(elem...) }
