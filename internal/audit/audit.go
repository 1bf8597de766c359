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
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/names"
)

// WriteSpan is the name of the span every audit write gets.
const WriteSpan = names.SpanAuditLoggerWriteEvent

// WriteError reports that an audit record could not be made durable; the
// operation it described must not take effect.
type WriteError struct {
	// Type is the type of the record that failed, or "" when the chain
	// refused every record before one was written (its tail is torn or
	// damaged: a *chain.TailError).
	Type string
	Err  error
}

func (e *WriteError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("audit: the chain takes no record: %v", e.Err)
	}
	return fmt.Sprintf("audit: writing %s record: %v", e.Type, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// ErrorClass is audit_write_failed: the operation the record described was
// aborted.
func (e *WriteError) ErrorClass() string { return names.ClassAuditWriteFailed }

// Logger writes audit records.
type Logger struct {
	w       *chain.Writer
	tracer  trace.Tracer
	session string
	unsafe  *unsafeLog

	heldMu sync.Mutex
	held   []pending // Hold's records, written with the next

	// With Options.Fault: faultMu serialises appends so that the chain's
	// fault hook knows the types of the records being written (faultTypes)
	// and can say which one it failed (faultHit).
	fault      func(eventType, op string) error
	faultMu    sync.Mutex
	faultTypes []string
	faultHit   string

	afterWrite func(ctx context.Context, head chain.Head)
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
	// AfterWrite, when set, is called with the chain's head after each
	// write that made records durable (brain-run signs checkpoints there).
	AfterWrite func(ctx context.Context, head chain.Head)
}

// Open opens (or creates) the chain at path.
func Open(path string, opts Options) (*Logger, error) {
	l := &Logger{tracer: opts.Tracer, session: opts.Session, fault: opts.Fault, faultTypes: []string{chain.HeaderType}, afterWrite: opts.AfterWrite}
	if l.fault != nil {
		opts.Chain.Fault = func(op string) error {
			for _, typ := range l.faultTypes {
				if err := l.fault(typ, op); err != nil {
					l.faultHit = typ
					return err
				}
			}
			return nil
		}
	}
	w, err := chain.Open(path, opts.Chain)
	if err != nil {
		// Only creating a chain (or its next file) writes a record here,
		// the header; a chain that refuses appends names no record.
		var we *chain.WriteError
		if !errors.As(err, &we) {
			return nil, &WriteError{Err: err}
		}
		return nil, &WriteError{Type: chain.HeaderType, Err: err}
	}
	l.w = w
	if opts.UnsafeIODir != "" {
		l.unsafe = &unsafeLog{path: filepath.Join(opts.UnsafeIODir, opts.Session+".jsonl")}
	}
	return l, nil
}

// Close writes the records still held (Hold), then releases the chain.
func (l *Logger) Close() error {
	err := l.writeHeld(context.Background())
	if cerr := l.w.Close(); err == nil {
		err = cerr
	}
	return err
}

// pending is a record prepared for writing: its chain event and its span.
type pending struct {
	ce   chain.Event
	span trace.Span // nil without a tracer
}

// prepare encodes ev and starts its write span, as part of the span in ctx.
func (l *Logger) prepare(ctx context.Context, ev Event) (pending, error) {
	parent := trace.SpanContextFromContext(ctx)
	data, err := json.Marshal(ev)
	if err != nil {
		return pending{}, fmt.Errorf("audit: encoding %s: %w", ev.EventType(), err)
	}
	p := pending{ce: chain.Event{Type: ev.EventType(), Session: l.session, Data: data}}
	if parent.IsValid() {
		p.ce.TraceID, p.ce.SpanID = parent.TraceID().String(), parent.SpanID().String()
	}
	if l.tracer != nil {
		_, p.span = l.tracer.Start(ctx, WriteSpan, trace.WithAttributes(attribute.String(names.AttrAuditEventType, ev.EventType())))
	}
	return p, nil
}

// Record writes ev durably as part of the span in ctx, in one batch with the
// records held before it. It returns only once they are on disk; on error
// nothing of them is in the chain. A canceled ctx does not stop it: a
// command stopped by a signal still records what it did (the canceled model
// call, the task's end); whether to go on is the caller's decision.
func (l *Logger) Record(ctx context.Context, ev Event) (chain.Head, error) {
	p, err := l.prepare(ctx, ev)
	if err != nil {
		return chain.Head{}, err
	}
	l.heldMu.Lock()
	batch := append(l.held, p)
	l.held = nil
	l.heldMu.Unlock()
	return l.write(ctx, batch)
}

// Hold prepares ev as Record does and keeps it, to be written with the next
// record (Record, Commit) in one batch — one write, one fdatasync — or by
// Close. It is for a record that nothing takes effect after before
// the next record is written: brain-run exec holds command.start until
// exec.start, which is durable before the program starts, and exec.end until
// command.end. A crash in between loses the held record with the next, as if
// neither had been written.
func (l *Logger) Hold(ctx context.Context, ev Event) error {
	p, err := l.prepare(ctx, ev)
	if err != nil {
		return err
	}
	l.heldMu.Lock()
	l.held = append(l.held, p)
	l.heldMu.Unlock()
	return nil
}

// writeHeld writes the records held, if any.
func (l *Logger) writeHeld(ctx context.Context) error {
	l.heldMu.Lock()
	batch := l.held
	l.held = nil
	l.heldMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	_, err := l.write(ctx, batch)
	return err
}

// write appends batch and ends its spans. A failure is a *WriteError naming
// the record the fault hook failed, else the batch's first.
func (l *Logger) write(ctx context.Context, batch []pending) (chain.Head, error) {
	ces := make([]chain.Event, len(batch))
	for i, p := range batch {
		ces[i] = p.ce
	}
	heads, failed, err := l.append(ctx, ces)
	for i, p := range batch {
		if p.span == nil {
			continue
		}
		if err != nil {
			p.span.RecordError(err)
			p.span.SetStatus(codes.Error, "audit write failed")
			p.span.SetAttributes(attribute.String(names.AttrErrorType, names.ClassAuditWriteFailed))
		} else {
			p.span.SetAttributes(attribute.Int64(names.AttrAuditSeq, int64(heads[i].Seq)), attribute.String(names.AttrAuditHash, heads[i].Hash.String()))
		}
		p.span.End()
	}
	if err != nil {
		if failed == "" {
			failed = ces[0].Type
		}
		return chain.Head{}, &WriteError{Type: failed, Err: err}
	}
	head := heads[len(heads)-1]
	if l.afterWrite != nil {
		l.afterWrite(ctx, head)
	}
	return head, nil
}

// append appends ces, telling the fault hook their types when there is one;
// failed is the type whose injected fault failed the append. The chain
// writer refuses a canceled context; a record is written whatever ctx's
// state (Record).
func (l *Logger) append(ctx context.Context, ces []chain.Event) (heads []chain.Head, failed string, err error) {
	ctx = context.WithoutCancel(ctx)
	if l.fault == nil {
		heads, err = l.w.AppendEach(ctx, ces)
		return heads, "", err
	}
	l.faultMu.Lock()
	defer l.faultMu.Unlock()
	l.faultTypes, l.faultHit = l.faultTypes[:0], ""
	for _, ce := range ces {
		l.faultTypes = append(l.faultTypes, ce.Type)
	}
	heads, err = l.w.AppendEach(ctx, ces)
	return heads, l.faultHit, err
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
	if err := fsutil.MkdirAllIn(filepath.Dir(filepath.Dir(u.path)), filepath.Base(filepath.Dir(u.path))); err != nil {
		return err
	}
	f, err := fsutil.OpenFile(u.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|fsutil.NoFollow, 0o600)
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
