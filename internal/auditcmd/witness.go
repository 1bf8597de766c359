package auditcmd

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
)

func newWitness(e *env) *ffcli.Command {
	fs, opts := newFlags("witness")
	u := fs.String("url", "", "the witness's submission `URL` prefix (checkpoints go to URL/add-checkpoint)")
	var wkeys, vkeys stringsFlag
	fs.Var(&wkeys, "witness-vkey", "the witness's cosignature verifier key (`FILE` or key)")
	fs.Var(&vkeys, "vkey", "submit the latest checkpoint signed by this verifier key (`FILE` or key; repeatable); default: the latest stored")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on the witness after this `DURATION`")
	workers := fs.Int("workers", 0, "lines hashed in parallel for the consistency proof (default: the number of CPUs)")
	return &ffcli.Command{
		Name:       "witness",
		ShortUsage: "brain-audit witness --url URL --witness-vkey W.vkey CHAIN",
		ShortHelp:  "have a witness cosign the latest checkpoint of a chain (C2SP tlog-witness)",
		LongHelp: `witness submits the latest checkpoint of the chain whose active file is CHAIN
to a witness, as c2sp.org/tlog-witness defines it: an add-checkpoint request
with the consistency proof from the last checkpoint of the log the witness
cosigned. The witness checks that the log only grew and answers with its
cosignature, which is verified with --witness-vkey, and the cosigned
checkpoint is stored beside the chain (proofs made after it carry the
cosignature) and printed on stdout.

A witness keeps the largest checkpoint it cosigned for each log, elsewhere:
a chain rewritten since, or cut, or a second history signed with a stolen
key, is refused by it. The witness's operator adds the log first (its
origin, and its verifier key, whose name must be the origin for litewitness).

Exit status: 0 cosigned, 1 refused by the witness (a fork, a checkpoint
older than one it cosigned, an unknown log or key) or a cosignature that
does not verify, 2 usage, 3 the witness could not be reached or a file
could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit witness --url URL --witness-vkey W.vkey CHAIN"); err != nil {
				return err
			}
			if pu, err := url.Parse(*u); *u == "" || err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return &cli.UsageError{Err: errors.New("witness needs --url, the witness's http:// or https:// submission prefix"), Hint: "brain-audit witness --url http://127.0.0.1:7380 --witness-vkey witness.vkey CHAIN"}
			}
			if len(wkeys) != 1 {
				return &cli.UsageError{Err: errors.New("witness needs the witness's verifier key, once: --witness-vkey FILE"), Hint: "litewitness prints its verifier key when it starts"}
			}
			ws, err := loadWitnesses(wkeys)
			if err != nil {
				return err
			}
			vs, _, err := loadVerifiers("--vkey", vkeys)
			if err != nil {
				return err
			}
			o := checkpoint.WitnessOptions{URL: *u, Witness: ws[0], Workers: *workers}
			if len(vkeys) > 0 {
				o.Verifiers = vs
			}
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			w, err := checkpoint.Witness(ctx, args[0], o)
			if err != nil {
				return checkpointErr(e, args[0], err)
			}
			e.stdout.Write(w.Note)
			e.p.Infof("%s cosigned the checkpoint of %d records of %s (from its checkpoint of %d records); kept in %s", ws[0].Name(), w.Checkpoint.Size, args[0], w.Old, w.Store)
			return nil
		},
	}
}
