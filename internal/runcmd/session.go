package runcmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
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
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/telemetry"
)

// RootSpan is the span every brain-run command runs under.
const RootSpan = "brain_cli.command"

// Workspace file names, under --dir.
const (
	AuditFile   = "audit.jsonl"
	SpansFile   = "spans.jsonl"
	FlushState  = "spans.flushed"
	UnsafeIODir = "unsafe-io"
)

// runFlags are the flags every instrumented subcommand shares.
type runFlags struct {
	dir          string
	otlp         string
	unsafeIO     bool
	printSession bool
	diskOnly     bool // spans to disk only, whatever the endpoint settings
}

// newRunFlags returns the flag set of an instrumented subcommand, with the
// shared flags registered.
func newRunFlags(name string) (*flag.FlagSet, *runFlags) {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	rf := &runFlags{}
	rf.register(fs)
	return fs, rf
}

func (r *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.dir, "dir", ".brain", "workspace `directory`: audit chain, spans, state (env BRAIN_DIR)")
	r.registerTelemetry(fs)
}

// registerTelemetry registers the shared flags but --dir, for a command
// that chooses its workspace itself (demo).
func (r *runFlags) registerTelemetry(fs *flag.FlagSet) {
	fs.StringVar(&r.otlp, "otlp-endpoint", "", "also export spans over OTLP gRPC to `host:port` (default $OTEL_EXPORTER_OTLP_ENDPOINT)")
	fs.BoolVar(&r.unsafeIO, "dev-log-unsafe-io", false, "DEVELOPMENT ONLY: also write raw arguments, prompts and responses to DIR/unsafe-io (PII risk)")
	fs.BoolVar(&r.printSession, "print-session", false, "print the session id and trace id on stderr")
}

