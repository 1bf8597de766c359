package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/state"
	"github.com/brain-dev/brain/internal/verifier"
	"github.com/brain-dev/brain/internal/workspace"
)

// taskSystem is the system instruction of every task request.
const taskSystem = `You carry out one task of a plan for BRAIN. Your whole reply is written, exactly as you give it, to the file ` + ArtifactName + `, which the task's acceptance checks then examine. Reply with the content of that file only: no introduction, no explanation, no code fences.`

// TaskPrompt is the prompt of task t with its gathered context.
func TaskPrompt(t *plan.Task, tc *TaskContext) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Task %s: %s\n\n%s\n", t.ID, t.Title, strings.TrimSpace(t.Prompt))
	if len(t.Checks) > 0 {
		b.WriteString("\nThe artifact must pass these checks:\n")
		for _, c := range t.Checks {
			b.WriteString("- " + c.Module)
			for _, a := range c.Args {
				b.WriteString(" " + strconv.Quote(a))
			}
			b.WriteString("\n")
		}
	}
	if tc == nil || len(tc.Files) == 0 {
		b.WriteString("\nNo context files.\n")
	} else {
		b.WriteString("\nContext files from the workspace:\n")
		b.WriteString(tc.Text)
	}
	return b.String()
}

// TaskRequest is the request for task t with its context, asking model.
func TaskRequest(t *plan.Task, tc *TaskContext, model string) llm.Request {
	return llm.Request{Model: model, System: taskSystem, Prompt: TaskPrompt(t, tc)}
}

// ExecResult is what Execute did.
type ExecResult struct {
	Plan state.Plan // the plan executed
	// Accepted is set when the tasks.yaml was an edited plan accepted as
	// Plan; Replaced is the plan it replaced (nil when none was recorded).
	Accepted bool
	Replaced *state.Plan
	Tasks    []TaskResult // in plan order, up to the task the run stopped at
	NotRun   []string     // the tasks after the one the run stopped at
}

// Task states in a TaskResult besides the store's: a task that had passed
// in an earlier run and was not run again.
const Skipped = "skipped"

// TaskResult is one task's outcome.
type TaskResult struct {
	ID, Title string
	State     string // passed, failed, error, or Skipped
	Attempt   int
	Checks    []verifier.Result
	Artifact  string // the artifact file, once written
	Err       error  // why the task ended in error
	Reason    string // and that reason's error.type
}

// Passed counts the checks that passed.
func (r TaskResult) Passed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Verdict == verifier.Pass {
			n++
		}
	}
	return n
}

