package checkpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// Finding classes of checkpoint verification, on top of the chain's own.
const (
	// Mismatch: a checkpoint's root is not the root of the chain's first
	// records up to its size: records it covers were changed (rewritten
	// and rehashed, or tampered with).
	Mismatch chain.Class = "checkpoint_mismatch"
	// Truncated: the chain has fewer records than a checkpoint's size: its
	// tail was cut.
	Truncated chain.Class = "checkpoint_truncated"
	// Fork: two checkpoints signed by a given key that cannot both be of
	// one log: the same size with different roots, or a later checkpoint
	// the chain matches after an earlier one it does not.
	Fork chain.Class = "checkpoint_fork"
	// BadSignature: a checkpoint not signed by any key given, or whose
	// signature by one of them does not verify.
	BadSignature chain.Class = "checkpoint_signature"
	// Malformed: a line of the checkpoint file that is not an entry, a
	// signed note or a checkpoint, or a checkpoint of another origin.
	Malformed chain.Class = "checkpoint_malformed"
	// Torn: the checkpoint file's last line is torn (a write cut short):
	// repairable (brain-audit repair), not evidence of tampering.
	Torn chain.Class = "checkpoint_torn"
	// Missing: the chain has no checkpoint at all (no checkpoint file, or
	// an empty one).
	Missing chain.Class = "checkpoint_missing"
	// Stale: more records follow the latest checkpoint than allowed
	// (VerifyOptions.MaxUncovered).
	Stale chain.Class = "checkpoint_stale"
)

// Classes lists the checkpoint finding classes.
var Classes = []chain.Class{Mismatch, Truncated, Fork, BadSignature, Malformed, Torn, Missing, Stale}

// VerifyOptions configure verification of a chain with its checkpoints.
type VerifyOptions struct {
	// Verifiers are the keys whose checkpoints count. Required.
	Verifiers note.Verifiers
	// Origin, when set, is the origin every checkpoint must have;
	// otherwise every checkpoint must have the origin of the first one
	// signed by a given key.
	Origin string
	// Store is the checkpoint file; empty: StorePath of the chain's active
	// file.
	Store string
	// MaxUncovered, when not negative, is the most records that may follow
	// the latest checkpoint the chain matches (Stale).
	MaxUncovered int64
	// Chain configures the chain's verification (its Lines is set here).
	Chain chain.VerifyOptions
}

// Result is a chain's verification report, with its checkpoints' findings
// among the findings, and what the checkpoints cover.
type Result struct {
	*chain.Report
	// Store is the checkpoint file.
	Store string
	// Checkpoints counts the checkpoints signed by a given key; Matched
	// those the chain matches (its root at their size is theirs).
	Checkpoints, Matched int
	// Origin is the checkpoints' origin.
	Origin string
	// Latest is the largest checkpoint the chain matches, or nil.
	Latest *Checkpoint
	// Uncovered counts the records after Latest (all when it is nil).
	Uncovered uint64
}

// VerifyFile verifies the chain whose active file is path (chain.VerifyFile)
// and its checkpoints in one pass.
func VerifyFile(ctx context.Context, path string, opts VerifyOptions) (*Result, error) {
	if opts.Store == "" {
		opts.Store = FileStore(path)
	}
	return Verify(ctx, opts, func(o chain.VerifyOptions) (*chain.Report, error) { return chain.VerifyFile(ctx, path, o) })
}

// VerifyChain verifies a chain found by chain.Discover and its checkpoints.
func VerifyChain(ctx context.Context, c chain.Chain, opts VerifyOptions) (*Result, error) {
	if opts.Store == "" {
		opts.Store = ChainStore(c)
	}
	return Verify(ctx, opts, func(o chain.VerifyOptions) (*chain.Report, error) { return chain.VerifyChain(ctx, c, o) })
}

