// Package runcmd is brain-run: it runs BRAIN's commands, each traced and
// audited. Its subcommands: plan (a goal into tasks.yaml, with a model),
// execute (the tasks of a plan: context, model, artifact, checks), status
// (the tasks' states), demo (the golden scenario, offline), exec (any
// program), flush (re-send spans kept on disk) and check (WebAssembly
// acceptance checks against an artifact directory).
package runcmd

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
)

const prog = "brain-run"

// env holds what every subcommand writes to.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	p              *cli.Printer
}

// Main runs brain-run with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, p: cli.NewPrinter(prog, stderr)}
	return cli.Run(ctx, newRoot(e), args, e.p, cli.ExitInternal)
}

func newRoot(e *env) *ffcli.Command {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	return &ffcli.Command{
		Name:        prog,
		ShortUsage:  "brain-run <subcommand> [flags]",
		ShortHelp:   "run BRAIN commands, fully instrumented",
		FlagSet:     fs,
		Options:     []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Subcommands: []*ffcli.Command{newCheck(e), newDemo(e), newExec(e), newExecute(e), newFlush(e), newPlan(e), newStatus(e)},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return &cli.UsageError{Err: errors.New("unknown subcommand " + quote(args[0])), Hint: "run brain-run -h for the list of subcommands"}
			}
			return &cli.UsageError{Err: errors.New("no subcommand given"), Hint: "run brain-run -h for the list of subcommands"}
		},
	}
}

func quote(s string) string { return `"` + s + `"` }
