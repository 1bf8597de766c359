// Command durable is the floor the issue sets brain-run exec's overhead
// against: a minimal Go program that makes a record of about 400 bytes
// durable (one write, one fdatasync) in a file of DIR, runs the program and
// waits for it (package execfloor), then makes a second record durable the
// same way, and nothing else: what a command that must durably record its
// start and its end cannot avoid.
//
// Usage: durable DIR CMD [ARG...]
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/brain-dev/brain/scripts/execfloor"
)

// recordSize is the size of one of exec's audit records, about.
const recordSize = 400

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: durable DIR CMD [ARG...]")
		os.Exit(2)
	}
	f, err := os.OpenFile(filepath.Join(os.Args[1], "durable.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	record := append(bytes.Repeat([]byte{'x'}, recordSize-1), '\n')
	durable(f, record)
	code := execfloor.Run(os.Args[2:])
	durable(f, record)
	os.Exit(code)
}

// durable writes record to f and waits for fdatasync.
func durable(f *os.File, record []byte) {
	if _, err := f.Write(record); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
