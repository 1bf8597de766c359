package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"syscall"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// TestSignalContext: a real signal to the process cancels the context with
// the signal as its cause, and a stopped command's code becomes 128+N; a
// plain cancellation or a success keeps the command's code.
func TestSignalContext(t *testing.T) {
	ctx, stop := SignalContext(context.Background(), syscall.SIGUSR1)
	defer stop()
	if InterruptOf(ctx) != nil || InterruptedCode(ctx, ExitModel) != ExitModel {
		t.Fatal("interrupted before any signal")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	in := InterruptOf(ctx)
	if in == nil || in.Signal != syscall.SIGUSR1 || in.Code() != 128+int(syscall.SIGUSR1) {
		t.Fatalf("cause %v, want SIGUSR1", context.Cause(ctx))
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("ctx.Err() = %v, want context.Canceled", ctx.Err())
	}
	if got := InterruptedCode(ctx, ExitModel); got != 128+int(syscall.SIGUSR1) {
		t.Errorf("code of a command that failed after the signal: %d", got)
	}
	if got := InterruptedCode(ctx, ExitOK); got != ExitOK {
		t.Errorf("code of a command that succeeded after the signal: %d, want 0", got)
	}
	if in.Error() != "interrupted by signal 10 (user defined signal 1)" {
		t.Errorf("message %q", in.Error())
	}

	plain, cancel := context.WithCancel(context.Background())
	cancel()
	if InterruptOf(plain) != nil || InterruptedCode(plain, ExitModel) != ExitModel {
		t.Error("a plain cancellation counted as a signal")
	}
	ctx2, stop2 := SignalContext(context.Background(), syscall.SIGUSR1)
	stop2()
	if InterruptOf(ctx2) != nil {
		t.Error("stop counted as a signal")
	}
}

// TestRunInterrupted: a command that stops because a signal canceled its
// context (its error wraps context.Canceled) is reported by the signal,
// not as "context canceled"; a plain cancellation is reported as it is.
func TestRunInterrupted(t *testing.T) {
	for _, c := range []struct {
		cause error
		want  string
	}{
		{&Interrupted{Signal: syscall.SIGINT}, "prog: error: interrupted by signal 2 (interrupt)\n"},
		{nil, "prog: error: reading: context canceled\n"},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(c.cause)
		root := &ffcli.Command{Name: "prog", FlagSet: flag.NewFlagSet("prog", flag.ContinueOnError),
			Exec: func(ctx context.Context, _ []string) error { return fmt.Errorf("reading: %w", ctx.Err()) }}
		var out, errs bytes.Buffer
		Run(ctx, Tool{Root: root}, nil, &out, NewPrinter("prog", &errs), ExitInternal)
		if errs.String() != c.want {
			t.Errorf("cause %v: stderr %q, want %q", c.cause, errs.String(), c.want)
		}
	}
}
