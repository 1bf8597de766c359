package chain

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Class classifies a verification finding.
type Class string

// Finding classes. Verification classifies what it sees; it never guesses.
const (
	// Tampered: a record's hash does not match its bytes.
	Tampered Class = "tampered"
	// BrokenLink: a record's prev is not the previous record's hash: records
	// were deleted, inserted or reordered.
	BrokenLink Class = "broken_link"
	// SeqGap: the link holds but seq is not the previous seq + 1.
	SeqGap Class = "seq_gap"
	// Duplicate: a record repeats the previous one.
	Duplicate Class = "duplicate"
	// TornTail: the chain's final line has no newline: a crash during a write.
	// Repairable; not evidence of tampering.
	TornTail Class = "torn_tail"
	// Malformed: a line that is not a record (not JSON, CRLF, invalid UTF-8,
	// missing fields, over the size limit, not in the canonical layout).
	Malformed Class = "malformed"
	// Header: a file's header is missing, damaged or inconsistent with the
	// chain (format, algorithm, chain id, index, continuation).
	HeaderProblem Class = "header"
	// MissingFile: a file of a rotated chain is missing.
	MissingFile Class = "missing_file"
	// HeadMismatch: the recorded head (--head) is not in the chain.
	HeadMismatch Class = "head_mismatch"
	// MissingNewline: the chain's final line is a whole record that
	// verifies but has no newline. Nothing is lost; repair adds the
	// newline. (A torn write leaves part of a record, never a whole one.)
	MissingNewline Class = "missing_newline"
)

// RecordRef locates a record.
type RecordRef struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Offset int64  `json:"offset"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`
}

// Finding is one problem verification found.
type Finding struct {
	Class  Class  `json:"class"`
	File   string `json:"file"`
	Line   int64  `json:"line"`   // 1-based line in File; 0 for a whole-file finding
	Offset int64  `json:"offset"` // byte offset of the line in File
	// Seq is the record's seq when it could be read.
	Seq      *uint64    `json:"seq,omitempty"`
	Expected string     `json:"expected,omitempty"`
	Found    string     `json:"found,omitempty"`
	LastGood *RecordRef `json:"last_good,omitempty"`
	Detail   string     `json:"detail"`
}

func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s:%d (byte %d)", f.Class, f.File, f.Line, f.Offset)
	if f.Seq != nil {
		fmt.Fprintf(&b, " seq %d", *f.Seq)
	}
	fmt.Fprintf(&b, ": %s", f.Detail)
	if f.Expected != "" || f.Found != "" {
		fmt.Fprintf(&b, " (expected %s, found %s)", orNone(f.Expected), orNone(f.Found))
	}
	if f.LastGood != nil {
		fmt.Fprintf(&b, "; last good record: seq %d at %s:%d", f.LastGood.Seq, f.LastGood.File, f.LastGood.Line)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// Report is the result of verifying one chain.
type Report struct {
	Chain   string   `json:"chain"`
	Alg     Alg      `json:"alg"`
	Files   []string `json:"files"`
	Records int64    `json:"records"`
	Bytes   int64    `json:"bytes"`
	// Head is the last record that verified; nil when none did.
	Head       *RecordRef    `json:"head,omitempty"`
	Findings   []Finding     `json:"findings"`
	Counts     map[Class]int `json:"counts"`
	Suppressed int           `json:"suppressed"`
	// HeadChecked reports that VerifyOptions.ExpectHead was found in the chain.
	HeadChecked bool `json:"head_checked,omitempty"`
}

// OK reports whether the chain verified without findings.
func (r *Report) OK() bool { return len(r.Findings) == 0 && r.Suppressed == 0 }

// OnlyTornTail reports whether the only finding is a torn final line.
func (r *Report) OnlyTornTail() bool { return r.only(TornTail) }

// OnlyMissingNewline reports whether the only finding is a final record
// without its newline.
func (r *Report) OnlyMissingNewline() bool { return r.only(MissingNewline) }

func (r *Report) only(c Class) bool {
	return len(r.Findings) == 1 && r.Suppressed == 0 && r.Findings[0].Class == c
}

// VerifyOptions tune verification.
type VerifyOptions struct {
	// Workers hash lines in parallel (default GOMAXPROCS).
	Workers int
	// MaxFindings caps the findings kept per chain (default 100); the rest
	// are counted in Report.Suppressed and Report.Counts.
	MaxFindings int
	// ExpectHead, when set, must be a record of the chain with that hash.
	ExpectHead *Head
	// Lines, when set, receives every line verified, in order (LineSink).
	Lines LineSink

	// Test hooks: mapMin overrides the smallest file that is mapped (-1:
	// none); slow sends every line to the general parser.
	mapMin int64
	slow   bool
}

// maxWorkers bounds the workers, and with them the chunks in flight (two
// per worker): what verification holds in memory does not grow with the
// number of CPUs.
const maxWorkers = 8

func (o *VerifyOptions) fill() {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	o.Workers = min(o.Workers, maxWorkers)
	if o.MaxFindings <= 0 {
		o.MaxFindings = 100
	}
}

// ReadError reports an input that could not be read at all (as opposed to
// one that was read and found damaged).
type ReadError struct {
	Path string
	Err  error
}

func (e *ReadError) Error() string {
	err := e.Err
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path == e.Path {
		err = pe.Err // the path is named already
	}
	return fmt.Sprintf("reading %q: %v", e.Path, err)
}
func (e *ReadError) Unwrap() error { return e.Err }

// input is one file of a chain as verification sees it.
type input struct {
	name string
	r    io.Reader
	// size is the number of bytes r holds, or 0 when unknown.
	size int64
	// missingBefore names files of the chain known to be missing before it.
	missingBefore []string
	// missingAfter names the chain's active file when it is missing after
	// this file, the last one found.
	missingAfter string
	// f is the file r reads, when it is one: a large file is mapped instead
	// of read.
	f *os.File
	// fi is the file's identity and size as snapshotted under the chain's
	// lock. A file snapshotted but not open (f nil) is opened when its turn
	// comes, and must still be the same file.
	fi os.FileInfo
}

// snapshotFile stats the chain file at path for verification: its size and
// identity. With open, the file is also opened now: the active file, which a
// rotation may rename once the lock is released. The others (rotated files
// do not change) are opened one at a time when verified, so a chain of
// thousands of files needs no more descriptors than one of two.
func snapshotFile(path string, open bool) (input, error) {
	in := input{name: path}
	var err error
	if open {
		// A regular file only: a named pipe planted here must not block.
		if in.f, err = fsutil.Open(path); err != nil {
			return in, err
		}
		in.fi, err = in.f.Stat()
	} else {
		in.fi, err = os.Stat(path)
	}
	if err == nil && in.fi.IsDir() {
		err = errors.New("is a directory")
	}
	if err != nil {
		in.close()
		return in, err
	}
	in.size = in.fi.Size()
	if in.f != nil {
		in.r = io.NewSectionReader(in.f, 0, in.size)
	}
	return in, nil
}

// open opens in's file when it was snapshotted but not opened.
func (in *input) open() error {
	if in.f != nil || in.fi == nil {
		return nil
	}
	// A rotated file is the chain's own: a link there is not followed.
	f, err := fsutil.OpenFile(in.name, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return &ReadError{Path: in.name, Err: err}
	}
	fi, err := f.Stat()
	if err == nil && !os.SameFile(fi, in.fi) {
		err = errors.New("the file was replaced while the chain was being verified")
	}
	if err != nil {
		f.Close()
		return &ReadError{Path: in.name, Err: err}
	}
	in.f, in.r = f, io.NewSectionReader(f, 0, in.size)
	return nil
}

// close closes in's file, if verification opened it.
func (in *input) close() {
	if in.f != nil && in.fi != nil {
		in.f.Close()
		in.f = nil
	}
}

func closeInputs(ins []input) {
	for i := range ins {
		ins[i].close()
	}
}

var rotatedRe = regexp.MustCompile(`^(.*)\.([0-9]{6})(\.[^./]*)?$`)

// activeName maps a rotated file name back to its chain's active file name.
func activeName(path string) string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if m := rotatedRe.FindStringSubmatch(stem + ext); m != nil && m[3] == ext {
		return dir + m[1] + ext
	}
	return path
}

