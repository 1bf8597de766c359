package runcore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/workspace"
)

// What a command that cannot finish leaves behind: an audit write that
// failed, a panic.

// auditFailed reports an audit write failure: the operation was aborted.
func (s *Session) auditFailed(err error) error {
	if s.Root != nil {
		s.Root.RecordError(err)
		s.Root.SetStatus(codes.Error, "audit write failed")
		s.Root.SetAttributes(attribute.String(names.AttrErrorType, names.ClassAuditWriteFailed))
	}
	chainFile := workspace.Dir(s.Dir).Audit()
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
		Hint: fmt.Sprintf("the spans are in %s and the audit records in %s: look up trace %s, or 'brain-audit show --session %s %s'", workspace.Dir(s.Dir).Spans(), workspace.Dir(s.Dir).Audit(), tid, s.ID, workspace.Dir(s.Dir).Audit())}
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
