package runcore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/faults"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/telemetry"
)

// RootSpan is the span every brain-run command runs under.
const RootSpan = names.SpanBrainCLICommand

// Workspace file names, under --dir.
const (
	AuditFile   = "audit.jsonl"
	SpansFile   = "spans.jsonl"
	FlushState  = "spans.flushed"
	UnsafeIODir = "unsafe-io"
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
	fs.StringVar(&rf.Dir, "dir", DefaultDir, "workspace `directory` to read: audit chain, state (env BRAIN_DIR; default: the nearest .brain here or in a parent directory)")
	fs.StringVar(&rf.OTLP, "otlp-endpoint", "", "export this command's spans over OTLP gRPC to `host:port` (default $OTEL_EXPORTER_OTLP_ENDPOINT); it keeps none on disk")
	rf.registerPrint(fs)
	return fs, rf
}

// Register registers the shared flags on fs.
func (r *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&r.Dir, "dir", DefaultDir, "workspace `directory`: audit chain, spans, state (env BRAIN_DIR; default: the nearest .brain here or in a parent directory, else ./.brain)")
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
	fs.StringVar(&r.Dir, "dir", DefaultDir, dirUsage)
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

// Session is one instrumented command: its workspace, tracer, root span and
// audit logger.
type Session struct {
	Env     *Env
	ID      string
	Dir     string
	Command string
	Tel     *telemetry.Provider
	Tracer  trace.Tracer
	Log     *audit.Logger
	Root    trace.Span
	Faults  *faults.Set
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

// Instrument runs fn as an instrumented command: the workspace is created,
// telemetry set up, a brain_cli.command root span started (joining
// TRACEPARENT), command.start recorded before fn runs and command.end after.
// A panic anywhere is recorded on the root span and in the chain, spans are
// flushed to disk, and the exit code is 70. An audit write failure aborts with
// cli.ExitAuditWrite. fn returns the command's exit code. A command that
// fails after a signal canceled ctx (cli.SignalContext) stopped because it
// was asked to: its exit code is 128+N and its error class "interrupted",
// whatever the failure it saw (a canceled model call, say), except an audit
// write failure, which keeps its own code.
//
// The workspace is checked before anything is written (checkWorkspace): a
// symbolic link or special file at one of its names, or a directory or file
// others may access, is refused with exit 3.
//
// A read-only command (its flags from NewReadOnlyFlags) creates and changes
// nothing in the workspace: the directory must exist, no spans file is
// written (its spans go to the OTLP endpoint when one is set, else
// nowhere), no audit record is written (s.Log is nil), and fn must open
// nothing there for writing.
func Instrument(ctx context.Context, e *Env, rf *Flags, command string, fn func(ctx context.Context, s *Session) (int, error)) (code int, err error) {
	return instrument(ctx, e, rf, command, false, func(ctx context.Context, s *Session) (int, error) {
		code, err := fn(ctx, s)
		return interrupted(ctx, code, err)
	})
}

// interrupted returns code and err, or, when a signal canceled ctx and the
// command did not succeed, the signal's exit code and an "interrupted" error
// that names what the command was doing.
func interrupted(ctx context.Context, code int, err error) (int, error) {
	in := cli.InterruptOf(ctx)
	if in == nil || (code == 0 && err == nil) || audit.IsWriteError(err) {
		return code, err
	}
	cause := error(in)
	if err != nil {
		cause = fmt.Errorf("%w: %v", in, err)
	}
	return in.Code(), &cli.ExitError{Code: in.Code(), Err: names.WithClass(names.ClassInterrupted, cause)}
}

// instrument is Instrument; with holdStart, command.start is held (Hold) to
// be written with fn's first record, for a command whose first act is to
// record what it is about to do (exec).
func instrument(ctx context.Context, e *Env, rf *Flags, command string, holdStart bool, fn func(ctx context.Context, s *Session) (int, error)) (code int, err error) {
	fs, err := faults.Parse(os.Getenv(faults.EnvVar))
	if err != nil {
		return 0, &cli.UsageError{Err: err, Hint: "see docs/faults.md for the BRAIN_FAULTS syntax"}
	}
	if rf.UnsafeIO && !e.OnCommandLine(rf.fs, unsafeIOFlag) {
		return 0, &cli.UsageError{Err: errors.New("BRAIN_DEV_LOG_UNSAFE_IO is set: raw arguments, prompts and responses are written to disk only when --" + unsafeIOFlag + " is on the command line"),
			Hint: "unset BRAIN_DEV_LOG_UNSAFE_IO, or pass --" + unsafeIOFlag}
	}
	rf.ResolveDir(e.P)
	s := &Session{Env: e, ID: os.Getenv("BRAIN_SESSION_ID"), Dir: rf.Dir, Command: command, Faults: fs}
	if s.ID == "" {
		s.ID = newSessionID()
	} else if !validSessionID(s.ID) {
		return 0, &cli.UsageError{Err: fmt.Errorf("BRAIN_SESSION_ID %q is not a plain name", s.ID), Hint: "use letters, digits, '.', '_' and '-' (at most 128)"}
	}
	if err := openWorkspace(s.Dir, rf.readOnly); err != nil {
		return 0, err
	}
	cfg := telemetry.Config{
		ServiceName: e.service(), ServiceVersion: Version(), SessionID: s.ID,
		SpansPath:    filepath.Join(s.Dir, SpansFile),
		OTLPEndpoint: rf.Endpoint(),
		Network:      e.Network,
		Warn:         func(msg string) { e.P.Warnf("%s", msg) },
	}
	if rf.readOnly {
		cfg.SpansPath, cfg.NoDisk = "", true
	}
	if p := fs.Processor(); p != nil {
		cfg.Processors = []sdktrace.SpanProcessor{p}
	}
	s.Tel, err = telemetry.Setup(ctx, cfg)
	if err != nil {
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	s.Tracer = s.Tel.Tracer()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		// The command's result stands (its audit records are durable);
		// spans that did not reach the disk are said to be missing.
		if err := s.Tel.Shutdown(sctx); err != nil {
			e.P.Warnf("%v: this command's spans are not all on disk", err)
		}
	}()
	if rf.UnsafeIO {
		e.P.Alert("--dev-log-unsafe-io: raw arguments and model I/O are written to " + filepath.Join(s.Dir, UnsafeIODir) + " (PII risk, development only; never into the audit chain or the spans)")
	}
	ctx = telemetry.ExtractEnv(ctx, os.Environ())
	parent := trace.SpanContextFromContext(ctx)
	start := time.Now()
	defer func() {
		if s.Log != nil {
			s.Log.Close()
		}
	}()
	// The root span ends after a panic is handled (defers run last first):
	// the SDK's End would otherwise record the panic and re-raise it.
	defer func() {
		if s.Root != nil {
			s.Root.End()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			code, err = s.crashed(ctx, r)
		}
	}()
	rootAttrs := []attribute.KeyValue{attribute.String(names.AttrBrainCommand, command)}
	if rf.UnsafeIO {
		// brain-trace-lint allows opt-in content attributes only under it.
		rootAttrs = append(rootAttrs, attribute.Bool(names.AttrBrainUnsafeIO, true))
	}
	ctx, s.Root = s.Tracer.Start(ctx, RootSpan, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(rootAttrs...))
	if rf.PrintSession {
		e.P.Infof("session %s trace %s", s.ID, s.Root.SpanContext().TraceID())
	}
	if rf.PrintTP {
		fmt.Fprintf(e.Stderr, "%s=%s\n", telemetry.EnvTraceParent, telemetry.TraceParent(ctx))
	}
	if rf.readOnly {
		code, ferr := fn(ctx, s)
		s.end(code, ferr)
		return code, ferr
	}
	ck, err := newCheckpointer(rf.Checkpoint, s.Dir, e.P)
	if err != nil {
		return 0, err
	}
	opts := audit.Options{Session: s.ID, Tracer: s.Tracer}
	if ck != nil {
		opts.AfterWrite = ck.afterWrite
	}
	opts.Fault = fs.AuditFault()
	if rf.UnsafeIO {
		opts.UnsafeIODir = filepath.Join(s.Dir, UnsafeIODir)
	}
	if s.Log, err = audit.Open(filepath.Join(s.Dir, AuditFile), opts); err != nil {
		return 0, s.auditFailed(err)
	}
	cwd, _ := os.Getwd()
	startEv := audit.CommandStart{Command: command, Version: Version(), PID: os.Getpid(), Cwd: audit.SHA256(cwd)}
	if parent.IsValid() {
		startEv.Parent = parent.TraceID().String()
	}
	if holdStart {
		err = s.Log.Hold(ctx, startEv)
	} else {
		_, err = s.Log.Record(ctx, startEv)
	}
	if err != nil {
		return 0, s.auditFailed(err)
	}
	code, ferr := fn(ctx, s)
	end := s.end(code, ferr)
	end.DurationMS = time.Since(start).Milliseconds()
	if audit.IsWriteError(ferr) {
		return code, s.auditFailed(ferr)
	}
	if _, err := s.Log.Record(context.WithoutCancel(ctx), end); err != nil {
		return 0, s.auditFailed(err)
	}
	ck.make(ctx)
	return code, ferr
}

// end puts the command's outcome on the root span and returns its
// command.end record (without its duration).
func (s *Session) end(code int, err error) audit.CommandEnd {
	end := audit.CommandEnd{Command: s.Command, ExitCode: code}
	if err != nil {
		end.Error = cli.ClassOf(err)
		if end.ExitCode == 0 {
			end.ExitCode = cli.ExitCodeOf(err, cli.ExitInternal)
		}
		s.Root.SetStatus(codes.Error, end.Error)
		s.Root.SetAttributes(attribute.String(names.AttrErrorType, end.Error))
	}
	s.Root.SetAttributes(attribute.Int(names.AttrBrainExitCode, end.ExitCode))
	return end
}

// openWorkspace makes sure the workspace dir exists, creating it (0700) for
// a command that writes, and checks it (checkWorkspace).
func openWorkspace(dir string, readOnly bool) error {
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("creating workspace: %v", err)}
		}
	}
	err := checkWorkspace(dir, !readOnly)
	var we *WorkspaceError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we):
		return we.exitError()
	case errors.Is(err, fs.ErrNotExist):
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("no workspace at %s", dir),
			Hint: "name the workspace to read with --dir (or BRAIN_DIR); a read-only command creates none"}
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("workspace: %v", err)}
}

