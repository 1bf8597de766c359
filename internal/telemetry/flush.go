package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/brain-dev/brain/internal/fsutil"
)

// FlushState is the flush state file: how much of a spans file has been
// delivered. It is rewritten atomically (temporary file, fsync, rename)
// after every delivered batch.
type FlushState struct {
	Version int `json:"version"`
	// Head is the SHA-256 of the spans file's first line. A file whose first
	// line differs is a new file, sent from its start.
	Head string `json:"head"`
	// Offset is the byte offset just past the last line delivered (or
	// skipped as damaged).
	Offset int64 `json:"offset"`
	// Lines and Spans count the lines and spans delivered by flushes so far.
	Lines int64 `json:"lines"`
	Spans int64 `json:"spans"`
	// Live counts the spans passed over because the command that wrote them
	// delivered them (they are listed in the sent log, SentLogPath).
	Live int64 `json:"live_spans"`
	// Damaged counts lines that could not be parsed and were passed over.
	Damaged  int64  `json:"damaged_lines"`
	Endpoint string `json:"endpoint"` // the last endpoint delivered to
}

// DamagedLinesError reports lines of the spans file that Flush could not
// parse (a line torn by a crash, or edited by hand) and passed over. Every
// other line was delivered.
type DamagedLinesError struct {
	Path    string
	Offsets []int64 // byte offset of each damaged line
}

func (e *DamagedLinesError) Error() string {
	return fmt.Sprintf("telemetry: %s: %d damaged line(s) passed over, first at byte %d", e.Path, len(e.Offsets), e.Offsets[0])
}

// flushConfig holds Flush's batching and timeout; tests make batches small.
type flushConfig struct {
	maxSpans int           // spans per request (at least one line)
	maxBytes int           // JSON bytes per request (at least one line)
	timeout  time.Duration // per request
}

var defaultFlush = flushConfig{maxSpans: 2048, maxBytes: 2 << 20, timeout: 5 * time.Second}

// Flush sends the spans in spansPath that earlier flushes have not delivered
// to the OTLP endpoint over n, and records what it delivered in statePath (see
// FlushState), so that a second flush sends nothing twice and a flush that
// failed part-way resumes after the last delivered batch. A torn last line
// (a write still in progress) is left for the next flush.
//
// sent counts the spans delivered by this call, skipped the spans delivered
// earlier: by earlier flushes, or by the command that wrote them (the lines
// listed in the sent log, SentLogPath). A missing spans file is nothing to send. Damaged lines
// are passed over and reported as a *DamagedLinesError after the rest is
// delivered. Two flushes of the same state file at once are refused.
func Flush(ctx context.Context, n Network, spansPath, endpoint string, statePath string) (sent, skipped int, err error) {
	return flush(ctx, n, spansPath, endpoint, statePath, defaultFlush)
}

