// Command deadendpoints serves the ways an OTLP endpoint can be dead, on
// 127.0.0.1, for scripts/bench-exec.sh: it prints one line per kind, "NAME
// host:port", then keeps them until its standard input is closed.
//
//	closed      nothing listens: the connection is refused
//	unaccepted  a listener that never accepts, its queue full: SYNs go unanswered
//	silent      a listener that accepts and never answers
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/brain-dev/brain/internal/testutil"
)

func main() {
	closed, err := testutil.ClosedPort()
	check(err)
	unaccepted, stopU, err := testutil.Unaccepted()
	check(err)
	defer stopU()
	silent, _, stopS, err := testutil.Silent()
	check(err)
	defer stopS()
	fmt.Printf("closed %s\nunaccepted %s\nsilent %s\n", closed, unaccepted, silent)
	io.Copy(io.Discard, os.Stdin)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "deadendpoints:", err)
		os.Exit(1)
	}
}
