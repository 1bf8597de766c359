package drillcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/drillfault"
	"github.com/brain-dev/brain/internal/runcore"
)

// faultFlags are the flags of the fault subcommands that act on a drill's
// faults.
type faultFlags struct {
	dir     string
	envFile string
}

func (f *faultFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "drill-dir", "", "the drill's scratch `directory` (default $DRILL_DIR, which brain-drill run sets for every step)")
	fs.StringVar(&f.envFile, "drill-env", "", "append the variables that point BRAIN at a fault to `FILE` (default $DRILL_ENV)")
}

// tools returns the fault tools of the drill f names.
func (f *faultFlags) tools() (*drillfault.Tools, error) {
	dir := f.dir
	if dir == "" {
		dir = os.Getenv("DRILL_DIR")
	}
	if dir == "" {
		return nil, &cli.UsageError{Err: errors.New("no drill directory: brain-drill fault records its faults in the drill's scratch directory"),
			Hint: "run it from a drill step (brain-drill run sets DRILL_DIR), or pass --drill-dir DIR"}
	}
	envFile := f.envFile
	if envFile == "" {
		envFile = os.Getenv("DRILL_ENV")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("cannot find brain-drill's own executable: %v", err)}
	}
	return &drillfault.Tools{Reg: drillfault.Registry{Dir: dir}, Self: self, EnvFile: envFile}, nil
}

// faultErr maps a fault tool's error to an exit code.
func faultErr(err error) error {
	var nf *drillfault.NotFoundError
	var ue *cli.UsageError
	var ee *cli.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ue), errors.As(err, &ee):
		return err
	case errors.As(err, &nf):
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "'brain-drill fault list' lists the faults of the drill"}
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: err}
}

func newFault(e *runcore.Env) *ffcli.Command {
	return &ffcli.Command{
		Name:       "fault",
		ShortUsage: "brain-drill fault <subcommand> [flags] [args]",
		ShortHelp:  "start, change and stop the faults drills inject",
		LongHelp: `fault gives drills their faults, real ones: a model provider stand-in
(Gemini and OpenAI APIs) and an OTLP endpoint on loopback, a full disk (a
small tmpfs), a tampered chain record, a bulk append killed mid-write.

A fault that lasts (llm, otlp, disk) is recorded in the drill's scratch
directory ($DRILL_DIR) so that rollback can stop it (fault stop --all), and
brain-drill stops whatever a drill left running after its rollback. start
appends the variables that point BRAIN at the fault to $DRILL_ENV, and
prints them.`,
		FlagSet: newFlagSet("fault"),
		Subcommands: []*ffcli.Command{newFaultStart(e), newFaultSet(e), newFaultStatus(e), newFaultList(e), newFaultStop(e),
			newFaultFill(e), newFaultTamper(e), newFaultKillAppend(e)},
		Exec: func(ctx context.Context, args []string) error {
			return &cli.UsageError{Err: errors.New("fault needs a subcommand"), Hint: "run brain-drill fault -h for the list"}
		},
	}
}

// llmSettingsFlags are the flags that set the provider stand-in's mode.
type llmSettingsFlags struct {
	mode       string
	retryAfter time.Duration
	delay      time.Duration
	lasts      time.Duration
	key        string
	fs         *flag.FlagSet
}

func (l *llmSettingsFlags) register(fs *flag.FlagSet, mode string) {
	l.fs = fs
	fs.StringVar(&l.mode, "mode", mode, "`mode`: "+strings.Join(drillfault.LLMModes, ", ")+" (otlp: "+strings.Join(drillfault.OTLPModes, ", ")+")")
	fs.DurationVar(&l.retryAfter, "retry-after", time.Second, "429: the Retry-After it sends")
	fs.DurationVar(&l.delay, "delay", 5*time.Second, "slow: how long before it answers")
	fs.DurationVar(&l.lasts, "for", 0, "the mode lasts this long from the first request it fails (as a quota window starts when the quota is hit), then the stand-in answers again (ok); 0: until changed")
	fs.StringVar(&l.key, "key", "", "the only API `key` it accepts from now on (any other gets 401); empty: any")
}

func (l *llmSettingsFlags) settings() drillfault.LLMSettings {
	s := drillfault.LLMSettings{Mode: l.mode, RetryAfter: l.retryAfter, Delay: l.delay, For: l.lasts}
	l.fs.Visit(func(f *flag.Flag) {
		if f.Name == "key" {
			s.Key = &l.key
		}
	})
	return s
}

