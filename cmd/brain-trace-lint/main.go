// Command brain-trace-lint lints recorded spans against the span dictionary,
// an audit chain and golden scenarios, and draws traces. See
// internal/tracelint.
package main

import (
	"context"
	"os"
	"syscall"

	// BLAKE3 chains verify with the SIMD library (chain/blake3fast).
	_ "github.com/brain-dev/brain/chain/blake3fast"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/tracelint"
)

func main() {
	ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := tracelint.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.InterruptedCode(ctx, code))
}
