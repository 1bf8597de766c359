package auditcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
)

func newAppend(e *env) *ffcli.Command {
	fs, opts := newFlags("append")
	syncMode := fs.String("sync", "each", "`each`: every record is durable before the next is read; batch: group commit, all durable before exit")
	alg := fs.String("alg", "sha256", "hash algorithm of a new chain: sha256 or blake3")
	rotate := fs.Int64("rotate-size", 0, "rotate the active file once it holds this many `bytes` (0: never)")
	return &ffcli.Command{
		Name:       "append",
		ShortUsage: "brain-audit append [--sync each|batch] FILE < events.jsonl",
		ShortHelp:  "append JSON events read from stdin as chained records",
		LongHelp: `append reads one JSON object per line from stdin and appends each as a
chained record to FILE, creating FILE with a header when it does not exist.
An object needs only "type"; "session", "trace_id" and "span_id" are copied
when present, "data" (an object) becomes the record's data, and any other
fields become the data when there is no "data". The writer sets seq, ts,
prev and hash: input that sets them is refused.

A bad line stops the run with an error naming it: every line before it is
appended and durable, nothing from it on is written. On success the new
head (SEQ:HASH) is printed on stdout.

With --sync=batch the records are written in groups as stdin is read, their
write-back to the disk started at once, and one sync at the end makes them
all durable before the head is printed (a bulk load costs about what
writing its bytes once costs); with --sync=each every record is synced
before the next line is read.

Exit status: 0 appended, 2 usage, 3 bad input, 4 the records could not be
written durably (nothing partial is left in the chain).`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit append [--sync each|batch] FILE < events.jsonl"); err != nil {
				return err
			}
			if *syncMode != "each" && *syncMode != "batch" {
				return cli.Usagef("--sync must be each or batch, not %q", *syncMode)
			}
			a, err := chain.ParseAlg(*alg)
			if err != nil {
				return &cli.UsageError{Err: fmt.Errorf("--alg: %v", err)}
			}
			w, err := chain.Open(args[0], chain.Options{Alg: a, MaxFileSize: *rotate})
			if err != nil {
				return writeErr(err)
			}
			defer w.Close()
			return runAppend(ctx, e, w, *syncMode == "batch")
		},
	}
}

// writeErr maps a chain error to the audit-write exit code, with a hint.
func writeErr(err error) error {
	var te *chain.TailError
	switch {
	case errors.As(err, &te):
		return &cli.ExitError{Code: cli.ExitAuditWrite, Err: err, Hint: "run 'brain-audit verify-log' on the chain, then 'brain-audit repair' if it shows a torn tail or a missing newline"}
	case errors.Is(err, errors.ErrUnsupported):
		// A system that cannot append to a chain (Windows).
		return &cli.ExitError{Code: cli.ExitAuditWrite, Err: err, Hint: "verify-log, diff, show and repair --dry-run work on this system; append and repair on Linux, macOS or a BSD"}
	}
	return &cli.ExitError{Code: cli.ExitAuditWrite, Err: err}
}

const batchRecords = 4096

// batch is a group of parsed events and the arena their bytes live in.
type batch struct {
	evs       []chain.Event
	ar        arena
	firstLine int // stdin line of evs[0]
}

