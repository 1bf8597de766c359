package drillcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/drill"
	"github.com/brain-dev/brain/internal/runcore"
)

func newFlagSet(name string) *flag.FlagSet {
	return flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
}

// load reads drills for list and show: a bad file is exit 3, and the
// warnings of good ones go to stderr.
func load(p *cli.Printer, args []string) ([]*drill.Drill, error) {
	drills, err := drill.Load(args)
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "docs/drill-format.md describes the format"}
	}
	for _, d := range drills {
		for _, w := range d.Warnings {
			p.Warnf("%v", w)
		}
	}
	return drills, nil
}

func newList(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("list")
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "brain-drill list DIR|FILE...",
		ShortHelp:  "list drills: id, severity, limits, requirements, steps",
		LongHelp: `list reads the drills of each DIR (its *.md files, by name) or FILE and
prints one line per drill: its id, severity, detect_within and
recover_within, what it requires, its steps per phase and its file. It runs
nothing. A file that is not a valid drill is an error naming its line.

Exit status: 0 listed; 2 usage; 3 a file is not a valid drill or could not
be read.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return &cli.UsageError{Err: errors.New("list needs a directory or files"), Hint: "brain-drill list drills/"}
			}
			drills, err := load(e.P, args)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tDETECT\tRECOVER\tREQUIRES\tSTEPS\tFILE")
			for _, d := range drills {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Severity, limit(d.DetectWithin.Milliseconds()), limit(d.RecoverWithin.Milliseconds()),
					requires(d), stepCounts(d), d.File)
			}
			return tw.Flush()
		},
	}
}

func limit(ms int64) string { return drill.FormatLimit(ms) }

func requires(d *drill.Drill) string {
	if len(d.Requires) == 0 {
		return "-"
	}
	var s []string
	for _, r := range d.Requires {
		s = append(s, r.Name)
	}
	return strings.Join(s, ",")
}

// stepCounts is "steady 1, inject 1, detect 2, ..." for the phases with
// steps.
func stepCounts(d *drill.Drill) string {
	var s []string
	for _, p := range drill.Phases {
		if n := len(d.PhaseBlocks(p)); n > 0 {
			s = append(s, fmt.Sprintf("%s %d", p, n))
		}
	}
	return strings.Join(s, ", ")
}

func newShow(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("show")
	asJSON := fs.Bool("json", false, "print the parsed drill as one JSON object")
	return &ffcli.Command{
		Name:       "show",
		ShortUsage: "brain-drill show [--json] FILE",
		ShortHelp:  "print a drill's front matter, phases and commands, without running anything",
		LongHelp: `show prints what brain-drill reads of the drill FILE: its front matter, the
limit of each phase, and each phase's steps in the order they run, with
their lines and commands. It runs nothing.

Exit status: 0 shown; 2 usage; 3 FILE is not a valid drill or could not be
read.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-drill show [--json] FILE"); err != nil {
				return err
			}
			drills, err := load(e.P, args)
			if err != nil {
				return err
			}
			if *asJSON {
				return showJSON(e.Stdout, drills[0])
			}
			show(e.Stdout, drills[0])
			return nil
		},
	}
}

// phaseWhen says when a phase runs, for show.
var phaseWhen = map[drill.Phase]string{
	drill.Setup:       "once, first",
	drill.Steady:      "once before inject (else aborted), then polled after recover (TTR)",
	drill.Inject:      "once; T0 is when the last step ends",
	drill.Detect:      "polled every 100ms until a round passes (TTD)",
	drill.Investigate: "once",
	drill.Recover:     "once, then the steady steps are polled",
	drill.Rollback:    "always once inject started; every step runs",
}

func show(w io.Writer, d *drill.Drill) {
	fmt.Fprintf(w, "drill %s (%s, %s, sha256 %s)\n", d.ID, d.File, d.Format, d.SHA256)
	fmt.Fprintf(w, "  title     %s\n", d.Title)
	fmt.Fprintf(w, "  severity  %s\n", d.Severity)
	fmt.Fprintf(w, "  detect    within %s (polled for %s)\n", limit(d.DetectWithin.Milliseconds()), limit(d.Limit(drill.Detect).Milliseconds()))
	fmt.Fprintf(w, "  recover   within %s (window %s)\n", limit(d.RecoverWithin.Milliseconds()), limit(d.Limit(drill.Recover).Milliseconds()))
	fmt.Fprintf(w, "  requires  %s\n", requires(d))
	for _, p := range drill.Phases {
		blocks := d.PhaseBlocks(p)
		fmt.Fprintf(w, "\n%s: %s; limit %s", p, phaseWhen[p], limit(d.Limit(p).Milliseconds()))
		if len(blocks) == 0 {
			fmt.Fprintf(w, "; no steps\n")
			continue
		}
		fmt.Fprintln(w)
		for _, b := range blocks {
			fmt.Fprintf(w, "  %s  %s", b.Name, b.Where(d))
			if b.Timeout > 0 {
				fmt.Fprintf(w, "  timeout=%s", b.Timeout)
			}
			fmt.Fprintln(w)
			for _, l := range strings.Split(strings.TrimRight(b.Script, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
}

func showJSON(w io.Writer, d *drill.Drill) error {
	type step struct {
		Phase     drill.Phase `json:"phase"`
		Name      string      `json:"name"`
		Line      int         `json:"line"`
		TimeoutMS int64       `json:"timeout_ms,omitempty"`
		Script    string      `json:"script"`
	}
	out := struct {
		File            string           `json:"file"`
		SHA256          string           `json:"sha256"`
		Format          string           `json:"format"`
		ID              string           `json:"id"`
		Title           string           `json:"title"`
		Severity        string           `json:"severity"`
		DetectWithinMS  int64            `json:"detect_within_ms"`
		RecoverWithinMS int64            `json:"recover_within_ms"`
		Requires        []string         `json:"requires"`
		LimitsMS        map[string]int64 `json:"limits_ms"`
		Steps           []step           `json:"steps"`
	}{File: d.File, SHA256: d.SHA256, Format: d.Format, ID: d.ID, Title: d.Title, Severity: d.Severity,
		DetectWithinMS: d.DetectWithin.Milliseconds(), RecoverWithinMS: d.RecoverWithin.Milliseconds(), Requires: []string{},
		LimitsMS: map[string]int64{}, Steps: []step{}}
	for _, r := range d.Requires {
		out.Requires = append(out.Requires, r.Name)
	}
	for _, p := range drill.Phases {
		out.LimitsMS[string(p)] = d.Limit(p).Milliseconds()
	}
	for _, p := range drill.Phases {
		for _, b := range d.PhaseBlocks(p) {
			out.Steps = append(out.Steps, step{Phase: b.Phase, Name: b.Name, Line: b.Line, TimeoutMS: b.Timeout.Milliseconds(), Script: b.Script})
		}
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}