// VerifyFile verifies the chain ending in the file at path: path itself and
// the rotated files that precede it. When path is a chain's active file and
// does not exist but rotated files of it do, the chain ends in the newest of
// them and the missing active file is a MissingFile finding.
func VerifyFile(ctx context.Context, path string, opts VerifyOptions) (*Report, error) {
	return verifyFile(ctx, path, opts, true)
}

// verifyFile is VerifyFile; lock says whether to take the shared lock (a
// caller that holds the exclusive lock passes false).
func verifyFile(ctx context.Context, path string, opts VerifyOptions, lock bool) (*Report, error) {
	unlock := func() {}
	if lock {
		unlock = lockShared(activeName(path))
	}
	ins, err := snapshotChain(path)
	unlock()
	if err != nil {
		return nil, err
	}
	return verify(ctx, ins, opts)
}

// snapshotChain snapshots the chain ending in the file at path: path and
// the rotated files its headers name, back to index 0, oldest first. Only a
// file that does not exist (ENOENT) is missing; any other error (too many
// open files, a loop of links, ...) is a ReadError, never a finding. When
// path is a chain's active file and does not exist but rotated files of it
// do (a rotation cut short, or the file deleted), the chain ends in the
// newest of them and the active file is reported missing.
func snapshotChain(path string) ([]input, error) {
	last, err := snapshotFile(path, true)
	if errors.Is(err, os.ErrNotExist) && activeName(path) == path {
		if rotated, _ := rotatedFiles(path); len(rotated) > 0 {
			ins, err := snapshotChain(rotated[len(rotated)-1])
			if err == nil {
				ins[len(ins)-1].missingAfter = path
			}
			return ins, err
		}
	}
	if err != nil {
		return nil, &ReadError{Path: path, Err: err}
	}
	ins := []input{last}
	line, err := readFirstLine(last.f)
	if err != nil {
		return ins, nil
	}
	h, _, err := parseHeader(line)
	if err != nil {
		return ins, nil
	}
	// Walk back through the rotated files named in each header.
	for idx := h.Index - 1; idx >= 0; idx-- {
		prev := RotatedName(activeName(path), idx)
		in, err := snapshotFile(prev, false)
		switch {
		case errors.Is(err, os.ErrNotExist):
			ins[0].missingBefore = append([]string{prev}, ins[0].missingBefore...)
		case err != nil:
			closeInputs(ins)
			return nil, &ReadError{Path: prev, Err: err}
		default:
			ins = append([]input{in}, ins...)
		}
	}
	return ins, nil
}

// VerifyReader verifies one chain file read from r (stdin, say), named name
// in findings.
func VerifyReader(ctx context.Context, name string, r io.Reader, opts VerifyOptions) (*Report, error) {
	return verify(ctx, []input{{name: name, r: r}}, opts)
}

// VerifyFiles verifies files as the consecutive files of one chain, oldest
// first.
func VerifyFiles(ctx context.Context, paths []string, opts VerifyOptions) (*Report, error) {
	return verifyPaths(ctx, paths, nil, opts)
}

// verifyPaths verifies paths as one chain; missing[i] names the files known
// to be missing before paths[i].
func verifyPaths(ctx context.Context, paths []string, missing map[int][]string, opts VerifyOptions) (*Report, error) {
	var ins []input
	unlock := func() {}
	if len(paths) > 0 {
		unlock = lockShared(activeName(paths[len(paths)-1]))
	}
	for i, p := range paths {
		in, err := snapshotFile(p, i == len(paths)-1)
		if err != nil {
			unlock()
			closeInputs(ins)
			return nil, &ReadError{Path: p, Err: err}
		}
		in.missingBefore = missing[i]
		ins = append(ins, in)
	}
	unlock()
	return verify(ctx, ins, opts)
}

