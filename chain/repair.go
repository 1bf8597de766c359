package chain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/brain-dev/brain/internal/fsutil"
)

// RepairOptions tune Repair.
type RepairOptions struct {
	// Quarantine allows moving a damaged suffix that is not a torn tail aside.
	Quarantine bool
	// DryRun reports what would be done and changes nothing.
	DryRun bool
	// Now is the clock for the quarantine name and the repair record.
	Now func() time.Time
	// Session, TraceID and SpanID label the chain.repaired record.
	Session, TraceID, SpanID string
}

// Repair actions.
const (
	ActionNone       = "none"
	ActionTornTail   = "truncate_torn_tail"
	ActionQuarantine = "quarantine_suffix"
	// ActionNewline: the final record verified but had no newline; the
	// newline is added, nothing is removed.
	ActionNewline = "add_final_newline"
)

// RepairResult says what Repair did (or, with DryRun, would do).
type RepairResult struct {
	Action string `json:"action"`
	File   string `json:"file"`
	// Offset is where the file was cut; Bytes how many bytes were moved to
	// Quarantine; SHA256 their digest.
	Offset     int64      `json:"offset"`
	Bytes      int64      `json:"bytes"`
	SHA256     string     `json:"sha256,omitempty"`
	Quarantine string     `json:"quarantine,omitempty"`
	LastGood   *RecordRef `json:"last_good,omitempty"`
	Findings   []Finding  `json:"findings"`
	// Record is the head after the chain.repaired record was appended.
	Record *RecordRef `json:"record,omitempty"`
	DryRun bool       `json:"dry_run,omitempty"`
}

// RefusedError reports damage that Repair will not touch without
// RepairOptions.Quarantine, or at all.
type RefusedError struct {
	Reason   string
	Findings []Finding
	// Missing is set when the refusal is for a missing file, which nothing
	// but a copy restores.
	Missing bool
}

func (e *RefusedError) Error() string { return "chain: repair refused: " + e.Reason }

// RepairedData is the data of a chain.repaired record.
type RepairedData struct {
	Action     string         `json:"action"`
	File       string         `json:"file"`
	Offset     int64          `json:"offset"`
	Bytes      int64          `json:"bytes"`
	SHA256     string         `json:"sha256"`
	Quarantine string         `json:"quarantine"`
	LastGood   uint64         `json:"last_good_seq"`
	Findings   map[Class]int  `json:"findings"`
	FirstBad   *FirstBadEntry `json:"first_bad,omitempty"`
}

// FirstBadEntry names the first finding a quarantine repair acted on.
type FirstBadEntry struct {
	Class Class  `json:"class"`
	Line  int64  `json:"line"`
	Seq   uint64 `json:"seq,omitempty"`
}

