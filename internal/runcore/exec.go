package runcore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	"go.opentelemetry.io/otel/attribute"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/faults"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/telemetry"
)

// forwarded are the signals brain-run exec passes on to the program.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// signalCatch holds the signals exec forwards (forwarded), caught on
// another goroutine: catching each costs a round trip to the runtime's
// signal-mask thread, which runs while brain-run sets up telemetry and
// opens the chain. brain-run's Main starts catching them as it starts,
// when its command is exec.
//
// They are caught before the first record is written, so that one
// arriving later is queued for the program, not lost (and does not kill
// brain-run between its records or leave the program orphaned). They stay
// caught until brain-run is done, so that one arriving after the program
// ended cannot cut the end records.
type signalCatch struct {
	c      chan os.Signal
	caught chan struct{} // closed once they are caught
}

func catchSignals() *signalCatch {
	sc := &signalCatch{c: make(chan os.Signal, 8), caught: make(chan struct{})}
	go func() {
		signal.Notify(sc.c, forwarded...)
		close(sc.caught)
	}()
	return sc
}

// release stops catching, without waiting for the round trips.
func (sc *signalCatch) release() {
	<-sc.caught
	go signal.Stop(sc.c)
}

// redeliver stops catching and sends brain-run the signals caught so far
// again, which stop it as they would have without the catch. Nothing for
// nil.
func (sc *signalCatch) redeliver() {
	if sc == nil {
		return
	}
	<-sc.caught
	signal.Stop(sc.c)
	for _, sig := range drain(sc.c) {
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	}
}

// drain returns the signals queued in c, taking them from it.
func drain(c chan os.Signal) []os.Signal {
	var sigs []os.Signal
	for {
		select {
		case sig := <-c:
			sigs = append(sigs, sig)
		default:
			return sigs
		}
	}
}

// groupDelivered reports whether sig is one a terminal sends to its whole
// foreground process group (Ctrl-C, Ctrl-\, a resize). While the program
// is in brain-run's process group, as it starts, such a signal has reached
// it already, from the kernel: forwarding it too would deliver it twice,
// and many programs take a second Ctrl-C as "stop now, skip the clean-up".
// So it is forwarded only once the program has moved to a group of its own
// (a shell with job control, setsid). Signals meant for one process
// (SIGTERM, SIGHUP, SIGUSR1, SIGUSR2) are always forwarded.
func groupDelivered(sig os.Signal, pid int) bool {
	switch sig {
	case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH:
		pg, err := syscall.Getpgid(pid)
		return err == nil && pg == syscall.Getpgrp()
	}
	return false
}