// lockShared takes a shared lock on the chain's lock file, when it exists,
// so that file sizes are snapshotted between appends, never during one.
func lockShared(active string) func() {
	f, err := fsutil.OpenFile(active+".lock", os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return func() {}
	}
	fsutil.Flock(f.Fd(), unix.LOCK_SH)
	return func() {
		fsutil.Flock(f.Fd(), unix.LOCK_UN)
		f.Close()
	}
}

// Chain is a set of files that form one chain, found by Discover.
type Chain struct {
	ID    string
	Files []string // oldest first
	// Missing lists the indexes absent from Files.
	Missing []int
	// Duplicates lists files that claim an index another file has.
	Duplicates []string
	// missingBefore names, for a position in Files, the files missing just
	// before it.
	missingBefore map[int][]string
	// Damaged marks a file that looks like a chain file (its name, or a
	// first line shaped like a record) but has no valid header.
	Damaged bool
	// CopyOf, for a copy of a chain kept beside it under another name
	// (audit-copy.jsonl beside audit.jsonl: the same chain id), names the
	// original's newest file. A copy is a chain of its own: it is verified
	// on its own, with the original's files for the indexes it does not
	// have (a copy of a rotated chain's active file), and a finding in it
	// is never pinned on the original.
	CopyOf string
}

// looksLikeChain reports whether a file without a valid header should still
// be treated as a chain: it is named like one (audit*.jsonl, or a rotated
// NAME.NNNNNN.jsonl), or its first line is shaped like a record.
func looksLikeChain(path string, firstLine []byte) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, "audit") || rotatedRe.MatchString(strings.TrimSuffix(base, filepath.Ext(base))+filepath.Ext(base)) {
		return true
	}
	return bytes.Contains(firstLine, []byte(`"prev":"`)) && bytes.Contains(firstLine, []byte(hashSep))
}

// Discover finds the chains under dir: every regular file whose first line
// is a chain header, grouped by directory, chain id and name (a file and
// its rotated files, NAME.jsonl and NAME.NNNNNN.jsonl) and ordered by index.
// Files of the same chain id under other names in the same directory are
// copies (Chain.CopyOf), each verified on its own. Files that are not
// chains are returned in skipped.
func Discover(dir string) (chains []Chain, skipped []string, err error) {
	var damaged []Chain
	type entry struct {
		path  string
		index int
		fi    os.FileInfo
	}
	// A group is one directory, chain id and active name.
	groups := map[[3]string][]entry{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || strings.HasSuffix(p, ".lock") || strings.HasSuffix(p, ".tmp") || strings.Contains(filepath.Base(p), ".quarantine-") || isCheckpointFile(p) {
			return nil
		}
		f, err := fsutil.Open(p)
		if err != nil {
			return err
		}
		line, err := readFirstLine(f)
		f.Close()
		var h *HeaderData
		if err == nil {
			h, _, err = parseHeader(line)
		}
		if err != nil {
			// A file that looks like a chain but has no valid header is
			// verified (and fails), never skipped: damaging a header must
			// not make a chain disappear from verification.
			if looksLikeChain(p, line) {
				damaged = append(damaged, Chain{Files: []string{p}, Damaged: true})
			} else {
				skipped = append(skipped, p)
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		k := [3]string{filepath.Dir(p), h.Chain, activeName(p)}
		groups[k] = append(groups[k], entry{p, h.Index, fi})
		return nil
	})
	if err != nil {
		return nil, nil, &ReadError{Path: dir, Err: err}
	}
	keys := make([][3]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [3]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
	})
	first := len(chains)
	for _, k := range keys {
		es := groups[k]
		sort.Slice(es, func(i, j int) bool {
			if es[i].index != es[j].index {
				return es[i].index < es[j].index
			}
			return es[i].path < es[j].path
		})
		c := Chain{ID: k[1]}
		next := 0
		for i, e := range es {
			if e.index < next {
				if prev := es[i-1]; prev.index == e.index && os.SameFile(prev.fi, e.fi) {
					// One file under two names: the active file and its
					// rotated name, between the two steps of a rotation.
					// The active name is the one verified.
					if activeName(e.path) == e.path {
						c.Files[len(c.Files)-1] = e.path
					}
					continue
				}
				c.Duplicates = append(c.Duplicates, e.path)
				continue
			}
			for ; next < e.index; next++ {
				c.Missing = append(c.Missing, next)
				if c.missingBefore == nil {
					c.missingBefore = map[int][]string{}
				}
				c.missingBefore[len(c.Files)] = append(c.missingBefore[len(c.Files)], RotatedName(activeName(e.path), next))
			}
			c.Files = append(c.Files, e.path)
			next = e.index + 1
		}
		chains = append(chains, c)
	}
	markCopies(chains[first:], keys)
	chains = append(chains, damaged...)
	return chains, skipped, nil
}

// markCopies finds, among chains (one per key, in the same order), those
// that share a directory and chain id: the original is the one better
// picks; every other is a copy of it. A copy that starts after
// index 0 is completed with the original's files before its first, so that
// it verifies from the chain's start.
func markCopies(chains []Chain, keys [][3]string) {
	for i := 0; i < len(chains); {
		j := i + 1
		for j < len(chains) && keys[j][0] == keys[i][0] && keys[j][1] == keys[i][1] {
			j++
		}
		if j-i > 1 {
			orig := i
			for c := i + 1; c < j; c++ {
				if better(chains[c], chains[orig]) {
					orig = c
				}
			}
			o := &chains[orig]
			for c := i; c < j; c++ {
				if c != orig {
					chains[c].borrow(o)
				}
			}
		}
		i = j
	}
}

// better reports whether a makes a better original than b: it has the
// chain's first file, or more files, or its newest file was modified
// earlier (cp makes a copy newer), or its name is shorter.
func better(a, b Chain) bool {
	a0, b0 := !slices.Contains(a.Missing, 0), !slices.Contains(b.Missing, 0)
	if a0 != b0 {
		return a0
	}
	if len(a.Files) != len(b.Files) {
		return len(a.Files) > len(b.Files)
	}
	am, bm := modTime(a.Files[len(a.Files)-1]), modTime(b.Files[len(b.Files)-1])
	if !am.Equal(bm) {
		return am.Before(bm)
	}
	return len(a.Files[len(a.Files)-1]) < len(b.Files[len(b.Files)-1])
}

