package tracelint

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/chainarg"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/spandict"
)

const prog = "brain-trace-lint"

// exitUnreadable is the exit status for an input that cannot be read, as
// for every BRAIN binary (the README's table).
const exitUnreadable = cli.ExitIO

// envPrefix prefixes the environment variables that set flags:
// BRAIN_TRACE_LINT_DICT, BRAIN_TRACE_LINT_CONFIG, ...
const envPrefix = "BRAIN_TRACE_LINT"

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	p              *cli.Printer
	colour         bool // stdout is a terminal and NO_COLOR is unset
}

// Main runs brain-trace-lint with args (without the program name) and
// returns its exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, p: cli.NewPrinter(prog, stderr), colour: cli.UseColor(stdout)}
	return cli.Run(ctx, cli.Tool{Root: newRoot(e)}, args, stdout, e.p, cli.ExitInternal)
}

// common are the flags lint and tree share.
type common struct {
	workers    int
	maxLine    int
	tmpDir     string
	spillAfter int
}

func (c *common) register(fs *flag.FlagSet) {
	fs.IntVar(&c.workers, "workers", 0, "lines parsed in parallel (default: the number of CPUs)")
	fs.IntVar(&c.maxLine, "max-line", DefaultMaxLine, "longest input line read, in `bytes`; a longer one is a malformed-line finding")
	fs.StringVar(&c.tmpDir, "tmp-dir", "", "where to spill spans past --spill-after, in a private directory removed on exit (default: $TMPDIR, or /tmp)")
	fs.IntVar(&c.spillAfter, "spill-after", DefaultSpillAfter, "spans held in memory; past them, the spans are spilled to --tmp-dir by trace, so memory stays bounded")
}

// check refuses a --spill-after that is not positive.
func (c *common) check() error {
	if c.spillAfter <= 0 {
		return cli.Usagef("--spill-after %d: want a positive number", c.spillAfter)
	}
	return nil
}

func newRoot(e *env) *ffcli.Command {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	var c common
	c.register(fs)
	dict := fs.String("dict", "", "the span dictionary `file` (default: the golden/spans.yaml built in)")
	config := fs.String("config", "", "a config `file` of severity overrides and suppressions (docs/trace-lint.md)")
	audit := fs.String("audit", "", "an audit chain `FILE|DIR`: its records and the spans must match, and it must verify")
	scenario := fs.String("scenario", "", "a golden scenario `DIR` (or its expect.yaml): the spans and records must match its expectations")
	update := fs.Bool("update", false, "with --scenario and --audit: rewrite the scenario's expectations from this input and print the diff")
	format := fs.String("format", FormatText, "output `format`: text, json or junit")
	maxFindings := fs.Int("max-findings", DefaultMaxFindings, "findings listed per rule; the rest are counted")
	return &ffcli.Command{
		Name:       prog,
		ShortUsage: "brain-trace-lint [flags] [FILE...]\n       brain-trace-lint tree [flags] [FILE...]\n       brain-trace-lint report -o FILE [flags] [FILE...]\n       brain-trace-lint rules",
		ShortHelp:  "lint recorded spans against the span dictionary, an audit chain and golden scenarios",
		LongHelp: `brain-trace-lint lints spans (OTLP JSON lines: brain-run's .brain/spans.jsonl,
or the OpenTelemetry Collector file exporter's output) read from each FILE,
or stdin when there is none or FILE is -. It checks them against the span
dictionary, and with --audit against an audit chain, and with --scenario
against a golden scenario's expectations. It prints coverage figures first,
then one line per finding, on stdout; the verdict goes to stderr.

Flags can also be set as BRAIN_TRACE_LINT_<FLAG> environment variables.
The rules, the config file and the formats: docs/trace-lint.md.

Exit status: 0 clean (warnings allowed), 1 violations, 2 usage error, 3 an
input that cannot be read.`,
		FlagSet:     fs,
		Options:     []ff.Option{ff.WithEnvVarPrefix(envPrefix)},
		Subcommands: []*ffcli.Command{newTree(e), newReport(e), newRules(e)},
		Exec: func(ctx context.Context, args []string) error {
			if *update && (*scenario == "" || *audit == "") {
				return &cli.UsageError{Err: errors.New("--update needs --scenario and --audit"), Hint: "brain-trace-lint --update --scenario golden/scenarios/NAME --audit .brain/audit.jsonl .brain/spans.jsonl"}
			}
			switch *format {
			case FormatText, FormatJSON, FormatJUnit:
			default:
				return &cli.UsageError{Err: fmt.Errorf("--format %q: want text, json or junit", *format)}
			}
			if *maxFindings <= 0 {
				return cli.Usagef("--max-findings %d: want a positive number", *maxFindings)
			}
			if err := c.check(); err != nil {
				return err
			}
			opts := Options{Audit: *audit, MaxFindings: *maxFindings, Workers: c.workers, MaxLine: c.maxLine, SpillAfter: c.spillAfter, TmpDir: c.tmpDir}
			if err := opts.load(*dict, *config); err != nil {
				return err
			}
			var err error
			if *scenario != "" {
				if opts.Scenario, err = LoadScenario(*scenario, *update); err != nil {
					return unreadable(err)
				}
			}
			return runLint(ctx, e, args, opts, *format, *update)
		},
	}
}

