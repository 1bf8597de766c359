// Package auditcmd is brain-audit: it verifies, diffs, repairs, inspects and
// appends to audit chains (package chain).
package auditcmd

import (
	"context"
	"flag"
	"io"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
)

const prog = "brain-audit"

// env is what every subcommand gets.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	p      *cli.Printer
}

// Main runs brain-audit with args (without the program name) and returns its
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, p: cli.NewPrinter(prog, stderr)}
	root := &ffcli.Command{
		Name:       prog,
		ShortUsage: "brain-audit <subcommand> [flags] [args]",
		LongHelp:   "brain-audit verifies, diffs, repairs and inspects BRAIN audit chains.",
		FlagSet:    flag.NewFlagSet(prog, flag.ContinueOnError),
		Subcommands: []*ffcli.Command{
			newVerify(e),
			newAppend(e),
			newDiff(e),
			newRepair(e),
			newShow(e),
		},
	}
	return cli.Run(ctx, cli.Tool{Root: root}, args, stdout, e.p, cli.ExitInternal)
}

// newFlags returns a flag set for a subcommand whose flags also read
// BRAIN_-prefixed environment variables.
func newFlags(name string) (*flag.FlagSet, []ff.Option) {
	return flag.NewFlagSet(prog+" "+name, flag.ContinueOnError), []ff.Option{ff.WithEnvVarPrefix("BRAIN")}
}
