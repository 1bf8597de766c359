package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/workspace"
)

// Chain is one verified chain, as brain-audit evidence hands it over.
type Chain struct {
	// Name is the chain's active file, as named; Files its files.
	Name  string
	Files []string
	// Store is the chain's checkpoint file ("" for none).
	Store string
	// Text and JSON are verify-log's report of the chain (--vkey with
	// the bundle's keys), as verify-log prints them.
	Text, JSON []byte
	OK         bool
	Records    int64
	Head       string
	// Signed counts the checkpoints signed by a key given; Latest is the
	// largest the chain matches (nil: none); Uncovered the records after
	// it.
	Signed    int
	Latest    *checkpoint.Checkpoint
	Uncovered uint64
}

// Options configure Build.
type Options struct {
	Out string
	// Since and Until bound the period (zero: open).
	Since, Until time.Time
	// Sample is how many records of each chain get a proof; Seed the
	// seed they are drawn with.
	Sample int
	Seed   uint64
	// Signer signs the manifest; Verifiers pick the checkpoints the
	// proofs are made against.
	Signer    note.Signer
	VerifyKey string
	Verifiers note.Verifiers
	// Drills, Lint and UnsafeIO are the files of --drills, --lint and
	// --include-unsafe-io.
	Drills, Lint, UnsafeIO []string
	Tool                   string
	Now                    time.Time
	Workers                int
	// Note receives what Build left out, and why.
	Note func(format string, args ...any)
}

// Result is what Build wrote.
type Result struct {
	Dir      string
	Files    int
	Proofs   int
	OK       bool
	Problems []string // what makes the result FAIL
}

// IsUnsafeIO reports whether p lies in a --dev-log-unsafe-io directory (a
// directory named unsafe-io, as a workspace keeps it).
func IsUnsafeIO(p string) bool {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	for _, part := range strings.Split(filepath.ToSlash(abs), "/") {
		if part == workspace.UnsafeIODir {
			return true
		}
	}
	return false
}

// UnsafeIOError refuses a file of the --dev-log-unsafe-io series named as
// evidence without --include-unsafe-io.
type UnsafeIOError struct{ Path string }

func (e *UnsafeIOError) Error() string {
	return fmt.Sprintf("%s is raw prompts and replies (--dev-log-unsafe-io): it is kept out of an evidence bundle", e.Path)
}

// Hint says how to add it deliberately.
func (e *UnsafeIOError) Hint() string {
	return "leave it out; to give an auditor raw I/O deliberately, name it with --include-unsafe-io " + e.Path
}

// CheckInputs refuses any input in a --dev-log-unsafe-io directory.
func CheckInputs(inputs ...[]string) error {
	for _, l := range inputs {
		for _, p := range l {
			if IsUnsafeIO(p) {
				return &UnsafeIOError{Path: p}
			}
		}
	}
	return nil
}