func (r *runFlags) endpoint() string {
	if r.diskOnly {
		return ""
	}
	if r.otlp != "" {
		return r.otlp
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}

// session is one instrumented command: its workspace, tracer, root span and
// audit logger.
type session struct {
	e       *env
	id      string
	dir     string
	command string
	tel     *telemetry.Provider
	tracer  trace.Tracer
	log     *audit.Logger
	root    trace.Span
	faults  *faults.Set
}

// version is brain-run's version, from the build information.
func version() string {
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

// instrument runs fn as an instrumented command: the workspace is created,
// telemetry set up, a brain_cli.command root span started (joining
// TRACEPARENT), command.start recorded before fn runs and command.end after.
// A panic anywhere is recorded on the root span and in the chain, spans are
// flushed to disk, and the exit code is 70. An audit write failure aborts with
// cli.ExitAuditWrite. fn returns the command's exit code.
func instrument(ctx context.Context, e *env, rf *runFlags, command string, fn func(ctx context.Context, s *session) (int, error)) (code int, err error) {
	fs, err := faults.Parse(os.Getenv(faults.EnvVar))
	if err != nil {
		return 0, &cli.UsageError{Err: err, Hint: "see docs/faults.md for the BRAIN_FAULTS syntax"}
	}
	s := &session{e: e, id: os.Getenv("BRAIN_SESSION_ID"), dir: rf.dir, command: command, faults: fs}
	if s.id == "" {
		s.id = newSessionID()
	} else if !validSessionID(s.id) {
		return 0, &cli.UsageError{Err: fmt.Errorf("BRAIN_SESSION_ID %q is not a plain name", s.id), Hint: "use letters, digits, '.', '_' and '-' (at most 128)"}
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("creating workspace: %v", err)}
	}
	cfg := telemetry.Config{
		ServiceName: "brain-run", ServiceVersion: version(), SessionID: s.id,
		SpansPath:    filepath.Join(s.dir, SpansFile),
		OTLPEndpoint: rf.endpoint(),
		Warn:         func(msg string) { e.p.Warnf("%s", msg) },
	}
	if p := fs.Processor(); p != nil {
		cfg.Processors = []sdktrace.SpanProcessor{p}
	}
	s.tel, err = telemetry.Setup(ctx, cfg)
	if err != nil {
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	s.tracer = s.tel.Tracer()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		s.tel.Shutdown(sctx)
	}()
	if rf.unsafeIO {
		e.p.Alert("--dev-log-unsafe-io: raw arguments and model I/O are written to " + filepath.Join(s.dir, UnsafeIODir) + " (PII risk, development only; never into the audit chain or the spans)")
	}
	ctx = telemetry.ExtractEnv(ctx, os.Environ())
	parent := trace.SpanContextFromContext(ctx)
	start := time.Now()
	defer func() {
		if s.log != nil {
			s.log.Close()
		}
	}()
	// The root span ends after a panic is handled (defers run last first):
	// the SDK's End would otherwise record the panic and re-raise it.
	defer func() {
		if s.root != nil {
			s.root.End()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			code, err = s.crashed(ctx, r)
		}
	}()
	rootAttrs := []attribute.KeyValue{attribute.String("brain.command", command)}
	if rf.unsafeIO {
		// brain-trace-lint allows opt-in content attributes only under it.
		rootAttrs = append(rootAttrs, attribute.Bool("brain.unsafe_io", true))
	}
	ctx, s.root = s.tracer.Start(ctx, RootSpan, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(rootAttrs...))
	if rf.printSession {
		e.p.Infof("session %s trace %s", s.id, s.root.SpanContext().TraceID())
	}
	opts := audit.Options{Session: s.id, Tracer: s.tracer}
	opts.Fault = fs.AuditFault()
	if rf.unsafeIO {
		opts.UnsafeIODir = filepath.Join(s.dir, UnsafeIODir)
	}
	if s.log, err = audit.Open(filepath.Join(s.dir, AuditFile), opts); err != nil {
		return 0, s.auditFailed(err)
	}
	cwd, _ := os.Getwd()
	startEv := audit.CommandStart{Command: command, Version: version(), PID: os.Getpid(), Cwd: audit.SHA256(cwd)}
	if parent.IsValid() {
		startEv.Parent = parent.TraceID().String()
	}
	if _, err := s.log.Record(ctx, startEv); err != nil {
		return 0, s.auditFailed(err)
	}
	code, ferr := fn(ctx, s)
	end := audit.CommandEnd{Command: command, ExitCode: code, DurationMS: time.Since(start).Milliseconds()}
	if ferr != nil {
		end.Error = errorClass(ferr)
		if end.ExitCode == 0 {
			end.ExitCode = exitCodeOf(ferr)
		}
		s.root.SetStatus(codes.Error, end.Error)
		s.root.SetAttributes(attribute.String("error.type", end.Error))
	}
	s.root.SetAttributes(attribute.Int("brain.exit_code", end.ExitCode))
	if audit.IsWriteError(ferr) {
		return code, s.auditFailed(ferr)
	}
	if _, err := s.log.Record(context.WithoutCancel(ctx), end); err != nil {
		return 0, s.auditFailed(err)
	}
	return code, ferr
}

// auditFailed reports an audit write failure: the operation was aborted.
func (s *session) auditFailed(err error) error {
	if s.root != nil {
		s.root.RecordError(err)
		s.root.SetStatus(codes.Error, "audit write failed")
		s.root.SetAttributes(attribute.String("error.type", "audit_write_failed"))
	}
	return &cli.ExitError{Code: cli.ExitAuditWrite, Err: fmt.Errorf("audit write failed, operation aborted: %s", describeWriteFailure(err)),
		Hint: "check free space and permissions of " + s.dir + "; 'brain-audit verify-log " + filepath.Join(s.dir, AuditFile) + "' shows the chain's state"}
}

// describeWriteFailure says which record failed and why, from the typed
// errors of the audit and chain packages (without their package prefixes).
func describeWriteFailure(err error) string {
	var b strings.Builder
	var aw *audit.WriteError
	if errors.As(err, &aw) {
		fmt.Fprintf(&b, "writing %s record: ", aw.Type)
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
func (s *session) crashed(ctx context.Context, r any) (int, error) {
	stack := string(debug.Stack())
	if s.root == nil {
		// The panic came from starting the root span itself (an injected
		// fault): start it again to carry the record.
		ctx, s.root = s.tracer.Start(ctx, RootSpan, trace.WithAttributes(attribute.String("brain.command", s.command)))
	}
	err := fmt.Errorf("panic: %v", r)
	s.root.RecordError(err, trace.WithStackTrace(true))
	s.root.SetStatus(codes.Error, "crashed")
	s.root.SetAttributes(attribute.String("error.type", "panic"))
	where := panicSite(stack)
	if s.log != nil {
		s.log.Record(context.WithoutCancel(ctx), audit.CommandCrashed{Command: s.command, PanicSHA256: audit.SHA256(fmt.Sprint(r)), Where: where})
	}
	tid := s.root.SpanContext().TraceID()
	return cli.ExitInternal, &cli.ExitError{Code: cli.ExitInternal,
		Err:  fmt.Errorf("brain-run crashed (%v); session %s, trace %s", r, s.id, tid),
		Hint: fmt.Sprintf("the spans are in %s and the audit records in %s: look up trace %s, or 'brain-audit show --session %s %s'", filepath.Join(s.dir, SpansFile), filepath.Join(s.dir, AuditFile), tid, s.id, filepath.Join(s.dir, AuditFile))}
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

// typedError is an error with the error.type its command's root span and
// command.end record carry, when the generic classes say too little.
type typedError struct {
	typ string
	err error
}

func (e *typedError) Error() string { return e.err.Error() }
func (e *typedError) Unwrap() error { return e.err }

// errorClass is the error's class for command.end and the root span's
// error.type: never user content.
func errorClass(err error) string {
	var (
		ee *cli.ExitError
		ue *cli.UsageError
		te *typedError
	)
	if errors.As(err, &te) {
		return te.typ
	}
	if c := orchestrator.ErrorType(err); c != "error" {
		return c
	}
	switch {
	case errors.As(err, &ue), errors.As(err, &ee) && ee.Code == cli.ExitUsage:
		return "usage"
	case errors.As(err, &ee) && ee.Code == cli.ExitFindings:
		return "findings"
	}
	return "error"
}

func exitCodeOf(err error) int {
	var ee *cli.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *cli.UsageError
	if errors.As(err, &ue) {
		return cli.ExitUsage
	}
	return cli.ExitInternal
}
