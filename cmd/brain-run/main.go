// Command brain-run runs BRAIN's commands. It runs exec itself, linking only
// the tracing and audit core, and hands every other subcommand to
// brain-run-full from its own directory; see internal/runcore.
//
// Unlike brain-run-full it sets no handler for SIGINT and SIGTERM at start:
// exec catches the signals it forwards itself, just before its program
// starts, until brain-run exits (a signal before that stops brain-run, which
// has then started nothing and written nothing), and the hand-off replaces
// the process.
package main

import (
	"context"
	"os"

	"github.com/brain-dev/brain/internal/runcore"
)

func main() {
	os.Exit(runcore.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