// auditFailed reports an audit write failure: the operation was aborted.
func (s *Session) auditFailed(err error) error {
	if s.Root != nil {
		s.Root.RecordError(err)
		s.Root.SetStatus(codes.Error, "audit write failed")
		s.Root.SetAttributes(attribute.String(names.AttrErrorType, names.ClassAuditWriteFailed))
	}
	chainFile := filepath.Join(s.Dir, AuditFile)
	hint := "check free space and permissions of " + s.Dir + "; 'brain-audit verify-log " + chainFile + "' shows the chain's state"
	var te *chain.TailError
	if errors.As(err, &te) {
		hint = "'brain-audit verify-log " + chainFile + "' shows the chain's state; 'brain-audit repair " + chainFile + "' fixes a torn tail or a missing newline"
	}
	return &cli.ExitError{Code: cli.ExitAuditWrite, Err: fmt.Errorf("audit write failed, operation aborted: %s", describeWriteFailure(err)), Hint: hint}
}

// describeWriteFailure says which record failed and why, from the typed
// errors of the audit and chain packages (without their package prefixes).
func describeWriteFailure(err error) string {
	var b strings.Builder
	var aw *audit.WriteError
	if errors.As(err, &aw) {
		if aw.Type != "" {
			fmt.Fprintf(&b, "writing %s record: ", aw.Type)
		}
		err = aw.Err
	}
	var cw *chain.WriteError
	var te *chain.TailError
	switch {
	case errors.As(err, &cw):
		fmt.Fprintf(&b, "%s %q: %v", cw.Op, cw.Path, cw.Err)
	case errors.As(err, &te):
		fmt.Fprintf(&b, "%q: %s at byte %d", te.Path, te.Reason, te.Offset)
	default:
		b.WriteString(err.Error())
	}
	return b.String()
}

