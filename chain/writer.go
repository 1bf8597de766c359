package chain

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Options configure a Writer.
type Options struct {
	// Alg is the hash algorithm of a new chain (default SHA256). An existing
	// chain keeps the algorithm its header names.
	Alg Alg
	// ChainID names a new chain (default: 16 random bytes in hex).
	ChainID string
	// MaxFileSize rotates the active file once it holds at least this many
	// bytes; 0 never rotates.
	MaxFileSize int64
	// Now is the clock for the ts field (default time.Now).
	Now func() time.Time
	// Fault, when set, is called before each write and sync with "write" or
	// "sync", and before a rotation links the active file with "link"; a
	// non-nil error is handled as if that system call had failed. It exists
	// for fault injection and costs nothing when nil.
	Fault func(op string) error
}

// WriteError reports an append that did not become durable. The file was
// rolled back to its length before the append, so it is still a valid chain.
type WriteError struct {
	Path string
	Op   string // "write", "sync", "create", "rotate"
	Err  error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("chain: %s %q: %v", e.Op, e.Path, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// TailError reports that the chain's last line is torn or damaged, so nothing
// can be appended until it is repaired (brain-audit repair).
type TailError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *TailError) Error() string {
	return fmt.Sprintf("chain: %q: cannot append: %s at byte %d", e.Path, e.Reason, e.Offset)
}

// ErrTornTail is matched by errors.Is for a TailError about a torn last line.
var ErrTornTail = errors.New("chain: torn final line")

func (e *TailError) Is(target error) bool { return target == ErrTornTail && e.Reason == tornReason }

const tornReason = "the final line is torn (no newline)"

// A Writer appends records to a chain durably. Several Writers, in one process
// or many, may append to the same chain: each append holds an exclusive lock
// on PATH.lock (flock), re-reads the tail when another writer moved it,
// writes, syncs and only then returns. The sync is the system's strongest:
// fdatasync on Linux, F_FULLFSYNC on macOS, fsync on the BSDs
// (durable_*.go). On Windows, which has no flock, Open refuses: chains are
// verified there, not written.
type Writer struct {
	mu    sync.Mutex
	path  string
	opts  Options
	lockf *os.File
	f     *os.File
	// fi identifies the open active file (os.SameFile): another writer's
	// rotation replaces it.
	fi   os.FileInfo
	size int64
	st   chainState
	buf  []byte
	// pending is set while records WriteBatch wrote are not yet known to
	// be durable; synced and syncedHead are where Sync's rollback cuts
	// the file back to if their sync fails: the length and head before
	// this writer's first unsynced record, or after the last record
	// another writer appended since (which is never rolled back).
	pending    bool
	synced     int64
	syncedHead Head
	// writebacks bounds the write-backs started in the background.
	writebacks chan struct{}
}

// maxWritebacks is how many write-backs may be waiting for the disk at once
// (each holds a thread): past it, a batch's bytes are left to the sync.
const maxWritebacks = 2

// chainState is what a writer knows of the chain's active file.
type chainState struct {
	alg   Alg
	id    string
	index int
	head  Head
}

// Open opens the chain whose active file is path for appending, creating it
// with a header when it does not exist (continuing the newest rotated file of
// the chain when there is one).
func Open(path string, opts Options) (*Writer, error) {
	if err := writable(); err != nil {
		return nil, err
	}
	if opts.Alg == "" {
		opts.Alg = SHA256
	}
	if _, err := ParseAlg(string(opts.Alg)); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	lockf, err := fsutil.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|fsutil.NoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chain: opening lock: %w", err)
	}
	w := &Writer{path: path, opts: opts, lockf: lockf}
	if err := w.lock(); err != nil {
		lockf.Close()
		return nil, err
	}
	defer w.unlock()
	if err := w.refresh(); err != nil {
		w.closeFiles()
		return nil, err
	}
	return w, nil
}

func (w *Writer) lock() error {
	if err := fsutil.Lock(w.lockf, fsutil.Exclusive); err != nil {
		return fmt.Errorf("chain: locking %q: %w", w.path, err)
	}
	return nil
}

func (w *Writer) unlock() { fsutil.Unlock(w.lockf) }

func (w *Writer) closeFiles() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	w.lockf.Close()
}

