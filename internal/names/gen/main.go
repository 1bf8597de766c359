// Command gen writes internal/names/names_gen.go from golden/spans.yaml:
//
//	go run ./gen -o names_gen.go ../../golden/spans.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/brain-dev/brain/internal/names/internal/namegen"
)

func main() {
	out := flag.String("o", "names_gen.go", "write to `FILE`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [-o FILE] SPANS.yaml")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	y, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	src, err := namegen.Generate(y)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