func flush(ctx context.Context, n Network, spansPath, endpoint, statePath string, fc flushConfig) (sent, skipped int, err error) {
	if endpoint == "" {
		return 0, 0, errors.New("telemetry: flush: no endpoint")
	}
	hostport, insecure, err := target(n, endpoint)
	if err != nil {
		return 0, 0, err
	}
	client := n.Sender(hostport, insecure, fc.timeout)
	unlock, err := lockFile(statePath + ".lock")
	if err != nil {
		return 0, 0, err
	}
	defer unlock()

	st, err := readState(statePath)
	if err != nil {
		return 0, 0, err
	}
	f, err := fsutil.OpenFile(spansPath, os.O_RDONLY|fsutil.NoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("telemetry: %w", err)
	}
	defer f.Close()
	size, err := stableSize(f)
	if err != nil {
		return 0, 0, fmt.Errorf("telemetry: %s: %w", spansPath, err)
	}
	head, err := firstLineHash(f, size)
	if err != nil {
		return 0, 0, fmt.Errorf("telemetry: %s: %w", spansPath, err)
	}
	if st.Head != head || st.Offset > size {
		st = FlushState{Head: head}
	}
	st.Version = 1
	skipped = int(st.Spans + st.Live)
	if st.Offset == size {
		return 0, skipped, nil
	}
	live, err := readSent(SentLogPath(spansPath))
	if err != nil {
		return 0, skipped, fmt.Errorf("telemetry: %w", err)
	}

	if err := client.Start(ctx); err != nil {
		return 0, skipped, fmt.Errorf("telemetry: otlp endpoint %s: %w", endpoint, err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		client.Stop(sctx)
	}()

	var (
		damaged []int64
		batch   []any
		nSpans  int
		nLines  int64
		nBytes  int
		offset  = st.Offset
	)
	send := func() error {
		if len(batch) > 0 {
			if err := client.Send(ctx, batch); err != nil {
				return fmt.Errorf("telemetry: flush to %s: %w", endpoint, err)
			}
		}
		sent += nSpans
		st.Offset, st.Lines, st.Spans, st.Endpoint = offset, st.Lines+nLines, st.Spans+int64(nSpans), endpoint
		batch, nSpans, nLines, nBytes = nil, 0, 0, 0
		return writeState(statePath, st)
	}

	r := bufio.NewReaderSize(io.NewSectionReader(f, st.Offset, size-st.Offset), 64<<10)
	damagedBefore := st.Damaged
	for {
		line, rerr := r.ReadBytes('\n')
		if rerr == io.EOF {
			break // a torn or still-growing last line waits for the next flush
		}
		if rerr != nil {
			return sent, skipped, fmt.Errorf("telemetry: %s: %w", spansPath, rerr)
		}
		at := offset
		offset += int64(len(line))
		rs, k, perr := decodeLine(client, line)
		if perr != nil {
			damaged = append(damaged, at)
			st.Damaged = damagedBefore + int64(len(damaged))
			continue
		}
		if deliveredLive(live, at, line) {
			st.Live += int64(k)
			skipped += k
			continue
		}
		batch = append(batch, rs)
		nSpans += k
		nLines++
		nBytes += len(line)
		if nSpans >= fc.maxSpans || nBytes >= fc.maxBytes {
			if err := send(); err != nil {
				return sent, skipped, err
			}
		}
	}
	if err := send(); err != nil {
		return sent, skipped, err
	}
	if len(damaged) > 0 {
		return sent, skipped, &DamagedLinesError{Path: spansPath, Offsets: damaged}
	}
	return sent, skipped, nil
}

// decodeLine parses one line of the spans file with c's parser.
func decodeLine(c Sender, line []byte) (batch any, spans int, err error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, 0, errors.New("empty line")
	}
	return c.Decode(line)
}

// stableSize returns the spans file's size while holding a shared flock, so
// that every line below it is complete: writers append whole lines under an
// exclusive flock. Bytes below the size never change afterwards.
func stableSize(f *os.File) (int64, error) {
	if err := fsutil.Lock(f, fsutil.Shared); err != nil {
		return 0, err
	}
	defer fsutil.Unlock(f)
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// firstLineHash returns the hex SHA-256 of the first line of f (up to size),
// or "" if f has no complete line.
func firstLineHash(f *os.File, size int64) (string, error) {
	h := sha256.New()
	r := bufio.NewReader(io.NewSectionReader(f, 0, size))
	for {
		chunk, err := r.ReadSlice('\n')
		h.Write(chunk)
		switch {
		case err == nil:
			return hex.EncodeToString(h.Sum(nil)), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			return "", nil
		default:
			return "", err
		}
	}
}

// lockFile takes an exclusive, non-blocking flock of path (created 0600)
// and returns its release.
func lockFile(path string) (func(), error) {
	release, err := fsutil.TryLock(path)
	switch {
	case errors.Is(err, fsutil.ErrLocked):
		return nil, fmt.Errorf("telemetry: another flush holds %s", path)
	case err != nil:
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return release, nil
}

// ReadFlushState reads a flush state file; a missing file is the zero state.
func ReadFlushState(path string) (FlushState, error) { return readState(path) }

func readState(path string) (FlushState, error) {
	var st FlushState
	b, err := fsutil.ReadFile(path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("telemetry: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("telemetry: flush state %s: %w", path, err)
	}
	return st, nil
}

// writeState replaces the state file atomically and durably.
func writeState(path string, st FlushState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	err = fsutil.WriteFileAtomic(path, append(b, '\n'), 0o600)
	if err != nil {
		return fmt.Errorf("telemetry: writing flush state: %w", err)
	}
	return nil
}
