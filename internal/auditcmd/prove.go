package auditcmd

import (
	"context"
	"errors"
	"strconv"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
)

func newProve(e *env) *ffcli.Command {
	fs, opts := newFlags("prove")
	seq := fs.String("seq", "", "the `SEQ` of the record to prove")
	var vkeys stringsFlag
	fs.Var(&vkeys, "vkey", "prove against the latest checkpoint signed by this verifier key (`FILE` or key; repeatable); default: the latest stored")
	size := fs.Uint64("size", 0, "prove against the stored checkpoint of this `SIZE` (default: the latest)")
	workers := fs.Int("workers", 0, "lines hashed in parallel (default: the number of CPUs)")
	return &ffcli.Command{
		Name:       "prove",
		ShortUsage: "brain-audit prove --seq N CHAIN",
		ShortHelp:  "prove one record of a chain against its latest checkpoint, for an auditor without the chain",
		LongHelp: `prove prints on stdout a C2SP tlog-proof that the record whose seq is N is
in the chain whose active file is CHAIN, against the latest checkpoint stored
beside it (CHAIN.checkpoints): the Merkle inclusion proof, the signed
checkpoint, and the record's line (base64, in the extra line), so that the
proof alone shows the event. 'brain-audit verify-proof --vkey PREFIX.vkey
FILE' checks it with nothing but the file and the log's verifier key.

The chain is verified as it is hashed and must match the checkpoint: a
chain whose records the checkpoint covers were changed gives no proof.

Exit status: 0 proved, 1 refused (the record is not covered by the
checkpoint, or the chain does not match it), 2 usage, 3 the chain or its
checkpoints could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit prove --seq N CHAIN"); err != nil {
				return err
			}
			if *seq == "" {
				return &cli.UsageError{Err: errors.New("prove needs --seq N, the record to prove"), Hint: "brain-audit show FILE lists the records with their seq"}
			}
			n, err := strconv.ParseUint(*seq, 10, 64)
			if err != nil {
				return cli.Usagef("--seq %q is not a record's seq", *seq)
			}
			vs, _, err := loadVerifiers("--vkey", vkeys)
			if err != nil {
				return err
			}
			lo := checkpoint.LatestOptions{Size: *size}
			if len(vkeys) > 0 {
				lo.Verifiers = vs
			}
			c, err := checkpoint.Latest(checkpoint.StorePath(args[0]), lo)
			if err != nil {
				return checkpointErr(e, args[0], err)
			}
			p, rep, err := checkpoint.Prove(ctx, args[0], n, c, *workers)
			if err != nil {
				return checkpointErr(e, args[0], err)
			}
			e.stdout.Write(p.Marshal())
			e.p.Infof("record %d of %s against its checkpoint of %d records (line %d of %s)", n, args[0], c.Checkpoint.Size, c.Line, checkpoint.StorePath(args[0]))
			if rep != nil && !rep.OK() {
				e.p.Warnf("the chain has %d findings after the records the checkpoint covers: 'brain-audit verify-log %s' lists them", len(rep.Findings)+rep.Suppressed, args[0])
			}
			return nil
		},
	}
}