func modTime(path string) time.Time {
	fi, err := os.Lstat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// borrow makes c a copy of o: o's files stand in for the indexes c lacks
// before its first file.
func (c *Chain) borrow(o *Chain) {
	c.CopyOf = o.Files[len(o.Files)-1]
	lead := 0 // the indexes missing before c's first file
	for lead < len(c.Missing) && c.Missing[lead] == lead {
		lead++
	}
	if lead == 0 || len(o.Files) < lead || o.missingBefore[0] != nil {
		return
	}
	// o has indexes 0..len(o.Files)-1 without a gap at the start; take
	// those before c's first, if o has them all.
	for _, m := range o.Missing {
		if m < lead {
			return
		}
	}
	c.Files = append(slices.Clone(o.Files[:lead]), c.Files...)
	c.Missing = c.Missing[lead:]
	before := map[int][]string{}
	for pos, names := range c.missingBefore {
		if pos > 0 {
			before[pos+lead] = names
		}
	}
	c.missingBefore = before
	if len(before) == 0 {
		c.missingBefore = nil
	}
}

// VerifyChain verifies a chain found by Discover.
func VerifyChain(ctx context.Context, c Chain, opts VerifyOptions) (*Report, error) {
	rep, err := verifyPaths(ctx, c.Files, c.missingBefore, opts)
	if err != nil {
		return nil, err
	}
	for _, d := range c.Duplicates {
		rep.add(Finding{Class: HeaderProblem, File: d, Line: 1, Detail: "another file under this chain's name has the same index; it was not verified"}, opts.MaxFindings)
	}
	return rep, nil
}

// lineStatus is what a worker found about one line.
type lineStatus uint8

const (
	lineOK lineStatus = iota
	lineMismatch
	lineMalformed
	lineLayout    // a record not in the canonical form whose hash matches
	lineLayoutBad // not in the canonical form and hash mismatch (re-serialised)
	lineTorn
	lineOversize
)

type lineInfo struct {
	off      int64
	line     int64
	seq      uint64
	prev     Digest
	hash     Digest
	computed Digest
	status   lineStatus
	header   bool
	// msg is 1 + the index in its job's msgs of what is wrong with the
	// line, or 0. (lineInfo holds no pointer, so the garbage collector
	// never scans the results, a few MiB per job.)
	msg int32
}

type job struct {
	data      []byte
	off, line int64
	// next is where in data the lines not yet processed begin.
	next    int
	alg     Alg
	special *lineInfo // an oversize line found by the reader, or a torn one
	// unterminated: data is the final line of the file, which has no
	// newline, with one added.
	unterminated bool
	out          []lineInfo
	msgs         []string // the lines' messages (lineInfo.msg)
	done         chan struct{}
}

// setMsg gives li, a line of j, the message m, cut to maxMsg bytes.
func (j *job) setMsg(li *lineInfo, m string) {
	j.msgs = append(j.msgs, shorten(m))
	li.msg = int32(len(j.msgs))
}

// maxMsg bounds a finding's detail: a message that quotes the input (a
// header's unknown field, say) never repeats a hostile megabyte.
const maxMsg = 512

// shorten cuts m to at most maxMsg bytes, at a character boundary.
func shorten(m string) string {
	if len(m) <= maxMsg {
		return m
	}
	cut := maxMsg
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + "…"
}

// msgOf returns the message of li, a line of j.
func (j *job) msgOf(li *lineInfo) string {
	if li.msg == 0 {
		return ""
	}
	return j.msgs[li.msg-1]
}

const chunkSize = 4 << 20

// verify runs the pipeline: a reader cuts each file into chunks of whole
// lines, workers parse and hash lines in parallel, and the sequencer below
// checks links, seqs and headers in order.
func verify(ctx context.Context, ins []input, opts VerifyOptions) (*Report, error) {
	opts.fill()
	rep := &Report{Counts: map[Class]int{}}
	sq := &sequencer{rep: rep, max: opts.MaxFindings, head: opts.ExpectHead, mapMin: opts.mapMin, slow: opts.slow, sink: opts.Lines}
	for i := range ins {
		rep.Files = append(rep.Files, ins[i].name)
	}
	defer closeInputs(ins)
	for i := range ins {
		in := &ins[i]
		for _, m := range in.missingBefore {
			sq.addFinding(Finding{Class: MissingFile, File: m, Detail: "this file of the rotated chain is missing; the records it held cannot be checked"})
			// The next header continues the missing file, not the one before.
			sq.known, sq.prevFile = false, ""
		}
		if err := in.open(); err != nil {
			return nil, err
		}
		err := sq.file(ctx, in, i == len(ins)-1 && in.missingAfter == "", i == 0 && len(in.missingBefore) == 0, opts.Workers)
		in.close()
		if err != nil {
			return nil, err
		}
		if in.missingAfter != "" {
			sq.addFinding(Finding{Class: MissingFile, File: in.missingAfter, LastGood: sq.lastGood(),
				Detail: fmt.Sprintf("the chain's active file is missing, after %s: a rotation cut short leaves this, and so does deleting the file with the records after that one (the next append continues the chain from %s)",
					filepath.Base(in.name), filepath.Base(in.name))})
		}
	}
	sq.finish()
	return rep, nil
}

type sequencer struct {
	rep    *Report
	max    int
	head   *Head
	mapMin int64    // VerifyOptions.mapMin
	slow   bool     // VerifyOptions.slow
	sink   LineSink // VerifyOptions.Lines

	known    bool // last is a baseline for the next link check
	last     ref
	good     ref
	hasGood  bool
	alg      Alg
	prevFile string
	headSeen bool
}

func seqPtr(v uint64) *uint64 { return &v }

// ref is a record's place, kept cheaply for every line.
type ref struct {
	file      string
	line, off int64
	seq       uint64
	hash      Digest
}

// lastGood returns the last record that verified, or nil.
func (s *sequencer) lastGood() *RecordRef {
	if !s.hasGood {
		return nil
	}
	g := s.good
	return &RecordRef{File: g.file, Line: g.line, Offset: g.off, Seq: g.seq, Hash: g.hash.String()}
}

func (s *sequencer) addFinding(f Finding) { s.rep.add(f, s.max) }

func (r *Report) add(f Finding, max int) {
	r.Counts[f.Class]++
	if max > 0 && len(r.Findings) >= max {
		r.Suppressed++
		return
	}
	r.Findings = append(r.Findings, f)
}

// file verifies one file of the chain.
func (s *sequencer) file(ctx context.Context, in *input, last, first bool, workers int) error {
	// Buffers start at the input's size when it is small (most rotated
	// files), at a chunk when it is large, and grow from 256 KiB when the
	// size is unknown (stdin).
	br := &chunkReader{r: in.r, bufSize: 256 << 10}
	switch {
	case in.size > 0 && in.size < chunkSize:
		br.bufSize = int(in.size) + 1
	case in.size >= chunkSize:
		br.bufSize = chunkSize + 64<<10
	}
	if m := mapFile(in, s.mapMin); m != nil {
		defer m.unmap()
		br.m = m.data
	}
	hline, herr := br.firstLine()
	if errors.Is(herr, errFault) {
		return &ReadError{Path: in.name, Err: herr}
	}
	if herr != nil && !errors.Is(herr, errNoNewline) && !errors.Is(herr, io.EOF) && !errors.Is(herr, errHeaderOversize) {
		return &ReadError{Path: in.name, Err: herr}
	}
	var hdr *HeaderData
	// The file's only line has no newline: a torn write when it is part of
	// a record, not when it is a whole one.
	unterminated := errors.Is(herr, errNoNewline)
	torn := unterminated && !wholeObject(hline)
	switch {
	case len(hline) == 0 && errors.Is(herr, io.EOF):
		s.addFinding(Finding{Class: HeaderProblem, File: in.name, Line: 1, Detail: "empty file: no header record"})
		s.known = false
		return nil
	case torn && last:
		s.addFinding(Finding{Class: TornTail, File: in.name, Line: 1, Detail: "the header line is torn (no newline): the file's creation was interrupted", LastGood: s.lastGood()})
		return nil
	case errors.Is(herr, errHeaderOversize):
		s.addFinding(Finding{Class: HeaderProblem, File: in.name, Line: 1, Detail: "the first line is over the size limit: no header record"})
		s.known = false
		s.feed(&job{})
	default:
		var err error
		hdr, _, err = parseHeader(hline)
		if torn {
			err, hdr = errors.New("the header line has no newline"), nil
		}
		if err != nil {
			s.addFinding(Finding{Class: HeaderProblem, File: in.name, Line: 1, Detail: shorten("bad header: " + err.Error()), LastGood: s.lastGood()})
			s.known = false
		}
	}
	alg := s.alg
	if alg == "" {
		alg = SHA256
	}
	var hrec record
	if hdr != nil {
		alg = Alg(hdr.Alg)
		parseRecord(hline, &hrec)
		s.checkHeader(in.name, hdr, &hrec, first)
		if s.alg == "" {
			s.alg, s.rep.Alg, s.rep.Chain = alg, alg, hdr.Chain
		}
	}
	if len(hline) > 0 && !torn {
		// Line 1 goes through the same checks as every other line, so a
		// deleted header still leaves its first record checked.
		j := &job{data: append(hline, '\n'), line: 1, unterminated: unterminated}
		j.process(newDigester(alg), nil)
		j.out[0].header = j.out[0].header && hdr != nil
		s.rep.Bytes += int64(len(hline))
		if !unterminated {
			s.rep.Bytes++
		}
		s.line(in.name, &j.out[0], j.msgOf(&j.out[0]))
		if unterminated {
			s.missingNewline(in.name, &j.out[0])
		}
		s.feed(j)
	}
	err := s.run(ctx, in.name, br, alg, workers, last)
	s.prevFile = in.name
	return err
}

// checkHeader checks a header against the chain so far.
func (s *sequencer) checkHeader(name string, h *HeaderData, r *record, first bool) {
	bad := func(format string, args ...any) {
		seq := r.seq
		s.addFinding(Finding{Class: HeaderProblem, File: name, Line: 1, Seq: &seq, Detail: fmt.Sprintf(format, args...), LastGood: s.lastGood()})
	}
	if s.rep.Chain != "" && h.Chain != s.rep.Chain {
		bad("header names chain %q, the chain is %q", h.Chain, s.rep.Chain)
	}
	if s.alg != "" && Alg(h.Alg) != s.alg {
		bad("header names algorithm %s, the chain uses %s", h.Alg, s.alg)
	}
	if first {
		if h.Index != 0 || h.Continues != nil {
			s.addFinding(Finding{Class: MissingFile, File: name, Line: 1, Detail: fmt.Sprintf("this file is index %d of its chain; the files before it are missing", h.Index)})
			s.known = false
		} else if r.seq != 0 || !r.prev.IsZero() {
			bad("the first header of a chain must have seq 0 and an all-zero prev")
		}
		return
	}
	if h.Continues == nil {
		bad("header of index %d does not say which file it continues", h.Index)
		return
	}
	if s.prevFile != "" && h.Continues.File != filepath.Base(s.prevFile) {
		bad("header continues %q, but the previous file is %q", h.Continues.File, filepath.Base(s.prevFile))
	}
	if s.known && (h.Continues.Seq != s.last.seq || h.Continues.Hash != s.last.hash.String()) {
		bad("header continues seq %d hash %s, but the previous file ends at seq %d hash %s", h.Continues.Seq, h.Continues.Hash, s.last.seq, s.last.hash)
	}
}

// line applies the in-order checks to one line.
func (s *sequencer) line(file string, li *lineInfo, msg string) {
	// The common case first: a good record that links to the one before.
	if li.status == lineOK && s.known && li.prev == s.last.hash && li.seq == s.last.seq+1 &&
		(!li.header || li.line == 1) && (s.head == nil || s.headSeen || li.seq != s.head.Seq) {
		s.rep.Records++
		s.last = ref{file: file, line: li.line, off: li.off, seq: li.seq, hash: li.hash}
		s.good, s.hasGood = s.last, true
		return
	}
	cur := ref{file: file, line: li.line, off: li.off, seq: li.seq, hash: li.hash}
	f := Finding{File: file, Line: li.line, Offset: li.off}
	if li.status != lineOK || s.known && (li.prev != s.last.hash || li.seq != s.last.seq+1) {
		f.LastGood = s.lastGood()
	}
	switch li.status {
	case lineTorn:
		f.Class, f.Detail = TornTail, "the final line is torn (no newline): a write was interrupted"
		s.addFinding(f)
		return
	case lineOversize:
		f.Class, f.Detail = Malformed, msg
		s.addFinding(f)
		s.known = false
		return
	case lineMalformed:
		f.Class, f.Detail = Malformed, msg
		s.addFinding(f)
		s.known = false
		return
	case lineMismatch, lineLayoutBad:
		f.Class, f.Seq = Tampered, seqPtr(li.seq)
		f.Expected, f.Found = li.computed.String(), li.hash.String()
		f.Detail = "the record's hash does not match its bytes: the record was modified"
		if li.status == lineLayoutBad {
			f.Detail = "the record's hash does not match its bytes, and " + msg + "; it was re-serialised or edited"
		}
		s.addFinding(f)
		s.last, s.known = cur, true
		s.rep.Records++
		return
	case lineLayout:
		f.Class, f.Seq, f.Detail = Malformed, seqPtr(li.seq), msg
		s.addFinding(f)
		s.last, s.known = cur, true
		s.rep.Records++
		return
	}
	s.rep.Records++
	if li.header && li.line != 1 {
		f.Class, f.Seq, f.Detail = HeaderProblem, seqPtr(li.seq), "a header record in the middle of a file"
		s.addFinding(f)
	}
	if s.known {
		lastHash := s.last.hash
		switch {
		case li.prev == lastHash && li.seq == s.last.seq+1:
			// The normal case.
		case li.prev == lastHash:
			f.Class, f.Seq = SeqGap, seqPtr(li.seq)
			f.Expected, f.Found = fmt.Sprint(s.last.seq+1), fmt.Sprint(li.seq)
			f.Detail = "the link holds but seq does not follow the previous record's"
			s.addFinding(f)
		case li.hash == lastHash:
			f.Class, f.Seq = Duplicate, seqPtr(li.seq)
			f.Detail = fmt.Sprintf("the record repeats the previous one (line %d)", s.last.line)
			s.addFinding(f)
			return
		default:
			f.Class, f.Seq = BrokenLink, seqPtr(li.seq)
			f.Expected, f.Found = s.last.hash.String(), li.prev.String()
			switch {
			case li.seq > s.last.seq+1:
				f.Detail = fmt.Sprintf("prev does not link to the previous record; records with seq %d..%d are missing (deleted)", s.last.seq+1, li.seq-1)
			case li.seq == s.last.seq+1:
				f.Detail = "prev does not link to the previous record; a record before this one was replaced or inserted"
			default:
				f.Detail = fmt.Sprintf("prev does not link to the previous record; seq goes back from %d to %d (records reordered or inserted)", s.last.seq, li.seq)
			}
			s.addFinding(f)
		}
	}
	s.last, s.known = cur, true
	s.good, s.hasGood = cur, true
	if s.head != nil && !s.headSeen && li.seq == s.head.Seq {
		s.headSeen = true
		if li.hash == s.head.Hash {
			s.rep.HeadChecked = true
		} else {
			f.Class, f.Seq = HeadMismatch, seqPtr(li.seq)
			f.Expected, f.Found = s.head.Hash.String(), li.hash.String()
			f.Detail = "the record at the recorded head's seq has another hash: the chain was rewritten at or before this record"
			s.addFinding(f)
		}
	}
}

// missingNewline reports li, a file's final line, which lacks its newline,
// when it is a record that verified: nothing is wrong with it but the
// missing byte. (Any other problem of the line has its own finding.)
func (s *sequencer) missingNewline(file string, li *lineInfo) {
	if li.status != lineOK || s.good.line != li.line || s.good.file != file {
		return
	}
	s.addFinding(Finding{Class: MissingNewline, File: file, Line: li.line, Offset: li.off, Seq: seqPtr(li.seq),
		Detail:   "the final record verifies but the file does not end with its newline; nothing is lost: 'brain-audit repair' adds the newline",
		LastGood: s.lastGood()})
}

// wholeObject reports whether b begins with a whole JSON object. A write cut
// short leaves a proper prefix of a record line, which never does.
func wholeObject(b []byte) bool {
	_, ok := scanValue(b, 0, 0)
	return ok && len(b) > 0 && b[0] == '{'
}

func (s *sequencer) finish() {
	s.rep.Head = s.lastGood()
	if s.head != nil && !s.headSeen {
		f := Finding{Class: HeadMismatch, Detail: fmt.Sprintf("the recorded head seq %d is not in the chain: the tail was cut", s.head.Seq), Expected: s.head.String(), LastGood: s.lastGood()}
		if lg := s.lastGood(); lg != nil {
			f.File, f.Line, f.Offset = lg.File, lg.Line, lg.Offset
			f.Found = fmt.Sprintf("%d:%s", lg.Seq, lg.Hash)
			f.Detail = fmt.Sprintf("the chain ends at seq %d, before the recorded head seq %d: the tail was cut", lg.Seq, s.head.Seq)
		}
		s.addFinding(f)
	}
}

// run pipelines the rest of a file through the workers.
func (s *sequencer) run(parent context.Context, name string, br *chunkReader, alg Alg, workers int, last bool) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	jobs := make(chan *job)
	order := make(chan *job, 2*workers) // workers <= maxWorkers: bounded memory
	var wg sync.WaitGroup
	var fault faultCatcher
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer fault.catch(cancel)
			debug.SetPanicOnFault(true)
			h := newDigester(alg)
			var fs *fastScratch
			if hasSIMD && !s.slow {
				fs = &fastScratch{ni: alg == SHA256 && hasSHANI()}
			}
			for j := range jobs {
				j.process(h, fs)
				close(j.done)
			}
		}()
	}
	var readErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(order)
		defer close(jobs)
		defer fault.catch(cancel)
		debug.SetPanicOnFault(true)
		for {
			j, err := br.next()
			if j != nil {
				j.alg, j.done = alg, make(chan struct{})
				if j.special != nil {
					close(j.done)
				}
				select {
				case order <- j:
				case <-ctx.Done():
					return
				}
				if j.special == nil {
					select {
					case jobs <- j:
					case <-ctx.Done():
						return
					}
				}
			}
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				return
			}
		}
	}()
	// Line numbers are counted here, in order, not by the reader: line 1
	// is the header, and each job holds len(out) lines (a special job one).
	base := int64(2)
	// The sequencer's own digester and scratch, for the rest of a chunk of
	// short lines.
	var sh *digester
	var sfs *fastScratch