// Execute runs the plan in tasksPath: tasks in order, each in an
// orchestrator.task_execution span. The file's SHA-256 must be the recorded
// plan's (the plan recorded last); otherwise Execute records plan.edit_refused
// and returns an *EditedPlanError, unless accept is set, in which case the
// file is recorded as a new plan (plan.edit_accepted) whose tasks start
// pending.
//
// Tasks that passed in an earlier run are skipped, so a rerun after a crash
// continues where the last one stopped. A task whose checks fail is failed
// and the next task runs; a task that cannot be completed (its model call,
// context, artifact or checks) is in state error and the run stops with a
// *TaskError. An audit write failure stops everything at once, with the
// transition it described rolled back.
func (o *Orchestrator) Execute(ctx context.Context, tasksPath string, accept bool) (*ExecResult, error) {
	release, err := fsutil.TryLock(filepath.Join(o.Workspace, workspace.ExecuteLock))
	if errors.Is(err, fsutil.ErrLocked) {
		return nil, ErrBusy
	} else if err != nil {
		return nil, err
	}
	defer release()
	limits := o.Limits.or()
	data, err := readPlanFile(tasksPath, limits.MaxPlanBytes)
	if err != nil {
		return nil, fmt.Errorf("reading the plan: %w", err)
	}
	p, err := plan.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tasksPath, errors.Unwrap(err))
	}
	if err := limits.checkTasks(p, tasksPath); err != nil {
		return nil, err
	}
	p.Dir = filepath.Dir(tasksPath)
	res := &ExecResult{}
	sum := sha256Hex(data)
	latest, err := o.Store.LatestPlan(ctx)
	var recorded *state.Plan
	switch {
	case err == nil:
		recorded = &latest
	case !errors.Is(err, state.ErrNotFound):
		return nil, err
	}
	// refuse records why the file is not run and returns the error.
	refuse := func(module *ModuleError) (*ExecResult, error) {
		ev := audit.PlanEditRefused{FoundSHA256: sum}
		if recorded != nil {
			ev.PlanID, ev.PlanSHA256 = recorded.ID, recorded.SHA256
		}
		if module != nil {
			ev.Module, ev.ModuleSHA256, ev.FoundModuleSHA256, ev.Reason = module.Module, module.Pinned, module.Found, module.Reason
		}
		if _, err := o.write(ctx, ev); err != nil {
			return nil, err
		}
		return nil, &EditedPlanError{Path: tasksPath, Found: sum, Recorded: recorded, Module: module}
	}
	// Every module file must be the one tasks.yaml pins, before anything
	// runs or is accepted.
	var me *ModuleError
	if err := checkModules(p); errors.As(err, &me) {
		return refuse(me)
	} else if err != nil {
		return nil, err
	}
	if recorded != nil && recorded.SHA256 == sum {
		res.Plan = *recorded
	} else {
		if !accept {
			return refuse(nil)
		}
		if res.Plan, err = o.acceptEdited(ctx, tasksPath, sum, p, recorded); err != nil {
			return nil, err
		}
		res.Accepted, res.Replaced = true, recorded
	}

	stored, err := o.Store.Tasks(ctx, res.Plan.ID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]state.Task, len(stored))
	for _, t := range stored {
		byID[t.ID] = t
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		st, ok := byID[t.ID]
		if !ok {
			return res, fmt.Errorf("plan %d in the state store has no task %q", res.Plan.ID, t.ID)
		}
		if st.State == state.StatePassed {
			res.Tasks = append(res.Tasks, TaskResult{ID: t.ID, Title: t.Title, State: Skipped, Attempt: st.Attempts})
			continue
		}
		if o.Provider == nil && o.Connect != nil {
			if o.Provider, err = o.Connect(); err != nil {
				res.NotRun = p.IDs()[i:]
				return res, err
			}
		}
		tr, err := o.runTask(ctx, res.Plan.ID, p, t, st)
		res.Tasks = append(res.Tasks, tr)
		if err != nil {
			res.NotRun = p.IDs()[i+1:]
			return res, err
		}
	}
	return res, nil
}

// acceptEdited records the tasks.yaml p (SHA-256 sum) as a new plan that
// replaces recorded.
func (o *Orchestrator) acceptEdited(ctx context.Context, path, sum string, p *plan.Plan, recorded *state.Plan) (state.Plan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return state.Plan{}, err
	}
	// The goal is the replaced plan's; a plan written by hand has none (the
	// SHA-256 of the empty goal).
	np := state.Plan{SHA256: sum, Path: abs, GoalSHA256: audit.SHA256("")}
	ev := audit.PlanEditAccepted{PlanSHA256: sum, Tasks: p.IDs()}
	if recorded != nil {
		np.GoalSHA256 = recorded.GoalSHA256
		ev.PreviousPlanID, ev.PreviousPlanSHA256 = recorded.ID, recorded.SHA256
	}
	err = o.Store.Transition(ctx, func(tx *state.Tx) error {
		id, err := tx.AddPlan(np)
		if err != nil {
			return err
		}
		np.ID, ev.PlanID = id, id
		return tx.AddTasks(id, newTasks(p))
	}, o.record(func() audit.Event { return ev }))
	if err != nil {
		return state.Plan{}, err
	}
	return o.Store.Plan(ctx, np.ID)
}

