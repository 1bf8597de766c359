// Command brain-audit verifies, diffs, repairs and inspects BRAIN audit
// chains. See internal/auditcmd.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/brain-dev/brain/internal/auditcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := auditcmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