// Verify verifies a chain and the checkpoints in opts.Store in one pass:
// verify must run the chain's verification with the options it is given
// (chain.VerifyFile, VerifyChain or VerifyReader). Each checkpoint's
// signature is checked, its root compared with the chain's at its size, and
// the checkpoints with each other; what is wrong is a finding in the
// report, of one of the classes above.
//
// Memory is bounded: the checkpoint file is read a line (at most
// MaxEntrySize bytes) at a time, and of each checkpoint signed by a given
// key about 110 bytes are kept (its place, size and root, and the root the
// chain has at that size), for at most MaxCheckpoints of them; of the lines
// that are findings, only as many as the report lists are kept, the rest
// counted.
func Verify(ctx context.Context, opts VerifyOptions, verify func(chain.VerifyOptions) (*chain.Report, error)) (*Result, error) {
	if opts.Verifiers == nil {
		return nil, errors.New("checkpoint: no verifier key")
	}
	if opts.Store == "" {
		return nil, errors.New("checkpoint: no checkpoint file")
	}
	max := opts.Chain.MaxFindings
	if max <= 0 {
		max = 100
	}
	ld, err := load(ctx, opts.Store, opts.Verifiers, max)
	if err != nil {
		return nil, err
	}
	targets := make([]uint64, len(ld.ents))
	for i, e := range ld.ents {
		targets[i] = e.size
	}
	t := newTree(nil, targets, nil)
	co := opts.Chain
	co.Lines = t
	rep, err := verify(co)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: rep, Store: opts.Store, Checkpoints: len(ld.ents)}
	add := func(f chain.Finding) {
		f.File = cmp.Or(f.File, opts.Store)
		f.Detail = shortText2(f.Detail)
		rep.Counts[f.Class]++
		if len(rep.Findings) >= max {
			rep.Suppressed++
			return
		}
		rep.Findings = append(rep.Findings, f)
	}
	for _, f := range ld.findings {
		add(f)
	}
	for c, n := range ld.dropped {
		rep.Counts[c] += n
		rep.Suppressed += n
	}
	if ld.over > 0 {
		add(chain.Finding{Class: Malformed, Detail: fmt.Sprintf("more than %d checkpoints: the %d after them were not checked", MaxCheckpoints, ld.over)})
	}
	evaluate(res, ld, t, uint64(rep.Records), opts, add)
	return res, nil
}

// MaxCheckpoints bounds the checkpoints of a file that verification checks.
const MaxCheckpoints = 1 << 20

// ent is what verification keeps of a checkpoint signed by a given key.
type ent struct {
	line, off int64
	size      uint64
	root      Hash
	origin    string // interned
}

// loaded is a checkpoint file as verification reads it.
type loaded struct {
	ents []ent
	// findings are the first keep findings of the file's lines; dropped
	// counts the others by class.
	findings []chain.Finding
	keep     int
	dropped  map[chain.Class]int
	// over counts the checkpoints past MaxCheckpoints.
	over  int
	lines int // entries read
	none  bool
}

// finding keeps f, or counts it when keep findings are kept already.
func (ld *loaded) finding(f chain.Finding) {
	if len(ld.findings) < ld.keep {
		ld.findings = append(ld.findings, f)
		return
	}
	if ld.dropped == nil {
		ld.dropped = map[chain.Class]int{}
	}
	ld.dropped[f.Class]++
}

