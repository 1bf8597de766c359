package runcore

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"time"

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

	// signals, when not nil, are exec's signals, caught from the start
	// of brain-run's Main (signalCatch).
	signals *signalCatch
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

// The OpenTelemetry variables that set the OTLP export timeout, in
// milliseconds; the first is for traces only and wins.
var timeoutVars = []string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"}

// maxExportTimeout bounds what timeoutVars may ask for: a dead endpoint
// costs every command this much.
const maxExportTimeout = time.Minute

// exportTimeout returns the export timeout timeoutVars set in getenv's
// environment, and whether one did. An empty variable is unset; any other
// value must be a whole number of milliseconds from 1 to 60000.
func exportTimeout(getenv func(string) string) (time.Duration, bool, error) {
	for _, name := range timeoutVars {
		v := getenv(name)
		if v == "" {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 1 || ms > maxExportTimeout.Milliseconds() {
			return 0, false, &cli.UsageError{Err: fmt.Errorf("%s %q is not a number of milliseconds from 1 to %d", name, v, maxExportTimeout.Milliseconds()),
				Hint: "unset it for the default (docs/telemetry.md, Timeouts), or give milliseconds, such as 500"}
		}
		return time.Duration(ms) * time.Millisecond, true, nil
	}
	return 0, false, nil
}