loop:
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			break loop
		}
		if j.unterminated && !wholeObject(j.data[:len(j.data)-1]) {
			// Part of a record: a write was cut. (Were it tampering, the
			// chain before it still verifies, as after a clean cut.)
			j.special = &lineInfo{off: j.off, status: lineTorn}
			if !last {
				j.special.status = lineMalformed
				j.setMsg(j.special, "the file ends mid-line (no newline) but is not the last file of the chain")
			}
		}
		if j.special != nil {
			s.rep.Bytes += int64(len(j.data))
			if j.unterminated {
				s.rep.Bytes--
			}
			j.special.line = base
			base++
			s.line(name, j.special, j.msgOf(j.special))
		} else if j.unterminated {
			// A whole record without its newline is checked as any record
			// (so an edited last record is tampered, not torn).
			s.rep.Bytes += int64(len(j.data)) - 1
			li := &j.out[0]
			li.line += base
			base++
			s.line(name, li, j.msgOf(li))
			s.missingNewline(name, li)
		} else {
			s.rep.Bytes += int64(len(j.data))
			for {
				for i := range j.out {
					j.out[i].line += base
					s.line(name, &j.out[i], j.msgOf(&j.out[i]))
				}
				base += int64(len(j.out))
				if j.next == len(j.data) {
					break
				}
				// More lines than a job holds results for: the rest of
				// the chunk is processed here, in order.
				if sh == nil {
					sh = newDigester(alg)
					if hasSIMD && !s.slow {
						sfs = &fastScratch{ni: alg == SHA256 && hasSHANI()}
					}
				}
				if err := catchFault(func() { j.process(sh, sfs) }); err != nil {
					fault.mu.Lock()
					fault.err = cmp.Or(fault.err, err)
					fault.mu.Unlock()
					break loop
				}
			}
		}
		s.feed(j)
		br.release(j)
	}
	cancel()
	<-readerDone
	wg.Wait()
	switch {
	case fault.err != nil:
		return &ReadError{Path: name, Err: fault.err}
	case readErr != nil:
		return &ReadError{Path: name, Err: readErr}
	}
	return parent.Err()
}