// Build writes the bundle of chains and o's files to o.Out. It writes into
// a staging directory and renames it into place at the end: on error
// nothing is left at o.Out.
func Build(ctx context.Context, chains []Chain, o Options) (res *Result, err error) {
	if o.Note == nil {
		o.Note = func(string, ...any) {}
	}
	w, err := newWriter(o.Out)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			w.abort()
		}
	}()
	p := period{o.Since, o.Until}
	res = &Result{Dir: o.Out, OK: true}
	fail := func(format string, args ...any) {
		res.OK = false
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
	}
	idx := &indexData{Tool: o.Tool, Created: o.Now.UTC().Format(time.RFC3339), Since: stampOr(o.Since, "the start"),
		Until: stampOr(o.Until, "now"), Key: o.VerifyKey, Seed: o.Seed, Sample: o.Sample}
	for i, c := range chains {
		dir := slash("chains", strconv.Itoa(i+1))
		ic := indexChain{Name: c.Name, Dir: dir, OK: c.OK, Records: c.Records, Head: c.Head, Signed: c.Signed, Uncovered: c.Uncovered,
			Text: slash(dir, "verify.txt"), JSON: slash(dir, "verify.json")}
		if !c.OK {
			fail("chain %s: verification FAIL (%s)", c.Name, ic.Text)
		}
		if err := w.add(ic.Text, KindVerifyText, c.Text); err != nil {
			return nil, err
		}
		if err := w.add(ic.JSON, KindVerifyJSON, c.JSON); err != nil {
			return nil, err
		}
		if c.Store != "" {
			switch _, err := os.Lstat(c.Store); {
			case err == nil:
				ic.Checkpoints = slash(dir, filepath.Base(c.Store))
				if err := w.copyFile(ic.Checkpoints, KindCheckpoints, c.Store); err != nil {
					return nil, fmt.Errorf("copying the checkpoints %s: %w", c.Store, err)
				}
			case !errors.Is(err, fs.ErrNotExist):
				return nil, err
			}
		}
		s, proofs, err := sampleChain(ctx, w, c, dir, p, o)
		if err != nil {
			return nil, err
		}
		ic.Sample, ic.Proofs = s, proofs
		ic.SampleFile = slash(dir, "sample.json")
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := w.add(ic.SampleFile, KindSample, append(b, '\n')); err != nil {
			return nil, err
		}
		res.Proofs += len(proofs)
		idx.Chains = append(idx.Chains, ic)
	}

	// Drills: the journals and JUnit reports of the period.
	var runs []DrillRun
	for i, src := range o.Drills {
		df, b, err := loadDrillFile(src)
		if err != nil {
			return nil, err
		}
		if !p.open() && (df.start.IsZero() || !p.contains(df.start)) {
			o.Note("left out %s: not of the period", src)
			continue
		}
		ext, kind := ".json", KindJournal
		if df.junit {
			ext, kind = ".xml", KindJUnit
		}
		rel := slash("drills", fmt.Sprintf("%d-%s", i+1, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))+ext))
		if err := w.add(rel, kind, b); err != nil {
			return nil, err
		}
		idx.DrillFiles = append(idx.DrillFiles, indexFile{Path: rel, Source: src, Kind: kind})
		if df.journal == nil {
			continue
		}
		for _, d := range df.journal.Drills {
			runs = append(runs, DrillRun{journalRun: d, Journal: rel})
		}
	}
	if len(o.Drills) > 0 {
		ds := summarize(runs)
		b, _ := json.MarshalIndent(ds, "", "  ")
		if err := w.add(slash("drills", "summary.json"), KindDrillStats, append(b, '\n')); err != nil {
			return nil, err
		}
		idx.Drills = &ds
		if !ds.Met {
			fail("drills: %d of %d runs passed, MTTD %s, MTTR %s (targets %s, %s): drills/summary.json", ds.Passed, len(ds.Runs),
				msText(ds.MTTDMS), msText(ds.MTTRMS), TargetMTTD, TargetMTTR)
		}
	}

	// Span coverage: the lint reports.
	for i, src := range o.Lint {
		lr, b, err := loadLint(src)
		if err != nil {
			return nil, err
		}
		lr.Path = slash("coverage", fmt.Sprintf("%d-%s", i+1, filepath.Base(src)))
		if err := w.add(lr.Path, KindLint, b); err != nil {
			return nil, err
		}
		if lr.Result != "PASS" {
			fail("coverage: %s: lint FAIL (%s)", src, lr.Path)
		}
		idx.Lint = append(idx.Lint, *lr)
	}

	// Raw I/O, only when asked for by name.
	for i, src := range o.UnsafeIO {
		rel := slash("unsafe-io", fmt.Sprintf("%d-%s", i+1, filepath.Base(src)))
		if err := w.copyFile(rel, KindUnsafeIO, src); err != nil {
			return nil, fmt.Errorf("--include-unsafe-io: %w", err)
		}
		w.markPII(rel)
		idx.UnsafeIO = append(idx.UnsafeIO, indexFile{Path: rel, Source: src, Kind: KindUnsafeIO})
	}

	idx.Controls = controls(idx)
	cb, _ := json.MarshalIndent(struct {
		Format   string    `json:"format"`
		Controls []Control `json:"controls"`
	}{Format, idx.Controls}, "", "  ")
	if err := w.add(ControlsFile, KindControls, append(cb, '\n')); err != nil {
		return nil, err
	}
	idx.OK, idx.Problems = res.OK, res.Problems
	idx.Files = w.sorted()
	page, err := renderIndex(idx)
	if err != nil {
		return nil, err
	}
	if err := w.add(IndexFile, KindIndex, page); err != nil {
		return nil, err
	}

	m := &Manifest{Format: Format, Created: o.Now.UTC().Format(chain.TimeLayout), Tool: o.Tool, Key: o.VerifyKey, Result: "PASS", Files: w.sorted()}
	if !o.Since.IsZero() {
		m.Since = o.Since.UTC().Format(time.RFC3339Nano)
	}
	if !o.Until.IsZero() {
		m.Until = o.Until.UTC().Format(time.RFC3339Nano)
	}
	if !res.OK {
		m.Result = "FAIL"
	}
	mb := m.Marshal()
	sig, err := Sign(mb, o.Signer)
	if err != nil {
		return nil, fmt.Errorf("signing the manifest: %w", err)
	}
	if err := w.add(ManifestFile, "", mb); err != nil {
		return nil, err
	}
	if err := w.add(SignatureFile, "", sig); err != nil {
		return nil, err
	}
	res.Files = len(m.Files) + 2
	if err := w.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// sampleChain draws o.Sample records of c that its latest matched
