package auditcmd

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
)

func newRepair(e *env) *ffcli.Command {
	fs, opts := newFlags("repair")
	dry := fs.Bool("dry-run", false, "say what would be done, change nothing")
	quarantine := fs.Bool("quarantine", false, "move a damaged suffix that is not a torn tail aside (never done silently)")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object on stdout")
	return &ffcli.Command{
		Name:       "repair",
		ShortUsage: "brain-audit repair [--dry-run] [--quarantine] FILE",
		ShortHelp:  "cut a torn tail (or, with --quarantine, a damaged suffix) aside and record it",
		LongHelp: `repair restores a chain whose active file is FILE. A torn final line (a
crash during a write) is cut off; a final record that verifies but lacks its
newline gets it. Other damage is refused unless --quarantine moves the
damaged suffix aside. Removed bytes go to FILE.quarantine-TIMESTAMP and a
chain.repaired record says what was done. Repair never edits or re-hashes a
record that verified. --dry-run writes nothing and creates no file, so it
works on a read-only copy.

A torn last line of the chain's checkpoint file (FILE.checkpoints: a crash
while a checkpoint was written) is moved aside the same way, to
FILE.checkpoints.quarantine-TIMESTAMP; its whole lines are kept.

Exit status: 0 repaired or nothing to repair, 1 refused, 2 usage, 3 FILE
could not be read, 4 the repair could not be written.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit repair [--dry-run] [--quarantine] FILE"); err != nil {
				return err
			}
			sr, err := checkpoint.RepairStore(checkpoint.FileStore(args[0]), *dry, time.Now())
			if err != nil {
				return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("repairing the checkpoint file: %v", fsutil.WithoutPath(err))}
			}
			if sr.Action != "none" {
				describeStore(e, sr)
			}
			res, err := chain.Repair(ctx, args[0], chain.RepairOptions{Quarantine: *quarantine, DryRun: *dry})
			var re *chain.RefusedError
			var rde *chain.ReadError
			switch {
			case errors.As(err, &re):
				for _, f := range re.Findings {
					fmt.Fprintf(e.stderr, "%s: %s\n", prog, f)
				}
				hint := "inspect the findings with 'brain-audit verify-log'; --quarantine moves the damaged suffix aside"
				if *quarantine || re.Missing {
					hint = "restore the chain from a copy; 'brain-audit diff' shows where a copy diverges"
				}
				return &cli.ExitError{Code: cli.ExitFindings, Err: errors.New(re.Reason), Hint: hint}
			case errors.As(err, &rde):
				return &cli.ExitError{Code: cli.ExitIO, Err: err}
			case err != nil:
				return writeErr(err)
			}
			if *jsonOut {
				enc := json.NewEncoder(e.stdout)
				enc.SetEscapeHTML(false)
				out := struct {
					*chain.RepairResult
					Checkpoints *checkpoint.StoreRepair `json:"checkpoints,omitempty"`
				}{RepairResult: res}
				if sr.Action != "none" {
					out.Checkpoints = sr
				}
				enc.Encode(out)
			}
			describe(e, res)
			return nil
		},
	}
}

// describeStore says what the checkpoint file's repair did.
func describeStore(e *env, sr *checkpoint.StoreRepair) {
	verb := "moved"
	if sr.DryRun {
		verb = "would move"
	}
	e.p.Infof("%s the torn last line of %s: %d bytes from byte %d to %s", verb, sr.Store, sr.Bytes, sr.Offset, cmp.Or(sr.Quarantine, "a quarantine file"))
}

func describe(e *env, res *chain.RepairResult) {
	p := e.p
	if res.Action == chain.ActionNone {
		p.Infof("%s verifies: nothing to repair", res.File)
		return
	}
	if res.Action == chain.ActionNewline {
		verb := "added"
		if res.DryRun {
			verb = "would add"
		}
		p.Infof("%s the final record's missing newline at byte %d of %s; nothing removed", verb, res.Offset, res.File)
	} else {
		describeCut(e, res)
	}
	if res.DryRun {
		p.Infof("dry run: nothing was changed")
		return
	}
	if res.Record != nil {
		p.Infof("appended chain.repaired record seq %d; new head %d:%s", res.Record.Seq, res.Record.Seq, res.Record.Hash)
	}
}

// describeCut says what a repair that cuts the file moved aside.
func describeCut(e *env, res *chain.RepairResult) {
	verb := "moved"
	if res.DryRun {
		verb = "would move"
	}
	what := "the torn final line"
	if res.Action == chain.ActionQuarantine {
		what = fmt.Sprintf("the damaged suffix (%d %s)", len(res.Findings), plural(len(res.Findings), "finding"))
	}
	e.p.Infof("%s %s: %d bytes from byte %d of %s to %s", verb, what, res.Bytes, res.Offset, res.File, res.Quarantine)
}