// runAppend parses stdin on this goroutine and appends on another, so that
// with --sync=batch parsing the next group overlaps writing the last one.
// With --sync=batch the groups are written without waiting for the disk
// (their write-back starts at once) and one sync at the end makes them all
// durable, even when the run stops early: nothing is said to be durable
// before that sync. With --sync=each a single batch of one event goes back
// and forth: every record is durable before the next line is read.
func runAppend(ctx context.Context, e *env, w *chain.Writer, group bool) error {
	size, nbuf := 1, 1
	if group {
		size, nbuf = batchRecords, 2
	}
	free := make(chan *batch, nbuf)
	for range nbuf {
		free <- &batch{evs: make([]chain.Event, 0, size)}
	}
	full := make(chan *batch)
	var failed atomic.Bool
	var appended int
	var head chain.Head
	done := make(chan error, 1)
	appendBatch := w.AppendBatch
	if group {
		appendBatch = w.WriteBatch
	}
	go func() {
		var err error
		var written, failLine int // records written; stdin line of the batch that failed
		for b := range full {
			if err == nil {
				var h chain.Head
				if h, err = appendBatch(ctx, b.evs); err != nil {
					failLine = b.firstLine
					failed.Store(true)
				} else {
					written += len(b.evs)
					head = h
				}
			}
			b.evs = b.evs[:0]
			b.ar.reset()
			free <- b
		}
		appended = written
		if group && written > 0 {
			if serr := w.Sync(); serr != nil {
				// Sync cut the records back out of the chain, unless
				// another writer appended after them.
				err = fmt.Errorf("%w (none of the %d records written from stdin is known to be durable; the chain ends at seq %d)", serr, written, w.Head().Seq)
				appended = 0
			}
		}
		if err != nil && appended > 0 {
			err = fmt.Errorf("%w (the %d records before stdin line %d are durable)", err, appended, failLine)
		}
		done <- err
	}()
	// finish hands over the last batch and waits for the writer.
	finish := func(cur *batch) error {
		if len(cur.evs) > 0 {
			full <- cur
		}
		close(full)
		if err := <-done; err != nil {
			return writeErr(err)
		}
		return nil
	}
	br := bufio.NewReaderSize(e.stdin, 1<<20)
	cur := <-free
	for n := 1; !failed.Load(); n++ {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := finish(cur); ferr != nil {
				return ferr
			}
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading stdin: %v", err)}
		}
		ev, perr := parseEvent(line, &cur.ar)
		if perr != nil {
			if ferr := finish(cur); ferr != nil {
				return ferr
			}
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("stdin line %d: %v", n, perr),
				Hint: fmt.Sprintf("%d records before it were appended; nothing from line %d on was written", appended, n)}
		}
		if len(cur.evs) == 0 {
			cur.firstLine = n
		}
		cur.evs = append(cur.evs, ev)
		if len(cur.evs) >= size {
			full <- cur
			cur = <-free
		}
	}
	if err := finish(cur); err != nil {
		return err
	}
	if appended > 0 {
		fmt.Fprintln(e.stdout, head)
	}
	return nil
}

// arena holds the data of the events waiting to be appended, in chunks
// that never move, so that an event's data can alias them until the batch
// is written; the chunks are reused after it.
type arena struct {
	chunks [][]byte
	cur    int // index of the chunk being filled
}

const arenaChunk = 1 << 20

// alloc returns n bytes of the arena, valid until reset.
func (a *arena) alloc(n int) []byte {
	for {
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]byte, 0, max(n, arenaChunk)))
		}
		c := a.chunks[a.cur]
		if cap(c)-len(c) >= n {
			a.chunks[a.cur] = c[:len(c)+n]
			return c[len(c) : len(c)+n : len(c)+n]
		}
		a.cur++
	}
}

func (a *arena) reset() {
	for i := range a.chunks[:min(a.cur+1, len(a.chunks))] {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}

// readLine reads one line without its newline, valid until the next read;
// a final line without a newline is returned too.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	var long []byte
	for err == bufio.ErrBufferFull {
		// Past the record size limit the rest of the line is read and
		// dropped: parseEvent refuses it, and memory stays bounded.
		if len(long) <= chain.MaxRecordSize {
			long = append(long, line...)
		}
		line, err = br.ReadSlice('\n')
	}
	if long != nil {
		line = append(long, line...)
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return line, nil
}

// parseEvent turns one input line into an Event (chain.ParseEvent), its
// data in the arena: line may be reused once it returns.
func parseEvent(line []byte, a *arena) (chain.Event, error) {
	ev, _, err := chain.ParseEvent(line, a.alloc(len(line) + 2)[:0])
	return ev, err
}
