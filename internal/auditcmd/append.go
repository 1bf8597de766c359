package auditcmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

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
	if errors.As(err, &te) {
		return &cli.ExitError{Code: cli.ExitAuditWrite, Err: err, Hint: "run 'brain-audit verify-log' on the chain, then 'brain-audit repair' if it shows a torn tail"}
	}
	return &cli.ExitError{Code: cli.ExitAuditWrite, Err: err}
}

const batchRecords = 4096

func runAppend(ctx context.Context, e *env, w *chain.Writer, batch bool) error {
	br := bufio.NewReaderSize(e.stdin, 1<<20)
	var pending []chain.Event
	var appended int
	var head chain.Head
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		h, err := w.AppendBatch(ctx, pending)
		if err != nil {
			return err
		}
		appended += len(pending)
		head, pending = h, pending[:0]
		return nil
	}
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading stdin: %v", err)}
		}
		ev, perr := parseEvent(line)
		if perr != nil {
			if ferr := flush(); ferr != nil {
				return writeErr(ferr)
			}
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("stdin line %d: %v", n, perr),
				Hint: fmt.Sprintf("%d records before it were appended; nothing from line %d on was written", appended, n)}
		}
		pending = append(pending, ev)
		if !batch || len(pending) >= batchRecords {
			if err := flush(); err != nil {
				if appended > 0 {
					return writeErr(fmt.Errorf("%w (the %d records before stdin line %d are durable)", err, appended, n-len(pending)+1))
				}
				return writeErr(err)
			}
		}
	}
	if err := flush(); err != nil {
		return writeErr(err)
	}
	if appended > 0 {
		fmt.Fprintln(e.stdout, head)
	}
	return nil
}

// readLine reads one line without its newline; a final line without a
// newline is returned too.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadBytes('\n')
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	return bytes.TrimSuffix(line, []byte{'\n'}), err
}

var reserved = []string{"seq", "ts", "prev", "hash"}

// parseEvent turns one input line into an Event, keeping data bytes as given.
func parseEvent(line []byte) (chain.Event, error) {
	var ev chain.Event
	if len(bytes.TrimSpace(line)) == 0 {
		return ev, errors.New("blank line: want a JSON object")
	}
	if len(line) > chain.MaxRecordSize {
		return ev, fmt.Errorf("line is over the %d-byte limit", chain.MaxRecordSize)
	}
	var seen []string
	extra := make([]byte, 0, len(line))
	var data []byte
	err := chain.Fields(line, func(key string, keyTok, raw []byte) error {
		if slices.Contains(seen, key) {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen = append(seen, key)
		if slices.Contains(reserved, key) {
			return fmt.Errorf("field %q is set by the writer; remove it", key)
		}
		var dst *string
		switch key {
		case "type":
			dst = &ev.Type
		case "session":
			dst = &ev.Session
		case "trace_id":
			dst = &ev.TraceID
		case "span_id":
			dst = &ev.SpanID
		case "data":
			data = raw
			return nil
		default:
			if len(extra) > 0 {
				extra = append(extra, ',')
			}
			extra = append(append(append(extra, keyTok...), ':'), raw...)
			return nil
		}
		v, ok := chain.Unquote(raw)
		if !ok {
			return fmt.Errorf("field %q must be a string", key)
		}
		*dst = v
		return nil
	})
	if err != nil {
		return ev, err
	}
	if ev.Type == "" {
		return ev, errors.New(`missing "type"`)
	}
	switch {
	case data != nil && len(extra) > 0:
		return ev, errors.New(`both "data" and other fields: put the event's fields in "data" or at the top level, not both`)
	case data != nil:
		ev.Data = data
	case len(extra) > 0:
		ev.Data = append(append([]byte{'{'}, extra...), '}')
	}
	if len(ev.Data) > 0 && ev.Data[0] != '{' {
		return ev, errors.New(`"data" must be a JSON object`)
	}
	if err := ev.Check(); err != nil {
		return ev, errors.New(strings.TrimPrefix(err.Error(), "chain: "))
	}
	return ev, nil
}