func newFaultStart(e *runcore.Env) *ffcli.Command {
	return &ffcli.Command{
		Name:        "start",
		ShortUsage:  "brain-drill fault start llm|otlp|disk [flags]",
		ShortHelp:   "start a fault that lasts until stopped: llm, otlp or disk",
		FlagSet:     newFlagSet("fault start"),
		Subcommands: []*ffcli.Command{newStartLLM(e), newStartOTLP(e), newStartDisk(e)},
		Exec: func(ctx context.Context, args []string) error {
			return &cli.UsageError{Err: errors.New("start needs a kind of fault: llm, otlp or disk"), Hint: "brain-drill fault start llm --name provider"}
		},
	}
}

func newStartLLM(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault start llm")
	ff := &faultFlags{}
	ff.register(fs)
	ls := &llmSettingsFlags{}
	ls.register(fs, drillfault.ModeOK)
	name := fs.String("name", "llm", "the fault's `name`, for set, status and stop")
	cassette := fs.String("cassette", "", "answer each request from this BRAIN cassette `FILE` (docs/llm.md), by its request hash; without one, answer \"ok\"")
	provider := fs.String("provider", "both", "the base URLs to append to $DRILL_ENV: gemini (BRAIN_GEMINI_BASE_URL), openai (BRAIN_OPENAI_BASE_URL) or both")
	ttl := fs.Duration("ttl", drillfault.DefaultTTL, "exit by itself after this long")
	return &ffcli.Command{
		Name:       "llm",
		ShortUsage: "brain-drill fault start llm [--name NAME] [--mode MODE] [--cassette FILE] [--key KEY] [flags]",
		ShortHelp:  "a model provider stand-in speaking the Gemini and OpenAI APIs on loopback",
		LongHelp: `start llm starts a model provider stand-in on 127.0.0.1: it answers the
Gemini API (POST /v1beta/models/MODEL:generateContent) and the OpenAI API
(POST /v1/chat/completions) as the real providers do, for the real
clients brain-run uses, from the cassette (--cassette), or with the
failure of its mode: 401 (key rejected), 403 (permission denied), 429 (rate
limited, with Retry-After), 503 (unavailable), slow (answers after --delay),
malformed (a 200 whose body is not the API's JSON). --key makes it accept
that key only. It appends BRAIN_GEMINI_BASE_URL and BRAIN_OPENAI_BASE_URL
(--provider) to $DRILL_ENV and prints them.

Exit status: 0 started; 2 usage; 3 it could not start.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("start llm takes no arguments")
			}
			if *provider != "gemini" && *provider != "openai" && *provider != "both" {
				return cli.Usagef("--provider must be gemini, openai or both")
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			if *cassette != "" {
				if abs, err := filepath.Abs(*cassette); err == nil {
					*cassette = abs
				}
			}
			_, lines, err := t.Start(ctx, drillfault.KindLLM, drillfault.StartOptions{Name: *name, TTL: *ttl, LLM: ls.settings(),
				Cassette: *cassette, Provider: *provider})
			if err != nil {
				return faultErr(err)
			}
			fmt.Fprintln(e.Stdout, strings.Join(lines, "\n"))
			return nil
		},
	}
}

func newStartOTLP(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault start otlp")
	ff := &faultFlags{}
	ff.register(fs)
	name := fs.String("name", "otlp", "the fault's `name`, for set, status and stop")
	mode := fs.String("mode", drillfault.ModeOK, "`mode`: ok (a collector that keeps every span), closed (nothing listens), blackhole (accepts, never answers)")
	received := fs.String("received", "", "append the spans it receives to `FILE` (default NAME.received.jsonl in the drill's directory)")
	ttl := fs.Duration("ttl", drillfault.DefaultTTL, "exit by itself after this long")
	return &ffcli.Command{
		Name:       "otlp",
		ShortUsage: "brain-drill fault start otlp [--name NAME] [--mode ok|closed|blackhole] [--received FILE]",
		ShortHelp:  "an OTLP/gRPC endpoint on loopback: a collector, a closed port or a black hole",
		LongHelp: `start otlp takes a port on 127.0.0.1 and keeps it: in mode ok an OTLP/gRPC
trace collector listens there and appends every span it receives to
--received (OTLP JSON lines, as a workspace's spans.jsonl); in mode closed
nothing listens (connection refused); in mode blackhole connections are
accepted and never answered. 'fault set NAME --mode ...' switches between
them on the same port. It appends OTEL_EXPORTER_OTLP_ENDPOINT to $DRILL_ENV
and prints it.

Exit status: 0 started; 2 usage; 3 it could not start.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("start otlp takes no arguments")
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			out := *received
			if out == "" {
				out = filepath.Join(t.Reg.Dir, *name+".received.jsonl")
			}
			if abs, err := filepath.Abs(out); err == nil {
				out = abs
			}
			_, lines, err := t.Start(ctx, drillfault.KindOTLP, drillfault.StartOptions{Name: *name, TTL: *ttl, OTLPMode: *mode, Received: out})
			if err != nil {
				return faultErr(err)
			}
			fmt.Fprintln(e.Stdout, strings.Join(lines, "\n"))
			return nil
		},
	}
}

