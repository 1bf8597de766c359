package auditcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
)

func newVerifyProof(e *env) *ffcli.Command {
	fs, opts := newFlags("verify-proof")
	var vkeys, wkeys stringsFlag
	fs.Var(&vkeys, "vkey", "the log's verifier key (`FILE` from keygen, or the key itself; repeatable)")
	fs.Var(&wkeys, "witness-vkey", "a witness's cosignature verifier key (`FILE` or key; repeatable): the checkpoint must be cosigned")
	minW := fs.Int("min-witnesses", 0, "how many of the --witness-vkey witnesses must have cosigned (default: all)")
	origin := fs.String("origin", "", "the `ORIGIN` the checkpoint must have (default: any, printed)")
	old := fs.String("old", "", "for a consistency proof: the older signed checkpoint `FILE` it starts from, as you kept it")
	return &ffcli.Command{
		Name:       "verify-proof",
		ShortUsage: "brain-audit verify-proof --vkey PREFIX.vkey FILE",
		ShortHelp:  "check a proof of one record (prove) or of consistency (consistency), offline",
		LongHelp: `verify-proof checks a proof with nothing but the proof FILE (or - for stdin)
and the log's verifier key: no chain, no network.

A tlog-proof (from brain-audit prove): the checkpoint is signed by a --vkey
key, the record in its extra line is a chain record whose seq is the proof's
index, and the Merkle inclusion proof leads from the record to the
checkpoint's root. The record's line is printed on stdout.

A consistency proof (from brain-audit consistency): both checkpoints, the
proof's and --old, are signed by a --vkey key, of one origin, and the log at
the newer one extends the log at --old.

With --witness-vkey, the checkpoint must also carry the cosignatures of
those witnesses (c2sp.org/tlog-cosignature), or --min-witnesses of them.

Exit status: 0 PASS, 1 FAIL (the proof does not verify), 2 usage, 3 a file
or key could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit verify-proof --vkey PREFIX.vkey FILE"); err != nil {
				return err
			}
			if len(vkeys) == 0 {
				return &cli.UsageError{Err: errors.New("verify-proof needs the log's verifier key: --vkey PREFIX.vkey"), Hint: "the .vkey file that brain-audit keygen wrote, or the key line itself"}
			}
			vs, _, err := loadVerifiers("--vkey", vkeys)
			if err != nil {
				return err
			}
			ws, err := loadWitnesses(wkeys)
			if err != nil {
				return err
			}
			b, err := readInput(e, args[0], checkpoint.MaxProofSize)
			if err != nil {
				return err
			}
			po := checkpoint.ProofOptions{Origin: *origin, Witnesses: ws, MinWitnesses: *minW}
			var v *checkpoint.Verified
			if bytes.HasPrefix(b, []byte("old ")) {
				if *old == "" {
					return &cli.UsageError{Err: errors.New(args[0] + " is a consistency proof: give the older checkpoint it starts from with --old FILE"), Hint: "the signed checkpoint you kept (brain-audit checkpoint prints it)"}
				}
				ob, err := readInput(e, *old, checkpoint.MaxNoteSize)
				if err != nil {
					return err
				}
				v, err = checkpoint.VerifyConsistency(b, ob, vs, po)
				if err != nil {
					return proofFail(e, args[0], err)
				}
				c := v.Checkpoint
				e.p.Banner(true, fmt.Sprintf("%s: the log %s of %d records (root %s) extends the one of %d records (root %s)%s", args[0], c.Origin, c.Size, c.Root, v.Old.Size, v.Old.Root, cosigned(v)))
				return nil
			}
			v, err = checkpoint.VerifyProof(b, vs, po)
			if err != nil {
				return proofFail(e, args[0], err)
			}
			e.stdout.Write(append(v.Record[:len(v.Record):len(v.Record)], '\n'))
			c := v.Checkpoint
			e.p.Banner(true, fmt.Sprintf("%s: record %d is in the log %s of %d records (root %s)%s", args[0], v.Index, c.Origin, c.Size, c.Root, cosigned(v)))
			return nil
		},
	}
}

func cosigned(v *checkpoint.Verified) string {
	if len(v.Cosigners) == 0 {
		return ""
	}
	return ", cosigned by " + strings.Join(v.Cosigners, ", ")
}

// proofFail reports a proof that does not verify.
func proofFail(e *env, name string, err error) error {
	e.p.Banner(false, fmt.Sprintf("%s: %s", name, strings.TrimPrefix(err.Error(), "checkpoint: ")))
	return &cli.ExitError{Code: cli.ExitFindings}
}

// readInput reads the file name (- for stdin), up to max bytes; a named
// pipe or device is refused.
func readInput(e *env, name string, max int) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := fsutil.Open(name)
		if err != nil {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading %q: %v", name, fsutil.WithoutPath(err))}
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading %q: %v", name, fsutil.WithoutPath(err))}
	}
	if len(b) > max {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading %q: over %d bytes: not a proof or checkpoint", name, max)}
	}
	return b, nil
}
