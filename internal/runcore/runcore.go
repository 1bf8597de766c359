// Package runcore is the core every brain-run command runs inside — the
// workspace, telemetry, the audit logger, crash handling (Instrument) — and
// brain-run's exec subcommand. It links no model client, database or
// WebAssembly runtime, so that `brain-run exec`, which wraps every command of
// a shell script or CI job, starts as fast as a Go program with the
// OpenTelemetry SDK can.
//
// brain-run ships as two executables (docs/brain-run.md):
//
//   - brain-run, built from this package (Main): it runs exec itself and
//     hands every other subcommand, and an exec that exports over OTLP, to
//     brain-run-full by replacing itself with it (execve), arguments,
//     environment, standard streams and process id unchanged;
//   - brain-run-full, built from package runcmd: every subcommand, exec
//     included, with the OTLP gRPC exporter, the model clients, the state
//     store and the WebAssembly verifier.
package runcore

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
)

// Prog is the program name in diagnostics.
const Prog = "brain-run"

// FullBinary is the executable that has every subcommand. brain-run looks
// for it in its own directory only, never on PATH.
const FullBinary = "brain-run-full"

// Main runs brain-run, the fast executable: exec in process, everything
// else (the other subcommands, help, --version, completion) in
// brain-run-full, which it knows only by name. It returns the exit code; a
// successful hand-off does not return.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, P: cli.NewPrinter(Prog, stderr), Args: args}
	if len(args) == 0 || args[0] != "exec" {
		return e.P.Report(Handoff(args), cli.ExitInternal)
	}
	// Catching exec's signals takes a round trip to the runtime per
	// signal: they start now, while the command line is parsed.
	e.signals = catchSignals()
	exec := NewExec(e)
	return cli.Run(ctx, cli.Tool{Root: NewRoot(e, []*ffcli.Command{exec}), Verbatim: []*ffcli.Command{exec}}, args, stdout, e.P, cli.ExitInternal)
}

// NewRoot returns brain-run's root command over subs, run with e.
func NewRoot(e *Env, subs []*ffcli.Command) *ffcli.Command {
	fs := flag.NewFlagSet(Prog, flag.ContinueOnError)
	e.rootFlags = fs
	return &ffcli.Command{
		Name:        Prog,
		ShortUsage:  "brain-run <subcommand> [flags]",
		ShortHelp:   "run BRAIN commands, fully instrumented",
		FlagSet:     fs,
		Options:     []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Subcommands: subs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return &cli.UsageError{Err: errors.New("unknown subcommand " + quote(args[0])), Hint: "run brain-run -h for the list of subcommands"}
			}
			return &cli.UsageError{Err: errors.New("no subcommand given"), Hint: "run brain-run -h for the list of subcommands"}
		},
	}
}

// Handoff replaces the process with brain-run-full, from brain-run's own
// directory, running args (without the program name). Nothing has been
// written when it is called: the full binary runs the command from its start.
// It returns only when the exec failed.
func Handoff(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return handoffErr(args, FullBinary, err)
	}
	full := filepath.Join(filepath.Dir(self), FullBinary)
	err = syscall.Exec(full, append([]string{full}, args...), os.Environ())
	return handoffErr(args, full, err)
}

func handoffErr(args []string, full string, err error) error {
	what := "this command"
	if len(args) > 0 {
		what = quote(args[0])
	}
	return &cli.ExitError{Code: cli.ExitInternal,
		Err:  fmt.Errorf("%s runs in %s, which could not be started: %v", what, full, err),
		Hint: "install " + FullBinary + " in the same directory as brain-run ('make build' builds both into bin/; 'go install ./cmd/...' installs both)"}
}

// ExitErr turns an instrumented command's code and error into Exec's error.
func ExitErr(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return &cli.ExitError{Code: code}
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }
