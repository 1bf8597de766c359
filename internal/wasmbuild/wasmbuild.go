// Package wasmbuild builds Go programs as WASI preview 1 modules
// (GOOS=wasip1 GOARCH=wasm), reproducibly: the same sources, module versions
// and Go version give the same bytes. Only the go command is needed.
package wasmbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Flags are the build flags that make the output reproducible.
var Flags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// Build compiles the main package in dir to the file out.
func Build(ctx context.Context, dir, out string) error {
	args := append(append([]string{"build"}, Flags...), "-o", out, ".")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=", "GOWASM=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("wasmbuild: go build in %s: %v: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// GoVersion returns the version of the go command on PATH, e.g. "go1.26.8".
func GoVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("wasmbuild: go env GOVERSION: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
