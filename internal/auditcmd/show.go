package auditcmd

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
)

func newShow(e *env) *ffcli.Command {
	fs, opts := newFlags("show")
	traceID := fs.String("trace-id", "", "only records of this trace id (hex)")
	spanID := fs.String("span-id", "", "only records of this span id (hex)")
	session := fs.String("session", "", "only records of this session")
	typ := fs.String("type", "", "only records of this type; a trailing * matches a prefix (llm.*)")
	since := fs.String("since", "", "only records at or after this RFC 3339 `time`")
	until := fs.String("until", "", "only records before this RFC 3339 `time`")
	return &ffcli.Command{
		Name:       "show",
		ShortUsage: "brain-audit show [--trace-id ID] [--span-id ID] [--session S] [--type T] [--since T] [--until T] FILE|- ...",
		ShortHelp:  "print records as JSONL, filtered",
		LongHelp: `show prints the records of chain files that match every filter given, as
the exact lines stored (JSONL on stdout). It is the run-book step that
correlates a Jaeger trace with the audit log: --trace-id ID. show does not
verify; lines that are not records are reported on stderr and skipped.

Exit status: 0 success, 2 usage, 3 a file could not be read.`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return cli.Usagef("show needs a FILE or - to read")
			}
			// A filter given an empty value (an unset shell variable:
			// --trace-id "$TID") would match every record: refused.
			var empty string
			fs.Visit(func(f *flag.Flag) {
				filter := map[string]bool{"trace-id": true, "span-id": true, "session": true, "type": true, "since": true, "until": true}[f.Name]
				if filter && empty == "" && f.Value.String() == "" {
					empty = f.Name
				}
			})
			if empty != "" {
				return &cli.UsageError{Err: fmt.Errorf("--%s: an empty value would match every record", empty), Hint: "give the value to filter on, or leave the flag out to print every record"}
			}
			var t0, t1 time.Time
			for _, f := range []struct {
				v   string
				dst *time.Time
				n   string
			}{{*since, &t0, "--since"}, {*until, &t1, "--until"}} {
				if f.v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339Nano, f.v)
				if err != nil {
					return &cli.UsageError{Err: fmt.Errorf("%s: %q is not an RFC 3339 time", f.n, f.v), Hint: "for example 2026-11-28T20:00:00Z"}
				}
				*f.dst = t
			}
			match := func(r chain.Record) bool {
				switch {
				case *traceID != "" && !strings.EqualFold(r.TraceID, *traceID),
					*spanID != "" && !strings.EqualFold(r.SpanID, *spanID),
					*session != "" && r.Session != *session,
					!t0.IsZero() && r.Time.Before(t0),
					!t1.IsZero() && !r.Time.Before(t1):
					return false
				case *typ == "":
					return true
				case strings.HasSuffix(*typ, "*"):
					return strings.HasPrefix(r.Type, strings.TrimSuffix(*typ, "*"))
				}
				return r.Type == *typ
			}
			unreadable := false
			for _, name := range args {
				if err := showFile(ctx, e, name, match); err != nil {
					e.p.Errorf("%v", err)
					unreadable = true
				}
			}
			if unreadable {
				return &cli.ExitError{Code: cli.ExitIO}
			}
			return nil
		},
	}
}

func showFile(ctx context.Context, e *env, name string, match func(chain.Record) bool) error {
	in := e.stdin
	if name != "-" {
		f, err := fsutil.Open(name)
		if err != nil {
			return fmt.Errorf("reading %q: %v", name, unwrapPath(err))
		}
		defer f.Close()
		in = f
	}
	s := chain.NewScanner(in)
	for s.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.LineErr(); err != nil {
			e.p.Warnf("%s:%d: not a record (%v); skipped", name, s.LineNumber(), err)
			continue
		}
		if match(s.Record()) {
			line := s.Line()
			if line[len(line)-1] != '\n' {
				line = append(line, '\n') // a final record without its newline
			}
			if _, err := e.stdout.Write(line); err != nil {
				return err
			}
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("reading %q: %v", name, err)
	}
	return nil
}