// Close releases the writer's files. It does not sync: records WriteBatch
// wrote since the last Sync stay in the file, not known to be durable.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lockf == nil {
		return nil
	}
	var err error
	if w.f != nil {
		err = w.f.Close()
	}
	w.lockf.Close()
	w.lockf, w.f = nil, nil
	return err
}

// Head returns the last record the writer knows of.
func (w *Writer) Head() Head {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.head
}

// Alg returns the chain's hash algorithm.
func (w *Writer) Alg() Alg { return w.st.alg }

// ChainID returns the chain's id.
func (w *Writer) ChainID() string { return w.st.id }

// Path returns the active file's path.
func (w *Writer) Path() string { return w.path }

// refresh brings the writer's view of the active file up to date. It must be
// called with the lock held.
func (w *Writer) refresh() error {
	fi, err := os.Lstat(w.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if w.f != nil {
			w.f.Close()
			w.f = nil
		}
		return w.create()
	case err != nil:
		return fmt.Errorf("chain: %w", err)
	}
	if w.f == nil || !os.SameFile(fi, w.fi) {
		if w.f != nil {
			// Another writer rotated the file this one wrote unsynced
			// records to (rotate syncs it first, so this is cheap): they
			// become durable before the file is let go.
			if w.pending {
				if err := datasync(w.f); err != nil {
					return &WriteError{Path: w.path, Op: "sync", Err: unwrapPath(err)}
				}
				w.pending = false
			}
			w.f.Close()
		}
		f, err := fsutil.OpenFile(w.path, os.O_RDWR|fsutil.NoFollow, 0)
		if err != nil {
			return fmt.Errorf("chain: %w", err)
		}
		w.f, w.fi, w.size = f, fi, -1
		if err := w.readHeader(); err != nil {
			return err
		}
	}
	fi, err = w.f.Stat()
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	if fi.Size() != w.size {
		if err := w.readTail(fi.Size()); err != nil {
			return err
		}
		// Another writer appended after this one's unsynced records: a
		// failed Sync must not cut its records away.
		w.synced, w.syncedHead = w.size, w.st.head
	}
	return nil
}

// readHeader reads the active file's header into w.st.
func (w *Writer) readHeader() error {
	line, err := readFirstLine(io.NewSectionReader(w.f, 0, MaxRecordSize+1))
	if err != nil {
		return &TailError{Path: w.path, Reason: "the header is unreadable: " + err.Error()}
	}
	h, _, perr := parseHeader(line)
	if perr != nil {
		return &TailError{Path: w.path, Reason: "the header is damaged: " + perr.Error()}
	}
	w.st.alg, w.st.id, w.st.index = Alg(h.Alg), h.Chain, h.Index
	return nil
}

// readTail reads the last record of the active file, whose size is size.
func (w *Writer) readTail(size int64) error {
	line, off, newline, err := lastLine(w.f, size)
	if err != nil {
		return &TailError{Path: w.path, Offset: off, Reason: err.Error()}
	}
	if !newline && !wholeObject(line) {
		return &TailError{Path: w.path, Offset: off, Reason: tornReason}
	}
	var r record
	if pe := parseRecord(line, &r); pe != nil {
		return &TailError{Path: w.path, Offset: off, Reason: "the last record is malformed: " + pe.Error()}
	}
	if d := newDigester(w.st.alg).entry(r.entry, &r.prev); d != r.hash {
		return &TailError{Path: w.path, Offset: off, Reason: "the last record's hash does not match its content"}
	}
	if !newline {
		return &TailError{Path: w.path, Offset: size, Reason: "the last record has no newline"}
	}
	w.st.head = Head{Seq: r.seq, Hash: r.hash}
	w.size = size
	return nil
}

// lastLine returns the last line of f (whose size is size) without its
// newline, its offset, and whether the file ends with that newline.
func lastLine(f *os.File, size int64) (line []byte, off int64, newline bool, err error) {
	if size == 0 {
		return nil, 0, false, errors.New("the file is empty")
	}
	chunk := int64(8192)
	for {
		n := min(chunk, size, MaxRecordSize+1)
		tail := make([]byte, n)
		if _, err := f.ReadAt(tail, size-n); err != nil {
			return nil, size - n, false, err
		}
		newline = tail[n-1] == '\n'
		body := tail
		if newline {
			body = tail[:n-1]
		}
		if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
			return body[i+1:], size - n + int64(i+1), newline, nil
		}
		if n == size {
			return body, 0, newline, nil
		}
		if n == MaxRecordSize+1 {
			return nil, size - n, newline, errors.New("the last line is over the size limit")
		}
		chunk *= 8
	}
}