// crashed handles a panic: the root span records it, the chain says the
// command crashed, the spans reach disk, and the exit code is 70.
func (s *Session) crashed(ctx context.Context, r any) (int, error) {
	stack := string(debug.Stack())
	if s.Root == nil {
		// The panic came from starting the root span itself (an injected
		// fault): start it again to carry the record.
		ctx, s.Root = s.Tracer.Start(ctx, RootSpan, trace.WithAttributes(attribute.String(names.AttrBrainCommand, s.Command)))
	}
	err := fmt.Errorf("panic: %v", r)
	s.Root.RecordError(err, trace.WithStackTrace(true))
	s.Root.SetStatus(codes.Error, "crashed")
	s.Root.SetAttributes(attribute.String(names.AttrErrorType, names.ClassPanic))
	where := panicSite(stack)
	if s.Log != nil {
		s.Log.Record(context.WithoutCancel(ctx), audit.CommandCrashed{Command: s.Command, PanicSHA256: audit.SHA256(fmt.Sprint(r)), Where: where})
	}
	tid := s.Root.SpanContext().TraceID()
	return cli.ExitInternal, &cli.ExitError{Code: cli.ExitInternal,
		Err:  fmt.Errorf("%s crashed (%v); session %s, trace %s", s.Env.service(), r, s.ID, tid),
		Hint: fmt.Sprintf("the spans are in %s and the audit records in %s: look up trace %s, or 'brain-audit show --session %s %s'", filepath.Join(s.Dir, SpansFile), filepath.Join(s.Dir, AuditFile), tid, s.ID, filepath.Join(s.Dir, AuditFile))}
}

// panicSite returns the function that panicked, from a goroutine stack
// taken during the panic: the frame after the runtime's panic frame.
func panicSite(stack string) string {
	lines := strings.Split(stack, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := lines[i]; strings.HasPrefix(l, "panic(") && i+2 < len(lines) {
			fn := lines[i+2]
			if j := strings.LastIndex(fn, "("); j > 0 {
				fn = fn[:j]
			}
			return fn
		}
	}
	return "unknown"
}
