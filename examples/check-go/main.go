// Command check-go is an example of a BRAIN check written in Go. It passes
// when every line of the artifact file named by its argument is at most N
// bytes long (N is the second argument, default 80).
//
// Build it as a WASI preview 1 module and run it through the verifier:
//
//	GOOS=wasip1 GOARCH=wasm go build -o linelen.wasm .
//	brain-run check --artifact DIR --check linelen.wasm:README.md:72
//
// A check sees the artifact directory, read-only, at /artifact, and nothing
// else of the host. Exit 0 means pass, any other code fail; what it prints
// is captured for the verdict.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"strconv"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: linelen FILE [MAX]")
		os.Exit(2)
	}
	limit := 80
	if len(os.Args) == 3 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "linelen: bad MAX %q\n", os.Args[2])
			os.Exit(2)
		}
		limit = n
	}
	file := os.Args[1]
	f, err := os.Open(path.Join("/artifact", path.Clean("/"+file)))
	if err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) > limit {
			fmt.Printf("FAIL %s:%d is %d bytes long, over %d\n", file, n, len(sc.Bytes()), limit)
			os.Exit(1)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
	fmt.Printf("ok %s: no line over %d bytes\n", file, limit)
}