// create creates the active file with a header: a new chain, or the
// continuation of the newest rotated file when one exists.
func (w *Writer) create() error {
	rotated, err := rotatedFiles(w.path)
	if err != nil {
		return err
	}
	if len(rotated) == 0 {
		id := w.opts.ChainID
		if id == "" {
			var b [16]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.st = chainState{alg: w.opts.Alg, id: id}
		return w.writeHeader(HeaderData{Format: FormatVersion, Alg: string(w.opts.Alg), Chain: id}, 0, Digest{})
	}
	last := rotated[len(rotated)-1]
	f, err := fsutil.OpenFile(last, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	defer f.Close()
	w.f = f
	defer func() { w.f = nil }()
	if err := w.readHeader(); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	if err := w.readTail(fi.Size()); err != nil {
		return err
	}
	w.f = nil
	return w.writeContinuation(filepath.Base(last))
}

func (w *Writer) writeContinuation(prevFile string) error {
	h := HeaderData{Format: FormatVersion, Alg: string(w.st.alg), Chain: w.st.id, Index: w.st.index + 1,
		Continues: &Continuation{File: prevFile, Seq: w.st.head.Seq, Hash: w.st.head.Hash.String()}}
	w.st.index++
	return w.writeHeader(h, w.st.head.Seq+1, w.st.head.Hash)
}

// writeHeader creates the active file holding only a header record.
func (w *Writer) writeHeader(h HeaderData, seq uint64, prev Digest) error {
	data, _ := json.Marshal(h)
	line, d := encodeRecord(nil, w.st.alg, seq, w.opts.Now(), &Event{Type: HeaderType}, data, prev)
	// The header goes to a temporary file that is renamed into place, so a
	// crash never leaves an active file without a complete header. A
	// temporary file left by a crash is removed first; the lock is held.
	tmp := w.path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return &WriteError{Path: w.path, Op: "create", Err: err}
	}
	if err := w.write(f, 0, line, true); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, w.path); err != nil {
		f.Close()
		os.Remove(tmp)
		return &WriteError{Path: w.path, Op: "create", Err: err}
	}
	if err := fsutil.SyncDir(filepath.Dir(w.path)); err != nil {
		f.Close()
		return &WriteError{Path: w.path, Op: "create", Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("chain: %w", err)
	}
	w.f, w.fi, w.size = f, fi, int64(len(line))
	w.st.head = Head{Seq: seq, Hash: d}
	return nil
}

// Append appends ev as one record and returns once it is durable.
func (w *Writer) Append(ctx context.Context, ev Event) (Head, error) {
	return w.AppendBatch(ctx, []Event{ev})
}

// AppendBatch appends evs as consecutive records with one write and one
// sync (group commit), and returns the new head once all are durable.
// Either every record of the batch is appended or none is.
func (w *Writer) AppendBatch(ctx context.Context, evs []Event) (Head, error) {
	return w.appendBatch(ctx, evs, nil, true)
}

// WriteBatch appends evs as consecutive records with one write, as
// AppendBatch does, but returns without waiting for them to be durable:
// their write-back to the disk is started at once (sync_file_range on
// Linux), so that hashing the next batch overlaps it, and Sync makes every
// record written so far durable with one sync. A bulk load makes many
// batches durable with one sync at its end this way. Either every record
// of the batch is written or none is.
//
// Until Sync returns, the records are in the file, where readers and other
// writers see them (the lock is released between calls, so other writers
// append as usual, and their sync makes these records durable too), but a
// crash of the system (not of the process) may lose any part of them: what
// follows the last record synced may then be torn or damaged, which
// verify-log reports and repair moves aside. Records written earlier and
// synced are never affected.
func (w *Writer) WriteBatch(ctx context.Context, evs []Event) (Head, error) {
	return w.appendBatch(ctx, evs, nil, false)
}

// Sync makes the records WriteBatch wrote durable. If the sync fails, they
// are rolled back as a failed append is: the file is truncated to its
// length before the first of them, or after the last record another writer
// appended since, and the error (a *WriteError) is returned; Head then
// returns the last record left. When another writer has appended after
// them since, nothing is cut (their records would go too) and the error
// only says that the sync failed.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lockf == nil {
		return errors.New("chain: writer is closed")
	}
	if !w.pending {
		return nil
	}
	if err := w.lock(); err != nil {
		return err
	}
	defer w.unlock()
	err := w.fault("sync")
	if err == nil {
		err = datasync(w.f)
	}
	w.pending = false
	if err == nil {
		return nil
	}
	fi, lerr := os.Lstat(w.path)
	cur, ferr := w.f.Stat()
	if lerr == nil && ferr == nil && os.SameFile(fi, w.fi) && cur.Size() == w.size {
		w.f.Truncate(w.synced)
		datasync(w.f)
		w.size, w.st.head = w.synced, w.syncedHead
	}
	return &WriteError{Path: w.path, Op: "sync", Err: unwrapPath(err)}
}

