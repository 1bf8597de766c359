// Command interleave times commands against each other: it runs each of them
// once per round, in turn, for ROUNDS rounds, and prints the median,
// quartiles and maximum of each one's wall time (fork to exit, as its parent
// sees it).
// Interleaving makes a slow drift of a shared machine fall on every command
// alike, where timing one command's runs and then the next's would charge it
// to whichever ran in the slow minute. Used by scripts/bench-exec.sh.
//
// Usage: go run ./scripts/interleave ROUNDS 'CMD ARG...' 'CMD ARG...' ...
// Each command is split on spaces; its output is discarded; a command that
// exits non-zero is reported and stops the run.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: interleave ROUNDS 'CMD ARG...' ...")
		os.Exit(2)
	}
	rounds, err := strconv.Atoi(os.Args[1])
	if err != nil || rounds < 1 {
		fmt.Fprintf(os.Stderr, "interleave: ROUNDS %q is not a positive number\n", os.Args[1])
		os.Exit(2)
	}
	cmds := os.Args[2:]
	ms := make([][]float64, len(cmds))
	for range rounds {
		for i, c := range cmds {
			f := strings.Fields(c)
			cmd := exec.Command(f[0], f[1:]...)
			start := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "interleave: %s: %v\n", c, err)
				os.Exit(1)
			}
			ms[i] = append(ms[i], float64(time.Since(start).Nanoseconds())/1e6)
		}
	}
	for i, c := range cmds {
		r := ms[i]
		slices.Sort(r)
		fmt.Printf("%.3f %.3f %.3f %.3f %s\n", r[len(r)/2], r[len(r)/4], r[3*len(r)/4], r[len(r)-1], c)
	}
}
