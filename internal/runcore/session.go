package runcore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/faults"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/telemetry"
	"github.com/brain-dev/brain/internal/workspace"
)

// RootSpan is the span every brain-run command runs under.
const RootSpan = names.SpanBrainCLICommand

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
// The workspace is checked before anything is written (workspace.Check): a
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
	var (
		userTimeout time.Duration
		userSet     bool
	)
	if rf.Endpoint() != "" {
		if userTimeout, userSet, err = exportTimeout(os.Getenv); err != nil {
			return 0, err
		}
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
		SpansPath:    workspace.Dir(s.Dir).Spans(),
		OTLPEndpoint: rf.Endpoint(),
		Network:      e.Network,
		Warn:         func(msg string) { e.P.Warnf("%s", msg) },
	}
	if cfg.OTLPEndpoint != "" {
		// A dead endpoint costs what is left of its budget after the
		// start-up, unless the user set the timeout (docs/telemetry.md).
		cfg.ExportTimeout = userTimeout
		if age, ok := processAge(); ok && !userSet {
			cfg.ExportTimeout = telemetry.ExportTimeoutAfter(age)
		}
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
		e.P.Alert("--dev-log-unsafe-io: raw arguments and model I/O are written to " + filepath.Join(s.Dir, workspace.UnsafeIODir) + " (PII risk, development only; never into the audit chain or the spans)")
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
		opts.UnsafeIODir = filepath.Join(s.Dir, workspace.UnsafeIODir)
	}
	if s.Log, err = audit.Open(workspace.Dir(s.Dir).Audit(), opts); err != nil {
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