// load sets the dictionary (the embedded one, or the one in dict) and the
// config (none, or the one in config) of o.
func (o *Options) load(dict, config string) error {
	var err error
	if o.Dict, err = loadDict(dict); err != nil {
		return err
	}
	if config == "" {
		return nil
	}
	b, err := fsutil.ReadFile(config, true)
	if err != nil {
		return unreadable(&InputError{Name: config, Err: chainarg.Unwrap(err)})
	}
	if o.Config, err = ParseConfig(b); err != nil {
		return unreadable(&InputError{Name: config, Err: err, Hint: "the config format is in docs/trace-lint.md"})
	}
	return nil
}

// drawError maps an error of Tree or Report to its exit status: a trace or
// session not in the input, or an input that cannot be read, is an
// unreadable input; anything else is the user's.
func drawError(ctx context.Context, err error) error {
	if errors.Is(err, ErrNoTrace) {
		return &cli.ExitError{Code: exitUnreadable, Err: err, Hint: "run 'brain-trace-lint tree' without --trace and --session to list the input's traces"}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if serr := spillError(err); serr != nil {
		return serr
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return unreadable(err)
	}
	return &cli.UsageError{Err: err}
}

// spillError is the exit error of a spill that failed (a full disk), or
// nil when err is not one.
func spillError(err error) error {
	var se *SpillError
	if errors.As(err, &se) {
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "free space there, or give another directory with --tmp-dir (or TMPDIR)"}
	}
	return nil
}

// loadDict returns the embedded dictionary, or the one in file.
func loadDict(file string) (*spandict.Dict, error) {
	if file == "" {
		return spandict.Default(), nil
	}
	b, err := fsutil.ReadFile(file, true)
	if err != nil {
		return nil, unreadable(&InputError{Name: file, Err: chainarg.Unwrap(err)})
	}
	d, err := spandict.Parse(b)
	if err != nil {
		return nil, unreadable(&InputError{Name: file, Err: errors.New(strings.TrimPrefix(err.Error(), "spandict: "))})
	}
	return d, nil
}

// unreadable maps an *InputError to the exit status for unreadable input.
func unreadable(err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		return &cli.ExitError{Code: exitUnreadable, Err: ie, Hint: ie.Hint}
	}
	return err
}

// inputs returns the inputs args name: stdin when there is none. Reading a
// terminal, it says what it waits for, so that a forgotten FILE does not
// look like a hang.
func (e *env) inputs(args []string) []string {
	if len(args) == 0 {
		args = []string{"-"}
	}
	if slices.Contains(args, "-") && cli.IsTerminal(e.stdin) {
		e.p.Infof("reading spans (OTLP JSON lines) from the terminal; end with Ctrl-D, or give a FILE (%s -h for usage)", prog)
	}
	return args
}

func runLint(ctx context.Context, e *env, args []string, opts Options, format string, update bool) error {
	ins, err := OpenInputs(e.inputs(args), e.stdin)
	if err != nil {
		return unreadable(err)
	}
	defer CloseInputs(ins)
	res, err := Lint(ctx, ins, opts)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if serr := spillError(err); serr != nil {
			return serr
		}
		return unreadable(err)
	}
	if sc := opts.Scenario; sc != nil && sc.Expect != nil && opts.Audit == "" && len(sc.Expect.Audit) > 0 {
		e.p.Warnf("scenario %s expects audit records, which are not checked without --audit", sc.Name)
	}
	if update {
		return runUpdate(e, res, opts.Scenario)
	}
	if err := WriteReport(e.stdout, res, format, e.colour && format == FormatText); err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("writing the report: %v", err)}
	}
	e.p.Banner(res.OK(), bannerText(res))
	if !res.OK() {
		if t := res.Totals; t.Unlisted > 0 {
			e.p.Hintf("%d more findings are counted but not listed; --max-findings lists more, --format json gives counts per rule", t.Unlisted)
		}
		return &cli.ExitError{Code: cli.ExitFindings}
	}
	return nil
}

