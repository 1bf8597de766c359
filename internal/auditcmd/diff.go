package auditcmd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
)

func newDiff(e *env) *ffcli.Command {
	fs, opts := newFlags("diff")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object")
	return &ffcli.Command{
		Name:       "diff",
		ShortUsage: "brain-audit diff [--json] A B",
		ShortHelp:  "show where two copies of a chain diverge",
		LongHelp: `diff compares two copies of a chain file: where they diverge (line, seq,
byte offsets), a field-level diff of the first differing records, and how
many records after that point only one copy holds.

Exit status: 0 identical, 1 different, 2 usage, 3 a file could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 2, 2, "brain-audit diff A B"); err != nil {
				return err
			}
			res, err := chain.DiffFiles(ctx, args[0], args[1])
			if err != nil {
				return &cli.ExitError{Code: cli.ExitIO, Err: err}
			}
			if *jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetEscapeHTML(false)
				enc.Encode(res)
			} else {
				printDiff(e, args[0], args[1], res)
			}
			if !res.Identical {
				return &cli.ExitError{Code: cli.ExitFindings}
			}
			return nil
		},
	}
}

func printDiff(e *env, a, b string, res *chain.DiffResult) {
	w := e.stdout
	if res.Identical {
		fmt.Fprintf(w, "identical: %d lines\n", res.Common)
		return
	}
	seq := ""
	if res.Seq != nil {
		seq = fmt.Sprintf(" (seq %d)", *res.Seq)
	}
	fmt.Fprintf(w, "diverge at line %d%s: byte %d of %s, byte %d of %s; %d lines in common before it\n",
		res.Line, seq, res.OffsetA, a, res.OffsetB, b, res.Common)
	switch {
	case res.LineA == "":
		fmt.Fprintf(w, "%s ends here\n", a)
	case res.LineB == "":
		fmt.Fprintf(w, "%s ends here\n", b)
	}
	for _, f := range res.Fields {
		fmt.Fprintf(w, "  %s:\n    - %s\n    + %s\n", f.Field, orAbsent(f.A), orAbsent(f.B))
	}
	fmt.Fprintf(w, "only in %s: %d records; only in %s: %d records\n", a, res.OnlyInA, b, res.OnlyInB)
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}
