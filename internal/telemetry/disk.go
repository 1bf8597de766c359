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

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/internal/fsutil"
)

// diskClient is the disk path's span exporter: it appends each batch to the
// spans file as one line, a TracesData object in the OTLP JSON encoding of
// the OpenTelemetry Collector's file exporter, encoded from the SDK's spans
// byte for byte as pdata, the Collector's encoder, writes the OTLP
// exporter's conversion of them (appendSpans).
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
// A symbolic link or anything but a regular file at path is refused, never
// followed (fsutil.OpenFile). If the file ends in a torn line, left by a
// process that died mid-write, a newline is written first so that the
// damage stays on its own line.
func openDisk(path string) (*diskClient, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	_, statErr := os.Lstat(path)
	f, err := fsutil.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|fsutil.NoFollow, 0o600)
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
	if err := fsutil.Lock(c.f, fsutil.Exclusive); err != nil {
		return err
	}
	defer fsutil.Unlock(c.f)
	return fn()
}

// ExportSpans appends the batch as one line; an empty batch writes nothing.
func (c *diskClient) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	if err := c.append(encodeLine(spans), spans); err != nil {
		c.record(err)
	}
	// The error is also kept for Shutdown, which returns it; the batch
	// processor would only print it through the global error handler.
	return nil
}

func (c *diskClient) append(line []byte, spans []sdktrace.ReadOnlySpan) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return os.ErrClosed
	}
	var end int64
	err := c.locked(func() error {
		if _, err := c.f.Write(line); err != nil {
			return err
		}
		if c.track {
			// O_APPEND leaves the offset at the end of this write.
			var err error
			end, err = c.f.Seek(0, io.SeekCurrent)
			return err
		}
		return nil
	})
	if err == nil && c.track {
		c.lines = append(c.lines, newLineRecord(end-int64(len(line)), line, spans))
	}
	return err
}

// Shutdown syncs and closes the file; a new file's directory entry is
// synced too.
func (c *diskClient) Shutdown(context.Context) error {
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

func newLineRecord(off int64, line []byte, spans []sdktrace.ReadOnlySpan) lineRecord {
	r := lineRecord{sent: sentEntry{off: off, n: int64(len(line)), sum: lineSum(line)}}
	for _, s := range spans {
		if s != nil {
			r.spans = append(r.spans, s.SpanContext().SpanID())
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

// encodeLine returns spans as one TracesData object in OTLP JSON, ending in
// a newline (appendSpans).
func encodeLine(spans []sdktrace.ReadOnlySpan) []byte {
	return append(appendSpans(make([]byte, 0, 4096), spans), '\n')
}