// runTask runs task t of plan planID, whose stored state is st.
func (o *Orchestrator) runTask(ctx context.Context, planID int64, p *plan.Plan, t *plan.Task, st state.Task) (TaskResult, error) {
	attempt := st.Attempts + 1
	r := TaskResult{ID: t.ID, Title: t.Title, Attempt: attempt}
	ctx, span := o.Tracer.Start(ctx, TaskSpan, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
		attribute.String(names.AttrBrainTaskID, t.ID), attribute.Int64(names.AttrBrainPlanID, planID), attribute.Int(names.AttrBrainTaskAttempt, attempt)))
	defer span.End()
	move := func(ctx context.Context, from, to state.TaskState, artifact, reason string) error {
		return o.Store.Transition(ctx, func(tx *state.Tx) error {
			return tx.SetTaskState(planID, t.ID, to, artifact)
		}, o.record(func() audit.Event {
			return audit.TaskState{PlanID: planID, TaskID: t.ID, From: string(from), To: string(to), Attempt: attempt, ArtifactSHA256: artifact, Reason: reason}
		}))
	}
	// stop ends the task in state error for reason, unless the failure is
	// the audit log's (err is an audit write error): then nothing more may
	// happen.
	stop := func(reason string, err error) (TaskResult, error) {
		if audit.IsWriteError(err) {
			return r, failSpan(span, names.ClassAuditWriteFailed, err)
		}
		r.State, r.Err, r.Reason = string(state.StateError), err, reason
		span.SetAttributes(attribute.String(names.AttrBrainTaskState, r.State))
		failSpan(span, reason, err)
		// Recorded even when ctx was canceled: the task did end.
		if merr := move(context.WithoutCancel(ctx), state.StateRunning, state.StateError, "", reason); merr != nil {
			return r, merr
		}
		return r, &TaskError{TaskID: t.ID, Reason: reason, Err: err}
	}

	if err := move(ctx, st.State, state.StateRunning, "", ""); err != nil {
		return r, failSpan(span, names.ClassOf(err), err)
	}
	checks, err := TaskChecks(p, t)
	if err != nil {
		reason := "invalid_checks"
		if errors.As(err, new(*ModuleError)) {
			reason = names.ClassCheckModule
		}
		return stop(reason, err)
	}
	tc, err := o.gather(ctx, p.Dir, t)
	if err != nil {
		return stop(names.ClassContext, err)
	}
	files := make([]audit.ContextFile, len(tc.Files))
	for i, f := range tc.Files {
		files[i] = audit.ContextFile(f)
	}
	req := TaskRequest(t, tc, TaskModel(t.Model, o.TaskModel))
	resp, err := o.chat(ctx, req, audit.LLMCall{Purpose: "task", PlanID: planID, TaskID: t.ID, Context: files})
	if err != nil {
		return stop(names.ClassOf(err), err)
	}

	dir := filepath.Join(o.Workspace, workspace.ArtifactsDir, "plan-"+strconv.FormatInt(planID, 10), t.ID)
	r.Artifact = filepath.Join(dir, ArtifactName)
	rel, _ := filepath.Rel(o.Workspace, r.Artifact)
	artifact := []byte(resp.Text)
	artSHA := sha256Hex(artifact)
	ev := audit.TaskArtifact{PlanID: planID, TaskID: t.ID, Path: filepath.ToSlash(rel), SHA256: artSHA, Bytes: int64(len(artifact))}
	if _, err := o.write(ctx, ev); err != nil {
		return stop(names.ClassOf(err), err)
	}
	// No link below the workspace is followed on the way to the artifact.
	if err := fsutil.MkdirAllIn(o.Workspace, filepath.Dir(rel)); err != nil {
		return stop(names.ClassArtifact, err)
	}
	if err := fsutil.WriteFileAtomic(r.Artifact, artifact, 0o600); err != nil {
		return stop(names.ClassArtifact, fmt.Errorf("writing the artifact: %w", err))
	}

	r.Checks, err = o.RunChecks(ctx, planID, t.ID, dir, checks)
	if err != nil {
		class, ok := names.Find(err)
		if !ok {
			class = names.ClassVerifier
		}
		return stop(class, err)
	}
	to := state.StatePassed
	if r.Passed() != len(r.Checks) {
		to = state.StateFailed
	}
	if err := move(ctx, state.StateRunning, to, artSHA, ""); err != nil {
		return r, failSpan(span, names.ClassOf(err), err)
	}
	r.State = string(to)
	span.SetAttributes(attribute.String(names.AttrBrainTaskState, r.State))
	return r, nil
}

