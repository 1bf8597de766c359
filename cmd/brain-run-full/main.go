// Command brain-run-full is brain-run with every subcommand; brain-run hands
// it every subcommand but exec. See internal/runcmd.
package main

import (
	"context"
	"os"
	"syscall"

	// BLAKE3 chains verify with the SIMD library (chain/blake3fast).
	_ "github.com/brain-dev/brain/chain/blake3fast"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcmd"
	"github.com/brain-dev/brain/internal/verifier"
)

func main() {
	// Started again by itself as a check's sandbox, it serves that and
	// exits.
	verifier.ServeSandbox()
	ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runcmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
