package drillcmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/drill"
	"github.com/brain-dev/brain/internal/drillfault"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/runcore"
)

// MaxReplay bounds --replay.
const MaxReplay = 1000

// binaries are the BRAIN binaries a drill's steps find first on PATH.
var binaries = []string{"brain-run", "brain-audit", "brain-trace-lint"}

type runFlags struct {
	json, junit string
	replay      int
	keep        bool
	bin, work   string
	allowNotRun bool
	verbose     bool
}

func newRun(e *runcore.Env) *ffcli.Command {
	fs := newFlagSet("run")
	rf := &runcore.Flags{}
	rf.RegisterShared(fs, "the workspace `directory` where the drill run itself is traced and audited (env BRAIN_DIR; default: the nearest .brain here or in a parent directory, else ./.brain); never a drill's own")
	f := &runFlags{}
	fs.StringVar(&f.json, "json", "", "write the journal (JSON) to `FILE` ('-': to stdout, and the summary to stderr)")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit report to `FILE`")
	fs.IntVar(&f.replay, "replay", 1, "run each drill `N` times and report the p50, p90 and max of TTD and TTR")
	fs.BoolVar(&f.keep, "keep", false, "keep the scratch directory of a passed run too (one that did not pass is always kept)")
	fs.StringVar(&f.bin, "bin", "", "the `directory` of the BRAIN binaries put first on the steps' PATH (default: brain-drill's own)")
	fs.StringVar(&f.work, "work", "", "make the drills' scratch directories in `DIR` (default: the system's temporary directory)")
	fs.BoolVar(&f.allowNotRun, "allow-not-run", false, "exit 0 when every drill that ran passed, even if some were not run (they are still reported as not-run, never as passed)")
	fs.BoolVar(&f.verbose, "v", false, "print a line on stderr for every step run")
	return &ffcli.Command{
		Name:       "run",
		ShortUsage: "brain-drill run [flags] FILE|DIR...",
		ShortHelp:  "run drills and report their verdicts, TTD and TTR",
		LongHelp: `run runs the drills FILE names, or the *.md files of DIR (by name), in
order: for each, setup, the steady-state probe, inject (T0), detect (polled
every 100 ms: TTD), investigate, recover and the steady-state probe again
(polled: TTR), and rollback (docs/drill-format.md). Every file is read and
checked first: one bad file stops the run before anything runs.

A summary table goes to stdout (coloured on a terminal, unless NO_COLOR is
set): each drill's verdict, TTD, TTR and limits; with --replay N, each
drill's runs, passes and the p50 / p90 / max of TTD and TTR. Why a drill did
not pass, and the output of the step that failed, go to stderr.

The run is traced (a brain_cli.command span, a drill.run span per run of a
drill and a drill.phase span per phase) and audited (drill.started,
drill.injected, drill.detected, drill.recovered, drill.ended, drill.report)
in the workspace --dir, never in a drill's own scratch workspace.

SIGINT or SIGTERM stops the step running, runs the drill's rollback, and
exits 128+N; the journal says interrupted.

Exit status: 0 every drill passed; 1 a drill deviated, was aborted or was
not run (not-run counts as a failure unless --allow-not-run: it never counts
as passed); 2 usage; 3 a drill file is not valid or could not be read, or
the journal or JUnit report could not be written; 4 an audit record could
not be written (the run stopped, after rollback); 128+N interrupted by
signal N.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return &cli.UsageError{Err: errors.New("run needs drill files or directories"), Hint: "brain-drill run drills/"}
			}
			if f.replay < 1 || f.replay > MaxReplay {
				return cli.Usagef("--replay must be between 1 and %d", MaxReplay)
			}
			return runDrills(ctx, e, rf, f, args)
		},
	}
}

func runDrills(ctx context.Context, e *runcore.Env, rf *runcore.Flags, f *runFlags, args []string) error {
	for _, out := range []struct{ flag, path string }{{"--json", f.json}, {"--junit", f.junit}} {
		if out.path == "" || out.path == "-" {
			continue
		}
		if fi, err := os.Stat(filepath.Dir(out.path)); err != nil || !fi.IsDir() {
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s %s: the directory %s does not exist", out.flag, out.path, filepath.Dir(out.path))}
		}
	}
	if f.junit == "-" {
		return cli.Usagef("--junit - is not supported: the summary is on stdout; name a file")
	}
	drills, err := drill.Load(args)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "nothing was run; 'brain-drill show FILE' prints what brain-drill reads of a drill (docs/drill-format.md)"}
	}
	for _, d := range drills {
		for _, w := range d.Warnings {
			e.P.Warnf("%v", w)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: errors.New("no bash on PATH: drill steps run under bash -euo pipefail")}
	}
	bin, err := binDir(f.bin)
	if err != nil {
		return err
	}
	if f.work != "" {
		if fi, err := os.Stat(f.work); err != nil || !fi.IsDir() {
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("--work %s is not a directory", f.work)}
		}
	}
	code, err := runcore.Instrument(ctx, e, rf, "drill", func(ctx context.Context, s *runcore.Session) (int, error) {
		return runInstrumented(ctx, e, s, f, drills, bash, bin)
	})
	return runcore.ExitErr(code, err)
}

// binDir returns the directory whose BRAIN binaries go first on the
// steps' PATH: dir, or brain-drill's own directory.
func binDir(dir string) (string, error) {
	hint := "pass --bin DIR, the directory of brain-run, brain-audit and brain-trace-lint ('make build' puts them in bin/)"
	if dir == "" {
		self, err := os.Executable()
		if err != nil {
			return "", &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("cannot find brain-drill's own directory: %v", err), Hint: hint}
		}
		dir = filepath.Dir(self)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	for _, b := range binaries {
		fi, err := os.Stat(filepath.Join(abs, b))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return "", &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("no %s in %s: drill steps run the BRAIN binaries from there", b, abs), Hint: hint}
		}
	}
	return abs, nil
}

func runInstrumented(ctx context.Context, e *runcore.Env, s *runcore.Session, f *runFlags, drills []*drill.Drill, bash, bin string) (int, error) {
	obs := &observer{s: s}
	rn := &drill.Runner{Bash: bash, Bin: bin, WorkDir: f.work, Keep: f.keep, Env: os.Environ(),
		Host: drill.NewHost(bin + string(os.PathListSeparator) + os.Getenv("PATH")), Observer: obs, Cleanup: drillfault.StopAll}
	if f.verbose {
		rn.Progress = func(line string) { e.P.Infof("%s", line) }
	}
	start := time.Now()
	var results []*drill.Result
	var fatal error
	for _, d := range drills {
		for run := 1; run <= f.replay; run++ {
			if fatal != nil {
				results = append(results, drill.NotRunResult(d, run, "brain-drill stopped before this run: an audit record could not be written"))
				continue
			}
			if ctx.Err() != nil {
				r := rn.Skip(ctx, d, run, "brain-drill was interrupted before this run")
				results = append(results, r)
				if r.Err != nil {
					fatal = r.Err
				}
				continue
			}
			r := rn.Run(ctx, d, run)
			results = append(results, r)
			report(e.P, r)
			if r.Err != nil {
				fatal = r.Err
			}
		}
	}
	recordMetrics(ctx, s.Tel.Meter(), results)
	j := drill.NewJournal(cli.Version(prog), results, f.replay, start, time.Now(), ctx.Err() != nil)
	j.Session, j.TraceID, j.AuditChain = s.ID, s.Root.SpanContext().TraceID().String(), s.Log.Path()
	summaryOut := e.Stdout
	rep := audit.DrillReport{Runs: j.Summary.Runs, Passed: j.Summary.Passed, Deviated: j.Summary.Deviated, Aborted: j.Summary.Aborted,
		Interrupted: j.Summary.Interrupted, NotRun: j.Summary.NotRun}
	var werr error
	if f.json != "" {
		b := j.Marshal()
		rep.JournalSHA256 = sum(b)
		if f.json == "-" {
			e.Stdout.Write(b)
			summaryOut = e.Stderr
		} else if err := fsutil.WriteFileAtomic(f.json, b, 0o644); err != nil {
			werr = fmt.Errorf("writing the journal: %v", err)
		}
	}
	if f.junit != "" {
		b := drill.JUnit(j)
		rep.JUnitSHA256 = sum(b)
		if err := fsutil.WriteFileAtomic(f.junit, b, 0o644); err != nil && werr == nil {
			werr = fmt.Errorf("writing the JUnit report: %v", err)
		}
	}
	drill.WriteSummary(summaryOut, j, cli.UseColor(summaryOut))
	if fatal != nil {
		return 0, fatal
	}
	if _, err := s.Log.Record(context.WithoutCancel(ctx), rep); err != nil {
		return 0, err
	}
	if werr != nil {
		return cli.ExitIO, &cli.ExitError{Code: cli.ExitIO, Err: werr}
	}
	sm := j.Summary
	failed := sm.Deviated + sm.Aborted + sm.Interrupted
	if !f.allowNotRun {
		failed += sm.NotRun
	}
	if failed == 0 {
		return cli.ExitOK, nil
	}
	if ctx.Err() != nil {
		return cli.ExitFindings, &cli.ExitError{Code: cli.ExitFindings, Err: interruptedWhat(results)}
	}
	if sm.NotRun > 0 && sm.NotRun == failed {
		e.P.Hintf("a drill that was not run is not a pass: run where its requirements are met, or pass --allow-not-run to accept it")
	}
	return cli.ExitFindings, &cli.ExitError{Code: cli.ExitFindings}
}

// interruptedWhat says which drill the interrupt stopped and what ran after.
func interruptedWhat(results []*drill.Result) error {
	for _, r := range results {
		if r.Verdict != drill.Interrupted {
			continue
		}
		rb := "nothing had been injected"
		if r.Injected {
			rb = "rollback ran"
			for _, rs := range r.Reasons {
				if rs.Code == drill.ReasonRollbackFailed {
					rb = "rollback failed"
				}
			}
		}
		return fmt.Errorf("drill %s (run %d) stopped: %s", r.Drill.ID, r.Run, rb)
	}
	return errors.New("the drills were stopped")
}

// report says on stderr why a run did not pass, with the output of the
// step that failed, and what its clean-up did.
func report(p *cli.Printer, r *drill.Result) {
	for _, n := range r.Notes {
		p.Warnf("%s: %s", r.Drill.ID, n)
	}
	if r.Verdict == drill.Passed {
		return
	}
	for _, rs := range r.Reasons {
		p.Infof("%s: %s: %s", r.Drill.ID, r.Verdict, rs.Message)
	}
	var failed *drill.BlockResult
	for _, b := range r.Blocks {
		if !b.OK() {
			failed = b
		}
	}
	if failed != nil && failed.Tail != "" {
		lines := strings.Split(strings.TrimRight(failed.Tail, "\n"), "\n")
		if len(lines) > 10 {
			lines = lines[len(lines)-10:]
		}
		p.Infof("%s: the output of step %s (%s:%d), round %d, ends:", r.Drill.ID, failed.Name, r.Drill.File, failed.Line, failed.Round)
		for _, l := range lines {
			p.Infof("  | %s", l)
		}
	}
	if r.Kept && r.Scratch != "" {
		p.Hintf("%s: its scratch directory is kept for you to look at: %s", r.Drill.ID, r.Scratch)
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
