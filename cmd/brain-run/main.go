// Command brain-run runs BRAIN's commands. It runs exec itself, linking only
// the tracing and audit core, and hands every other subcommand to
// brain-run-full from its own directory; see internal/runcore.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/brain-dev/brain/internal/runcore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runcore.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