// maxJobLines bounds the lines a job holds results for (a lineInfo is 128
// bytes, and a line may be one byte). A chunk of records, 257 bytes each at
// the least, never reaches it; a chunk of short junk lines does, and the
// sequencer then processes the rest of that chunk itself, maxJobLines lines
// at a time: memory stays bounded whatever the lines, and time linear.
const maxJobLines = 16384

// process parses and hashes the lines of the job from data[j.next] on, at
// most maxJobLines of them, on the fast path (fs) where it can. It leaves
// j.next at the first line it did not process.
func (j *job) process(h *digester, fs *fastScratch) {
	data := j.data
	pos := j.next
	off, ln := j.off+int64(pos), j.line
	out := j.out[:0]
	j.msgs = j.msgs[:0]
	var r record
	if fs != nil {
		fs.reset(data, pos)
	}
	for pos < len(data) && len(out) < maxJobLines {
		if fs != nil {
			// A clean line's first dirty byte is its newline.
			if e := fs.nextDirty(pos); e < len(data) && data[e] == '\n' {
				out = append(out, lineInfo{off: off, line: ln})
				if fs.verifyLine(h, data, pos, e, &r, &out[len(out)-1]) {
					off += int64(e - pos + 1)
					ln++
					pos = e + 1
					continue
				}
				out = out[:len(out)-1]
			}
			fs.lastHex = nil
		}
		i := bytes.IndexByte(data[pos:], '\n')
		line := data[pos : pos+i]
		out = append(out, lineInfo{off: off, line: ln})
		li := &out[len(out)-1]
		off += int64(i + 1)
		ln++
		pos += i + 1
		if len(line)+1 > MaxRecordSize {
			li.status = lineMalformed
			j.setMsg(li, fmt.Sprintf("line of %d bytes is over the %d-byte limit", len(line)+1, MaxRecordSize))
		} else if pe := parseRecord(line, &r); pe != nil && !pe.layoutOnly {
			li.status = lineMalformed
			j.setMsg(li, pe.msg)
		} else {
			li.seq, li.prev, li.hash = r.seq, r.prev, r.hash
			li.computed = h.entry(r.entry, &r.prev)
			li.header = bytes.Equal(r.typ, []byte(`"`+HeaderType+`"`))
			switch {
			case pe != nil && li.computed == li.hash:
				li.status = lineLayout
				j.setMsg(li, "valid hash, but "+pe.msg)
			case pe != nil:
				li.status = lineLayoutBad
				j.setMsg(li, pe.msg)
			case li.computed != li.hash:
				li.status = lineMismatch
			}
		}
	}
	j.out, j.next = out, pos
}

