// Command brain-run runs BRAIN's commands. It runs exec itself, linking only
// the tracing and audit core, and hands every other subcommand to
// brain-run-full from its own directory; see internal/runcore.
//
// Unlike brain-run-full it sets no handler for SIGINT and SIGTERM of its
// own: exec catches the signals it forwards from its start until brain-run
// exits (runcore's signalCatch), and the hand-off replaces the process,
// raising again any it caught first.
package main

import (
	"context"
	"os"

	"github.com/brain-dev/brain/internal/runcore"
)

func main() {
	os.Exit(runcore.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
