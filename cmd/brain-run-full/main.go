// Command brain-run-full is brain-run with every subcommand; brain-run hands
// it every subcommand but exec. See internal/runcmd.
package main

import (
	"context"
	"os"
	"syscall"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcmd"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runcmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