func bannerText(res *Result) string {
	t := res.Totals
	s := fmt.Sprintf("%s, %s in %s in %s", countOf(t.Errors, "error"), countOf(t.Warnings, "warning"),
		countOf(res.Spans, "span"), countOf(res.Traces, "trace"))
	var extra []string
	if t.Suppressed > 0 {
		extra = append(extra, fmt.Sprintf("%d suppressed by the config", t.Suppressed))
	}
	if t.Unlisted > 0 {
		extra = append(extra, fmt.Sprintf("%d not listed", t.Unlisted))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// runUpdate rewrites the scenario's expectations from res, unless the input
// breaks rules other than the scenario's own: expectations are never
// recorded from a run that fails the dictionary.
func runUpdate(e *env, res *Result, sc *Scenario) error {
	var blocking []Finding
	for _, f := range res.Findings {
		if f.Severity == Error && !strings.HasPrefix(f.Rule, "scenario-") {
			blocking = append(blocking, f)
		}
	}
	if len(blocking) > 0 {
		for _, f := range blocking {
			fmt.Fprintln(e.stdout, f)
		}
		return &cli.ExitError{Code: cli.ExitFindings, Err: fmt.Errorf("%s not updated: the input has %s besides the scenario's", sc.Path, countOf(len(blocking), "error")),
			Hint: "fix the run first (the errors are listed above); expectations are only recorded from a clean run"}
	}
	d, err := sc.Update(res.Actual)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("writing %s: %v", sc.Path, err)}
	}
	if d == nil {
		e.p.Infof("%s is up to date", sc.Path)
		return nil
	}
	if _, err := e.stdout.Write(d); err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	e.p.Infof("updated %s", sc.Path)
	return nil
}

func newTree(e *env) *ffcli.Command {
	fs := flag.NewFlagSet(prog+" tree", flag.ContinueOnError)
	var c common
	c.register(fs)
	traceID := fs.String("trace", "", "draw the trace with this `ID` (or a unique prefix of it)")
	session := fs.String("session", "", "draw every trace of this session `ID` (brain.session_id)")
	width := fs.Int("width", 40, "width of the duration bars, in `cells`")
	return &ffcli.Command{
		Name:       "tree",
		ShortUsage: "brain-trace-lint tree [--trace ID | --session ID] [FILE...]",
		ShortHelp:  "draw a trace as an indented waterfall",
		LongHelp: `tree draws a trace as an indented waterfall: the span tree, each span's
duration as a bar on the trace's time line, errors marked (✗, and red on a
terminal) with their status message, and key attributes (command, model,
tokens, task id, verdict, audit event, exit code, error.type). With neither
--trace nor --session it draws the input's only trace, or lists the traces
when there are several.

Exit status: 0 drawn or listed, 2 usage error, 3 an input that cannot be read,
or a trace or session not in the input.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix(envPrefix)},
		Exec: func(ctx context.Context, args []string) error {
			if *traceID != "" && *session != "" {
				return cli.Usagef("give --trace or --session, not both")
			}
			if *width < 4 || *width > 400 {
				return cli.Usagef("--width %d: want 4 to 400 cells", *width)
			}
			if err := c.check(); err != nil {
				return err
			}
			ins, err := OpenInputs(e.inputs(args), e.stdin)
			if err != nil {
				return unreadable(err)
			}
			defer CloseInputs(ins)
			res, err := Tree(ctx, ins, TreeOptions{Trace: *traceID, Session: *session, Color: e.colour, Width: *width, Workers: c.workers, MaxLine: c.maxLine,
				SpillAfter: c.spillAfter, TmpDir: c.tmpDir, Warn: func(s string) { e.p.Warnf("%s", s) }}, e.stdout)
			if err != nil {
				return drawError(ctx, err)
			}
			if res.Drawn == 0 && res.Traces > 1 {
				e.p.Hintf("%d traces; draw one with --trace ID, or a session's with --session ID", res.Traces)
			}
			if res.Traces == 0 {
				e.p.Warnf("the input holds no span")
			}
			return nil
		},
	}
}

func newRules(e *env) *ffcli.Command {
	return &ffcli.Command{
		Name:       "rules",
		ShortUsage: "brain-trace-lint rules",
		ShortHelp:  "list the rules: id, default severity, what each checks",
		FlagSet:    flag.NewFlagSet(prog+" rules", flag.ContinueOnError),
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("rules takes no arguments")
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			for _, r := range Rules {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, r.Summary)
			}
			return tw.Flush()
		},
	}
}