// AppendEach is AppendBatch returning the head after each record of evs: its
// sequence number and hash.
func (w *Writer) AppendEach(ctx context.Context, evs []Event) ([]Head, error) {
	heads := make([]Head, len(evs))
	if _, err := w.appendBatch(ctx, evs, heads, true); err != nil {
		return nil, err
	}
	return heads, nil
}

// appendBatch is AppendBatch (WriteBatch unless durable), also filling
// heads (when not nil, as long as evs) with the head after each record.
func (w *Writer) appendBatch(ctx context.Context, evs []Event, heads []Head, durable bool) (Head, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, err
	}
	datas := make([][]byte, len(evs))
	for i := range evs {
		d, err := checkEvent(&evs[i])
		if err != nil {
			if len(evs) > 1 {
				return Head{}, fmt.Errorf("event %d: %w", i+1, err)
			}
			return Head{}, err
		}
		if err := checkType(evs[i].Type); err != nil {
			return Head{}, err
		}
		datas[i] = d
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lockf == nil {
		return Head{}, errors.New("chain: writer is closed")
	}
	if err := w.lock(); err != nil {
		return Head{}, err
	}
	defer w.unlock()
	return w.appendLocked(evs, datas, heads, durable)
}

// appendLocked appends checked events, filling heads (when not nil) with the
// head after each, and syncs them when durable; the lock must be held.
func (w *Writer) appendLocked(evs []Event, datas [][]byte, heads []Head, durable bool) (Head, error) {
	if err := w.refresh(); err != nil {
		return Head{}, err
	}
	if w.opts.MaxFileSize > 0 && w.size >= w.opts.MaxFileSize {
		if err := w.rotate(); err != nil {
			return Head{}, err
		}
	}
	buf := w.buf[:0]
	head := w.st.head
	now := w.opts.Now().UTC().AppendFormat(nil, TimeLayout)
	h := newDigester(w.st.alg)
	var own, prevHex []byte
	for i := range evs {
		ts := now
		if !evs[i].Time.IsZero() {
			own = evs[i].Time.UTC().AppendFormat(own[:0], TimeLayout)
			ts = own
		}
		start := len(buf)
		buf, head.Hash = encodeRecordHex(buf, h, head.Seq+1, ts, &evs[i], datas[i], head.Hash, prevHex)
		// The record ends with its hash in hex, a quote, a brace and a
		// newline: the next record's prev.
		prevHex = buf[len(buf)-3-2*DigestSize : len(buf)-3]
		head.Seq++
		if heads != nil {
			heads[i] = head
		}
		if len(buf)-start > MaxRecordSize {
			return Head{}, fmt.Errorf("chain: record of type %q is %d bytes, over the %d-byte limit", evs[i].Type, len(buf)-start, MaxRecordSize)
		}
	}
	if cap(buf) <= 8<<20 {
		w.buf = buf[:0]
	}
	if !durable && !w.pending {
		w.synced, w.syncedHead = w.size, w.st.head
	}
	if err := w.write(w.f, w.size, buf, durable); err != nil {
		return Head{}, err
	}
	// A sync makes the whole file durable, unsynced records before too.
	w.pending = !durable
	w.size += int64(len(buf))
	w.st.head = head
	return head, nil
}

