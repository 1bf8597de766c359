package runcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/state"
	"github.com/brain-dev/brain/internal/workspace"
)

func newStatus(e *runcore.Env) *ffcli.Command {
	fs, rf := runcore.NewReadOnlyFlags("status")
	var kf keyFlag
	kf.register(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object per line: the tasks (and with --chain the differences and a summary)")
	fromChain := fs.Bool("chain", false, "also rebuild the task states from the audit chain and report every difference with the state store")
	planID := fs.Int64("plan", 0, "show the plan with this `ID` (default: the plan recorded last)")
	return &ffcli.Command{
		Name:       "status",
		ShortUsage: "brain-run status [--json] [--chain] [--plan ID] [flags]",
		ShortHelp:  "show the plan's tasks and their states from the state store",
		LongHelp: `status prints the plan recorded last (or --plan ID) and each task's state,
attempts and title, from the encrypted state store.

--chain verifies the audit chain, rebuilds every plan's task states from it
(the chain is the source of truth) and lists each difference with the state
store: a change whose audit record was written but whose commit failed, or
a store changed behind the chain's back.

status is read-only: it creates and changes nothing in the workspace, which
may be evidence on a read-only copy. It writes no audit record and no spans
file (its spans go to the OTLP endpoint when one is set), and it reads the
state store from a private copy in the temporary directory.

Exit status: 0 shown (and with --chain: the store matches the chain);
1 --chain found differences or records it cannot rebuild from, or the chain
does not verify; 2 usage; 3 no state, or it could not be read (wrong key).`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("status takes no arguments")
			}
			code, err := runcore.Instrument(ctx, e, rf, "status", func(ctx context.Context, s *runcore.Session) (int, error) {
				st, err := openStateSnapshot(ctx, e.P, s.Dir, kf.file)
				if err != nil {
					return 0, err
				}
				defer st.Close()
				if err := printStatus(ctx, e.Stdout, st, *planID, *jsonOut); err != nil {
					return 0, err
				}
				if !*fromChain {
					return 0, nil
				}
				return 0, compareChain(ctx, e.Stdout, st, workspace.Dir(s.Dir).Audit(), *jsonOut)
			})
			return runcore.ExitErr(code, err)
		},
	}
}