// load reads the checkpoint file at path and checks every entry's
// signature, in parallel, keeping the entries signed by a key of vs and the
// first keep findings.
func load(ctx context.Context, path string, vs note.Verifiers, keep int) (*loaded, error) {
	ld := &loaded{keep: keep}
	origins := map[string]string{}
	workers := min(runtime.GOMAXPROCS(0), 8)
	const batchSize = 64
	type item struct {
		sl   storeLine
		data []byte
		c    Checkpoint
		err  error
	}
	batch := make([]item, 0, batchSize)
	flush := func() {
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(workers, len(batch)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					it := &batch[i]
					e, err := parseEntry(it.data)
					if err != nil {
						it.err = err
						continue
					}
					it.c, _, it.err = Open(e.Note, vs)
				}
			}()
		}
		for i := range batch {
			next <- i
		}
		close(next)
		wg.Wait()
		for _, it := range batch {
			f := chain.Finding{File: path, Line: it.sl.line, Offset: it.sl.off}
			var se *SignatureError
			switch {
			case errors.As(it.err, &se):
				f.Class, f.Detail = BadSignature, strings.TrimPrefix(se.Error(), "checkpoint: ")
				ld.finding(f)
			case it.err != nil:
				f.Class, f.Detail = Malformed, strings.TrimPrefix(it.err.Error(), "checkpoint: ")
				ld.finding(f)
			case len(ld.ents) >= MaxCheckpoints:
				ld.over++
			default:
				o, ok := origins[it.c.Origin]
				if !ok {
					o = it.c.Origin
					origins[o] = o
				}
				ld.ents = append(ld.ents, ent{line: it.sl.line, off: it.sl.off, size: it.c.Size, root: it.c.Root, origin: o})
			}
		}
		batch = batch[:0]
	}
	err := readLocked(path, func(sl storeLine) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ld.lines++
		f := chain.Finding{File: path, Line: sl.line, Offset: sl.off}
		switch {
		case sl.torn:
			f.Class, f.Detail = Torn, "the checkpoint file's last line is torn (no newline): a write was cut short; 'brain-audit repair' moves it aside"
			flush()
			ld.finding(f)
			return nil
		case sl.data == nil:
			f.Class, f.Detail = Malformed, fmt.Sprintf("line of %d bytes is over the %d-byte limit", sl.size, MaxEntrySize)
			flush()
			ld.finding(f)
			return nil
		}
		batch = append(batch, item{sl: sl, data: append([]byte(nil), sl.data...)})
		if len(batch) == batchSize {
			flush()
		}
		return nil
	})
	flush()
	switch {
	case errors.Is(err, os.ErrNotExist):
		ld.none = true
	case err != nil:
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &chain.ReadError{Path: path, Err: err}
	}
	if ld.lines == 0 {
		ld.none = true
	}
	return ld, nil
}