func newStartDisk(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault start disk")
	ff := &faultFlags{}
	ff.register(fs)
	name := fs.String("name", "disk", "the fault's `name`, for stop")
	size := fs.String("size", "1m", "the tmpfs's `size`: bytes, or with k, m, g (at most 1g)")
	return &ffcli.Command{
		Name:       "disk",
		ShortUsage: "brain-drill fault start disk [--name NAME] [--size SIZE] PATH",
		ShortHelp:  "mount a small tmpfs at PATH in the drill's directory, for fault fill",
		LongHelp: `start disk mounts a tmpfs of --size at PATH, which must be inside the
drill's scratch directory (it is made if missing; a link is not followed).
Point BRAIN_DIR into it ($DRILL_ENV) and 'brain-drill fault fill PATH' fills
it: a full disk, for real. It needs root and the privilege to mount: a drill
that uses it says 'requires: [root, tmpfs]', and is not run where they are
missing. 'fault stop' unmounts it.

Exit status: 0 mounted; 2 usage; 3 it could not be mounted.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill fault start disk [--name NAME] [--size SIZE] PATH"); err != nil {
				return err
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			st, err := t.StartDisk(*name, args[0], *size)
			if err != nil {
				return faultErr(err)
			}
			fmt.Fprintf(e.Stdout, "mounted a tmpfs of %s at %s\n", *size, st.Mount)
			return nil
		},
	}
}

func newFaultSet(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault set")
	ff := &faultFlags{}
	ff.register(fs)
	ls := &llmSettingsFlags{}
	ls.register(fs, "")
	return &ffcli.Command{
		Name:       "set",
		ShortUsage: "brain-drill fault set NAME --mode MODE [--retry-after D] [--delay D] [--for D] [--key KEY]",
		ShortHelp:  "change a running fault's mode",
		LongHelp: `set changes the mode of the running fault NAME and returns once the new
mode is in force; it prints the fault's status (JSON). An llm fault takes
the modes of 'start llm' and its flags; an otlp fault ok, closed and
blackhole, on the same port.

Exit status: 0 set; 2 usage; 3 no such fault, or it refused the mode.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill fault set NAME --mode MODE"); err != nil {
				return err
			}
			if ls.mode == "" {
				return cli.Usagef("set needs --mode")
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			st, err := t.Reg.Get(args[0])
			if err != nil {
				return faultErr(err)
			}
			var settings any = ls.settings()
			if st.Kind == drillfault.KindOTLP {
				settings = map[string]string{"mode": ls.mode}
			}
			status, err := t.Set(args[0], settings)
			if err != nil {
				return faultErr(err)
			}
			return json.NewEncoder(e.Stdout).Encode(status)
		},
	}
}

func newFaultStatus(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault status")
	ff := &faultFlags{}
	ff.register(fs)
	return &ffcli.Command{
		Name:       "status",
		ShortUsage: "brain-drill fault status NAME",
		ShortHelp:  "print a running fault's status as JSON: mode, requests, spans received",
		LongHelp: `status prints the running fault NAME as one JSON object: its kind, mode
and address; for llm the requests it answered and their statuses; for otlp
the export requests and spans it received, and the file it keeps them in.

Exit status: 0 printed; 2 usage; 3 no such fault, or it does not answer.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill fault status NAME"); err != nil {
				return err
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			_, status, err := t.Status(args[0])
			if err != nil {
				return faultErr(err)
			}
			return json.NewEncoder(e.Stdout).Encode(status)
		},
	}
}

func newFaultList(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault list")
	ff := &faultFlags{}
	ff.register(fs)
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "brain-drill fault list",
		ShortHelp:  "list the drill's faults",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("fault list takes no arguments")
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			sts, err := t.Reg.List()
			if err != nil {
				return faultErr(err)
			}
			tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tMODE\tADDRESS\tPID")
			for _, st := range sts {
				addr, pid := st.Addr, fmt.Sprint(st.PID)
				if st.Kind == drillfault.KindDisk {
					addr, pid = st.Mount, "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Name, st.Kind, dash(st.Mode), addr, pid)
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newFaultStop(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault stop")
	ff := &faultFlags{}
	ff.register(fs)
	all := fs.Bool("all", false, "stop every fault of the drill")
	return &ffcli.Command{
		Name:       "stop",
		ShortUsage: "brain-drill fault stop NAME...|--all",
		ShortHelp:  "stop faults: a server exits, a tmpfs is unmounted",
		LongHelp: `stop stops the faults named (or, with --all, every fault of the drill): a
server is asked to exit, and killed if it does not; a tmpfs is unmounted.
Rollback steps call 'brain-drill fault stop --all'; with no fault running
it does nothing.

Exit status: 0 stopped; 2 usage; 3 no such fault, or one could not be
stopped.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if *all == (len(args) > 0) {
				return &cli.UsageError{Err: errors.New("name the faults to stop, or pass --all"), Hint: "brain-drill fault stop --all"}
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			names := args
			if *all {
				sts, err := t.Reg.List()
				if err != nil {
					return faultErr(err)
				}
				for _, st := range sts {
					names = append(names, st.Name)
				}
			}
			var errs []error
			for _, n := range names {
				if err := t.Stop(n); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(e.Stdout, "stopped %s\n", n)
			}
			return faultErr(errors.Join(errs...))
		},
	}
}