// statusTask is a task line of status --json.
type statusTask struct {
	Kind           string    `json:"kind"` // "task"
	PlanID         int64     `json:"plan_id"`
	PlanSHA256     string    `json:"plan_sha256"`
	Task           string    `json:"task"`
	State          string    `json:"state"`
	Attempts       int       `json:"attempts"`
	ArtifactSHA256 string    `json:"artifact_sha256,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
	Title          string    `json:"title"`
}

func printStatus(ctx context.Context, w io.Writer, st *state.Store, planID int64, jsonOut bool) error {
	var p state.Plan
	var err error
	if planID != 0 {
		p, err = st.Plan(ctx, planID)
	} else {
		p, err = st.LatestPlan(ctx)
	}
	switch {
	case errors.Is(err, state.ErrNotFound) && planID != 0:
		return &cli.UsageError{Err: fmt.Errorf("no plan %d in the state store", planID), Hint: "leave out --plan for the plan recorded last"}
	case errors.Is(err, state.ErrNotFound):
		return &cli.ExitError{Code: cli.ExitIO, Err: errors.New("no plan is recorded in the state store"), Hint: "run 'brain-run plan --goal TEXT'"}
	case err != nil:
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	tasks, err := st.Tasks(ctx, p.ID)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, t := range tasks {
			enc.Encode(statusTask{Kind: "task", PlanID: p.ID, PlanSHA256: p.SHA256, Task: t.ID, State: string(t.State), Attempts: t.Attempts,
				ArtifactSHA256: t.ArtifactSHA256, UpdatedAt: t.UpdatedAt, Title: t.Title})
		}
		return nil
	}
	counts := map[state.TaskState]int{}
	for _, t := range tasks {
		counts[t.State]++
	}
	fmt.Fprintf(w, "plan %d: %s, sha256 %s, created %s\n", p.ID, p.Path, p.SHA256, p.CreatedAt.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  TASK\tSTATE\tATTEMPTS\tTITLE\n")
	for _, t := range tasks {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", t.ID, t.State, t.Attempts, t.Title)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d tasks: %d passed, %d failed, %d error, %d running, %d pending\n", len(tasks),
		counts[state.StatePassed], counts[state.StateFailed], counts[state.StateError], counts[state.StateRunning], counts[state.StatePending])
	return nil
}

// compareChain verifies the audit chain at path, rebuilds the task states
// from it and reports how the store differs.
func compareChain(ctx context.Context, w io.Writer, st *state.Store, path string, jsonOut bool) error {
	rep, err := chain.VerifyFile(ctx, path, chain.VerifyOptions{})
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	if !rep.OK() {
		for _, f := range rep.Findings {
			fmt.Fprintf(w, "finding: %s\n", f)
		}
		return &cli.ExitError{Code: cli.ExitFindings, Err: fmt.Errorf("the audit chain %s does not verify: the task states cannot be rebuilt from it", path),
			Hint: "'brain-audit verify-log " + path + "' shows every finding"}
	}
	cs, err := orchestrator.RebuildFromChain(ctx, rep.Files)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	diffs, err := orchestrator.Compare(ctx, st, cs)
	if err != nil {
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	if jsonOut {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, f := range cs.Unusable {
			enc.Encode(struct {
				Kind    string `json:"kind"`
				File    string `json:"file"`
				Line    int64  `json:"line"`
				Seq     uint64 `json:"seq"`
				Type    string `json:"type"`
				Problem string `json:"problem"`
			}{"unusable_record", f.File, f.Line, f.Seq, f.Type, f.Problem})
		}
		for _, d := range diffs {
			enc.Encode(struct {
				Kind   string `json:"kind"`
				PlanID int64  `json:"plan_id"`
				TaskID string `json:"task_id,omitempty"`
				Field  string `json:"field"`
				Store  string `json:"store"`
				Chain  string `json:"chain"`
			}{"difference", d.PlanID, d.TaskID, d.Field, d.Store, d.Chain})
		}
		enc.Encode(struct {
			Kind        string `json:"kind"`
			Records     int    `json:"records"`
			Differences int    `json:"differences"`
			Unusable    int    `json:"unusable_records"`
		}{"chain", cs.Records, len(diffs), len(cs.Unusable)})
	} else {
		for _, f := range cs.Unusable {
			fmt.Fprintf(w, "finding: %s\n", f)
		}
		for _, d := range diffs {
			fmt.Fprintf(w, "difference: %s\n", d)
		}
		if len(diffs)+len(cs.Unusable) == 0 {
			fmt.Fprintf(w, "audit chain: PASS, %d records; the task states rebuilt from it match the state store\n", cs.Records)
		}
	}
	var msg string
	switch unusable, differ := plural(len(cs.Unusable), "record"), plural(len(diffs), "difference"); {
	case len(cs.Unusable) > 0 && len(diffs) > 0:
		msg = fmt.Sprintf("%s of the audit chain %s cannot be rebuilt from, and %s from the state store", unusable, path, differ)
	case len(cs.Unusable) > 0:
		msg = fmt.Sprintf("%s of the audit chain %s cannot be rebuilt from", unusable, path)
	case len(diffs) > 0:
		msg = fmt.Sprintf("%s between the state store and the audit chain %s", differ, path)
	default:
		return nil
	}
	hint := "the chain is the source of truth: 'brain-audit show --type task.state " + path + "' lists the transitions it recorded"
	if len(cs.Unusable) > 0 {
		hint = "BRAIN never writes such a record: someone with write access to the chain added or rewrote it; 'brain-audit show " + path + "' lists the records"
	}
	return &cli.ExitError{Code: cli.ExitFindings, Err: errors.New(msg), Hint: hint}
}

// plural returns "1 thing" or "N things".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
