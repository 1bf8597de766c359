package auditcmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/chainarg"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/evidence"
	"github.com/brain-dev/brain/internal/workspace"
)

const evidenceUsage = "brain-audit evidence -o DIR [--since T --until T] [--drills JOURNAL...] [--lint REPORT...] CHAIN|DIR..."

func newEvidence(e *env) *ffcli.Command {
	fs, opts := newFlags("evidence")
	out := fs.String("o", "", "write the bundle to `DIR` (new, or an empty directory)")
	since := fs.String("since", "", "the period's start `T` (RFC 3339, or YYYY-MM-DD for 00:00 UTC)")
	until := fs.String("until", "", "the period's end `T`, not included (RFC 3339, or YYYY-MM-DD: to the end of that day, UTC)")
	var drills, lint, unsafeIO, vkeys stringsFlag
	fs.Var(&drills, "drills", "a drill journal or JUnit report of brain-drill run, or a `DIR` of them (*.json, *.xml; repeatable)")
	fs.Var(&lint, "lint", "a span-coverage report, brain-trace-lint --format json, or a `DIR` of them (*.json; repeatable)")
	fs.Var(&unsafeIO, "include-unsafe-io", "DELIBERATELY add this --dev-log-unsafe-io `FILE` of raw prompts and replies (PII; repeatable)")
	fs.Var(&vkeys, "vkey", "check the chains' checkpoints and make proofs against this verifier key (`FILE` or key; repeatable; default: the signer's)")
	sample := fs.Int("sample", 5, fmt.Sprintf("prove `N` records of each chain, drawn at random (at most %d)", evidence.MaxSample))
	seed := fs.String("seed", "", "draw the sample with this `SEED` (a number; default: random, recorded in the bundle)")
	key := fs.String("key", "", "sign the manifest with the signer key `FILE` (PREFIX.key); default $"+checkpoint.KeyEnv+", else the checkpoint key of your config directory")
	workers := fs.Int("workers", 0, "lines hashed in parallel (default: the number of CPUs)")
	maxFindings := fs.Int("max-findings", 100, "findings listed per chain in the reports; the rest are counted")
	maxUncovered := fs.Int64("max-uncovered", -1, "a chain fails when more than `N` records follow the latest checkpoint it matches (default: any number)")
	return &ffcli.Command{
		Name:       "evidence",
		ShortUsage: evidenceUsage,
		ShortHelp:  "write a signed SOC 2 CC7 evidence bundle for a period, which evidence verify checks offline",
		LongHelp: `evidence writes to DIR the evidence an auditor asks for (docs/evidence.md,
docs/soc2.md): verify-log's report of every chain named (text and JSON,
with its signed checkpoints checked), its checkpoint file with any witness
cosignatures, a tlog-proof of N records drawn at random (--sample, the seed
recorded), the drill journals and JUnit reports of the period with the time
to detect and recover of each run and their means against the 15 min / 1 h
targets, the span-coverage reports, the CC7.1-CC7.5 control mapping with
the files that evidence each control, an index.html readable in any browser
(no script, no network), and manifest.json listing every file's SHA-256,
signed as a note with the checkpoint key (manifest.json.sig).

Nothing of the chain is written: evidence only reads. It never includes a
prompt, a reply or a file's content: the --dev-log-unsafe-io series is
refused unless named with --include-unsafe-io.

  brain-audit evidence verify --vkey PREFIX.vkey DIR

checks a bundle offline.

Exit status: 0 written, everything PASS; 1 written, with a FAIL (a chain
that does not verify, a drill run that did not pass or missed a target, a
lint report that failed); 2 usage; 3 an input could not be read or the
bundle written.`,
		FlagSet:     fs,
		Options:     opts,
		Subcommands: []*ffcli.Command{newEvidenceVerify(e)},
		Exec: func(ctx context.Context, args []string) error {
			if *out == "" {
				return &cli.UsageError{Err: errors.New("evidence needs -o DIR, where to write the bundle"), Hint: "brain-audit evidence -o evidence-2026-q4 .brain/audit.jsonl"}
			}
			if len(args) == 0 {
				return &cli.UsageError{Err: errors.New("evidence needs a CHAIN or DIR to take evidence of"), Hint: "brain-audit evidence -o " + *out + " .brain/audit.jsonl"}
			}
			if *sample < 0 || *sample > evidence.MaxSample {
				return cli.Usagef("--sample %d: from 0 to %d records", *sample, evidence.MaxSample)
			}
			o := evidence.Options{Out: *out, Sample: *sample, Workers: *workers, Tool: cli.Version(prog), Now: time.Now(),
				Note: func(format string, args ...any) { e.p.Infof(format, args...) }}
			var err error
			if o.Since, err = parsePeriod("--since", *since, false); err != nil {
				return err
			}
			if o.Until, err = parsePeriod("--until", *until, true); err != nil {
				return err
			}
			if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
				return cli.Usagef("--since %s is not before --until %s", *since, *until)
			}
			if o.Seed, err = parseSeed(*seed); err != nil {
				return err
			}
			for _, a := range args {
				if a == chainarg.Stdin {
					return &cli.UsageError{Err: errors.New("evidence takes chains from files, not stdin: their checkpoints are beside them"), Hint: evidenceUsage}
				}
			}
			refuse := func(inputs ...[]string) error {
				err := evidence.CheckInputs(inputs...)
				var ue *evidence.UnsafeIOError
				if errors.As(err, &ue) {
					return &cli.UsageError{Err: err, Hint: ue.Hint()}
				}
				return err
			}
			if err := refuse(args, drills, lint); err != nil {
				return err
			}
			if o.Drills, err = expand("--drills", drills, ".json", ".xml"); err != nil {
				return err
			}
			if o.Lint, err = expand("--lint", lint, ".json"); err != nil {
				return err
			}
			if err := refuse(o.Drills, o.Lint); err != nil {
				return err
			}
			if o.UnsafeIO, err = expand("--include-unsafe-io", unsafeIO, ""); err != nil {
				return err
			}
			if len(unsafeIO) > 0 {
				e.p.Alert("the bundle will hold raw prompts and replies (--include-unsafe-io): PII risk; give it only to whom may read them")
			}
			s, err := evidenceSigner(*key)
			if err != nil {
				return err
			}
			o.Signer, o.VerifyKey = s, s.VerifierKey()
			o.Verifiers = note.VerifierList(s.Verifier())
			if len(vkeys) > 0 {
				if o.Verifiers, _, err = loadVerifiers("--vkey", vkeys); err != nil {
					return err
				}
			}
			vo := chain.VerifyOptions{Workers: *workers, MaxFindings: *maxFindings}
			ck := &checkpoint.VerifyOptions{Verifiers: o.Verifiers, MaxUncovered: *maxUncovered}
			chains, err := verifyForEvidence(ctx, e, args, vo, ck)
			if err != nil {
				return err
			}
			res, err := evidence.Build(ctx, chains, o)
			if err != nil {
				return evidenceErr(err)
			}
			e.p.Infof("evidence in %s: %d files, %d %s, seed %d, signed by %s", res.Dir, res.Files, res.Proofs, plural(res.Proofs, "proof"), o.Seed, s.Name())
			for _, p := range res.Problems {
				e.p.Infof("FAIL %s", p)
			}
			if !res.OK {
				e.p.Banner(false, fmt.Sprintf("%s: %d %s: see %s", res.Dir, len(res.Problems), plural(len(res.Problems), "problem"), filepath.Join(res.Dir, evidence.IndexFile)))
				return &cli.ExitError{Code: cli.ExitFindings}
			}
			e.p.Banner(true, fmt.Sprintf("%s: %d %s verified, index %s", res.Dir, len(chains), plural(len(chains), "chain"), filepath.Join(res.Dir, evidence.IndexFile)))
			return nil
		},
	}
}

