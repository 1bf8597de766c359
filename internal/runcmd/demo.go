package runcmd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/scenario"
	"github.com/brain-dev/brain/internal/workspace"
)

// The demo's workspace and state key file, in its directory.
const (
	demoWorkspace = workspace.DefaultDir
)

func newDemo(e *runcore.Env) *ffcli.Command {
	fs := flag.NewFlagSet(runcore.Prog+" demo", flag.ContinueOnError)
	rf := &runcore.Flags{}
	rf.RegisterTelemetry(fs)
	name := fs.String("scenario", "basic", "the golden `scenario` to run ("+strings.Join(scenario.Names(), ", ")+")")
	cacheDir := fs.String("cache-dir", "", "compilation cache `DIR` of the checks (default: the user cache directory's brain/wasm)")
	return &ffcli.Command{
		Name:       "demo",
		ShortUsage: "brain-run demo [flags] [DIR]",
		ShortHelp:  "run the golden scenario offline: plan, execute, verify, summary",
		LongHelp: `demo installs the golden scenario (golden/scenarios/basic) into DIR, a new
or empty directory (default: a new temporary directory), and runs it with
the replay provider, offline and without an API key: brain-run plan, then
brain-run execute, traced and audited in DIR/.brain. It then verifies the
audit chain and prints a summary: tasks and verdicts, spans written, audit
records, the verification, and how to see the trace in Jaeger.

The state store's key is a random key generated into DIR/.brain/state.key
(mode 0600): the demo's state is throw-away, so its key lives next to it.
Keep a real workspace's key elsewhere (BRAIN_STATE_KEY or --state-key-file).

Exit status: 0 every task passed and the chain verifies; 1 a task failed or
the chain does not verify; 2 usage (DIR is not empty); 3 DIR could not be
set up; 4 audit write failed.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 0, 1, "brain-run demo [flags] [DIR]"); err != nil {
				return err
			}
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			return runDemo(ctx, e, rf, *name, dir, *cacheDir)
		},
	}
}

// demoRun is what the summary reports.
type demoRun struct {
	sc      *scenario.Installed
	plan    *orchestrator.PlanResult
	exec    *orchestrator.ExecResult
	traceID string
}

func runDemo(ctx context.Context, e *runcore.Env, rf *runcore.Flags, name, dir, cacheDir string) error {
	if !slices.Contains(scenario.Names(), name) {
		return &cli.UsageError{Err: fmt.Errorf("no golden scenario %q (scenarios: %s)", name, strings.Join(scenario.Names(), ", "))}
	}
	dir, err := demoDir(dir)
	if err != nil {
		return err
	}
	ws := filepath.Join(dir, demoWorkspace)
	keyFile := filepath.Join(ws, workspace.StateKeyFile)
	if err := os.Mkdir(ws, 0o700); err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("creating the workspace: %w", err)}
	}
	if err := writeKey(keyFile); err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("writing the state key: %w", err)}
	}
	sc, err := scenario.Install(name, dir)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	local := *rf
	local.Dir = ws
	run := &demoRun{sc: sc}
	tasks := filepath.Join(dir, scenario.TasksFile)
	code, err := runcore.Instrument(ctx, e, &local, "demo", func(ctx context.Context, s *runcore.Session) (int, error) {
		run.traceID = s.Root.SpanContext().TraceID().String()
		p, err := llm.NewReplay(sc.Cassette)
		if err != nil {
			return 0, &cli.ExitError{Code: cli.ExitIO, Err: err}
		}
		st, err := openState(ctx, e.P, ws, keyFile, true)
		if err != nil {
			return 0, err
		}
		defer st.Close()
		v, err := newVerifier(cacheDir)
		if err != nil {
			return 0, err
		}
		defer v.Close(context.WithoutCancel(ctx))
		o := newOrchestrator(s, st, p, v)
		if run.plan, err = o.Plan(ctx, sc.Goal, tasks, false); err != nil {
			return 0, orchestratorError(err, ws)
		}
		if run.exec, err = o.Execute(ctx, tasks, false); err != nil {
			return 0, orchestratorError(err, ws)
		}
		return 0, execVerdict(run.exec, tasks)
	})
	if run.exec == nil {
		return runcore.ExitErr(code, err)
	}
	// The command is over: its spans are on disk and the chain is complete.
	rep, verr := chain.VerifyFile(ctx, workspace.Dir(ws).Audit(), chain.VerifyOptions{})
	spans, serr := countSpans(workspace.Dir(ws).Spans(), run.traceID)
	printDemo(e.Stdout, run, rep, verr, spans, serr, local.Endpoint())
	if err == nil && code == 0 {
		switch {
		case verr != nil:
			return &cli.ExitError{Code: cli.ExitIO, Err: verr}
		case !rep.OK():
			return &cli.ExitError{Code: cli.ExitFindings, Err: errors.New("the demo's audit chain does not verify")}
		}
	}
	return runcore.ExitErr(code, err)
}

// demoDir returns the demo's directory, absolute: dir, created if missing
// and required to be empty, or a new temporary directory.
func demoDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "brain-demo-")
		if err != nil {
			return "", &cli.ExitError{Code: cli.ExitIO, Err: err}
		}
		return d, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("creating %s: %w", dir, err)}
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	if len(entries) > 0 {
		return "", &cli.UsageError{Err: fmt.Errorf("%s is not empty", dir), Hint: "name a new or empty directory, or leave DIR out for a temporary one"}
	}
	return abs, nil
}

// writeKey writes a new random state key (256 bits, base64) to path, 0600.
func writeKey(path string) error {
	var k [32]byte
	rand.Read(k[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// countSpans counts the spans of trace traceID in a spans file.
func countSpans(path, traceID string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var u ptrace.JSONUnmarshaler
	n := 0
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		td, err := u.UnmarshalTraces(line)
		if err != nil {
			return n, fmt.Errorf("%s: %v", path, err)
		}
		rss := td.ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					if spans.At(k).TraceID().String() == traceID {
						n++
					}
				}
			}
		}
	}
	return n, nil
}

// printDemo prints the demo's summary.
func printDemo(w io.Writer, r *demoRun, rep *chain.Report, verr error, spans int, serr error, endpoint string) {
	ws := filepath.Join(r.sc.Dir, demoWorkspace)
	rel := func(p string) string {
		if q, err := filepath.Rel(r.sc.Dir, p); err == nil && !strings.HasPrefix(q, "..") {
			return q
		}
		return p
	}
	fmt.Fprintf(w, "golden scenario %q in %s (replay provider, offline)\n", r.sc.Name, r.sc.Dir)
	fmt.Fprintf(w, "plan     %d: %s, %d tasks, sha256 %s\n", r.plan.PlanID, rel(r.plan.Path), len(r.plan.Plan.Tasks), r.plan.SHA256)
	for _, t := range r.exec.Tasks {
		verdict := fmt.Sprintf("%d/%d checks", t.Passed(), len(t.Checks))
		if t.State == "failed" {
			verdict += ": " + firstFailure(t.Checks)
		}
		fmt.Fprintf(w, "task     %-8s %-7s %s\n", t.ID, t.State, verdict)
	}
	for _, id := range r.exec.NotRun {
		fmt.Fprintf(w, "task     %-8s not run\n", id)
	}
	if serr != nil {
		fmt.Fprintf(w, "spans    cannot count: %v\n", serr)
	} else {
		fmt.Fprintf(w, "spans    %d in %s, trace %s\n", spans, rel(workspace.Dir(ws).Spans()), r.traceID)
	}
	switch {
	case verr != nil:
		fmt.Fprintf(w, "verify   cannot verify: %v\n", verr)
	case rep.OK() && rep.Head != nil:
		fmt.Fprintf(w, "audit    %d records in %s\n", rep.Records, rel(workspace.Dir(ws).Audit()))
		fmt.Fprintf(w, "verify   PASS, head %d:%s\n", rep.Head.Seq, rep.Head.Hash)
	default:
		fmt.Fprintf(w, "audit    %d records in %s\n", rep.Records, rel(workspace.Dir(ws).Audit()))
		fmt.Fprintf(w, "verify   FAIL, %d findings: brain-audit verify-log %s\n", len(rep.Findings), workspace.Dir(ws).Audit())
	}
	fmt.Fprintf(w, "trace    brain-trace-lint tree --trace %s %s\n", r.traceID, workspace.Dir(ws).Spans())
	fmt.Fprintf(w, "report   brain-trace-lint report -o %s --audit %s --trace %s %s\n", filepath.Join(r.sc.Dir, "report.html"),
		workspace.Dir(ws).Audit(), r.traceID, workspace.Dir(ws).Spans())
	if endpoint != "" {
		fmt.Fprintf(w, "jaeger   exported to %s: curl http://127.0.0.1:16686/api/traces/%s\n", endpoint, r.traceID)
	} else {
		fmt.Fprintf(w, "jaeger   make traces; brain-run flush --dir %s --otlp-endpoint localhost:4317\n", ws)
		fmt.Fprintf(w, "         then curl http://127.0.0.1:16686/api/traces/%s (Jaeger's query API)\n", r.traceID)
	}
	fmt.Fprintf(w, "more     brain-run status --dir %s --state-key-file %s\n", ws, filepath.Join(ws, workspace.StateKeyFile))
	fmt.Fprintf(w, "         brain-audit show --type llm.call %s\n", workspace.Dir(ws).Audit())
}
