// Command brain-drill runs outage drills, Markdown run-books whose steps
// inject real faults, and measures time to detect and to recover; it also
// provides the fault tools the drills call. See internal/drillcmd.
package main

import (
	"context"
	"os"
	"syscall"

	// BLAKE3 chains verify with the SIMD library (chain/blake3fast).
	_ "github.com/brain-dev/brain/chain/blake3fast"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/drillcmd"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := drillcmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.InterruptedCode(ctx, code))
}