// verifyForEvidence verifies every chain args name, with its checkpoints,
// and renders verify-log's text and JSON reports of each.
func verifyForEvidence(ctx context.Context, e *env, args []string, vo chain.VerifyOptions, ck *checkpoint.VerifyOptions) ([]evidence.Chain, error) {
	var out []evidence.Chain
	for _, a := range args {
		ts, _, err := chainarg.Resolve(a, nil)
		if err != nil {
			var ae *chainarg.Error
			if errors.As(err, &ae) && ae.Hint != "" {
				return nil, &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: ae.Hint}
			}
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: err}
		}
		for _, t := range ts {
			rep, err := verifyTarget(ctx, t, vo, ck)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &cli.ExitError{Code: cli.ExitIO, Err: err}
			}
			var text, js bytes.Buffer
			te := &env{stdout: &text, stderr: &text, p: &cli.Printer{Prog: prog, W: &text}}
			writeReport(te, nil, t, rep, false)
			je := &env{stdout: &js, stderr: io.Discard, p: &cli.Printer{Prog: prog, W: io.Discard}}
			enc := json.NewEncoder(&js)
			enc.SetEscapeHTML(false)
			writeReport(je, enc, t, rep, true)
			c := evidence.Chain{Name: t.Name, Files: rep.Files, Store: checkpoint.FileStore(t.Name), Text: text.Bytes(), JSON: js.Bytes(),
				OK: rep.OK(), Records: rep.Records}
			if rep.Head != nil {
				c.Head = fmt.Sprintf("%d:%s", rep.Head.Seq, rep.Head.Hash)
			}
			if r := rep.ck; r != nil {
				c.Signed, c.Latest, c.Uncovered = r.Checkpoints, r.Latest, r.Uncovered
			}
			out = append(out, c)
			e.p.Banner(rep.OK(), bannerText(t.Name, rep.Report))
		}
	}
	return out, nil
}

