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
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// Subcommand names a subcommand for the usage text.
type Subcommand struct{ Name, ShortUsage, ShortHelp string }

// FullOnly are the subcommands brain-run hands to brain-run-full, with their
// usage lines.
var FullOnly = []Subcommand{
	{"check", "brain-run check --artifact DIR [--check FILE.wasm[:ARG...]]... [--tasks tasks.yaml --task ID] [--dir DIR]", "run WebAssembly checks against an artifact directory"},
	{"demo", "brain-run demo [flags] [DIR]", "run the golden scenario offline: plan, execute, verify, summary"},
	{"execute", "brain-run execute [flags] [tasks.yaml]", "run the tasks of the recorded plan: context, model, artifact, checks"},
	{"flush", "brain-run flush [--dir DIR] [--otlp-endpoint HOST:PORT]", "re-send spans kept on disk to the OTLP endpoint"},
	{"plan", "brain-run plan --goal TEXT [-o tasks.yaml] [flags]", "ask the plan model for a task list and write tasks.yaml"},
	{"status", "brain-run status [--json] [--chain] [--plan ID] [flags]", "show the plan's tasks and their states from the state store"},
}

// Usage returns the usage lines of the full-only subcommand name; the
// subcommands take theirs from here, so both executables print the same.
func Usage(name string) Subcommand {
	i := fullOnly(name)
	if i < 0 {
		panic("runcore: no subcommand " + name)
	}
	return FullOnly[i]
}

// fullOnly returns the index of name in FullOnly, or -1.
func fullOnly(name string) int {
	return slices.IndexFunc(FullOnly, func(c Subcommand) bool { return c.Name == name })
}

// Main runs brain-run, the fast executable: exec in process, everything else
// in brain-run-full. It returns the exit code; a successful hand-off does not
// return.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, P: cli.NewPrinter(Prog, stderr), Args: args}
	if len(args) > 0 && fullOnly(args[0]) >= 0 {
		return e.P.Report(Handoff(args), cli.ExitInternal)
	}
	subs := []*ffcli.Command{NewExec(e)}
	for _, c := range FullOnly {
		subs = append(subs, &ffcli.Command{Name: c.Name, ShortUsage: c.ShortUsage, ShortHelp: c.ShortHelp})
	}
	slices.SortFunc(subs, func(a, b *ffcli.Command) int { return cmp.Compare(a.Name, b.Name) })
	return cli.Run(ctx, NewRoot(e, subs), args, e.P, cli.ExitInternal)
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