// NewExec returns the exec subcommand, for both executables.
func NewExec(e *Env) *ffcli.Command {
	fs, rf := NewFlags("exec")
	return &ffcli.Command{
		Name:       "exec",
		ShortUsage: "brain-run exec [flags] -- CMD [ARG...]",
		ShortHelp:  "run a program, traced and audited",
		LongHelp: `exec runs CMD under a brain_cli.command span, with audit records before it
starts and after it ends (argv[0], SHA-256 of each argument, exit code,
signal, duration). stdin, stdout and stderr pass through untouched; signals
are forwarded (but not a Ctrl-C, Ctrl-\ or resize that CMD, in brain-run's
process group, received itself); TRACEPARENT and BRAIN_SESSION_ID are set for CMD so nested
brain-run commands join the trace.

Exit status: CMD's own (128+N when a signal N killed it); 127 CMD not found;
126 CMD not executable; 4 an audit record could not be written (CMD is not
started when its start record fails); 2 usage.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return &cli.UsageError{Err: errors.New("exec needs a command to run"), Hint: "brain-run exec -- make test"}
			}
			if e.Network == nil && rf.Endpoint() != "" {
				// The OTLP exporter is in brain-run-full, which runs the
				// command from its start: a signal caught meanwhile
				// stops brain-run as it would have. A delay fault at
				// exec.handoff holds that moment open for a test; a
				// malformed BRAIN_FAULTS is brain-run-full's to report.
				if fs, err := faults.Parse(os.Getenv(faults.EnvVar)); err == nil {
					fs.At("exec.handoff")
				}
				e.signals.redeliver()
				return Handoff(e.Args)
			}
			// Signals go to the program, not to brain-run's context: the
			// end record must still be written after CMD is interrupted.
			ctx = context.WithoutCancel(ctx)
			sc := e.signals
			if sc == nil {
				sc = catchSignals()
				defer sc.release()
			}
			// Caught by brain-run's Main, they stay caught until the
			// process exits, right after exec: releasing them would
			// cost a round trip each, and let a signal arriving in the
			// last instant replace the program's exit status by its own.
			code, err := instrument(ctx, e, rf, "exec", true, func(ctx context.Context, s *Session) (int, error) {
				<-sc.caught
				return runExec(ctx, s, args, sc.c)
			})
			return ExitErr(code, err)
		},
	}
}

func runExec(ctx context.Context, s *Session, argv []string, sigc chan os.Signal) (int, error) {
	// Signals that arrived before the program started: it got none of
	// them, not even from the terminal (it was not in the group yet).
	var early []os.Signal
	s.Root.SetAttributes(attribute.String(names.AttrProcessExecutableName, argv[0]), attribute.Int(names.AttrBrainExecArgCount, len(argv)-1))
	if err := s.Log.Unsafe(ctx, "exec.argv", map[string]any{"argv": argv}); err != nil {
		s.Env.P.Warnf("unsafe I/O log: %v", err)
	}
	start := time.Now()
	end := audit.ExecEnd{Argv0: argv[0]}
	// A nested brain-run joins the trace and the session, and writes to
	// this workspace: one command, one chain.
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		dir = s.Dir
	}
	env := append(telemetry.InjectEnv(ctx, withoutKey(os.Environ())), "BRAIN_SESSION_ID="+s.ID, "BRAIN_DIR="+dir)
	var (
		proc     process
		startErr error
	)
	err = s.Log.Commit(ctx, audit.ExecStart{Argv0: argv[0], ArgsSHA256: audit.HashArgs(argv[1:]), ArgCount: len(argv) - 1}, func() error {
		if err := s.Faults.At("exec.start"); err != nil {
			return err
		}
		early = drain(sigc)
		proc, startErr = startProcess(argv, env, s.Env.Stdin, s.Env.Stdout, s.Env.Stderr)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if startErr != nil {
		class := names.ClassExecOther
		switch {
		case errors.Is(startErr, exec.ErrNotFound), errors.Is(startErr, fs.ErrNotExist):
			class = names.ClassExecNotFound
		case errors.Is(startErr, fs.ErrPermission):
			class = names.ClassExecPermission
		}
		// exec.end's error is the class without its prefix: not_found,
		// permission or other.
		end.ExitCode, _ = names.ExitCode(class)
		end.Error = strings.TrimPrefix(class, "exec_")
		end.DurationMS = time.Since(start).Milliseconds()
		// Held until command.end: nothing happens between the two.
		if err := s.Log.Hold(ctx, end); err != nil {
			return 0, err
		}
		return end.ExitCode, names.WithClass(class,
			&cli.ExitError{Code: end.ExitCode, Err: fmt.Errorf("cannot run %q: %v", argv[0], unwrapExec(startErr))})
	}
	end.Started, end.PID = true, proc.Pid()
	done := make(chan struct{})
	go func() {
		for _, sig := range early {
			proc.Signal(sig)
		}
		for {
			select {
			case sig := <-sigc:
				if !groupDelivered(sig, proc.Pid()) {
					proc.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	ws, werr := proc.Wait()
	close(done)
	end.DurationMS = time.Since(start).Milliseconds()
	switch {
	case werr != nil:
		end.ExitCode = cli.ExitInternal
	case ws.Signaled():
		end.ExitCode, end.Signal = 128+int(ws.Signal()), ws.Signal().String()
	default:
		end.ExitCode = ws.ExitStatus()
	}
	s.Root.SetAttributes(attribute.Int(names.AttrProcessExitCode, end.ExitCode))
	if end.Signal != "" {
		s.Root.SetAttributes(attribute.String(names.AttrBrainExecSignal, end.Signal))
	}
	// Held until command.end: nothing happens between the two.
	if err := s.Log.Hold(ctx, end); err != nil {
		return end.ExitCode, err
	}
	return end.ExitCode, nil
}

// unwrapExec drops exec's wrapping of the path, which the message names.
func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