// evidenceSigner loads the key that signs the manifest: --key, else
// BRAIN_CHECKPOINT_KEY, else the checkpoint key of the user's config
// directory (where brain-run finds it).
func evidenceSigner(file string) (*checkpoint.Signer, error) {
	if file == "" && os.Getenv(checkpoint.KeyEnv) == "" {
		if f := workspace.UserCheckpointKey(); f != "" {
			if _, err := os.Lstat(f); err == nil {
				file = f
			}
		}
		if file == "" {
			return nil, &cli.UsageError{Err: errors.New("no signer key for the manifest: give --key PREFIX.key or set " + checkpoint.KeyEnv),
				Hint: "the key that signs the chain's checkpoints; brain-audit keygen -o PREFIX NAME makes a key pair"}
		}
	}
	return loadSigner(file)
}

// parsePeriod parses an end of the period: RFC 3339, or a date (its start;
// with end, the start of the next day).
func parsePeriod(flag, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, cli.Usagef("%s %q: not a time (RFC 3339, 2026-12-07T10:00:00Z) or a date (2026-12-07)", flag, s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// parseSeed parses --seed, or draws one.
func parseSeed(s string) (uint64, error) {
	if s == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		return binary.BigEndian.Uint64(b[:]) >> 11, nil // exact in JSON readers that use doubles
	}
	var n uint64
	if _, err := fmt.Sscan(s, &n); err != nil || fmt.Sprint(n) != s {
		return 0, cli.Usagef("--seed %q is not a number", s)
	}
	return n, nil
}

// expand replaces each DIR of names by its files ending in one of exts,
// sorted.
func expand(flag string, names []string, exts ...string) ([]string, error) {
	var out []string
	for _, n := range names {
		fi, err := os.Stat(n)
		if err != nil {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s %s: %v", flag, n, unwrapPath(err))}
		}
		if !fi.IsDir() {
			out = append(out, n)
			continue
		}
		ents, err := os.ReadDir(n)
		if err != nil {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s %s: %v", flag, n, unwrapPath(err))}
		}
		var found []string
		for _, ent := range ents {
			for _, x := range exts {
				if ent.Type().IsRegular() && strings.HasSuffix(ent.Name(), x) {
					found = append(found, filepath.Join(n, ent.Name()))
				}
			}
		}
		if len(found) == 0 {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s %s: no %s file in the directory", flag, n, strings.Join(exts, " or "))}
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// evidenceErr maps Build's errors to exit codes and hints.
func evidenceErr(err error) error {
	var ie *evidence.InputError
	var oe *evidence.OutputError
	switch {
	case errors.As(err, &ie):
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: ie.Hint}
	case errors.As(err, &oe):
		return &cli.UsageError{Err: err, Hint: "name a new directory with -o"}
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: err}
}

func newEvidenceVerify(e *env) *ffcli.Command {
	fs, opts := newFlags("evidence verify")
	var vkeys stringsFlag
	fs.Var(&vkeys, "vkey", "the verifier key of the key that signed the bundle (`FILE` or key; repeatable)")
	jsonOut := fs.Bool("json", false, "print one JSON object per problem and a summary on stdout")
	return &ffcli.Command{
		Name:       "verify",
		ShortUsage: "brain-audit evidence verify --vkey PREFIX.vkey DIR",
		ShortHelp:  "check an evidence bundle offline: signature, every file's hash, every proof",
		LongHelp: `evidence verify checks the bundle in DIR with nothing but DIR and the
verifier key: manifest.json.sig is signed by the key and names
manifest.json's SHA-256; every file manifest.json lists is there with its
SHA-256; no other file is there (nor a link); and every record proof
verifies against its signed checkpoint, one of the bundle's. Each problem
is a FAIL line naming its file.

Exit status: 0 PASS, 1 FAIL, 2 usage, 3 DIR or the key could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit evidence verify --vkey PREFIX.vkey DIR"); err != nil {
				return err
			}
			if len(vkeys) == 0 {
				return &cli.UsageError{Err: errors.New("evidence verify needs --vkey PREFIX.vkey, the verifier key of the bundle's signer"), Hint: "the owner of the key gives you PREFIX.vkey (brain-audit keygen wrote it)"}
			}
			vs, _, err := loadVerifiers("--vkey", vkeys)
			if err != nil {
				return err
			}
			dir := args[0]
			c, err := evidence.VerifyBundle(dir, vs)
			if err != nil {
				return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading %q: %v", dir, unwrapPath(err))}
			}
			if *jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetEscapeHTML(false)
				for _, p := range c.Problems {
					enc.Encode(struct {
						Kind string `json:"kind"`
						evidence.Problem
					}{"problem", p})
				}
				r := "PASS"
				if !c.OK() {
					r = "FAIL"
				}
				enc.Encode(struct {
					Kind     string `json:"kind"`
					Dir      string `json:"dir"`
					Result   string `json:"result"`
					Signer   string `json:"signer,omitempty"`
					Files    int    `json:"files"`
					Proofs   int    `json:"proofs"`
					Problems int    `json:"problems"`
				}{"summary", dir, r, c.Signer, c.Files, c.Proofs, c.Count()})
			} else {
				for _, p := range c.Problems {
					fmt.Fprintf(e.stderr, "%s: FAIL %s\n", prog, filepath.Join(dir, filepath.FromSlash(p.File))+": "+p.Reason)
				}
			}
			if c.Suppressed > 0 {
				e.p.Infof("%d more problems not listed", c.Suppressed)
			}
			if !c.OK() {
				e.p.Banner(false, fmt.Sprintf("%s: %d %s", dir, c.Count(), plural(c.Count(), "problem")))
				return &cli.ExitError{Code: cli.ExitFindings}
			}
			period := "the start to now"
			if m := c.Manifest; m.Since != "" || m.Until != "" {
				period = orText(m.Since, "the start") + " to " + orText(m.Until, "its creation")
			}
			e.p.Banner(true, fmt.Sprintf("%s: %d files, %d %s, signed by %s, period %s, created %s, bundle result %s", dir, c.Files, c.Proofs, plural(c.Proofs, "proof"),
				c.Signer, period, c.Manifest.Created, c.Manifest.Result))
			return nil
		},
	}
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
