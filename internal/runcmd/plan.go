package runcmd

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/runcore"
)

func newPlan(e *runcore.Env) *ffcli.Command {
	fs, rf, lf, kf := newModelFlags("plan")
	goal := fs.String("goal", "", "what to plan, in plain words (required)")
	out := fs.String("o", "tasks.yaml", "write the plan to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	model := fs.String("plan-model", orchestrator.DefaultPlanModel, "the `model` asked for the plan")
	return &ffcli.Command{
		Name:       "plan",
		ShortUsage: "brain-run plan --goal TEXT [-o tasks.yaml] [flags]",
		ShortHelp:  "ask the plan model for a task list and write tasks.yaml",
		LongHelp: `plan asks the plan model for a plan for the goal and writes it to tasks.yaml:
tasks with id, title, prompt, context globs, model and acceptance checks.
The model call and the plan (its SHA-256) are recorded in the audit chain and
the plan in the state store (DIR/state.db, encrypted; key from
$BRAIN_STATE_KEY or --state-key-file) before tasks.yaml appears. A reply that
is not a valid plan writes nothing.

Exit status: 0 written; 2 usage (no goal, FILE exists without --force, no
state key); 3 the state or FILE could not be read or written; 4 audit write
failed; 5 the model failed or its reply is not a valid plan.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return &cli.UsageError{Err: fmt.Errorf("unexpected argument %q", args[0]), Hint: "quote the goal: --goal 'what to build'"}
			}
			code, err := runcore.Instrument(ctx, e, rf, "plan", func(ctx context.Context, s *runcore.Session) (int, error) {
				p, err := lf.newProvider()
				if err != nil {
					return 0, err
				}
				st, err := openState(ctx, e.P, s.Dir, kf.file, true)
				if err != nil {
					return 0, err
				}
				defer st.Close()
				o := newOrchestrator(s, st, p, nil)
				o.PlanModel, o.Limits = *model, lf.limits
				res, err := o.Plan(ctx, *goal, *out, *force)
				if err != nil {
					return 0, orchestratorError(err, s.Dir)
				}
				printPlan(e.Stdout, res)
				return 0, nil
			})
			return runcore.ExitErr(code, err)
		},
	}
}

// printPlan prints a written plan: one line for the plan, one per task.
func printPlan(w io.Writer, res *orchestrator.PlanResult) {
	fmt.Fprintf(w, "plan %d: %s, %d tasks, sha256 %s\n", res.PlanID, res.Path, len(res.Plan.Tasks), res.SHA256)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range res.Plan.Tasks {
		fmt.Fprintf(tw, "  %s\t%s\n", t.ID, t.Title)
	}
	tw.Flush()
}
