// Command gen writes brain's Grafana dashboards, as JSON, into
// deploy/grafana/dashboards (one file per dashboard), from the panels
// defined in dashboards.go, with the Grafana Foundation SDK. Run it with
// `go generate ./deploy/grafana/gen` (or `make dashboards`); a test fails
// when the committed JSON is not what it writes. docs/stack.md lists the
// dashboards and the metrics they read.
package main

//go:generate go run . -out ../dashboards

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "deploy/grafana/dashboards", "the `directory` to write the dashboards to")
	flag.Parse()
	files, err := render()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: error: %v\n", err)
		os.Exit(1)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "gen: error: %v\n", err)
			os.Exit(1)
		}
	}
}