// gather collects task t's context files from dir, the plan's directory,
// inside a sketch.generate_context span. The workspace is left out when it
// lies inside dir.
func (o *Orchestrator) gather(ctx context.Context, dir string, t *plan.Task) (*TaskContext, error) {
	_, span := o.Tracer.Start(ctx, ContextSpan, trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	fail := func(err error) (*TaskContext, error) {
		span.SetAttributes(attribute.Int(names.AttrBrainContextFileCount, 0), attribute.Int(names.AttrBrainContextBytes, 0))
		return nil, failSpan(span, names.ClassContext, err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return fail(err)
	}
	absWS, err := filepath.Abs(o.Workspace)
	if err != nil {
		return fail(err)
	}
	var exclude []string
	switch rel, err := filepath.Rel(absDir, absWS); {
	case err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)):
		// The workspace is outside the plan's directory: out of reach.
	case rel == ".":
		return fail(fmt.Errorf("the workspace %s is the plan's directory: move tasks.yaml or the workspace (--dir), so that the workspace is never given to a model", o.Workspace))
	default:
		exclude = []string{filepath.ToSlash(rel)}
	}
	root, err := os.OpenRoot(absDir)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	tc, err := GatherContext(root, t.Context, o.contextLimits(), exclude)
	if err != nil {
		return fail(err)
	}
	span.SetAttributes(attribute.Int(names.AttrBrainContextFileCount, len(tc.Files)), attribute.Int64(names.AttrBrainContextBytes, tc.Bytes))
	if tc.Truncated {
		span.SetAttributes(attribute.Bool(names.AttrBrainContextTruncated, true))
	}
	return tc, nil
}

// RunChecks runs checks against the artifact directory dir inside a
// verifier.run_checks span and records their verdicts (checks.run) before
// it returns them. It uses only o's Tracer, Verifier and Audit. planID and
// taskID name the task the checks are of; brain-run check, which runs
// checks outside any plan, passes 0 and the --task given, if any.
func (o *Orchestrator) RunChecks(ctx context.Context, planID int64, taskID, dir string, checks []verifier.Check) ([]verifier.Result, error) {
	ctx, span := o.Tracer.Start(ctx, ChecksSpan, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.Int(names.AttrBrainVerifierCheckCount, len(checks))))
	defer span.End()
	results, err := o.Verifier.Run(ctx, dir, checks)
	if err != nil {
		return nil, failSpan(span, names.ClassVerifier, err)
	}
	ev := audit.ChecksRun{PlanID: planID, TaskID: taskID, Checks: make([]audit.CheckVerdict, len(results))}
	for i, r := range results {
		if r.Verdict == verifier.Pass {
			ev.Passed++
		} else {
			ev.Failed++
		}
		ev.Checks[i] = audit.CheckVerdict{Check: r.Check, ArgsSHA256: audit.HashArgs(r.Args), ModuleSHA256: r.ModuleSHA256,
			Verdict: string(r.Verdict), Class: string(r.Class), ExitCode: r.ExitCode,
			StdoutSHA256: r.StdoutSHA256, StderrSHA256: r.StderrSHA256, DurationMS: r.DurationNS / 1e6}
	}
	span.SetAttributes(attribute.Int(names.AttrBrainVerifierPassed, ev.Passed), attribute.Int(names.AttrBrainVerifierFailed, ev.Failed))
	if _, err := o.write(ctx, ev); err != nil {
		return nil, failSpan(span, names.ClassOf(err), err)
	}
	return results, nil
}