var (
	errNoNewline      = errors.New("no newline")
	errHeaderOversize = errors.New("header line over the size limit")
)

// chunkReader cuts a stream into chunks of whole lines.
type chunkReader struct {
	r       io.Reader
	bufSize int // capacity of new buffers
	carry   []byte
	off     int64 // offset of carry[0]
	eof     bool
	free    chan []byte
	outs    chan []lineInfo
	skip    bool // discarding the rest of an oversize line
	// m is the mapped file, when it is mapped; the next chunk starts at
	// m[off] (the mapping starts at offset 0). Its pages before dropped are
	// verified and no longer mapped.
	m       []byte
	dropped int64
}

// firstLine reads the header line. It returns errNoNewline when the stream
// ends before a newline, io.EOF for an empty stream.
func (c *chunkReader) firstLine() ([]byte, error) {
	c.free = make(chan []byte, 16)
	c.outs = make(chan []lineInfo, 16)
	if c.m != nil {
		return c.firstLineMapped()
	}
	buf := make([]byte, 0, min(64<<10, c.bufSize))
	for {
		if i := bytes.IndexByte(buf[:min(len(buf), MaxRecordSize)], '\n'); i >= 0 {
			line := append([]byte(nil), buf[:i]...)
			c.carry = append(make([]byte, 0, max(c.bufSize, len(buf))), buf[i+1:]...)
			c.off = int64(i + 1)
			return line, nil
		}
		if len(buf) >= MaxRecordSize {
			// No header: the records after the first line are still
			// checked, from its newline on.
			c.carry = make([]byte, 0, max(c.bufSize, len(buf)))
			if i := bytes.IndexByte(buf, '\n'); i >= 0 {
				c.carry = append(c.carry, buf[i+1:]...)
				c.off = int64(i + 1)
			} else {
				c.off, c.skip = int64(len(buf)), true
			}
			return nil, errHeaderOversize
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			c.eof = true
			if len(buf) == 0 {
				return nil, io.EOF
			}
			c.carry, c.off = nil, int64(len(buf))
			return buf, errNoNewline
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *chunkReader) release(j *job) {
	if j.out != nil {
		select {
		case c.outs <- j.out[:0]:
		default:
		}
	}
	if j.data != nil && cap(j.data) >= chunkSize && c.m == nil {
		select {
		case c.free <- j.data[:0]:
		default:
		}
	}
	switch {
	case c.m == nil:
	case j.special != nil:
		c.dropMapped(j.special.off)
	default:
		c.dropMapped(j.off + int64(len(j.data)))
	}
}

// getOut returns a result slice with room for the lines of a chunk of
// size bytes: one per 256 bytes (a record is longer), at most maxJobLines.
func (c *chunkReader) getOut(size int) []lineInfo {
	n := min(size/256+1, maxJobLines)
	select {
	case o := <-c.outs:
		if cap(o) >= n {
			return o
		}
	default:
	}
	return make([]lineInfo, 0, n)
}

func (c *chunkReader) getBuf() []byte {
	select {
	case b := <-c.free:
		return b
	default:
		return make([]byte, 0, c.bufSize)
	}
}

// next returns the next chunk of whole lines, or a special job for a torn or
// oversize line.
func (c *chunkReader) next() (*job, error) {
	if c.m != nil {
		return c.nextMapped()
	}
	for {
		if c.eof {
			if len(c.carry) == 0 || c.skip {
				c.carry = nil
				return nil, io.EOF
			}
			j := c.finalLine(c.carry, c.off)
			c.carry = nil
			return j, io.EOF
		}
		if i := bytes.LastIndexByte(c.carry, '\n'); i >= 0 && (len(c.carry) >= chunkSize || c.full()) {
			if c.skip {
				k := bytes.IndexByte(c.carry, '\n')
				c.off += int64(k + 1)
				c.carry = append(c.carry[:0], c.carry[k+1:]...)
				c.skip = false
				continue
			}
			data := c.carry[:i+1]
			rest := c.getBuf()
			rest = append(rest, c.carry[i+1:]...)
			j := &job{data: data, off: c.off, out: c.getOut(len(data))}
			c.off += int64(len(data))
			c.carry = rest
			return j, nil
		}
		if !bytes.Contains(c.carry, []byte{'\n'}) && len(c.carry) > MaxRecordSize {
			var j *job
			if !c.skip {
				j = oversizeJob(c.off)
				c.skip = true
			}
			c.off += int64(len(c.carry))
			c.carry = c.carry[:0]
			if j != nil {
				return j, nil
			}
		}
		if c.carry == nil {
			c.carry = c.getBuf()
		}
		if len(c.carry) == cap(c.carry) {
			c.carry = append(c.carry, 0)[:len(c.carry)]
		}
		n, err := c.r.Read(c.carry[len(c.carry):cap(c.carry)])
		c.carry = c.carry[:len(c.carry)+n]
		if err == io.EOF {
			c.eof = true
			if c.skip {
				if k := bytes.IndexByte(c.carry, '\n'); k >= 0 {
					c.off += int64(k + 1)
					c.carry = c.carry[k+1:]
					c.skip = false
				}
			}
			if i := bytes.LastIndexByte(c.carry, '\n'); i >= 0 && !c.skip {
				data := c.carry[:i+1]
				j := &job{data: data, off: c.off, out: c.getOut(len(data))}
				c.off += int64(len(data))
				c.carry = c.carry[i+1:]
				return j, nil
			}
			continue
		}
		if err != nil {
			return nil, err
		}
	}
}

// finalLine returns the job of b, the file's final line, at off, which has
// no newline: a copy of it with one added, marked unterminated, or the
// oversize job when it is over the size limit.
func (c *chunkReader) finalLine(b []byte, off int64) *job {
	if len(b) >= MaxRecordSize {
		return oversizeJob(off)
	}
	data := append(append(make([]byte, 0, len(b)+1), b...), '\n')
	return &job{data: data, off: off, out: c.getOut(len(data)), unterminated: true}
}

// oversizeJob is the special job of a line at off that is over the size
// limit and has no newline within it.
func oversizeJob(off int64) *job {
	j := &job{special: &lineInfo{off: off, status: lineOversize}}
	j.setMsg(j.special, fmt.Sprintf("line is over the %d-byte limit", MaxRecordSize))
	return j
}

// full reports whether carry has no room for another read.
func (c *chunkReader) full() bool { return len(c.carry) >= chunkSize }
