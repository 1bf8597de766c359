// Package audit is brain-run's audit logger: typed events written to the
// hash-chained log (package chain) before the state change they describe,
// each with the trace and span ids of the span it belongs to and its own
// audit_logger.write_event span.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/chain"
)

// WriteSpan is the name of the span every audit write gets.
const WriteSpan = "audit_logger.write_event"

// WriteError reports that an audit record could not be made durable; the
// operation it described must not take effect.
type WriteError struct {
	Type string
	Err  error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("audit: writing %s record: %v", e.Type, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// Logger writes audit records.
type Logger struct {
	w       *chain.Writer
	tracer  trace.Tracer
	session string
	unsafe  *unsafeLog

	// With Options.Fault: faultMu serialises appends so that the chain's
	// fault hook knows the type of the record being written (faultType).
	fault     func(eventType, op string) error
	faultMu   sync.Mutex
	faultType string
}

// Options configure a Logger.
type Options struct {
	Session string
	Tracer  trace.Tracer
	// Chain configures the writer.
	Chain chain.Options
	// Fault, when set, injects faults: it is called before each write and
	// sync of the chain with the type of the record being written and "write"
	// or "sync", and a non-nil error is handled as if that system call had
	// failed (the chain rolls the append back). It replaces Chain.Fault.
	Fault func(eventType, op string) error
	// UnsafeIODir, when set, receives raw user content (--dev-log-unsafe-io):
	// one JSONL file per session, never the chain or the spans.
	UnsafeIODir string
}

// Open opens (or creates) the chain at path.
func Open(path string, opts Options) (*Logger, error) {
	l := &Logger{tracer: opts.Tracer, session: opts.Session, fault: opts.Fault, faultType: chain.HeaderType}
	if l.fault != nil {
		opts.Chain.Fault = func(op string) error { return l.fault(l.faultType, op) }
	}
	w, err := chain.Open(path, opts.Chain)
	if err != nil {
		return nil, &WriteError{Type: chain.HeaderType, Err: err}
	}
	l.w = w
	if opts.UnsafeIODir != "" {
		l.unsafe = &unsafeLog{path: filepath.Join(opts.UnsafeIODir, opts.Session+".jsonl")}
	}
	return l, nil
}

// Close releases the chain.
func (l *Logger) Close() error { return l.w.Close() }

// Record writes ev durably as part of the span in ctx. It returns only once
// the record is on disk; on error nothing of it is in the chain.
func (l *Logger) Record(ctx context.Context, ev Event) (chain.Head, error) {
	parent := trace.SpanContextFromContext(ctx)
	data, err := json.Marshal(ev)
	if err != nil {
		return chain.Head{}, fmt.Errorf("audit: encoding %s: %w", ev.EventType(), err)
	}
	var span trace.Span
	if l.tracer != nil {
		ctx, span = l.tracer.Start(ctx, WriteSpan, trace.WithAttributes(attribute.String("audit.event_type", ev.EventType())))
		defer span.End()
	}
	ce := chain.Event{Type: ev.EventType(), Session: l.session, Data: data}
	if parent.IsValid() {
		ce.TraceID, ce.SpanID = parent.TraceID().String(), parent.SpanID().String()
	}
	head, err := l.append(ctx, ce)
	if err != nil {
		if span != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "audit write failed")
			span.SetAttributes(attribute.String("error.type", "audit_write_failed"))
		}
		return chain.Head{}, &WriteError{Type: ev.EventType(), Err: err}
	}
	if span != nil {
		span.SetAttributes(attribute.Int64("audit.seq", int64(head.Seq)), attribute.String("audit.hash", head.Hash.String()))
	}
	return head, nil
}

// append appends ce, telling the fault hook its type when there is one.
func (l *Logger) append(ctx context.Context, ce chain.Event) (chain.Head, error) {
	if l.fault == nil {
		return l.w.Append(ctx, ce)
	}
	l.faultMu.Lock()
	defer l.faultMu.Unlock()
	l.faultType = ce.Type
	return l.w.Append(ctx, ce)
}

// Commit is "event first, then state": it records ev durably and only then
// calls apply. When the record cannot be written, apply is not called and a
// *WriteError is returned.
func (l *Logger) Commit(ctx context.Context, ev Event, apply func() error) error {
	if _, err := l.Record(ctx, ev); err != nil {
		return err
	}
	return apply()
}

// Head returns the chain's last record.
func (l *Logger) Head() chain.Head { return l.w.Head() }

// Path returns the chain's active file.
func (l *Logger) Path() string { return l.w.Path() }

// SHA256 returns the hex SHA-256 of s: how user content is recorded.
func SHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// HashArgs returns the SHA-256 of each argument.
func HashArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = SHA256(a)
	}
	return out
}

// Unsafe records raw user content under name when the user enabled
// --dev-log-unsafe-io; otherwise it does nothing. The values go to a separate
// file, never to the chain or the spans.
func (l *Logger) Unsafe(ctx context.Context, name string, values map[string]any) error {
	if l.unsafe == nil {
		return nil
	}
	sc := trace.SpanContextFromContext(ctx)
	return l.unsafe.write(map[string]any{"ts": time.Now().UTC().Format(time.RFC3339Nano), "session": l.session,
		"trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(), "name": name, "values": values})
}

type unsafeLog struct {
	mu   sync.Mutex
	path string
}

func (u *unsafeLog) write(v any) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(u.path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// IsWriteError reports whether err is an audit write failure.
func IsWriteError(err error) bool {
	var we *WriteError
	return errors.As(err, &we)
}
