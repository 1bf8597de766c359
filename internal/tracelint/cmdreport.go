package tracelint

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
)

// reportMode is the mode of the HTML file report writes: it holds what
// the spans and records hold, so it is the owner's to share.
const reportMode = 0o600

func newReport(e *env) *ffcli.Command {
	fs := flag.NewFlagSet(prog+" report", flag.ContinueOnError)
	var c common
	c.register(fs)
	out := fs.String("o", "", "write the HTML report to `FILE` (- for stdout); required")
	audit := fs.String("audit", "", "an audit chain `FILE|DIR`: its verdict and its records, beside their spans")
	traceID := fs.String("trace", "", "report the trace with this `ID` (or a unique prefix of it)")
	session := fs.String("session", "", "report every trace of this session `ID` (brain.session_id)")
	dict := fs.String("dict", "", "the span dictionary `file` (default: the golden/spans.yaml built in)")
	config := fs.String("config", "", "a config `file` of severity overrides and suppressions (docs/trace-lint.md)")
	maxRows := fs.Int("max-rows", DefaultMaxRows, "spans drawn as rows, over every trace (the others are collapsed into their subtrees' rows), and traces in the report (those with error spans first)")
	return &ffcli.Command{
		Name:       "report",
		ShortUsage: "brain-trace-lint report -o FILE [--audit CHAIN] [--session ID | --trace ID] [FILE...]",
		ShortHelp:  "write a self-contained HTML incident report: verdicts, waterfall, audit records",
		LongHelp: `report writes one HTML file that a browser opens from disk, with no network
request of any kind: the audit chain's verdict (PASS or FAIL, with its head
seq:hash), the lint's verdict and coverage, and for each trace a waterfall of
its spans on a shared time axis, errors marked, each span expandable to its
attributes, events, status, audit records and lint findings, and a GenAI
summary (calls, tokens and latency per model, errors by error.type). With
several traces, a list picks one. The spans are read as the linter reads them
(OTLP JSON lines, from each FILE or stdin).

A trace of more than --max-rows spans is drawn with subtrees collapsed into
one row each (errors drawn first); a report holds at most --max-rows traces,
those with error spans first. With input files the lint spills past
--spill-after spans and the files are read again: for the selected traces
with --trace or --session, else a group of traces at a time, so memory grows
with those traces or a group, not with the input (stdin is held whole). The
file is written atomically: a failed
run leaves nothing at FILE. The page: docs/trace-lint.md ("report"); a walk
through an incident with it: docs/viewing-traces.md.

Exit status: 0 written, chain and lint PASS; 1 written, and the chain does
not verify or the lint found violations; 2 usage error; 3 an input that
cannot be read, a trace or session not in the input, or FILE not written.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix(envPrefix)},
		Exec: func(ctx context.Context, args []string) error {
			switch {
			case *out == "":
				return &cli.UsageError{Err: errors.New("report needs -o FILE"), Hint: "brain-trace-lint report -o report.html --audit .brain/audit.jsonl .brain/spans.jsonl"}
			case *traceID != "" && *session != "":
				return cli.Usagef("give --trace or --session, not both")
			case *maxRows < 1 || *maxRows > 1_000_000:
				return cli.Usagef("--max-rows %d: want 1 to 1000000", *maxRows)
			}
			if err := c.check(); err != nil {
				return err
			}
			opts := ReportOptions{Trace: *traceID, Session: *session, MaxRows: *maxRows, Generated: time.Now(), Version: cli.Version(prog),
				Lint: Options{Audit: *audit, MaxFindings: DefaultMaxFindings, Workers: c.workers, MaxLine: c.maxLine, SpillAfter: c.spillAfter, TmpDir: c.tmpDir}}
			if err := opts.Lint.load(*dict, *config); err != nil {
				return err
			}
			return runReport(ctx, e, args, *out, opts)
		},
	}
}

func runReport(ctx context.Context, e *env, args []string, out string, opts ReportOptions) error {
	ins, err := OpenInputs(e.inputs(args), e.stdin)
	if err != nil {
		return unreadable(err)
	}
	defer CloseInputs(ins)
	var page bytes.Buffer
	res, err := Report(ctx, ins, opts, &page)
	if err != nil {
		return drawError(ctx, err)
	}
	if out == "-" {
		_, err = e.stdout.Write(page.Bytes())
	} else {
		err = fsutil.WriteFileAtomic(out, page.Bytes(), reportMode)
	}
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("writing the report: %v", err)}
	}
	what := fmt.Sprintf("%s, %s", countOf(res.Traces, "trace"), countOf(res.Spans, "span"))
	if res.Hidden > 0 {
		what += fmt.Sprintf(" (%d in collapsed rows)", res.Hidden)
	}
	if out != "-" {
		e.p.Infof("wrote %s: %s, %d KiB", out, what, (page.Len()+1023)/1024)
	}
	if res.Left > 0 {
		e.p.Warnf("%s more not in the report: it holds at most --max-rows traces (%d), those with error spans first; 'brain-trace-lint tree' lists them, --trace ID reports one", countOf(res.Left, "trace"), res.Traces)
	}
	if res.NotKept > 0 {
		e.p.Warnf("%s shown without their attributes: the input is over the report's memory limit; --trace ID reports one trace", countOf(res.NotKept, "span"))
	}
	ok := res.Lint.OK() && res.Chain != "FAIL"
	verdict := "lint " + res.Lint.Verdict()
	if res.Chain != "" {
		verdict = "audit chain " + res.Chain + ", " + verdict
	}
	e.p.Banner(ok, verdict+": "+bannerText(res.Lint))
	if !ok {
		return &cli.ExitError{Code: cli.ExitFindings}
	}
	return nil
}
