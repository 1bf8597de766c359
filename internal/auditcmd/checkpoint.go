package auditcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
)

func newCheckpoint(e *env) *ffcli.Command {
	fs, opts := newFlags("checkpoint")
	key := fs.String("key", "", "the signer key `FILE` (PREFIX.key from keygen, mode 0600); default $"+checkpoint.KeyEnv+", the key itself")
	origin := fs.String("origin", "", "the checkpoints' `ORIGIN` (default: the chain's, brain-audit/<chain id> for its first checkpoint)")
	full := fs.Bool("full", false, "verify the whole chain, not only the records since the last checkpoint")
	workers := fs.Int("workers", 0, "lines hashed in parallel when the whole chain is verified (default: the number of CPUs)")
	return &ffcli.Command{
		Name:       "checkpoint",
		ShortUsage: "brain-audit checkpoint --key PREFIX.key CHAIN",
		ShortHelp:  "sign a checkpoint of a chain and keep it beside the chain",
		LongHelp: `checkpoint signs a checkpoint of the chain whose active file is CHAIN, as it
is now: the RFC 6962 Merkle root of its records and their number, as a C2SP
signed note (docs/checkpoints.md). It appends it to CHAIN.checkpoints (every
checkpoint kept, in order) and prints it on stdout.

Only a chain that verifies is signed, and only when it extends the last
checkpoint the key signed: a chain whose records up to that checkpoint were
changed, or cut, is refused. The records since the last checkpoint are
checked, not the whole chain, when the writer's state (CHAIN.checkpoints.state)
leads to them; --full verifies the whole chain. A chain that has not grown
gets no second checkpoint: the last one is printed.

Keep the signer key off the machine, or at least away from whoever can
write the chain (SECURITY.md): with it, a rewritten chain can be signed.

Exit status: 0 signed (or unchanged), 1 refused (the chain does not verify
or does not extend the last checkpoint; the checkpoint file has a torn
line), 2 usage, 3 the chain or the key could not be read, or the checkpoint
not written.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit checkpoint --key PREFIX.key CHAIN"); err != nil {
				return err
			}
			s, err := loadSigner(*key)
			if err != nil {
				return err
			}
			if *origin != "" {
				if err := checkpoint.CheckOrigin(*origin); err != nil {
					return &cli.UsageError{Err: fmt.Errorf("--origin: %v", trimPkg(err))}
				}
			}
			if *key != "" && sameDir(*key, args[0]) {
				e.p.Warnf("the signer key %s is in the chain's directory: whoever can rewrite the chain can sign it too", *key)
			}
			m, err := checkpoint.Make(ctx, args[0], checkpoint.Options{Signer: s, Origin: *origin, Full: *full, Workers: *workers})
			if err != nil {
				return checkpointErr(e, args[0], err)
			}
			e.stdout.Write(m.Note)
			c := m.Checkpoint
			if !m.New {
				e.p.Infof("%s has not grown since its last checkpoint (%d records, root %s): nothing new signed", args[0], c.Size, c.Root)
				return nil
			}
			e.p.Infof("checkpoint of %s: %d records, root %s, signed by %s, kept in %s", args[0], c.Size, c.Root, s.Name(), m.Store)
			return nil
		},
	}
}

// loadSigner reads the signer key from file, else from BRAIN_CHECKPOINT_KEY.
func loadSigner(file string) (*checkpoint.Signer, error) {
	if file == "" {
		text := os.Getenv(checkpoint.KeyEnv)
		if text == "" {
			return nil, &cli.UsageError{Err: errors.New("no signer key: give --key PREFIX.key or set " + checkpoint.KeyEnv),
				Hint: "brain-audit keygen -o PREFIX NAME makes a key pair"}
		}
		s, err := checkpoint.NewSigner(text)
		if err != nil {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s: %v", checkpoint.KeyEnv, trimPkg(err))}
		}
		return s, nil
	}
	s, err := checkpoint.LoadSigner(file)
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: errors.New(trimPkg(err))}
	}
	return s, nil
}

// sameDir reports whether two files are in one directory.
func sameDir(a, b string) bool {
	da, err1 := filepath.Abs(filepath.Dir(a))
	db, err2 := filepath.Abs(filepath.Dir(b))
	return err1 == nil && err2 == nil && da == db
}

// checkpointErr maps an error of package checkpoint to an exit code, with
// the findings and a hint.
func checkpointErr(e *env, chainPath string, err error) error {
	var (
		re *checkpoint.RefusedError
		te *checkpoint.TornError
		rd *chain.ReadError
		ke *checkpoint.KeyFileError
		pe *checkpoint.ProofError
		se *checkpoint.SignatureError
		we *checkpoint.WitnessError
	)
	msg := func(err error) error { return errors.New(trimPkg(err)) }
	switch {
	case errors.As(err, &re):
		for _, f := range re.Findings {
			fmt.Fprintf(e.stderr, "%s: %s\n", prog, f)
		}
		return &cli.ExitError{Code: cli.ExitFindings, Err: msg(err), Hint: "'brain-audit verify-log --vkey PREFIX.vkey " + chainPath + "' shows what does not match"}
	case errors.As(err, &te):
		return &cli.ExitError{Code: cli.ExitFindings, Err: msg(err), Hint: "'brain-audit repair " + chainPath + "' moves the torn line aside"}
	case errors.As(err, &pe), errors.As(err, &se):
		return &cli.ExitError{Code: cli.ExitFindings, Err: msg(err)}
	case errors.As(err, &we):
		if we.Status == 0 {
			return &cli.ExitError{Code: cli.ExitIO, Err: msg(err), Hint: "check the witness URL and that the witness is running"}
		}
		return &cli.ExitError{Code: cli.ExitFindings, Err: msg(err)}
	case errors.As(err, &rd), errors.As(err, &ke), errors.Is(err, os.ErrNotExist):
		return &cli.ExitError{Code: cli.ExitIO, Err: msg(err)}
	case ctxErr(err):
		return err
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: msg(err)}
}

func ctxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// stringsFlag is a flag that may be given several times.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// loadVerifiers reads the verifier keys named (files, or keys as they are).
func loadVerifiers(flag string, names []string) (note.Verifiers, []note.Verifier, error) {
	var vs []note.Verifier
	for _, n := range names {
		v, err := checkpoint.LoadVerifier(n)
		if err != nil {
			return nil, nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s: %v", flag, trimPkg(err))}
		}
		vs = append(vs, v)
	}
	return note.VerifierList(vs...), vs, nil
}

// loadWitnesses reads witness verifier keys (files, or keys as they are).
func loadWitnesses(names []string) ([]note.Verifier, error) {
	var ws []note.Verifier
	for _, n := range names {
		w, err := checkpoint.LoadWitness(n)
		if err != nil {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("--witness-vkey: %v", trimPkg(err))}
		}
		ws = append(ws, w)
	}
	return ws, nil
}