// write writes b at off, and makes it durable (datasync) when durable is
// set, or else starts its write-back; on any failure it truncates the file
// back to off so that no partial record stays behind.
func (w *Writer) write(f *os.File, off int64, b []byte, durable bool) error {
	start := off
	fail := func(op string, err error) error {
		f.Truncate(start)
		datasync(f)
		return &WriteError{Path: w.path, Op: op, Err: unwrapPath(err)}
	}
	if w.opts.Fault != nil {
		if err := w.opts.Fault("write"); err != nil {
			return fail("write", err)
		}
	}
	for len(b) > 0 {
		n, err := f.WriteAt(b, off)
		if err != nil {
			return fail("write", err)
		}
		b, off = b[n:], off+int64(n)
	}
	if !durable {
		w.startWriteback(f, start, off-start)
		return nil
	}
	if w.opts.Fault != nil {
		if err := w.opts.Fault("sync"); err != nil {
			return fail("sync", err)
		}
	}
	if err := datasync(f); err != nil {
		return fail("sync", err)
	}
	return nil
}

// rotate gives the active file its rotated name and starts a new active
// file that continues it. The lock must be held.
//
// The active file never goes missing: the file is first linked under its
// rotated name (and the directory synced), then the new file, header
// written and synced, is renamed over the active name in one step. A crash
// in between leaves one file under both names, which Discover reads as one
// and the next rotation takes up where this one stopped. Where the file
// system has no hard links, the file is renamed instead, and a crash before
// the new file is in place leaves no active file: the next append continues
// the rotated one, and verify-log reports the gap.
func (w *Writer) rotate() error {
	old := RotatedName(w.path, w.st.index)
	// Records a WriteBatch (of this writer or another) left unsynced
	// become durable before the file is rotated and continued: a rotated
	// file is never written again.
	if err := datasync(w.f); err != nil {
		return &WriteError{Path: w.path, Op: "sync", Err: unwrapPath(err)}
	}
	w.pending = false
	if err := w.fault("link"); err != nil {
		return &WriteError{Path: old, Op: "rotate", Err: err}
	}
	err := os.Link(w.path, old)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrExist):
		// Linked by a rotation that a crash cut short; anything else
		// under that name is not this chain's to overwrite.
		fi, serr := os.Lstat(old)
		cur, cerr := w.f.Stat()
		if serr != nil || cerr != nil || !os.SameFile(fi, cur) {
			return &WriteError{Path: old, Op: "rotate", Err: os.ErrExist}
		}
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EMLINK):
		if _, err := os.Lstat(old); err == nil {
			return &WriteError{Path: old, Op: "rotate", Err: os.ErrExist}
		}
		if err := os.Rename(w.path, old); err != nil {
			return &WriteError{Path: w.path, Op: "rotate", Err: err}
		}
	default:
		return &WriteError{Path: old, Op: "rotate", Err: err}
	}
	w.f.Close()
	w.f = nil
	if err := fsutil.SyncDir(filepath.Dir(w.path)); err != nil {
		// The next append rotates again (or, after a rename, finds no
		// active file and continues the rotated one): the chain stays
		// whole.
		return &WriteError{Path: w.path, Op: "rotate", Err: err}
	}
	return w.writeContinuation(filepath.Base(old))
}

// startWriteback starts writing the n bytes of f at off to the disk, on
// another goroutine: on a busy disk starting a write-back waits for room in
// the device's queue, which hashing the next batch need not wait for. When
// maxWritebacks are already waiting it does nothing: the sync at the end
// writes what is left. The file stays open while its write-back is started
// (RawConn.Control holds it), whatever the writer does meanwhile.
func (w *Writer) startWriteback(f *os.File, off, n int64) {
	if !hasWriteback {
		return
	}
	if w.writebacks == nil {
		w.writebacks = make(chan struct{}, maxWritebacks)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	select {
	case w.writebacks <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-w.writebacks }()
		rc.Control(func(fd uintptr) { startWriteback(fd, off, n) })
	}()
}

// unwrapPath returns the cause of a *PathError: a WriteError names the
// operation and the chain's file, which the *PathError would name again (or
// name the temporary header file).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fault calls the fault hook (Options.Fault), if any, before op.
func (w *Writer) fault(op string) error {
	if w.opts.Fault == nil {
		return nil
	}
	return w.opts.Fault(op)
}
