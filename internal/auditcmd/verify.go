package auditcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/chainarg"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
)

func newVerify(e *env) *ffcli.Command {
	fs, opts := newFlags("verify-log")
	jsonOut := fs.Bool("json", false, "print one JSON object per finding and a summary per chain on stdout")
	head := fs.String("head", "", "a previously recorded head `SEQ:HASH` that must still be in the chain")
	workers := fs.Int("workers", 0, "lines hashed in parallel (default: the number of CPUs)")
	maxFindings := fs.Int("max-findings", 100, "findings listed per chain; the rest are counted")
	var vkeys stringsFlag
	fs.Var(&vkeys, "vkey", "also check the chain's signed checkpoints (FILE.checkpoints) against this verifier key (`FILE` from keygen, or the key itself; repeatable, for a key rotated)")
	origin := fs.String("origin", "", "with --vkey: the `ORIGIN` every checkpoint must have (default: that of the first one)")
	store := fs.String("checkpoints", "", "with --vkey: the checkpoint `FILE` (default: CHAIN.checkpoints beside the chain; needed for -)")
	maxUncovered := fs.Int64("max-uncovered", -1, "with --vkey: fail when more than `N` records follow the latest checkpoint the chain matches (default: any number)")
	return &ffcli.Command{
		Name:       "verify-log",
		ShortUsage: "brain-audit verify-log [--json] [--head SEQ:HASH] [--vkey PREFIX.vkey] FILE|DIR|- ...",
		ShortHelp:  "verify audit chains: PASS or FAIL with every finding located",
		LongHelp: `verify-log checks every record's hash, every link, every seq and every
header of the chains named: a FILE (with the rotated files before it), a DIR
(every chain under it) or - (stdin). It prints the head (SEQ:HASH) of each
chain that passes on stdout, so it can be recorded elsewhere and checked
later with --head.

With --vkey, the chain's signed checkpoints (CHAIN.checkpoints, written by
brain-audit checkpoint and brain-run) are checked in the same pass: each
checkpoint's signature, its Merkle root against the chain's records up to
its size, and the checkpoints against each other. A chain rewritten and
rehashed (checkpoint_mismatch), cut (checkpoint_truncated), two histories
signed (checkpoint_fork), a checkpoint signed by another key
(checkpoint_signature), a damaged checkpoint file (checkpoint_malformed,
checkpoint_torn) or none at all (checkpoint_missing) is a FAIL. 'brain-audit
help findings' lists every finding class.

Exit status: 0 PASS, 1 FAIL, 2 usage, 3 an input could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return &cli.UsageError{Err: errors.New("verify-log needs a FILE, DIR or - to verify"), Hint: "brain-audit verify-log .brain/audit.jsonl"}
			}
			vo := chain.VerifyOptions{Workers: *workers, MaxFindings: *maxFindings}
			if *head != "" {
				h, err := chain.ParseHead(*head)
				if err != nil {
					return &cli.UsageError{Err: fmt.Errorf("--head: %v", err), Hint: "pass the SEQ:HASH that verify-log printed"}
				}
				vo.ExpectHead = &h
			}
			var ck *checkpoint.VerifyOptions
			if len(vkeys) > 0 {
				vs, _, err := loadVerifiers("--vkey", vkeys)
				if err != nil {
					return err
				}
				ck = &checkpoint.VerifyOptions{Verifiers: vs, Origin: *origin, Store: *store, MaxUncovered: *maxUncovered}
				if *store != "" && len(args) > 1 {
					return cli.Usagef("--checkpoints names the checkpoint file of one chain; verify-log was given %d", len(args))
				}
			} else if *origin != "" || *store != "" || *maxUncovered >= 0 {
				return cli.Usagef("--origin, --checkpoints and --max-uncovered apply to the checkpoints: give --vkey PREFIX.vkey too")
			}
			return runVerify(ctx, e, args, vo, ck, *jsonOut)
		},
	}
}

// result is a chain's report, with what its checkpoints cover when they
// were checked.
type result struct {
	*chain.Report
	ck *checkpoint.Result
}

func runVerify(ctx context.Context, e *env, args []string, vo chain.VerifyOptions, ck *checkpoint.VerifyOptions, jsonOut bool) error {
	var targets []chainarg.Target
	unreadable := 0
	for _, a := range args {
		if a == chainarg.Stdin && ck != nil && ck.Store == "" {
			return &cli.UsageError{Err: errors.New("stdin has no checkpoint file beside it: name it with --checkpoints FILE"), Hint: "brain-audit verify-log --vkey PREFIX.vkey --checkpoints audit.jsonl.checkpoints - < audit.jsonl"}
		}
		ts, skipped, err := chainarg.Resolve(a, e.stdin)
		for _, s := range skipped {
			if strings.HasSuffix(s, ".jsonl") && !jsonOut {
				e.p.Infof("skipped %s: not an audit chain", s)
			}
		}
		if err != nil {
			e.p.Errorf("%v", err)
			unreadable++
		}
		targets = append(targets, ts...)
	}
	failed := 0
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, t := range targets {
		rep, err := verifyTarget(ctx, t, vo, ck)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			e.p.Errorf("%v", err)
			unreadable++
			continue
		}
		if !rep.OK() {
			failed++
		}
		if jsonOut {
			for _, f := range rep.Findings {
				enc.Encode(struct {
					Kind string `json:"kind"`
					chain.Finding
				}{"finding", f})
			}
			s := summary(t.Name, rep.Report)
			s.CopyOf = t.CopyOf
			if c := rep.ck; c != nil {
				s.Checkpoints = &checkpointsJSON{File: c.Store, Signed: c.Checkpoints, Matched: c.Matched, Origin: c.Origin, Uncovered: c.Uncovered}
				if l := c.Latest; l != nil {
					s.Checkpoints.Latest = &latestJSON{Size: l.Size, Root: l.Root.String()}
				}
			}
			enc.Encode(s)
		} else {
			if t.CopyOf != "" {
				e.p.Infof("%s is a copy of the chain in %s (the same chain id): verified on its own", t.Name, t.CopyOf)
			}
			for _, f := range rep.Findings {
				fmt.Fprintf(e.stderr, "%s: %s\n", prog, f)
			}
			if rep.OK() && rep.Head != nil {
				fmt.Fprintf(e.stdout, "%d:%s  %s\n", rep.Head.Seq, rep.Head.Hash, t.Name)
			}
		}
		text := bannerText(t.Name, rep.Report)
		if rep.ck != nil && rep.OK() {
			text += checkpointsText(rep.ck)
		}
		e.p.Banner(rep.OK(), text)
		if !rep.OK() {
			hintFor(e, t.Name, rep.Report)
		}
	}
	switch {
	case failed > 0:
		return &cli.ExitError{Code: cli.ExitFindings}
	case unreadable > 0:
		return &cli.ExitError{Code: cli.ExitIO}
	}
	return nil
}

// unwrapPath drops the *PathError wrapper, whose path the caller already names.
func unwrapPath(err error) error { return fsutil.WithoutPath(err) }

type summaryJSON struct {
	Kind      string         `json:"kind"`
	File      string         `json:"file"`
	Result    string         `json:"result"`
	Chain     string         `json:"chain"`
	Alg       chain.Alg      `json:"alg"`
	Files     []string       `json:"files"`
	Records   int64          `json:"records"`
	Bytes     int64          `json:"bytes"`
	Head      string         `json:"head,omitempty"`
	Findings  int            `json:"findings"`
	Counts    map[string]int `json:"counts"`
	HeadCheck string         `json:"head_check,omitempty"`
	CopyOf    string         `json:"copy_of,omitempty"`
	// Checkpoints is set with --vkey.
	Checkpoints *checkpointsJSON `json:"checkpoints,omitempty"`
}

// checkpointsJSON says what a chain's checkpoints cover.
type checkpointsJSON struct {
	File string `json:"file"`
	// Signed counts the checkpoints signed by a --vkey key; Matched those
	// the chain matches.
	Signed  int         `json:"signed"`
	Matched int         `json:"matched"`
	Origin  string      `json:"origin,omitempty"`
	Latest  *latestJSON `json:"latest,omitempty"`
	// Uncovered counts the records after Latest.
	Uncovered uint64 `json:"uncovered"`
}

type latestJSON struct {
	Size uint64 `json:"size"`
	Root string `json:"root"`
}

// verifyTarget verifies the chain t, with its checkpoints when ck is set
// (from ck.Store, else the file beside the chain's active file).
func verifyTarget(ctx context.Context, t chainarg.Target, vo chain.VerifyOptions, ck *checkpoint.VerifyOptions) (result, error) {
	if ck == nil {
		rep, err := t.Verify(ctx, vo)
		return result{Report: rep}, err
	}
	o := *ck
	o.Chain = vo
	if o.Store == "" {
		o.Store = checkpoint.FileStore(t.Name)
	}
	res, err := checkpoint.Verify(ctx, o, func(co chain.VerifyOptions) (*chain.Report, error) { return t.Verify(ctx, co) })
	if err != nil {
		return result{}, err
	}
	return result{Report: res.Report, ck: res}, nil
}

// checkpointsText says, after a PASS, what the checkpoints cover.
func checkpointsText(c *checkpoint.Result) string {
	if c.Latest == nil {
		return ""
	}
	return fmt.Sprintf("; %d %s signed, the latest of %d records (root %.12s…), %d %s after it", c.Checkpoints, plural(c.Checkpoints, "checkpoint"),
		c.Latest.Size, c.Latest.Root, c.Uncovered, plural(int(c.Uncovered), "record"))
}

func summary(name string, rep *chain.Report) summaryJSON {
	s := summaryJSON{Kind: "summary", File: name, Result: "PASS", Chain: rep.Chain, Alg: rep.Alg, Files: rep.Files,
		Records: rep.Records, Bytes: rep.Bytes, Findings: len(rep.Findings) + rep.Suppressed, Counts: map[string]int{}}
	if !rep.OK() {
		s.Result = "FAIL"
	}
	if rep.Head != nil {
		s.Head = fmt.Sprintf("%d:%s", rep.Head.Seq, rep.Head.Hash)
	}
	for c, n := range rep.Counts {
		s.Counts[string(c)] = n
	}
	if rep.HeadChecked {
		s.HeadCheck = "found"
	}
	return s
}

func bannerText(name string, rep *chain.Report) string {
	files := ""
	if len(rep.Files) > 1 {
		files = fmt.Sprintf(" in %d files", len(rep.Files))
	}
	if rep.OK() {
		text := fmt.Sprintf("%s: %d records%s, %s", name, rep.Records, files, rep.Alg)
		if rep.Head != nil {
			text += fmt.Sprintf(", head %d:%.12s…", rep.Head.Seq, rep.Head.Hash)
		}
		if rep.HeadChecked {
			text += ", recorded head found"
		}
		return text
	}
	var parts []string
	for c, n := range rep.Counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, c))
	}
	sort.Strings(parts)
	n := len(rep.Findings) + rep.Suppressed
	text := fmt.Sprintf("%s: %d %s (%s) in %d records%s", name, n, plural(n, "finding"), strings.Join(parts, ", "), rep.Records, files)
	if rep.Suppressed > 0 {
		text += fmt.Sprintf("; %d not listed (--max-findings)", rep.Suppressed)
	}
	return text
}

func hintFor(e *env, name string, rep *chain.Report) {
	switch {
	case rep.OnlyTornTail():
		e.p.Hintf("a write was interrupted; 'brain-audit repair %s' cuts the torn line off and records the repair", name)
	case rep.OnlyMissingNewline():
		e.p.Hintf("'brain-audit repair %s' adds the newline and records the repair; no record is removed", name)
	case len(rep.Findings) == 1 && rep.Suppressed == 0 && rep.Findings[0].Class == checkpoint.Torn:
		e.p.Hintf("a write of the checkpoint file was interrupted; 'brain-audit repair %s' moves the torn line aside", name)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
