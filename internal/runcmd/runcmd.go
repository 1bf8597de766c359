// Package runcmd is brain-run-full, brain-run with every subcommand: plan
// (a goal into tasks.yaml, with a model), execute (the tasks of a plan:
// context, model, artifact, checks), status (the tasks' states), demo (the
// golden scenario, offline), flush (re-send spans kept on disk), check
// (WebAssembly acceptance checks against an artifact directory) and exec
// (any program), each traced and audited. The core they run inside, and
// the fast brain-run executable that hands them here, are package runcore.
package runcmd

import (
	"context"
	"io"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/telemetry/otlpgrpc"
)

// Main runs brain-run-full with args (without the program name) and returns
// the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &runcore.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, P: cli.NewPrinter(runcore.Prog, stderr), Args: args,
		Network: otlpgrpc.Transport{}}
	exec := runcore.NewExec(e)
	subs := []*ffcli.Command{newCheck(e), newDemo(e), exec, newExecute(e), newFlush(e), newPlan(e), newStatus(e)}
	return cli.Run(ctx, cli.Tool{Root: runcore.NewRoot(e, subs), Verbatim: []*ffcli.Command{exec}}, args, stdout, e.P, cli.ExitInternal)
}
