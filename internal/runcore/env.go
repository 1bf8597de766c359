package runcore

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"io"
	"runtime/debug"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/telemetry"
)

// Env holds what every subcommand writes to, and what the binary links.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	P              *cli.Printer
	Args           []string // the command line, without the program name
	rootFlags      *flag.FlagSet

	// Network is the OTLP transport; nil in the disk-only binary, which
	// hands a command with an endpoint to brain-run-full (Handoff).
	Network telemetry.Network
	// Service is the service.name of the spans; "" for brain-run. Another
	// binary that runs its commands inside Instrument (brain-drill) names
	// itself here.
	Service string
}

// service returns the service.name of e's spans.
func (e *Env) service() string {
	if e.Service != "" {
		return e.Service
	}
	return Prog
}

// Version is brain-run's version, from the build information.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// validSessionID reports whether id is safe to use in file names and logs.
func validSessionID(id string) bool {
	if len(id) == 0 || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