// evaluate compares the checkpoints with the chain's tree and each other,
// reporting what is wrong through add.
func evaluate(res *Result, ld *loaded, t *tree, records uint64, opts VerifyOptions, add func(chain.Finding)) {
	if ld.none {
		add(chain.Finding{Class: Missing, Detail: "the chain has no checkpoint: " + opts.Store + " does not exist or is empty ('brain-audit checkpoint' writes one)"})
	}
	res.Origin = opts.Origin
	if res.Origin == "" && len(ld.ents) > 0 {
		res.Origin = ld.ents[0].origin
	}
	var (
		firstMismatch, firstTruncated *ent
		moreMismatch, moreTruncated   int
		mismatchBefore                *ent // the largest checkpoint the chain does not match, so far
		latest                        *ent
		bySize                        = map[uint64]*ent{}
	)
	for i := range ld.ents {
		e := &ld.ents[i]
		at := chain.Finding{Line: e.line, Offset: e.off}
		if e.origin != res.Origin {
			f := at
			f.Class, f.Detail = Malformed, fmt.Sprintf("a checkpoint of another log: origin %q, not %q", shortText(e.origin), shortText(res.Origin))
			add(f)
			continue
		}
		if o := bySize[e.size]; o != nil && o.root != e.root {
			f := at
			f.Class, f.Expected, f.Found = Fork, o.root.String(), e.root.String()
			f.Detail = fmt.Sprintf("two checkpoints of size %d with different roots (this one and line %d): the key signed two histories of the log", e.size, o.line)
			add(f)
		} else if o == nil {
			bySize[e.size] = e
		}
		root, known := t.root(e.size)
		switch {
		case e.size > records:
			if firstTruncated == nil {
				firstTruncated = e
			} else {
				moreTruncated++
			}
		case !known || root != e.root:
			if firstMismatch == nil {
				firstMismatch = e
			} else {
				moreMismatch++
			}
			if mismatchBefore == nil || e.size > mismatchBefore.size {
				mismatchBefore = e
			}
		default:
			res.Matched++
			if mismatchBefore != nil && mismatchBefore.size < e.size {
				f := at
				f.Class = Fork
				f.Detail = fmt.Sprintf("the chain matches this checkpoint (size %d) but not the earlier one at line %d (size %d): this checkpoint does not extend that one", e.size, mismatchBefore.line, mismatchBefore.size)
				add(f)
				mismatchBefore = nil
			}
			if latest == nil || e.size > latest.size {
				latest = e
			}
		}
	}
	if e := firstMismatch; e != nil {
		root, known := t.root(e.size)
		f := chain.Finding{Class: Mismatch, Line: e.line, Offset: e.off, Expected: e.root.String()}
		if known {
			f.Found = root.String()
			f.Detail = fmt.Sprintf("the chain's first %d records do not have this checkpoint's root: records it covers were changed (rewritten and rehashed, or tampered with)", e.size)
		} else {
			f.Detail = fmt.Sprintf("the chain's first %d records could not be hashed (a line over the size limit): this checkpoint cannot be matched", e.size)
		}
		if moreMismatch > 0 {
			f.Detail += fmt.Sprintf("; %d later %s not match either", moreMismatch, verbs(moreMismatch, "checkpoint does", "checkpoints do"))
		}
		add(f)
	}
	if e := firstTruncated; e != nil {
		f := chain.Finding{Class: Truncated, Line: e.line, Offset: e.off, Expected: strconv.FormatUint(e.size, 10), Found: strconv.FormatUint(records, 10),
			Detail: fmt.Sprintf("the chain has %d records, fewer than this checkpoint's %d: its tail was cut", records, e.size)}
		if moreTruncated > 0 {
			f.Detail += fmt.Sprintf("; %d later %s beyond its end too", moreTruncated, verbs(moreTruncated, "checkpoint is", "checkpoints are"))
		}
		add(f)
	}
	res.Uncovered = records
	if latest != nil {
		res.Latest = &Checkpoint{Origin: latest.origin, Size: latest.size, Root: latest.root}
		res.Uncovered = records - latest.size
	}
	if opts.MaxUncovered >= 0 && res.Uncovered > uint64(opts.MaxUncovered) && !ld.none {
		f := chain.Finding{Class: Stale, Expected: fmt.Sprintf("at most %d", opts.MaxUncovered), Found: strconv.FormatUint(res.Uncovered, 10),
			Detail: fmt.Sprintf("%d records follow the latest checkpoint the chain matches, more than the %d allowed", res.Uncovered, opts.MaxUncovered)}
		if latest != nil {
			f.Line, f.Offset = latest.line, latest.off
		}
		add(f)
	}
}

// verbs returns one or many by n.
func verbs(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// shortText2 cuts a finding's detail to 512 bytes, as the chain's are.
func shortText2(s string) string {
	if len(s) <= 512 {
		return s
	}
	return s[:512] + "…"
}

// activeName maps a rotated file's name (audit.000003.jsonl) back to its
// chain's active file name (audit.jsonl); any other name is returned as it
// is.
func activeName(path string) string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	i := strings.LastIndexByte(stem, '.')
	if i < 0 || len(stem)-i-1 != 6 {
		return path
	}
	n, err := strconv.Atoi(stem[i+1:])
	if err != nil || n < 0 {
		return path
	}
	active := dir + stem[:i] + ext
	if chain.RotatedName(active, n) != path {
		return path
	}
	return active
}

// VerifyReader verifies one chain file read from r (chain.VerifyReader)
// against the checkpoints in opts.Store, which must be set.
func VerifyReader(ctx context.Context, name string, r io.Reader, opts VerifyOptions) (*Result, error) {
	return Verify(ctx, opts, func(o chain.VerifyOptions) (*chain.Report, error) { return chain.VerifyReader(ctx, name, r, o) })
}

// FileStore returns the checkpoint file of the chain ending in the file at
// path (its active file's, when path is a rotated file).
func FileStore(path string) string { return StorePath(activeName(path)) }

// ChainStore returns the checkpoint file of a chain found by
// chain.Discover: its active file's.
func ChainStore(c chain.Chain) string {
	if len(c.Files) == 0 {
		return ""
	}
	return FileStore(c.Files[len(c.Files)-1])
}
