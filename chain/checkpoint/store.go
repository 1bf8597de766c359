package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/fsutil"
)

// StorePath returns the name of the checkpoint file of the chain whose
// active file is active: active followed by chain.CheckpointsSuffix.
func StorePath(active string) string { return active + chain.CheckpointsSuffix }

// statePath returns the name of the checkpoint writer's state, beside the
// checkpoint file.
func statePath(store string) string { return store + ".state" }

// MaxEntrySize bounds a line of a checkpoint file, newline included.
const MaxEntrySize = 2*MaxNoteSize + 256

// Entry is one line of a checkpoint file: a signed checkpoint and when it
// was written.
//
//	{"ts":"2026-12-07T04:13:29.551234567Z","note":"brain-audit/…\n42\n…=\n\n— name …\n"}
type Entry struct {
	// Time is when the entry was written (RFC 3339, UTC, nine fractional
	// digits, as chain.TimeLayout). It is not signed.
	Time time.Time
	// Note is the signed checkpoint, as note.Sign wrote it, with any
	// cosignatures after the log's signature.
	Note []byte

	// Line and Offset locate the entry in its file (1-based line).
	Line   int64
	Offset int64
}

type entryJSON struct {
	TS   string `json:"ts"`
	Note string `json:"note"`
}

// marshalEntry returns e's line, newline included.
func marshalEntry(e Entry) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(entryJSON{TS: e.Time.UTC().Format(chain.TimeLayout), Note: string(e.Note)})
	return b.Bytes()
}

// parseEntry parses line, without its newline. Only the form marshalEntry
// writes is accepted: one spelling per entry, so that no two JSON parsers
// read different checkpoints from one line.
func parseEntry(line []byte) (Entry, error) {
	var j entryJSON
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Entry{}, fmt.Errorf("not a checkpoint entry: %v", err)
	}
	t, err := time.Parse(chain.TimeLayout, j.TS)
	if err != nil {
		return Entry{}, fmt.Errorf("not a checkpoint entry: ts %q is not a time as %s", shortText(j.TS), chain.TimeLayout)
	}
	e := Entry{Time: t, Note: []byte(j.Note)}
	if canon := marshalEntry(e); !bytes.Equal(canon[:len(canon)-1], line) {
		return Entry{}, errors.New("not a checkpoint entry in the canonical form (keys ts and note, in that order, compact, escaped as encoding/json escapes without HTML escaping)")
	}
	return e, nil
}

// A storeLine is a line of a checkpoint file as readStore gives it.
type storeLine struct {
	line, off int64
	// data is the line without its newline; nil for a line over
	// MaxEntrySize, of which only the length is known.
	data []byte
	size int64
	// torn: the file's last line, without a newline.
	torn bool
}

// readStore calls fn with each line of the checkpoint file read from r, in
// order, holding one line of at most MaxEntrySize bytes at a time. It stops
// at fn's first error.
func readStore(r io.Reader, fn func(storeLine) error) error {
	br := bufio.NewReaderSize(r, MaxEntrySize)
	var off int64
	for n := int64(1); ; n++ {
		b, err := br.ReadSlice('\n')
		sl := storeLine{line: n, off: off, data: b, size: int64(len(b))}
		if errors.Is(err, bufio.ErrBufferFull) {
			// Over the limit: counted to its end, never held.
			sl.data = nil
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				sl.size += int64(len(b))
			}
		}
		switch {
		case err == io.EOF && sl.size == 0:
			return nil
		case err == io.EOF:
			sl.torn = true
		case err != nil:
			return err
		default:
			if sl.data != nil {
				sl.data = sl.data[:len(sl.data)-1]
			}
		}
		off += sl.size
		if ferr := fn(sl); ferr != nil {
			return ferr
		}
		if sl.torn {
			return nil
		}
	}
}

// TornError reports a checkpoint file whose last line is torn (a write cut
// short): nothing is appended to it until it is repaired (RepairStore).
type TornError struct {
	Path   string
	Offset int64
}

func (e *TornError) Error() string {
	return fmt.Sprintf("checkpoint: %q ends in a torn line at byte %d (a write was cut short)", e.Path, e.Offset)
}

// store is a checkpoint file open for appending, under its exclusive lock.
type store struct {
	path string
	f    *os.File
	size int64
}

