// Command gen writes BRAIN's hostile module suite into testdata/hostile: the
// raw modules from internal/wasmgen and attacker.wasm built from ./attacker,
// with the Go version that built it in attacker.wasm.goversion. Run it from
// the repository root:
//
//	go run ./testdata/hostile/gen
package main

import (
	"context"
	"log"
	"os"
	"path/filepath"

	"github.com/brain-dev/brain/internal/wasmbuild"
	"github.com/brain-dev/brain/internal/wasmgen"
)

func main() {
	const dir = "testdata/hostile"
	for name, b := range wasmgen.Hostile() {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	ctx := context.Background()
	abs, err := filepath.Abs(filepath.Join(dir, "attacker.wasm"))
	if err != nil {
		log.Fatal(err)
	}
	if err := wasmbuild.Build(ctx, filepath.Join(dir, "attacker"), abs); err != nil {
		log.Fatal(err)
	}
	v, err := wasmbuild.GoVersion(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "attacker.wasm.goversion"), []byte(v+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
}
