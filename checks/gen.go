//go:build ignore

// Gen rebuilds each stock check program DIR (stock, jsonschema) into
// DIR.wasm and records the Go version that built it in DIR.wasm.goversion.
// Run it with "go generate ./checks".
package main

import (
	"context"
	"log"
	"os"

	"github.com/brain-dev/brain/internal/wasmbuild"
)

func main() {
	ctx := context.Background()
	v, err := wasmbuild.GoVersion(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// checks.Programs, which gen cannot import: package checks embeds the
	// modules built here.
	for _, dir := range []string{"stock", "jsonschema"} {
		if err := wasmbuild.Build(ctx, dir, "../"+dir+".wasm"); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(dir+".wasm.goversion", []byte(v+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