// checkpoint covers (in the period, when one is given) and writes a proof
// of each.
func sampleChain(ctx context.Context, w *writer, c Chain, dir string, p period, o Options) (*Sample, []string, error) {
	s := &Sample{Method: SampleMethod, Seed: o.Seed, Asked: o.Sample, Seqs: []uint64{}, Proofs: []string{}}
	if o.Sample == 0 {
		s.Note = "no sample asked for (--sample 0)"
		return s, nil, nil
	}
	if c.Latest == nil || c.Store == "" {
		s.Note = "no checkpoint signed by the key given matches the chain: no record can be proved"
		o.Note("%s: no proofs: %s", c.Name, s.Note)
		return s, nil, nil
	}
	s.Checkpoint = c.Latest.Size
	if p.open() {
		s.Population = c.Latest.Size
		s.Seqs = draw(o.Seed, s.Population, o.Sample)
	} else {
		n, _, err := inPeriod(ctx, c.Files, c.Latest.Size, p, nil)
		if err != nil {
			return nil, nil, err
		}
		s.Population = n
		_, s.Seqs, err = inPeriod(ctx, c.Files, c.Latest.Size, p, draw(o.Seed, n, o.Sample))
		if err != nil {
			return nil, nil, err
		}
		if s.Seqs == nil {
			s.Seqs = []uint64{}
		}
	}
	if len(s.Seqs) < o.Sample {
		s.Note = fmt.Sprintf("%d records to draw from", s.Population)
	}
	stored, err := checkpoint.Latest(c.Store, checkpoint.LatestOptions{Verifiers: o.Verifiers, Size: c.Latest.Size})
	if err != nil {
		return nil, nil, err
	}
	if len(s.Seqs) == 0 {
		return s, nil, nil
	}
	all, _, err := checkpoint.ProveAll(ctx, c.Name, s.Seqs, stored, o.Workers)
	var re *checkpoint.RefusedError
	switch {
	case errors.As(err, &re):
		// The chain changed since it was verified: the bundle says so.
		s.Note = "no proof: " + re.Reason
		o.Note("%s: %s", c.Name, s.Note)
		return s, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("proving the records drawn from %s: %w", c.Name, err)
	}
	var proofs []string
	for k, seq := range s.Seqs {
		pr := all[k]
		rel := slash(dir, "proofs", fmt.Sprintf("seq-%d.tlog-proof", seq))
		if err := w.add(rel, KindProof, pr.Marshal()); err != nil {
			return nil, nil, err
		}
		proofs = append(proofs, rel)
	}
	s.Proofs = append(s.Proofs, proofs...)
	return s, proofs, nil
}

func stampOr(t time.Time, open string) string {
	if t.IsZero() {
		return open
	}
	return t.UTC().Format(time.RFC3339)
}

func msText(p *int64) string {
	if p == nil {
		return "none"
	}
	return (time.Duration(*p) * time.Millisecond).String()
}
