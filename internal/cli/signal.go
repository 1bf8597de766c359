package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Interrupted is the cause of a context that SignalContext canceled: the
// signal that asked the process to stop.
type Interrupted struct{ Signal syscall.Signal }

func (e *Interrupted) Error() string {
	return fmt.Sprintf("interrupted by signal %d (%v)", int(e.Signal), e.Signal)
}

// Code is the exit code of a command the signal stopped: 128+N, as a shell
// reports a process the signal killed.
func (e *Interrupted) Code() int { return 128 + int(e.Signal) }

// SignalContext is signal.NotifyContext whose cancellation names the
// signal: when one of sigs arrives, the returned context is canceled with an
// *Interrupted cause (InterruptOf). As with NotifyContext, the signals stay
// caught until stop is called.
func SignalContext(parent context.Context, sigs ...os.Signal) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	c := make(chan os.Signal, 1)
	signal.Notify(c, sigs...)
	go func() {
		select {
		case s := <-c:
			in := &Interrupted{}
			in.Signal, _ = s.(syscall.Signal)
			cancel(in)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(c)
		cancel(context.Canceled)
	}
}

// InterruptOf returns the signal that canceled ctx through SignalContext, or
// nil when ctx was not canceled by one.
func InterruptOf(ctx context.Context) *Interrupted {
	var in *Interrupted
	if errors.As(context.Cause(ctx), &in) {
		return in
	}
	return nil
}

// InterruptedCode returns the exit code of a command that returned code
// under ctx: 128+N when signal N canceled ctx and the command did not
// succeed (it stopped because it was asked to), else code.
func InterruptedCode(ctx context.Context, code int) int {
	if in := InterruptOf(ctx); in != nil && code != ExitOK {
		return in.Code()
	}
	return code
}
