// Package chainarg is the front end every command that verifies audit
// chains shares (brain-audit verify-log, brain-trace-lint --audit): what a
// command-line argument names — standard input, a chain file with the
// rotated files before it, or a directory of chains — and the verification
// of each chain found. It decides nothing about output: each command
// reports in its own format.
package chainarg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/fsutil"
)

// Stdin is the argument that names standard input.
const Stdin = "-"

// A Target is one chain an argument names.
type Target struct {
	// Name is the chain's active file (the argument itself for a file or
	// standard input).
	Name string
	// CopyOf, when set, is the file of the chain this one copies (the same
	// chain id, kept beside it: chain.Chain.CopyOf).
	CopyOf string
	// Files are the chain's files, first to last, when a directory was
	// searched; nil otherwise (verification reports them).
	Files []string

	verify func(ctx context.Context, vo chain.VerifyOptions) (*chain.Report, error)
}

// Verify verifies the chain with vo. The report's Files are the files it
// read.
func (t Target) Verify(ctx context.Context, vo chain.VerifyOptions) (*chain.Report, error) {
	rep, err := t.verify(ctx, vo)
	if err == nil && len(rep.Files) == 0 {
		switch {
		case t.Files != nil:
			rep.Files = t.Files
		case t.Name != Stdin:
			rep.Files = []string{t.Name}
		}
	}
	return rep, err
}

// An Error is an argument that names no chain that can be verified: one
// that cannot be read (Err without the path), a directory that cannot be
// searched (Err as chain.Discover gave it), or a directory with no chain
// in it (ErrNoChain).
type Error struct {
	Arg  string
	Err  error
	Hint string
	read bool // Err is the argument's own read error
}

func (e *Error) Error() string {
	switch {
	case errors.Is(e.Err, ErrNoChain):
		return fmt.Sprintf("no audit chain under %q", e.Arg)
	case e.read:
		return fmt.Sprintf("reading %q: %v", e.Arg, e.Err)
	}
	return e.Err.Error()
}
func (e *Error) Unwrap() error { return e.Err }

// ErrNoChain is the error of a directory that holds no audit chain.
var ErrNoChain = errors.New("no audit chain in this directory")

// Resolve returns the chains arg names: standard input ("-", read from
// stdin), every chain under a directory (chain.Discover; skipped are the
// files it passed over), or a file. A file that does not exist is still a
// target: it may be a chain's active file missing after its rotated files,
// which verification reports. Anything else that cannot be read is an
// *Error.
func Resolve(arg string, stdin io.Reader) (targets []Target, skipped []string, err error) {
	if arg == Stdin {
		return []Target{{Name: Stdin, verify: func(ctx context.Context, vo chain.VerifyOptions) (*chain.Report, error) {
			return chain.VerifyReader(ctx, Stdin, stdin, vo)
		}}}, nil, nil
	}
	fi, err := os.Stat(arg)
	switch {
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, nil, &Error{Arg: arg, Err: fsutil.WithoutPath(err), read: true}
	case err == nil && fi.IsDir():
		chains, skipped, err := chain.Discover(arg)
		if err != nil {
			return nil, skipped, &Error{Arg: arg, Err: err}
		}
		if len(chains) == 0 {
			return nil, skipped, &Error{Arg: arg, Err: ErrNoChain, Hint: "name the chain file, e.g. .brain/audit.jsonl"}
		}
		for _, c := range chains {
			targets = append(targets, Target{Name: c.Files[len(c.Files)-1], CopyOf: c.CopyOf, Files: c.Files,
				verify: func(ctx context.Context, vo chain.VerifyOptions) (*chain.Report, error) {
					return chain.VerifyChain(ctx, c, vo)
				}})
		}
		return targets, skipped, nil
	}
	return []Target{{Name: arg, verify: func(ctx context.Context, vo chain.VerifyOptions) (*chain.Report, error) {
		return chain.VerifyFile(ctx, arg, vo)
	}}}, nil, nil
}

// Unwrap is the cause of a verification's read error without the paths the
// caller already names.
func Unwrap(err error) error {
	var re *chain.ReadError
	if errors.As(err, &re) {
		err = re.Err
	}
	return fsutil.WithoutPath(err)
}
