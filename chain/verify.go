package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
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

// VerifyFile verifies the chain ending in the file at path: path itself and
// the rotated files that precede it. When path is a chain's active file and
// does not exist but rotated files of it do, the chain ends in the newest of
// them and the missing active file is a MissingFile finding.
func VerifyFile(ctx context.Context, path string, opts VerifyOptions) (*Report, error) {
	return verifyChainOf(ctx, localFS{}, path, opts, true)
}

// VerifyFS is VerifyFile for the chain ending in the file name of fsys (a
// slash-separated path, as fs.FS names files): an unpacked or zipped copy
// of the evidence (zip.Reader is an fs.FS), an embedded one, a copy fetched
// from elsewhere. The rotated files are found beside name in fsys; nothing
// is locked, as nothing appends to a copy. Findings name the files by their
// paths in fsys.
func VerifyFS(ctx context.Context, fsys fs.FS, name string, opts VerifyOptions) (*Report, error) {
	return verifyChainOf(ctx, fsysSource{fsys}, name, opts, false)
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