func newFaultFill(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault fill")
	ff := &faultFlags{}
	ff.register(fs)
	return &ffcli.Command{
		Name:       "fill",
		ShortUsage: "brain-drill fault fill PATH",
		ShortHelp:  "fill a disk fault (a tmpfs from start disk) until it is full",
		LongHelp: `fill writes PATH/filler until the file system at PATH is full (ENOSPC).
PATH must be a tmpfs the drill mounted with 'fault start disk': it fills
nothing else. Removing PATH/filler frees the space again.

Exit status: 0 full; 2 usage; 3 PATH is not a disk fault of the drill.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill fault fill PATH"); err != nil {
				return err
			}
			t, err := ff.tools()
			if err != nil {
				return err
			}
			n, file, err := t.Fill(args[0])
			if err != nil {
				return faultErr(err)
			}
			fmt.Fprintf(e.Stdout, "filled %s: %d bytes in %s until no space was left; rm %s frees them\n", args[0], n, file, file)
			return nil
		},
	}
}

func newFaultTamper(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault tamper")
	seq := fs.Int64("seq", -1, "the `seq` of the record to change (default: the last record)")
	return &ffcli.Command{
		Name:       "tamper",
		ShortUsage: "brain-drill fault tamper FILE [--seq N]",
		ShortHelp:  "change one byte of a record of an audit chain, in place",
		LongHelp: `tamper changes one letter or digit of the record with seq N of the audit
chain FILE (the last record by default), in place, as someone with write
access to the file would: in the first value of its data (its time stamp
when that is not a string or a number). The line stays valid JSON; only
its hash shows the change. FILE is never opened through a link. It prints
what it changed.

Exit status: 0 changed; 2 usage; 3 FILE could not be read or written, or
has no such record.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill fault tamper FILE [--seq N]"); err != nil {
				return err
			}
			rep, err := drillfault.Tamper(args[0], *seq)
			if err != nil {
				return faultErr(err)
			}
			fmt.Fprintln(e.Stdout, rep)
			return nil
		},
	}
}

func newFaultKillAppend(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("fault kill-append")
	attempts := fs.Int("attempts", 20, "give up after `N` kills that land between two writes")
	records := fs.Int("records", 20000, "events of about 1 KiB fed to each append (`N`)")
	return &ffcli.Command{
		Name:       "kill-append",
		ShortUsage: "brain-drill fault kill-append FILE [--attempts N] [--records N]",
		ShortHelp:  "SIGKILL a bulk brain-audit append in the middle of a write: a torn tail",
		LongHelp: `kill-append runs 'brain-audit append --sync batch FILE' (brain-audit from
PATH) with a bulk of events on its stdin, and kills it with SIGKILL as soon
as FILE has grown and does not end with a newline: in the middle of a
write. A kill that lands between two writes leaves whole records; it then
tries again, up to --attempts times. It returns once FILE ends in a torn
record, what a crash in the middle of a write leaves, and prints how many
bytes are torn.

Exit status: 0 the tail is torn; 2 usage; 3 brain-audit could not run, or
every kill landed between writes.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill fault kill-append FILE"); err != nil {
				return err
			}
			if *attempts < 1 || *records < 1 {
				return cli.Usagef("--attempts and --records must be positive")
			}
			audit, err := exec.LookPath("brain-audit")
			if err != nil {
				return &cli.ExitError{Code: cli.ExitIO, Err: errors.New("no brain-audit on PATH"), Hint: "run it from a drill step: brain-drill run puts the BRAIN binaries first on PATH"}
			}
			rep, err := drillfault.KillAppend(ctx, audit, args[0], *attempts, *records)
			if err != nil {
				return faultErr(err)
			}
			fmt.Fprintf(e.Stdout, "killed brain-audit append (pid %d) in the middle of a write after %d attempts: %s ends in a torn record of %d bytes\n",
				rep.PID, rep.Attempts, args[0], rep.Torn)
			return nil
		},
	}
}
