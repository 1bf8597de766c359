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
	return &ffcli.Command{
		Name:       "verify-log",
		ShortUsage: "brain-audit verify-log [--json] [--head SEQ:HASH] FILE|DIR|- ...",
		ShortHelp:  "verify audit chains: PASS or FAIL with every finding located",
		LongHelp: `verify-log checks every record's hash, every link, every seq and every
header of the chains named: a FILE (with the rotated files before it), a DIR
(every chain under it) or - (stdin). It prints the head (SEQ:HASH) of each
chain that passes on stdout, so it can be recorded elsewhere and checked
later with --head.

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
			return runVerify(ctx, e, args, vo, *jsonOut)
		},
	}
}

func runVerify(ctx context.Context, e *env, args []string, vo chain.VerifyOptions, jsonOut bool) error {
	var targets []chainarg.Target
	unreadable := 0
	for _, a := range args {
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
		rep, err := t.Verify(ctx, vo)
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
			s := summary(t.Name, rep)
			s.CopyOf = t.CopyOf
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
		e.p.Banner(rep.OK(), bannerText(t.Name, rep))
		if !rep.OK() {
			hintFor(e, t.Name, rep)
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
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
