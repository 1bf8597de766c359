// Package drillcmd is brain-drill: it runs outage drills, Markdown
// run-books whose shell steps inject a real fault and measure how long the
// run-book takes to detect it and to recover (package drill), and provides
// the fault tools the drills call (package drillfault). A drill run is
// itself traced and audited, like every BRAIN command, in the workspace
// brain-drill runs in (package runcore).
package drillcmd

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/drillfault"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/telemetry/otlpgrpc"
)

const prog = "brain-drill"

// Main runs brain-drill with args (without the program name) and returns
// its exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == drillfault.ServeArg {
		return serve(ctx, stderr)
	}
	e := &runcore.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, P: cli.NewPrinter(prog, stderr), Args: args,
		Network: otlpgrpc.Transport{}, Service: prog}
	root := &ffcli.Command{
		Name:       prog,
		ShortUsage: "brain-drill <subcommand> [flags] [args]",
		ShortHelp:  "replay outage drills and measure time to detect and to recover",
		LongHelp: `brain-drill runs outage drills: Markdown run-books (docs/drill-format.md)
whose shell steps inject a real fault, detect it, investigate it and recover
from it, and measures the time to detect (TTD) and to recover (TTR) against
each drill's limits. The drill run is traced and audited in the workspace
brain-drill runs in (docs/brain-drill.md).`,
		FlagSet:     flag.NewFlagSet(prog, flag.ContinueOnError),
		Subcommands: []*ffcli.Command{newRun(e), newList(e), newShow(e), newFault(e)},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return &cli.UsageError{Err: errors.New("unknown subcommand \"" + args[0] + "\""), Hint: "run brain-drill -h for the list of subcommands"}
			}
			return &cli.UsageError{Err: errors.New("no subcommand given"), Hint: "run brain-drill -h for the list of subcommands"}
		},
	}
	return cli.Run(ctx, cli.Tool{Root: root}, args, stdout, e.P, cli.ExitInternal)
}

// serve runs brain-drill as a fault server (drillfault.Start starts it so):
// its configuration on file descriptor 3, its readiness on 4, its log on
// stderr.
func serve(ctx context.Context, stderr io.Writer) int {
	cfg, ready := os.NewFile(3, "config"), os.NewFile(4, "ready")
	if cfg == nil || ready == nil {
		return cli.ExitUsage
	}
	if err := drillfault.Serve(ctx, cfg, ready, stderr); err != nil {
		return cli.ExitIO
	}
	return cli.ExitOK
}
