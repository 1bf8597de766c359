package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/fsutil"
)

// Options configure Make.
type Options struct {
	// Signer signs the checkpoint. Required.
	Signer *Signer
	// Origin is the checkpoints' origin. Empty: the origin of the last
	// checkpoint signed by Signer, else DefaultOrigin of the chain's id. A
	// chain's checkpoints keep one origin: another is refused.
	Origin string
	// Full verifies the whole chain, even when the records since the last
	// checkpoint would do.
	Full bool
	// Now is the clock of the entry's ts (default time.Now).
	Now func() time.Time
	// Workers hash lines in parallel when the whole chain is verified
	// (chain.VerifyOptions.Workers).
	Workers int

	// fault, when set (by the crash test), is called at each step of Make:
	// "signed", "appended" (the checkpoint is durable, the state not yet
	// written), "state".
	fault func(step string)
}

// Made is what Make did.
type Made struct {
	Checkpoint Checkpoint
	// Note is the signed checkpoint.
	Note []byte
	// Store is the checkpoint file.
	Store string
	// New is false when the chain had not grown since the last checkpoint
	// signed by the key, which is returned and not written again.
	New bool
	// Verified is the report of the chain's verification when the whole
	// chain was verified (no usable state, or Options.Full); nil when only
	// the records since the last checkpoint were.
	Verified *chain.Report
}

// RefusedError reports a chain that Make will not sign: it does not verify,
// or it does not extend the last checkpoint the key signed.
type RefusedError struct {
	Reason string
	// Findings are the chain's findings, when it does not verify.
	Findings []chain.Finding
}

func (e *RefusedError) Error() string { return "checkpoint: refused: " + e.Reason }

