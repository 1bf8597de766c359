// Command brain-audit verifies, diffs, repairs and inspects BRAIN audit
// chains. See internal/auditcmd.
package main

import (
	"context"
	"os"
	"syscall"

	// BLAKE3 chains verify with the SIMD library (chain/blake3fast).
	_ "github.com/brain-dev/brain/chain/blake3fast"
	"github.com/brain-dev/brain/internal/auditcmd"
	"github.com/brain-dev/brain/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := auditcmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.InterruptedCode(ctx, code))
}
