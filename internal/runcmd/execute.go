package runcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/verifier"
)

// acceptFlag runs an edited plan. ff would also read it from acceptEnv,
// which is refused: accepting an edited plan must be explicit on the command
// line of the run that does it (Env.OnCommandLine).
const (
	acceptFlag = "accept-edited-plan"
	acceptEnv  = "BRAIN_ACCEPT_EDITED_PLAN"
)

func newExecute(e *runcore.Env) *ffcli.Command {
	fs, rf, lf, kf := newModelFlags("execute")
	accept := fs.Bool(acceptFlag, false, "run a tasks.yaml that is not the recorded plan, recording it as a new plan (audited)")
	model := fs.String("task-model", orchestrator.DefaultTaskModel, "the `model` asked for tasks that name none")
	cacheDir := fs.String("cache-dir", "", "compilation cache `DIR` of the checks (default: the user cache directory's brain/wasm)")
	return &ffcli.Command{
		Name:       "execute",
		ShortUsage: "brain-run execute [flags] [tasks.yaml]",
		ShortHelp:  "run the tasks of the recorded plan: context, model, artifact, checks",
		LongHelp: `execute runs each task of tasks.yaml (default ./tasks.yaml): it gathers the
task's context files, asks the task model, writes the reply as the task's
artifact (DIR/artifacts/plan-ID/TASK/artifact.txt) and runs the task's
acceptance checks in the WebAssembly sandbox. Every step is traced and
audited before it takes effect; each task's state is in the state store.

tasks.yaml must be the plan brain-run plan recorded (same SHA-256): an edited
or hand-written file is refused unless --accept-edited-plan is given, which
records it as a new plan. Every check module file must be the one tasks.yaml
pins (its sha256), a regular file reached without symbolic links; any other
is refused, accepted plan or not. A rerun skips the tasks that passed, so
after a crash it continues where the last run stopped.

Exit status: 0 every task passed; 1 a task failed its checks; 2 usage;
3 a file or the state could not be read or written, or a task could not be
completed; 4 audit write failed; 5 the model failed or its answer was over
--max-reply-bytes; 6 tasks.yaml is not the recorded plan, or a check module
is not its pin.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 0, 1, "brain-run execute [flags] [tasks.yaml]"); err != nil {
				return err
			}
			if *accept && !e.OnCommandLine(fs, acceptFlag) {
				return &cli.UsageError{Err: errors.New(acceptEnv + " is not honoured"), Hint: "accept an edited plan on the command line, for one run: --accept-edited-plan"}
			}
			path := "tasks.yaml"
			if len(args) == 1 {
				path = args[0]
			}
			if _, err := lf.providerName(); err != nil {
				return err
			}
			code, err := runcore.Instrument(ctx, e, rf, "execute", func(ctx context.Context, s *runcore.Session) (int, error) {
				st, err := openState(ctx, e.P, s.Dir, kf.file, *accept)
				if err != nil {
					return 0, err
				}
				defer st.Close()
				v, err := newVerifier(*cacheDir)
				if err != nil {
					return 0, err
				}
				defer v.Close(context.WithoutCancel(ctx))
				// The provider is made when a task needs it: a run with
				// nothing left to do needs no key, and a missing plan or
				// state is reported before a missing key.
				o := newOrchestrator(s, st, nil, v)
				o.Connect = lf.newProvider
				o.TaskModel, o.Limits = *model, lf.limits
				res, err := o.Execute(ctx, path, *accept)
				if res != nil {
					if res.Accepted {
						warnAccepted(e.P, path, res)
					}
					printExec(e.Stdout, res)
				}
				if err != nil {
					return 0, orchestratorError(err, s.Dir)
				}
				return 0, execVerdict(res, path)
			})
			return runcore.ExitErr(code, err)
		},
	}
}

// warnAccepted says on stderr that an edited plan was accepted.
func warnAccepted(p *cli.Printer, path string, res *orchestrator.ExecResult) {
	if res.Replaced == nil {
		p.Warnf("accepted %s (sha256 %s), never planned, as plan %d; recorded in the audit chain", path, res.Plan.SHA256, res.Plan.ID)
		return
	}
	p.Warnf("accepted the edited %s (sha256 %s) as plan %d, replacing plan %d (sha256 %s); recorded in the audit chain",
		path, res.Plan.SHA256, res.Plan.ID, res.Replaced.ID, res.Replaced.SHA256)
}

// execVerdict is the error for tasks that failed their checks, or nil.
func execVerdict(res *orchestrator.ExecResult, path string) error {
	var failed []string
	for _, t := range res.Tasks {
		if t.State != "passed" && t.State != orchestrator.Skipped {
			failed = append(failed, t.ID)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &cli.ExitError{Code: cli.ExitFindings, Err: fmt.Errorf("%d of %d tasks failed their checks: %s", len(failed), len(res.Tasks)+len(res.NotRun), strings.Join(failed, ", ")),
		Hint: fmt.Sprintf("see the verdicts with 'brain-run check --tasks %s --task %s --artifact %s'; 'brain-run execute' runs failed tasks again",
			path, failed[0], dirOf(res.Tasks, failed[0]))}
}

func dirOf(tasks []orchestrator.TaskResult, id string) string {
	for _, t := range tasks {
		if t.ID == id && t.Artifact != "" {
			return strings.TrimSuffix(t.Artifact, "/"+orchestrator.ArtifactName)
		}
	}
	return "DIR"
}

// printExec prints the plan executed and one line per task.
func printExec(w io.Writer, res *orchestrator.ExecResult) {
	fmt.Fprintf(w, "plan %d: sha256 %s\n", res.Plan.ID, res.Plan.SHA256)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	passed := 0
	for _, t := range res.Tasks {
		switch t.State {
		case "passed":
			passed++
			fmt.Fprintf(tw, "  %s\tpassed\t%d/%d checks\t%s\n", t.ID, t.Passed(), len(t.Checks), t.Artifact)
		case orchestrator.Skipped:
			passed++
			fmt.Fprintf(tw, "  %s\tskipped\tpassed in an earlier run\n", t.ID)
		case "failed":
			fmt.Fprintf(tw, "  %s\tfailed\t%d/%d checks\t%s\n", t.ID, t.Passed(), len(t.Checks), firstFailure(t.Checks))
		default:
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.ID, t.State, t.Reason)
		}
	}
	for _, id := range res.NotRun {
		fmt.Fprintf(tw, "  %s\tnot run\n", id)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d tasks passed\n", passed, len(res.Tasks)+len(res.NotRun))
}

// firstFailure describes the first check that did not pass.
func firstFailure(results []verifier.Result) string {
	for _, r := range results {
		if r.Verdict != verifier.Pass {
			return checkLine(r)
		}
	}
	return ""
}
