package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"

	"github.com/brain-dev/brain/internal/fsutil"
)

// diskClient is an otlptrace.Client that appends each batch to the spans
// file as one line: a TracesData object in the OTLP JSON encoding of the
// OpenTelemetry Collector's file exporter. The span conversion is the OTLP
// exporter's own (otlptrace.Exporter hands this client protobuf
// ResourceSpans); the JSON is pdata's, the Collector's encoder.
//
// Each line is written with one write(2) to a file opened O_APPEND, under an
// exclusive flock, so several processes (nested brain-runs) can append to
// one file without interleaving.
type diskClient struct {
	path    string
	created bool

	mu sync.Mutex // guards f and lines
	f  *os.File
	// track makes UploadTraces remember each line it wrote, so that lines
	// the network path delivered can be listed in the sent log.
	track bool
	lines []lineRecord

	errMu sync.Mutex
	err   error // first write error
}

// openDisk opens (creating 0700/0600 if absent) the spans file for appending.
// If the file ends in a torn line, left by a process that died mid-write, a
// newline is written first so that the damage stays on its own line.
func openDisk(path string) (*diskClient, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	c := &diskClient{path: path, f: f, created: errors.Is(statErr, fs.ErrNotExist)}
	if err := c.locked(c.terminateTornLine); err != nil {
		f.Close()
		return nil, fmt.Errorf("telemetry: %s: %w", path, err)
	}
	return c, nil
}

func (c *diskClient) terminateTornLine() error {
	fi, err := c.f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := c.f.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		_, err = c.f.Write([]byte{'\n'})
	}
	return err
}

// locked runs fn under an exclusive flock of the spans file.
func (c *diskClient) locked(fn func() error) error {
	fd := c.f.Fd()
	if err := fsutil.Flock(fd, unix.LOCK_EX); err != nil {
		return err
	}
	defer fsutil.Flock(fd, unix.LOCK_UN)
	return fn()
}

// Start does nothing: the file is opened by openDisk.
func (c *diskClient) Start(context.Context) error { return nil }

// UploadTraces appends the batch as one line.
func (c *diskClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	line, err := encodeLine(rs)
	if err == nil {
		c.mu.Lock()
		if c.f == nil {
			err = os.ErrClosed
		} else {
			var end int64
			err = c.locked(func() error {
				if _, err := c.f.Write(line); err != nil {
					return err
				}
				if c.track {
					// O_APPEND leaves the offset at the end of this write.
					end, err = c.f.Seek(0, io.SeekCurrent)
				}
				return err
			})
			if err == nil && c.track {
				c.lines = append(c.lines, newLineRecord(end-int64(len(line)), line, rs))
			}
		}
		c.mu.Unlock()
	}
	if err != nil {
		c.record(err)
	}
	// The error is also kept for Shutdown, which returns it; the batch
	// processor would only print it through the global error handler.
	return nil
}

// Stop syncs and closes the file; a new file's directory entry is synced too.
func (c *diskClient) Stop(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := unix.Fdatasync(int(c.f.Fd()))
	err = errors.Join(err, c.f.Close())
	c.f = nil
	if c.created && err == nil {
		err = fsutil.SyncDir(filepath.Dir(c.path))
	}
	if err != nil {
		c.record(err)
	}
	return err
}

func (c *diskClient) record(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *diskClient) firstErr() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// lineRecord is a line this process wrote to the spans file.
type lineRecord struct {
	sent  sentEntry
	spans []trace.SpanID
}

func newLineRecord(off int64, line []byte, rs []*tracepb.ResourceSpans) lineRecord {
	r := lineRecord{sent: sentEntry{off: off, n: int64(len(line)), sum: lineSum(line)}}
	for _, r1 := range rs {
		for _, ss := range r1.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, trace.SpanID(s.SpanId))
			}
		}
	}
	return r
}

// writtenLines returns the lines written so far.
func (c *diskClient) writtenLines() []lineRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

// encodeLine returns rs as one TracesData object in OTLP JSON, ending in a
// newline. The protobuf bytes of a TracesData are parsed by pdata, whose JSON
// marshaler is the one the Collector's file exporter uses: hex trace and
// span ids, lowerCamelCase keys, 64-bit integers as strings, enums as
// numbers.
func encodeLine(rs []*tracepb.ResourceSpans) ([]byte, error) {
	pb, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	if err != nil {
		return nil, err
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(pb)
	if err != nil {
		return nil, err
	}
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return nil, err
	}
	return append(js, '\n'), nil
}

// warmEncoder runs encodeLine once, in the background, on a batch with every
// kind of message and value a span can hold. protobuf builds a message
// type's marshalling tables on its first use, and pdata its decoders: about
// a millisecond of CPU for the OTLP types, which a short command would pay
// at Shutdown, after its program ended. Setup starts it, so that it runs on
// another core while the command waits on its first fdatasync.
func warmEncoder() {
	warmOnce.Do(func() { go encodeLine(warmBatch()) })
}

var warmOnce sync.Once

func warmBatch() []*tracepb.ResourceSpans {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	attrs := []*commonpb.KeyValue{
		{Key: "s", Value: str("v")},
		{Key: "i", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 1}}},
		{Key: "b", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
		{Key: "d", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.5}}},
		{Key: "a", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{str("x")}}}}},
		{Key: "m", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{{Key: "k", Value: str("y")}}}}}},
		{Key: "y", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{1}}}},
	}
	id := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	tid := append(id, id...)
	return []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: attrs},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: ScopeName, Version: "v", Attributes: attrs},
			Spans: []*tracepb.Span{{
				TraceId: tid, SpanId: id, ParentSpanId: id, TraceState: "k=v", Name: "warm",
				Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: 1, EndTimeUnixNano: 2,
				Attributes: attrs,
				Events:     []*tracepb.Span_Event{{TimeUnixNano: 1, Name: "e", Attributes: attrs}},
				Links:      []*tracepb.Span_Link{{TraceId: tid, SpanId: id, Attributes: attrs}},
				Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "m"},
			}},
		}},
	}}
}