// openStore opens (creating it, 0600) and locks the checkpoint file at
// path. A symbolic link or special file there is refused.
func openStore(path string) (*store, error) {
	if err := chain.Writable(); err != nil {
		return nil, err
	}
	_, err := os.Lstat(path)
	created := errors.Is(err, os.ErrNotExist)
	f, err := fsutil.OpenFile(path, os.O_RDWR|os.O_CREATE|fsutil.NoFollow, 0o600)
	if err != nil {
		return nil, err
	}
	if err := fsutil.Lock(f, fsutil.Exclusive); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	if created {
		if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &store{path: path, f: f, size: fi.Size()}, nil
}

func (s *store) close() { s.f.Close() }

// last returns the file's last entry's line, or nil when the file is
// empty. A torn last line is a *TornError.
func (s *store) last() (storeLine, error) {
	if s.size == 0 {
		return storeLine{}, nil
	}
	n := min(s.size, MaxEntrySize+1)
	b := make([]byte, n)
	if _, err := s.f.ReadAt(b, s.size-n); err != nil {
		return storeLine{}, err
	}
	if b[n-1] != '\n' {
		start := bytes.LastIndexByte(b, '\n') + 1
		return storeLine{}, &TornError{Path: s.path, Offset: s.size - n + int64(start)}
	}
	start := bytes.LastIndexByte(b[:n-1], '\n') + 1
	if start == 0 && n == MaxEntrySize+1 {
		return storeLine{off: s.size - n, size: n}, nil // over the limit
	}
	return storeLine{off: s.size - n + int64(start), data: b[start : n-1], size: n - int64(start)}, nil
}

// append writes e as the file's last line and syncs it. On failure the file
// is cut back to its length before, so it holds no partial line.
func (s *store) append(e Entry) error {
	line := marshalEntry(e)
	if _, err := s.f.WriteAt(line, s.size); err != nil {
		s.f.Truncate(s.size)
		return fmt.Errorf("writing %q: %w", s.path, fsutil.WithoutPath(err))
	}
	if err := chain.SyncData(s.f); err != nil {
		s.f.Truncate(s.size)
		return fmt.Errorf("syncing %q: %w", s.path, err)
	}
	s.size += int64(len(line))
	return nil
}

// readLocked reads the checkpoint file at path as it is under a shared
// lock: the lines appended whole before the lock are read, never part of
// one being written. A file that does not exist is os.ErrNotExist.
func readLocked(path string, fn func(storeLine) error) error {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fsutil.Lock(f, fsutil.Shared) // none on Windows: no writer there
	fi, err := f.Stat()
	fsutil.Unlock(f)
	if err != nil {
		return err
	}
	return readStore(io.NewSectionReader(f, 0, fi.Size()), fn)
}

// StoreRepair says what RepairStore did (or, with dry run, would do).
type StoreRepair struct {
	Store string `json:"store"`
	// Action is "none" or "truncate_torn_tail".
	Action string `json:"action"`
	// Offset is where the file was cut; Bytes how many bytes were moved to
	// Quarantine; SHA256 their digest.
	Offset     int64  `json:"offset"`
	Bytes      int64  `json:"bytes"`
	SHA256     string `json:"sha256,omitempty"`
	Quarantine string `json:"quarantine,omitempty"`
	DryRun     bool   `json:"dry_run,omitempty"`
}

// RepairStore cuts a torn last line (a write cut short) off the checkpoint
// file at path, keeping its bytes in a quarantine file beside it (as
// chain.Repair does for a chain); every whole line is left as it is. A
// file that does not exist or ends in a whole line needs nothing. With
// dryRun nothing is written and no file created.
func RepairStore(path string, dryRun bool, now time.Time) (*StoreRepair, error) {
	res := &StoreRepair{Store: path, Action: "none", DryRun: dryRun}
	if err := chain.Writable(); err != nil && !dryRun {
		return nil, err
	}
	open := func() (*os.File, error) {
		if dryRun {
			return fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
		}
		return fsutil.OpenFile(path, os.O_RDWR|fsutil.NoFollow, 0)
	}
	f, err := open()
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if dryRun {
		fsutil.Lock(f, fsutil.Shared) // none on Windows: no writer there
	} else if err := fsutil.Lock(f, fsutil.Exclusive); err != nil {
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s := &store{path: path, f: f, size: fi.Size()}
	_, err = s.last()
	var te *TornError
	if !errors.As(err, &te) {
		return res, nil
	}
	torn := io.NewSectionReader(f, te.Offset, s.size-te.Offset)
	h := sha256.New()
	io.Copy(h, torn)
	res.Action, res.Offset, res.Bytes = "truncate_torn_tail", te.Offset, s.size-te.Offset
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	if dryRun {
		return res, nil
	}
	torn.Seek(0, io.SeekStart)
	if res.Quarantine, err = chain.Quarantine(path, now, torn); err != nil {
		return nil, err
	}
	if err := f.Truncate(te.Offset); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return res, nil
}