// Make signs a checkpoint of the chain whose active file is active, as it
// is now, and appends it to the chain's checkpoint file (StorePath),
// creating it if needed. Only a chain that verifies is signed (a torn final
// line, which is not a record, is left out), and only when it extends the
// last checkpoint that the key signed: a chain whose records up to that
// checkpoint's size were changed, or that has fewer records, is refused
// with a *RefusedError. It holds the checkpoint file's exclusive lock
// throughout, so concurrent writers append in order.
//
// The records since the last checkpoint are read and checked (each a
// record, its hash, its link and seq), not the whole chain, when the
// writer's state (STORE.state) matches that checkpoint; otherwise, or with
// Options.Full, the whole chain is verified as chain.VerifyFile does.
func Make(ctx context.Context, active string, opts Options) (*Made, error) {
	if opts.Signer == nil {
		return nil, errors.New("checkpoint: no signer key")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := StorePath(active)
	st, err := openStore(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer st.close()
	base, err := lastOwn(st, opts.Signer.Verifier())
	if err != nil {
		return nil, err
	}
	hdr, err := readHeader(active)
	if err != nil {
		return nil, err
	}
	origin := opts.Origin
	switch {
	case origin == "" && base != nil:
		origin = base.c.Origin
	case origin == "":
		origin = DefaultOrigin(hdr.Chain)
	case base != nil && origin != base.c.Origin:
		return nil, &RefusedError{Reason: fmt.Sprintf("the chain's checkpoints have the origin %q, not %q: a log keeps one origin", base.c.Origin, origin)}
	}
	if err := CheckOrigin(origin); err != nil {
		return nil, err
	}

	var (
		t      *tree
		pos    position
		made   = &Made{Store: path}
		baseC  Checkpoint
		gotInc bool
	)
	if base != nil {
		baseC = base.c
	}
	if base != nil && !opts.Full {
		if rs, err := readState(statePath(path)).usable(baseC); err == nil {
			t, pos, err = extend(active, rs)
			gotInc = err == nil
			var re *RefusedError
			if errors.As(err, &re) {
				return nil, err
			}
		}
	}
	if !gotInc {
		t, pos, made.Verified, err = full(ctx, active, baseC, base != nil, opts.Workers)
		if err != nil {
			return nil, err
		}
	}
	c := Checkpoint{Origin: origin, Size: t.size(), Root: rootOf(t.rng)}
	if base != nil && c.Size == baseC.Size && c.Root == baseC.Root {
		made.Checkpoint, made.Note = base.c, base.note
	} else {
		msg, err := Sign(c, opts.Signer)
		if err != nil {
			return nil, err
		}
		opts.at("signed")
		if err := st.append(Entry{Time: opts.Now(), Note: msg}); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		opts.at("appended")
		made.Checkpoint, made.Note, made.New = c, msg, true
	}
	if made.New || !gotInc {
		ws := &writerState{Size: c.Size, Root: c.Root.String(), Index: pos.index, Offset: pos.offset, Head: pos.head}
		for _, h := range t.rng.Hashes() {
			ws.Range = append(ws.Range, Hash(h).String())
		}
		// The state is a hint: failing to write it costs the next
		// checkpoint a whole verification, nothing else.
		writeState(statePath(path), ws)
		opts.at("state")
	}
	return made, nil
}

// at calls the crash test's fault hook.
func (o *Options) at(step string) {
	if o.fault != nil {
		o.fault(step)
	}
}

// own is the last checkpoint of a file signed by the writer's key.
type own struct {
	c    Checkpoint
	note []byte
}

// lastOwn returns the last checkpoint of st that v signed, or nil when
// there is none. The last line is read; the whole file only when the last
// line is not such a checkpoint (a cosigned copy is one, an entry of
// another key is not). A torn last line is a *TornError: the file must be
// repaired before anything is appended to it.
func lastOwn(st *store, v note.Verifier) (*own, error) {
	ln, err := st.last()
	if err != nil {
		var te *TornError
		if errors.As(err, &te) {
			return nil, err
		}
		return nil, fmt.Errorf("checkpoint: reading %q: %v", st.path, err)
	}
	if ln.data == nil {
		return nil, nil
	}
	if o := ownEntry(ln.data, v); o != nil {
		return o, nil
	}
	var last *own
	err = readStore(io.NewSectionReader(st.f, 0, st.size), func(sl storeLine) error {
		if sl.data != nil {
			if o := ownEntry(sl.data, v); o != nil {
				last = o
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: reading %q: %v", st.path, err)
	}
	return last, nil
}

// ownEntry returns the checkpoint of a line signed by v, or nil.
func ownEntry(line []byte, v note.Verifier) *own {
	e, err := parseEntry(line)
	if err != nil {
		return nil
	}
	c, _, err := Open(e.Note, note.VerifierList(v))
	if err != nil {
		return nil
	}
	return &own{c: c, note: e.Note}
}

// usable returns the range of a state that matches c, or an error.
func (st *writerState) usable(c Checkpoint) (*rangeState, error) {
	if st == nil {
		return nil, errors.New("no state")
	}
	return st.rangeOf(c)
}

// position is where the next record of a chain starts, and the head before
// it.
type position struct {
	index  int
	offset int64
	head   string
}

// readHeader returns the header of the chain file at path.
func readHeader(path string) (*chain.HeaderData, error) {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return nil, &chain.ReadError{Path: path, Err: err}
	}
	defer f.Close()
	return headerOf(f, path)
}

// headerOf reads the header at the start of r, the chain file path.
func headerOf(r io.Reader, path string) (*chain.HeaderData, error) {
	sc := chain.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, &chain.ReadError{Path: path, Err: err}
		}
		return nil, &RefusedError{Reason: fmt.Sprintf("%s is empty: no chain header", path)}
	}
	rec := sc.Record()
	var h chain.HeaderData
	if sc.LineErr() != nil || rec.Type != chain.HeaderType || json.Unmarshal(rec.Data, &h) != nil || h.Chain == "" {
		return nil, &RefusedError{Reason: fmt.Sprintf("%s does not start with a chain header", path)}
	}
	if _, err := chain.ParseAlg(h.Alg); err != nil {
		return nil, &RefusedError{Reason: fmt.Sprintf("%s: %v", path, err)}
	}
	return &h, nil
}

// errHint reports a state that does not lead to the next record: the whole
// chain is verified instead.
var errHint = errors.New("the state does not point at the next record")

// extend reads the records after the state's checkpoint, checks each (a
// record, with its hash, the next seq and a link to the one before) and
// appends them to the state's tree. An error that is not a *RefusedError
// means the state cannot be used.
func extend(active string, rs *rangeState) (*tree, position, error) {
	files, closeAll, err := snapshotFrom(active, rs.index)
	if err != nil {
		return nil, position{}, err
	}
	defer closeAll()
	t := newTree(rs.rng, nil, nil)
	t.workers = 1
	next, prev := rs.head.Seq+1, rs.head.Hash
	if t.size() == 0 {
		next = 0
	}
	pos := position{index: rs.index, offset: rs.offset, head: rs.head.String()}
	if t.size() == 0 {
		pos.head = ""
	}
	var alg chain.Alg
	if t.size() > 0 && !headAt(files[0], rs) {
		return nil, position{}, errHint
	}
	for i, f := range files {
		start := int64(0)
		if i == 0 {
			start = rs.offset
		}
		if start > f.size {
			return nil, position{}, errHint
		}
		if alg == "" || start == 0 {
			h, err := headerOf(io.NewSectionReader(f.f, 0, f.size), f.name)
			if err != nil {
				return nil, position{}, errHint
			}
			alg = chain.Alg(h.Alg)
		}
		sc := chain.NewScanner(io.NewSectionReader(f.f, start, f.size-start))
		off := start
		for sc.Scan() {
			line := sc.Line()
			whole := bytes.HasSuffix(line, []byte{'\n'})
			if sc.LineErr() != nil && !whole && sc.Offset()+int64(len(line)) == f.size-start && i == len(files)-1 {
				break // a torn final line: not a record
			}
			rec := sc.Record()
			if sc.LineErr() != nil || rec.Seq != next || rec.Prev != prev || (rec.Type == chain.HeaderType) != (sc.LineNumber() == 1 && start == 0) {
				if t.size() == rs.rng.End() {
					return nil, position{}, errHint
				}
				return nil, position{}, &RefusedError{Reason: fmt.Sprintf("%s at byte %d: the chain does not verify after the last checkpoint ('brain-audit verify-log %s' shows where)", f.name, off, active)}
			}
			body := bytes.TrimSuffix(line, []byte{'\n'})
			if recordHash(alg, body, prev) != rec.Hash {
				return nil, position{}, &RefusedError{Reason: fmt.Sprintf("%s at byte %d: record %d does not match its hash: the chain does not verify after the last checkpoint ('brain-audit verify-log %s' shows where)", f.name, off, rec.Seq, active)}
			}
			t.Lines(append(body[:len(body):len(body)], '\n'))
			next, prev = rec.Seq+1, rec.Hash
			off += int64(len(line))
			pos = position{index: f.index, offset: off, head: chain.Head{Seq: rec.Seq, Hash: rec.Hash}.String()}
		}
		if err := sc.Err(); err != nil {
			return nil, position{}, &chain.ReadError{Path: f.name, Err: err}
		}
	}
	return t, pos, nil
}

// headAt reports whether the line of f that ends at the state's offset is
// the state's head, a record whose hash verifies: the records the last
// checkpoint covers end with the record that checkpoint was made after. A
// rewrite of any of them, rehashed, changes that record's hash.
func headAt(f snapFile, rs *rangeState) bool {
	end := rs.offset
	if end > f.size || end == 0 {
		return false
	}
	start := max(0, end-chain.MaxRecordSize-1)
	b := make([]byte, end-start)
	if _, err := f.f.ReadAt(b, start); err != nil {
		return false
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	line := b[bytes.LastIndexByte(b, '\n')+1:]
	h, err := headerOf(io.NewSectionReader(f.f, 0, f.size), f.name)
	if err != nil {
		return false
	}
	sc := chain.NewScanner(bytes.NewReader(line))
	if !sc.Scan() || sc.LineErr() != nil {
		return false
	}
	rec := sc.Record()
	return rec.Seq == rs.head.Seq && rec.Hash == rs.head.Hash && recordHash(chain.Alg(h.Alg), line, rec.Prev) == rec.Hash
}

// recordHash returns a record's hash as the chain format defines it:
// H(entry || prev), where entry is the line up to its last `,"hash":"`.
func recordHash(alg chain.Alg, line []byte, prev chain.Digest) chain.Digest {
	var d chain.Digest
	k := bytes.LastIndex(line, []byte(`,"hash":"`))
	if k < 0 {
		return d
	}
	h := alg.New()
	h.Write(line[:k])
	h.Write(prev[:])
	copy(d[:], h.Sum(nil))
	return d
}

// snapFile is a chain file open for reading, with its size when snapshotted.
type snapFile struct {
	name  string
	index int
	f     *os.File
	size  int64
}

// snapshotFrom opens the chain's files from index from to the active file,
// and takes their sizes, under the chain's shared lock: between appends,
// never during one.
func snapshotFrom(active string, from int) ([]snapFile, func(), error) {
	unlock := chain.ReadLock(active)
	defer unlock()
	var files []snapFile
	closeAll := func() {
		for _, f := range files {
			f.f.Close()
		}
	}
	fail := func(err error) ([]snapFile, func(), error) {
		closeAll()
		return nil, nil, err
	}
	af, err := fsutil.OpenFile(active, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return fail(&chain.ReadError{Path: active, Err: err})
	}
	h, err := headerOf(af, active)
	if err != nil {
		af.Close()
		return fail(errHint)
	}
	if from > h.Index {
		af.Close()
		return fail(errHint)
	}
	for i := from; i < h.Index; i++ {
		name := chain.RotatedName(active, i)
		f, err := fsutil.OpenFile(name, os.O_RDONLY|fsutil.NoFollow, 0)
		if err != nil {
			af.Close()
			return fail(errHint)
		}
		files = append(files, snapFile{name: name, index: i, f: f})
	}
	files = append(files, snapFile{name: active, index: h.Index, f: af})
	for i := range files {
		fi, err := files[i].f.Stat()
		if err != nil {
			return fail(&chain.ReadError{Path: files[i].name, Err: err})
		}
		files[i].size = fi.Size()
	}
	return files, closeAll, nil
}

// full verifies the whole chain and builds its tree in the same pass. With
// hasBase, the root at base's size must be base's root.
func full(ctx context.Context, active string, base Checkpoint, hasBase bool, workers int) (*tree, position, *chain.Report, error) {
	var targets []uint64
	if hasBase {
		targets = []uint64{base.Size}
	}
	t := newTree(nil, targets, nil)
	rep, err := chain.VerifyFile(ctx, active, chain.VerifyOptions{Workers: workers, Lines: t})
	if err != nil {
		return nil, position{}, nil, err
	}
	if !rep.OK() && !rep.OnlyTornTail() && !rep.OnlyMissingNewline() {
		return nil, position{}, rep, &RefusedError{Reason: fmt.Sprintf("%s does not verify: only a chain that verifies is signed", active), Findings: rep.Findings}
	}
	if hasBase {
		if t.size() < base.Size {
			return nil, position{}, rep, &RefusedError{Reason: fmt.Sprintf("%s has %d records, fewer than the %d of the last checkpoint: its tail was cut", active, t.size(), base.Size)}
		}
		if root, ok := t.root(base.Size); !ok || root != base.Root {
			return nil, position{}, rep, &RefusedError{Reason: fmt.Sprintf("%s does not extend the last checkpoint (size %d): its records up to that size were changed", active, base.Size)}
		}
	}
	var pos position
	if g := rep.Head; g != nil {
		pos.head = fmt.Sprintf("%d:%s", g.Seq, g.Hash)
		if h, err := readHeader(g.File); err == nil {
			pos.index = h.Index
			pos.offset = lineEnd(g.File, g.Offset)
		}
	}
	return t, pos, rep, nil
}

// lineEnd returns the offset after the line at off in the file at path,
// newline included (the file's end when it has none).
func lineEnd(path string, off int64) int64 {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	b := make([]byte, chain.MaxRecordSize)
	n, _ := f.ReadAt(b, off)
	if i := bytes.IndexByte(b[:n], '\n'); i >= 0 {
		return off + int64(i) + 1
	}
	return off + int64(n)
}

// LastSize returns the size of the last checkpoint in the checkpoint file
// of the chain whose active file is active, unverified, and whether there
// is one: for deciding when to make the next, never for trusting it.
func LastSize(active string) (uint64, bool) {
	f, err := fsutil.OpenFile(StorePath(active), os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	ln, err := (&store{path: f.Name(), f: f, size: fi.Size()}).last()
	if err != nil || ln.data == nil {
		return 0, false
	}
	e, err := parseEntry(ln.data)
	if err != nil {
		return 0, false
	}
	c, err := Unverified(e.Note)
	return c.Size, err == nil
}
