package runcore

import (
	"flag"
	"os"

	"github.com/brain-dev/brain/internal/workspace"
)

// Flags are the flags every instrumented subcommand shares.
type Flags struct {
	Dir          string
	OTLP         string
	UnsafeIO     bool
	PrintSession bool
	PrintTP      bool // --print-traceparent
	DiskOnly     bool // spans to disk only, whatever the endpoint settings
	Checkpoint   CheckpointFlags

	fs       *flag.FlagSet // the subcommand's flags, where they are registered
	readOnly bool          // registered by NewReadOnlyFlags
	resolved bool          // ResolveDir has settled Dir
}

// NewFlags returns the flag set of an instrumented subcommand, with the
// shared flags registered.
func NewFlags(name string) (*flag.FlagSet, *Flags) {
	fs := flag.NewFlagSet(Prog+" "+name, flag.ContinueOnError)
	rf := &Flags{}
	rf.Register(fs)
	return fs, rf
}

// NewReadOnlyFlags returns the flag set of a read-only subcommand (status),
// which writes nothing: the shared flags but --dev-log-unsafe-io, with
// spans exported over OTLP only (InstrumentReadOnly).
func NewReadOnlyFlags(name string) (*flag.FlagSet, *Flags) {
	fs := flag.NewFlagSet(Prog+" "+name, flag.ContinueOnError)
	rf := &Flags{fs: fs, readOnly: true}
	fs.StringVar(&rf.Dir, "dir", workspace.DefaultDir, "workspace `directory` to read: audit chain, state (env BRAIN_DIR; default: the nearest .brain here or in a parent directory)")
	fs.StringVar(&rf.OTLP, "otlp-endpoint", "", "export this command's spans over OTLP gRPC to `host:port` (default $OTEL_EXPORTER_OTLP_ENDPOINT); it keeps none on disk")
	rf.registerPrint(fs)
	return fs, rf
}

// Register registers the shared flags on fs.
func (r *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&r.Dir, "dir", workspace.DefaultDir, "workspace `directory`: audit chain, spans, state (env BRAIN_DIR; default: the nearest .brain here or in a parent directory, else ./.brain)")
	r.RegisterTelemetry(fs)
}

// RegisterTelemetry registers the shared flags but --dir, for a command
// that chooses its workspace itself (demo).
func (r *Flags) RegisterTelemetry(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.OTLP, "otlp-endpoint", "", "also export spans over OTLP gRPC to `host:port` (default $OTEL_EXPORTER_OTLP_ENDPOINT)")
	fs.BoolVar(&r.UnsafeIO, unsafeIOFlag, false, "DEVELOPMENT ONLY: also write raw arguments, prompts and responses to DIR/unsafe-io (PII risk)")
	r.registerPrint(fs)
	r.Checkpoint.register(fs)
}

// RegisterShared registers --dir (described by dirUsage), --otlp-endpoint
// and the print flags on fs, but not --dev-log-unsafe-io: for another
// binary whose commands run inside Instrument (brain-drill), which writes
// no raw content.
func (r *Flags) RegisterShared(fs *flag.FlagSet, dirUsage string) {
	r.fs = fs
	fs.StringVar(&r.Dir, "dir", workspace.DefaultDir, dirUsage)
	fs.StringVar(&r.OTLP, "otlp-endpoint", "", "also export spans over OTLP gRPC to `host:port` (default $OTEL_EXPORTER_OTLP_ENDPOINT)")
	r.registerPrint(fs)
}

func (r *Flags) registerPrint(fs *flag.FlagSet) {
	fs.BoolVar(&r.PrintSession, "print-session", false, "print the session id and trace id on stderr")
	fs.BoolVar(&r.PrintTP, "print-traceparent", false, "print TRACEPARENT=<the command's root span> as a line of its own on stderr, for scripts that join later commands to its trace")
}

// unsafeIOFlag is the flag that writes raw user content to disk. Every flag
// can also be set as BRAIN_<NAME> in the environment but this one: asking
// for PII on disk must be explicit, on the command line (Instrument refuses
// it from the environment).
const unsafeIOFlag = "dev-log-unsafe-io"

// Endpoint is the OTLP endpoint the command exports to: --otlp-endpoint,
// else $OTEL_EXPORTER_OTLP_ENDPOINT; "" for disk only.
func (r *Flags) Endpoint() string {
	if r.DiskOnly {
		return ""
	}
	if r.OTLP != "" {
		return r.OTLP
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}
