package auditcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/workspace"
)

func newConsistency(e *env) *ffcli.Command {
	fs, opts := newFlags("consistency")
	chainFlag := fs.String("chain", "", "the chain `FILE` (default: the audit.jsonl of the workspace: $BRAIN_DIR, else the nearest .brain here or in a parent directory)")
	workers := fs.Int("workers", 0, "lines hashed in parallel (default: the number of CPUs)")
	return &ffcli.Command{
		Name:       "consistency",
		ShortUsage: "brain-audit consistency [--chain FILE] OLD NEW",
		ShortHelp:  "prove that the log at checkpoint NEW extends the log at checkpoint OLD",
		LongHelp: `consistency prints on stdout the proof that the log at the checkpoint NEW
extends the log at the checkpoint OLD: no record OLD covers was changed or
removed since. OLD and NEW are each a signed checkpoint file (as checkpoint
printed it, or as an auditor kept it) or the size of a checkpoint stored
beside the chain. The proof is the RFC 6962 consistency proof followed by
NEW, in the form of a C2SP tlog-witness add-checkpoint request:

  old SIZE
  <base64 hash>...

  <NEW signed checkpoint>

'brain-audit verify-proof --vkey PREFIX.vkey --old OLD FILE' checks it
offline. The chain is verified as it is hashed and must match both
checkpoints.

Exit status: 0 proved, 1 refused (the chain does not match a checkpoint,
or NEW does not extend OLD), 2 usage, 3 a file could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 2, 2, "brain-audit consistency [--chain FILE] OLD NEW"); err != nil {
				return err
			}
			path := *chainFlag
			if path == "" {
				var err error
				if path, err = workspaceChain(e); err != nil {
					return err
				}
			}
			store := checkpoint.StorePath(path)
			older, err := checkpointArg(e, store, args[0])
			if err != nil {
				return err
			}
			newer, err := checkpointArg(e, store, args[1])
			if err != nil {
				return err
			}
			p, _, err := checkpoint.ProveConsistency(ctx, path, older.Checkpoint, newer, *workers)
			if err != nil {
				return checkpointErr(e, path, err)
			}
			e.stdout.Write(p.Marshal())
			e.p.Infof("%s: the log of %d records extends the log of %d records", path, newer.Checkpoint.Size, older.Checkpoint.Size)
			return nil
		},
	}
}

// checkpointArg reads a checkpoint named on the command line: a file with a
// signed checkpoint, or the size of one in the checkpoint file store.
func checkpointArg(e *env, store, arg string) (*checkpoint.Stored, error) {
	if n, err := strconv.ParseUint(arg, 10, 64); err == nil {
		if _, serr := os.Stat(arg); serr != nil {
			c, err := checkpoint.Latest(store, checkpoint.LatestOptions{Size: n})
			if err != nil {
				return nil, &cli.ExitError{Code: cli.ExitIO, Err: errors.New(trimPkg(err))}
			}
			return c, nil
		}
	}
	b, err := readInput(e, arg, checkpoint.MaxNoteSize)
	if err != nil {
		return nil, err
	}
	c, err := checkpoint.Unverified(b)
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s: %s", arg, trimPkg(err))}
	}
	return &checkpoint.Stored{Checkpoint: c, Note: b}, nil
}

// workspaceChain returns the audit chain of the workspace: $BRAIN_DIR, else
// the nearest .brain here or in a parent directory.
func workspaceChain(e *env) (string, error) {
	dir := os.Getenv("BRAIN_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err == nil {
			var skipped []workspace.Skipped
			dir, skipped = workspace.Find(wd, os.Geteuid())
			for _, s := range skipped {
				e.p.Warnf("passing over %s: it belongs to another user (uid %d)", s.Path, s.UID)
			}
		}
	}
	if dir == "" {
		return "", &cli.UsageError{Err: errors.New("no chain named and no workspace here"), Hint: "name the chain with --chain FILE"}
	}
	return workspace.Dir(dir).Audit(), nil // brain-run's chain
}

// trimPkg returns err's text without the package prefix.
func trimPkg(err error) string { return strings.TrimPrefix(err.Error(), "checkpoint: ") }