// Repair restores a damaged chain whose active file is path without ever
// editing or re-hashing a record that verified. A torn final line is cut
// off; a final record that verifies but lacks its newline gets it; with
// Quarantine, the suffix of the active file from its first damaged line on
// is moved aside. The removed bytes go to a quarantine file next to path,
// and a chain.repaired record describing what was done is appended. It
// holds the chain's exclusive lock throughout. With DryRun it writes
// nothing, creates no file (not even the lock file: the chain may be on a
// read-only file system) and takes the shared lock, as verification does.
func Repair(ctx context.Context, path string, opts RepairOptions) (*RepairResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path = activeName(path)
	var w *Writer
	if opts.DryRun {
		defer localFS{}.lockShared(path)()
	} else {
		if err := writable(); err != nil {
			return nil, err
		}
		lockf, err := fsutil.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|fsutil.NoFollow, 0o600)
		if err != nil {
			return nil, fmt.Errorf("chain: opening lock: %w", err)
		}
		w = &Writer{path: path, opts: Options{Alg: SHA256, Now: opts.Now}, lockf: lockf}
		defer w.closeFiles()
		if err := w.lock(); err != nil {
			return nil, err
		}
		defer w.unlock()
	}
	rep, err := verifyChainOf(ctx, localFS{}, path, VerifyOptions{MaxFindings: 1000}, false)
	if err != nil {
		return nil, err
	}
	res := &RepairResult{Action: ActionNone, File: path, Findings: rep.Findings, LastGood: rep.Head, DryRun: opts.DryRun}
	if rep.OK() {
		return res, nil
	}
	first := rep.Findings[0]
	switch {
	case first.Class == MissingFile && filepath.Clean(first.File) == filepath.Clean(path):
		return nil, &RefusedError{Reason: "the chain's active file is missing; there is nothing repair can cut (the next append continues the chain from its newest rotated file)", Findings: rep.Findings, Missing: true}
	case first.Class == MissingFile || first.Class == HeadMismatch:
		return nil, &RefusedError{Reason: "a file of the chain is missing; there is nothing repair can restore", Findings: rep.Findings, Missing: true}
	case filepath.Clean(first.File) != filepath.Clean(path):
		return nil, &RefusedError{Reason: fmt.Sprintf("the damage starts in the rotated file %q; repair only cuts the active file", first.File), Findings: rep.Findings}
	case rep.OnlyTornTail():
		res.Action = ActionTornTail
	case rep.OnlyMissingNewline():
		res.Action = ActionNewline
	case !opts.Quarantine:
		return nil, &RefusedError{Reason: fmt.Sprintf("the damage is not a torn tail (%s); it may be tampering", summarize(rep.Counts)), Findings: rep.Findings}
	default:
		res.Action = ActionQuarantine
	}
	res.Offset = first.Offset
	for _, f := range rep.Findings {
		if f.File != first.File {
			return nil, &RefusedError{Reason: "the damage spans several files", Findings: rep.Findings}
		}
	}
	if res.Offset == 0 && first.Class != TornTail && first.Class != MissingNewline {
		return nil, &RefusedError{Reason: "the damage starts at the header: no record of this file would remain", Findings: rep.Findings}
	}
	// A regular file only (a pipe cannot block it); one that is written
	// is never reached through a link.
	flag := os.O_RDWR | fsutil.NoFollow
	if opts.DryRun {
		flag = os.O_RDONLY
	}
	f, err := fsutil.OpenFile(path, flag, 0)
	if err != nil {
		return nil, &ReadError{Path: path, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &ReadError{Path: path, Err: err}
	}
	if res.Action == ActionNewline {
		// Nothing is removed: the offset is where the newline goes.
		res.Offset = fi.Size()
	}
	// The removed bytes are streamed (to the digest, then to the
	// quarantine file): a damaged suffix of any size costs no memory.
	removed := io.NewSectionReader(f, res.Offset, fi.Size()-res.Offset)
	h := sha256.New()
	if _, err := io.Copy(h, removed); err != nil {
		return nil, &ReadError{Path: path, Err: err}
	}
	res.Bytes, res.SHA256 = removed.Size(), hex.EncodeToString(h.Sum(nil))
	if res.Action != ActionNewline {
		res.Quarantine = quarantineName(path, opts.Now())
	}
	if opts.DryRun {
		return res, nil
	}
	if err := cutTail(f, path, res); err != nil {
		return nil, err
	}
	data := RepairedData{Action: res.Action, File: filepath.Base(path), Offset: res.Offset, Bytes: res.Bytes, SHA256: res.SHA256,
		Findings: rep.Counts}
	if res.Quarantine != "" {
		data.Quarantine = filepath.Base(res.Quarantine)
	}
	if rep.Head != nil {
		data.LastGood = rep.Head.Seq
	}
	if res.Action == ActionQuarantine {
		fb := &FirstBadEntry{Class: first.Class, Line: first.Line}
		if first.Seq != nil {
			fb.Seq = *first.Seq
		}
		data.FirstBad = fb
	}
	raw, _ := json.Marshal(data)
	ev := Event{Type: RepairedType, Session: opts.Session, TraceID: opts.TraceID, SpanID: opts.SpanID, Data: raw}
	d, err := checkEvent(&ev)
	if err != nil {
		return nil, err
	}
	head, err := w.appendLocked([]Event{ev}, [][]byte{d}, nil, true)
	if err != nil {
		return nil, err
	}
	res.Record = &RecordRef{File: path, Seq: head.Seq, Hash: head.Hash.String()}
	return res, nil
}

// cutTail does to the active file f at path what res says: add the final
// newline, or move the bytes from res.Offset on to the quarantine file and
// cut them off (removing the file when nothing is left of it).
func cutTail(f *os.File, path string, res *RepairResult) error {
	if res.Action == ActionNewline {
		if _, err := f.WriteAt([]byte{'\n'}, res.Offset); err != nil {
			return &WriteError{Path: path, Op: "repair", Err: err}
		}
		if err := f.Sync(); err != nil {
			f.Truncate(res.Offset)
			return &WriteError{Path: path, Op: "repair", Err: err}
		}
		return nil
	}
	if err := writeQuarantine(res.Quarantine, io.NewSectionReader(f, res.Offset, res.Bytes)); err != nil {
		return err
	}
	if res.Offset == 0 {
		// Only a torn header: the file never held a record. Remove it; the
		// writer recreates it (continuing the rotated files, if any).
		if err := os.Remove(path); err != nil {
			return &WriteError{Path: path, Op: "repair", Err: err}
		}
	} else if err := f.Truncate(res.Offset); err != nil {
		return &WriteError{Path: path, Op: "repair", Err: err}
	} else if err := f.Sync(); err != nil {
		return &WriteError{Path: path, Op: "repair", Err: err}
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		return &WriteError{Path: path, Op: "repair", Err: err}
	}
	return nil
}

func summarize(counts map[Class]int) string {
	var parts []string
	for c, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func quarantineName(path string, now time.Time) string {
	base := path + ".quarantine-" + now.UTC().Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// writeQuarantine writes the bytes of r to the new file name, durably.
func writeQuarantine(name string, r io.Reader) error {
	q, err := fsutil.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|fsutil.NoFollow, 0o600)
	if err != nil {
		return &WriteError{Path: name, Op: "create", Err: err}
	}
	if _, err := io.Copy(q, r); err != nil {
		q.Close()
		os.Remove(name)
		return &WriteError{Path: name, Op: "write", Err: err}
	}
	if err := q.Sync(); err != nil {
		q.Close()
		os.Remove(name)
		return &WriteError{Path: name, Op: "sync", Err: err}
	}
	if err := fsutil.SyncDir(filepath.Dir(name)); err != nil {
		q.Close()
		return &WriteError{Path: name, Op: "sync", Err: err}
	}
	return q.Close()
}
